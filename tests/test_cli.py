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
        plans = [p for p in posts if p.companion is not None]
        assert plans and all(p.companion.companion is p for p in plans)
    again = runner.invoke(args=["demo"])
    assert "already has posts" in again.output
    with app.app_context():
        assert len(db.session.scalars(select(Post)).all()) == len(posts)
    home = client.get("/").text
    assert "The KM Depot" in home
    post_url = re.search(r'<h3 class="post-title"><a href="([^"]+)"', home).group(1)
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
