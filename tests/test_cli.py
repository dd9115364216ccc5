"""Command-line tasks: creating authors, loading the demo, re-rendering."""

from __future__ import annotations

import re

from sqlalchemy import select
from werkzeug.security import check_password_hash

from kmblog.extensions import db
from kmblog.models import Comment, Label, Post, Role, User


def test_users_create_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create", "margaret", "--role", "admin", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "margaret")).one()
        assert user.role == Role.ADMIN
        assert check_password_hash(user.password_hash, "correct horse battery")


def test_users_create_refuses_a_taken_name_and_a_short_password(app, runner):
    assert runner.invoke(args=["users", "create", "dave"]).exit_code == 0
    taken = runner.invoke(args=["users", "create", "dave"])
    assert taken.exit_code != 0
    assert "taken" in taken.output
    short = runner.invoke(args=["users", "create", "eve", "--password-stdin"], input="abc\n")
    assert short.exit_code != 0
    assert "at least 8" in short.output
    bad_role = runner.invoke(args=["users", "create", "zed", "--role", "emperor"])
    assert bad_role.exit_code != 0


def test_demo_fills_an_empty_blog_once(app, runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        posts = db.session.scalars(select(Post)).all()
        comments = db.session.scalars(select(Comment)).all()
        assert len(posts) >= 6
        assert len({(p.year, p.month) for p in posts}) >= 3
        assert {p.kind.value for p in posts} >= {"plan", "strategy"}
        assert len(db.session.scalars(select(Label)).all()) >= 4
        assert any(c.author_name == "" for c in comments)
        assert any(c.author_name and c.author_url for c in comments)
        # The demo's plans are served by strategies, each naming its plan.
        paired = [p for p in posts if p.companion is not None]
        assert paired and all(p.kind.value == "strategy" for p in paired)
        assert all(p.companion.kind.value == "plan" for p in paired)
    again = runner.invoke(args=["demo"])
    assert "already has posts" in again.output
    with app.app_context():
        assert len(db.session.scalars(select(Post)).all()) == len(posts)
    home = client.get("/").text
    assert "The KM Depot" in home
    post_url = re.search(r'<h3 class="post-title[^"]*"><a href="([^"]+)"', home).group(1)
    assert client.get(post_url).status_code == 200


def test_rerender_rebuilds_stored_html_from_the_source(app, runner, blog):
    post = blog.post(body="**strong**")
    blog.comment(post, body="<b>bold</b>")
    with app.app_context():
        db.session.get(Post, post.id).body_html = "stale"
        db.session.scalars(select(Comment)).one().body_html = "stale"
        db.session.commit()
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0
    assert "1 posts and 1 comments" in result.output
    with app.app_context():
        assert db.session.get(Post, post.id).body_html == "<p><strong>strong</strong></p>"
        assert db.session.scalars(select(Comment)).one().body_html == "<p><b>bold</b></p>"


def _user(app, username: str) -> User:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        db.session.expunge(user)
        return user


def test_the_cli_refuses_to_demote_or_disable_the_last_admin(app, runner):
    """The same rule as the authoring area's: the blog keeps one active administrator."""
    assert runner.invoke(args=["users", "create", "root", "--role", "admin"]).exit_code == 0
    demote = runner.invoke(args=["users", "set-role", "root", "author"])
    assert demote.exit_code != 0
    assert "at least one active administrator" in demote.output
    disable = runner.invoke(args=["users", "disable", "root"])
    assert disable.exit_code != 0
    assert "at least one active administrator" in disable.output
    root = _user(app, "root")
    assert root.role == Role.ADMIN and root.active
    # A disabled second admin does not count: root is still the last active one.
    assert runner.invoke(args=["users", "create", "spare", "--role", "admin"]).exit_code == 0
    assert runner.invoke(args=["users", "disable", "spare"]).exit_code == 0
    assert runner.invoke(args=["users", "set-role", "root", "author"]).exit_code != 0
    # Once another admin is active again, root may step down.
    assert runner.invoke(args=["users", "enable", "spare"]).exit_code == 0
    stepped = runner.invoke(args=["users", "set-role", "root", "author"])
    assert stepped.exit_code == 0, stepped.output
    assert _user(app, "root").role == Role.AUTHOR
    listing = runner.invoke(args=["users", "list"]).output.splitlines()
    assert listing == ["root\tauthor\tactive", "spare\tadmin\tactive"]


def test_the_cli_disables_an_author_and_ends_their_sessions(app, runner):
    assert runner.invoke(args=["users", "create", "root", "--role", "admin"]).exit_code == 0
    assert runner.invoke(args=["users", "create", "writer"]).exit_code == 0
    before = _user(app, "writer").session_version
    assert runner.invoke(args=["users", "disable", "writer"]).exit_code == 0
    writer = _user(app, "writer")
    assert not writer.active and writer.session_version == before + 1
    missing = runner.invoke(args=["users", "disable", "nobody"])
    assert missing.exit_code != 0 and "no author called 'nobody'" in missing.output


def test_the_cli_sets_a_password_with_the_same_rules(app, runner):
    assert runner.invoke(args=["users", "create", "writer"]).exit_code == 0
    short = runner.invoke(args=["users", "password", "writer"], input="abc\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    done = runner.invoke(args=["users", "password", "writer"], input="a long password\n")
    assert done.exit_code == 0, done.output
    assert check_password_hash(_user(app, "writer").password_hash, "a long password")
