"""Search through the full-text index: words, prefixes, and an index kept in step."""

from __future__ import annotations

import re

from sqlalchemy import select, text, update

from kmblog.blog.services import PostFilter, _filtered
from kmblog.extensions import db
from kmblog.models import Post


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="post-title"><a href="[^"]+">([^<]+)</a>', html)


def test_every_word_must_match_as_a_word_or_its_beginning(client, blog):
    blog.post(title="Planning the knowledge audit", body="Start with goals.")
    blog.post(title="Strategy", body="A plan needs sponsors; planners need time.")
    blog.post(title="Unrelated", body="Gardening notes.")
    assert sorted(titles(client.get("/search?q=plan").text)) == [
        "Planning the knowledge audit",
        "Strategy",
    ]
    assert titles(client.get("/search?q=plan+sponsors").text) == ["Strategy"]
    assert titles(client.get("/search?q=PLANNING+Audit").text) == ["Planning the knowledge audit"]
    assert titles(client.get("/search?q=lan").text) == []  # not inside a word


def test_punctuation_and_operators_are_plain_text(client, blog):
    blog.post(title="Tacit knowledge", body="Apprenticeship.")
    for query in ['"', "tacit AND", "tacit*", "NEAR(tacit)", "-tacit", "tacit:", "(", "'"]:
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200, query
    assert titles(client.get("/search", query_string={"q": "tacit*"}).text) == ["Tacit knowledge"]


def test_the_index_follows_edits_and_deletes(app, client, blog):
    post = blog.post(title="Old title", body="Communities of practice.")
    with app.app_context():
        db.session.execute(update(Post).where(Post.id == post.id).values(title="Renamed piece"))
        db.session.commit()
    assert titles(client.get("/search?q=renamed").text) == ["Renamed piece"]
    assert titles(client.get("/search?q=old").text) == []
    with app.app_context():
        db.session.delete(db.session.get(Post, post.id))
        db.session.commit()
    assert titles(client.get("/search?q=communities").text) == []


def test_search_reads_the_index_not_every_post(app):
    """The query plan goes through the full-text index (FTS5, or the GIN index)."""
    with app.app_context():
        query = _filtered(select(Post.id), PostFilter(words=("strategy",)))
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db.engine.dialect.name == "sqlite":
            plan = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan), plan
        else:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = db.session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
            assert any("ix_posts_search" in line for line in plan), plan
