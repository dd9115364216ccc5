"""Command-line tasks on app.cli: authors, the demo blog, re-rendering stored HTML."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from kmblog.audit.cli import audit_cli
from kmblog.audit.services import COMMAND_LINE
from kmblog.auth.services import (
    UserError,
    create_user,
    find_user_by_name,
    list_users,
    set_active,
    set_password,
    set_role,
)
from kmblog.backup.cli import backup_command, restore_command
from kmblog.blogger.cli import export_cli, import_cli
from kmblog.demo import load_demo
from kmblog.extensions import db
from kmblog.jobs.cli import jobs_cli, serve_command
from kmblog.media.services import image_variants
from kmblog.models import Comment, Page, Post, Role, Series, User, utcnow
from kmblog.rendering import (
    PAGE_ANCHORS,
    post_anchors,
    render_body,
    render_comment,
    render_imported_comment,
)
from kmblog.series.services import render_description


@click.group("users", cls=AppGroup)
def users_cli() -> None:
    """Manage authors."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AUTHOR.value)
@click.option("--display-name", default="", help="Name shown on posts (default: USERNAME).")
@click.option("--email", default=None)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
def create_user_command(
    username: str, role: str, display_name: str, email: str | None, password_stdin: bool
) -> None:
    """Create an author; without --password-stdin the account cannot sign in yet."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _refused_as_click_errors():
        user = create_user(
            username,
            password,
            Role(role),
            utcnow(),
            display_name=display_name,
            email=email,
            by=COMMAND_LINE,
        )
    click.echo(f"Created {user.role.value} {user.username!r}.")


@contextmanager
def _refused_as_click_errors() -> Iterator[None]:
    """A service's refusal (UserError) as a command-line error: its message, exit 1."""
    try:
        yield
    except UserError as error:
        raise click.ClickException(str(error)) from error


def _author(username: str) -> User:
    user = find_user_by_name(username)
    if user is None:
        raise click.ClickException(f"there is no author called {username!r}")
    return user


@users_cli.command("list")
def list_users_command() -> None:
    """List authors: username, role, and whether they may sign in."""
    for user in list_users():
        state = "active" if user.active else "disabled"
        click.echo(f"{user.username}\t{user.role.value}\t{state}")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def set_role_command(username: str, role: str) -> None:
    """Make an author an admin or the reverse (the last active admin stays one)."""
    user = _author(username)
    with _refused_as_click_errors():
        set_role(user, Role(role), by=COMMAND_LINE)
    click.echo(f"{user.username} is now {user.role.value}.")


@users_cli.command("disable")
@click.argument("username")
def disable_command(username: str) -> None:
    """Stop an author from signing in and end their sessions (not the last admin)."""
    user = _author(username)
    with _refused_as_click_errors():
        set_active(user, False, by=COMMAND_LINE)
    click.echo(f"{user.username} is now disabled.")


@users_cli.command("enable")
@click.argument("username")
def enable_command(username: str) -> None:
    """Let a disabled author sign in again."""
    user = _author(username)
    set_active(user, True, by=COMMAND_LINE)
    click.echo(f"{user.username} is now enabled.")


@users_cli.command("password")
@click.argument("username")
def password_command(username: str) -> None:
    """Set an author's password from the first line of standard input (it ends every
    session of the old one)."""
    user = _author(username)
    with _refused_as_click_errors():
        set_password(user, sys.stdin.readline().rstrip("\r\n"), by=COMMAND_LINE)
    click.echo(f"New password set for {user.username}.")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Fill an empty blog with the demo articles, labels and comments."""
    if db.session.scalar(select(func.count()).select_from(Post)):
        click.echo("The blog already has posts; the demo was not loaded.")
        return
    posts = load_demo(utcnow())
    click.echo(f"Loaded the demo blog: {posts} posts.")
    click.echo(
        "To sign in, create an author: "
        "flask --app kmblog users create NAME --role admin --password-stdin"
    )


@click.command("rerender")
@with_appcontext
def rerender_command() -> None:
    """Render every stored post, page, series description and comment again (after a
    change to the allowlists)."""
    posts = comments = 0
    # Imported posts and pages hold HTML (their source_format), imported comments (with
    # a Blogger id) HTML too, not Markdown or text.
    for post in db.session.scalars(select(Post)):
        post.body_html = render_body(
            post.body_source,
            post.source_format,
            image_variants(post.body_source),
            anchors=post_anchors(post.id),
        )
        posts += 1
    for page in db.session.scalars(select(Page)):
        page.body_html = render_body(
            page.body_source,
            page.source_format,
            image_variants(page.body_source),
            anchors=PAGE_ANCHORS,
        )
    for series in db.session.scalars(select(Series)):
        series.description_html = render_description(series.description_source)
    for comment in db.session.scalars(select(Comment)):
        if comment.blogger_id:
            comment.body_html = render_imported_comment(comment.body_source)[0]
        else:
            comment.body_html = render_comment(comment.body_source)
        comments += 1
    db.session.commit()
    click.echo(f"Rendered {posts} posts and {comments} comments again.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(rerender_command)
    app.cli.add_command(import_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(serve_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(audit_cli)
