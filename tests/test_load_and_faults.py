"""Under load and through a database outage, against a real gunicorn server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Comment
from kmblog.rendering import render_comment
from tests.conftest import POSTGRES_URL
from tests.live_server import Browser, TcpProxy, gunicorn

CLIENTS = 20
COMMENTS_EACH = 25


def _post_comments(base: str, post_url: str, client_number: int) -> list[tuple[str, int]]:
    """One reader posting COMMENTS_EACH comments; returns (body, status) for each."""
    browser = Browser(base)
    results = []
    for n in range(COMMENTS_EACH):
        body = f"Client {client_number} comment {n}: knowledge flows both ways."
        fields = browser.comment_fields(post_url)
        answer = browser.request(
            post_url, {**fields, "body": body, "name": f"Reader {client_number}"}
        )
        results.append((body, answer.status))
    return results


def test_500_comments_from_20_clients_are_each_stored_exactly_once(app, blog, tmp_path):
    """Every accepted comment is stored once and whole; no request gets a 5xx."""
    post = blog.post(title="A busy post")
    log = tmp_path / "server.log"
    with (
        gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], log) as base,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        batches = list(pool.map(lambda i: _post_comments(base, post.url, i), range(CLIENTS)))
    answers = [answer for batch in batches for answer in batch]
    assert len(answers) == CLIENTS * COMMENTS_EACH
    assert not [status for _, status in answers if status >= 500], log.read_text()
    accepted = [body for body, status in answers if status == 303]
    assert len(accepted) == len(answers), {status for _, status in answers}
    with app.app_context():
        stored = db.session.scalars(select(Comment).where(Comment.post_id == post.id)).all()
    bodies = [comment.body_source for comment in stored]
    assert sorted(bodies) == sorted(accepted)  # each exactly once, none extra
    for comment in stored:  # none half-stored
        assert comment.body_html == render_comment(comment.body_source)
        assert comment.author_name.startswith("Reader ")


@pytest.mark.skipif(not POSTGRES_URL, reason="an outage of PostgreSQL needs PostgreSQL")
def test_a_database_outage_gives_503_quickly_and_the_app_recovers(app, blog, tmp_path):
    """Readers get a 503 page within seconds, and normal pages once the database is back."""
    post = blog.post(title="Still here")
    address = urlsplit(POSTGRES_URL)
    proxy = TcpProxy((address.hostname or "127.0.0.1", address.port or 5432))
    proxy.start()
    through_proxy = POSTGRES_URL.replace(
        address.netloc, f"{address.username}@127.0.0.1:{proxy.port}"
    )
    try:
        with gunicorn(
            through_proxy,
            tmp_path / "server.log",
            workers=1,
            threads=2,
            KMBLOG_SQLALCHEMY_ENGINE_OPTIONS='{"pool_pre_ping": true, '
            '"connect_args": {"connect_timeout": 3}}',
        ) as base:
            reader = Browser(base, timeout=20)
            assert reader.request(post.url).status == 200
            proxy.stop()
            for _ in range(3):
                started = time.monotonic()
                answer = reader.request(post.url)
                assert answer.status == 503, answer.body[:500]
                assert time.monotonic() - started < 5
                assert "Back in a moment" in answer.body
                assert "Traceback" not in answer.body
            proxy.start()
            deadline = time.monotonic() + 15
            while (answer := reader.request(post.url)).status != 200:
                assert time.monotonic() < deadline, answer.status
                time.sleep(0.5)
            assert "Still here" in answer.body
    finally:
        proxy.stop()
