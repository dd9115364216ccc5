"""Two gunicorn servers and two job workers on one database and one Redis: 200 replies
posted at once to one thread make exactly one mail per subscriber per coalescing
window, with every reply in one of them: none lost, none sent twice."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select, update

from kmblog.extensions import db
from kmblog.models import (
    Comment,
    MailEvent,
    Notification,
    Subscriber,
    Subscription,
    SubscriptionKind,
    utcnow,
)
from tests.conftest import POSTGRES_URL
from tests.live_server import ROOT, Browser, gunicorn
from tests.mail_server import MailServer, comment_ids_in, wait_until

# Only database 12 of the shared Redis is this feature's to write.
REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET = "live-test-secret"  # what tests.live_server gives its gunicorn
CLIENTS = 20
REPLIES_EACH = 10
COALESCE = 3
SUBSCRIBERS = 5


@contextmanager
def job_worker(database_url: str, log: Path, **env: str) -> Iterator[None]:
    """`flask jobs worker` in a process of its own, as production runs it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "FLASK_APP": "kmblog",
        **env,
    }
    command = [sys.executable, "-m", "flask", "jobs", "worker", "--workers", "2"]
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)  # Huey: finish running jobs, then stop
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _reply(base: str, post_url: str, parent: int, client: int) -> list[int]:
    """One reader answering the thread's first comment REPLIES_EACH times, by its form."""
    browser = Browser(base)
    statuses = []
    for n in range(REPLIES_EACH):
        fields = browser.comment_fields(post_url)
        answer = browser.request(
            post_url,
            {
                **fields,
                "body": f"Reply {client}.{n}: agreed.",
                "name": f"R{client}",
                "parent": str(parent),
            },
        )
        statuses.append(answer.status)
    return statuses


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="several app servers share PostgreSQL (SQLite is the one-box default): "
    "run with KMBLOG_TEST_DATABASE_URL",
)
def test_200_replies_from_two_servers_and_two_workers_mail_each_subscriber_once_per_window(
    app, blog, tmp_path
):
    author = blog.author("host", email="host@example.org")
    post = blog.post(title="A busy thread", author_id=author)
    root = blog.comment(post, "Where should a KM programme start?")
    addresses = [f"reader{n}@example.org" for n in range(SUBSCRIBERS)]
    with app.app_context():
        now = utcnow()
        for n, address in enumerate(addresses):
            subscriber = Subscriber(email=address, confirmed_at=now, created_at=now)
            db.session.add(subscriber)
            db.session.flush()
            db.session.add(
                Subscription(
                    subscriber_id=subscriber.id,
                    post_id=post.id,
                    comment_id=root.id,
                    # Some want replies to the thread's comment, some every comment.
                    kind=SubscriptionKind.REPLIES if n % 2 else SubscriptionKind.POST,
                    created_at=now,
                )
            )
        # The set-up's own comment is not part of what is counted.
        db.session.execute(update(MailEvent).values(processed_at=now))
        db.session.commit()

    smtp = MailServer()
    smtp.start()
    name = f"kmblog-test-{secrets.token_hex(4)}"
    env = {
        "REDIS_URL": REDIS_URL,
        "KMBLOG_JOBS_NAME": name,
        "KMBLOG_CACHE_KEY_PREFIX": f"{name}-cache-",
        "KMBLOG_RATELIMIT_KEY_PREFIX": f"{name}-limits",
        "KMBLOG_MAIL_SERVER": "127.0.0.1",
        "KMBLOG_MAIL_PORT": str(smtp.port),
        "KMBLOG_MAIL_TLS": "none",
        "KMBLOG_MAIL_COALESCE_SECONDS": str(COALESCE),
        "KMBLOG_MAIL_RETRY_SECONDS": "1",
        "KMBLOG_BASE_URL": "http://blog.test",
    }
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        with (
            job_worker(database, tmp_path / "worker-1.log", **env),
            job_worker(database, tmp_path / "worker-2.log", **env),
            gunicorn(database, tmp_path / "a.log", workers=2, **env) as one,
            gunicorn(database, tmp_path / "b.log", workers=2, **env) as two,
            ThreadPoolExecutor(CLIENTS) as pool,
        ):
            bases = [one, two]
            started = time.monotonic()
            batches = list(
                pool.map(lambda i: _reply(bases[i % 2], post.url, root.id, i), range(CLIENTS))
            )
            posting = time.monotonic() - started
            assert {s for batch in batches for s in batch} == {303}

            def all_sent() -> bool:
                with app.app_context():
                    waiting = db.session.scalar(
                        select(func.count())
                        .select_from(MailEvent)
                        .where(MailEvent.processed_at.is_(None))
                    )
                    unsent = db.session.scalar(
                        select(func.count())
                        .select_from(Notification)
                        .where(Notification.sent_at.is_(None), Notification.failed_at.is_(None))
                    )
                    db.session.remove()
                return waiting == 0 and unsent == 0

            wait_until(all_sent, seconds=120, what="every notification to be sent")
            time.sleep(COALESCE + 2)  # nothing more comes
    finally:
        smtp.stop()
        client = redis.Redis.from_url(REDIS_URL)
        # The page cache's keys keep the name; Huey's drop its dashes.
        for pattern in (f"*{name}*", f"*{name.replace('-', '')}*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)

    with app.app_context():
        replies = sorted(
            db.session.scalars(
                select(Comment.id).where(Comment.post_id == post.id, Comment.id != root.id)
            )
        )
        windows = {
            key
            for key in db.session.scalars(select(Notification.key))
            if not key.startswith("confirm:")
        }
    assert len(replies) == CLIENTS * REPLIES_EACH
    with app.app_context():  # each a reply in the thread, not a comment on the post
        parents = set(db.session.scalars(select(Comment.parent_id).where(Comment.id.in_(replies))))
    assert parents == {root.id}
    for address in [*addresses, "host@example.org"]:
        mails = smtp.inbox.to(address)
        told = [comment_id for mail in mails for comment_id in comment_ids_in(mail)]
        assert sorted(told) == replies, f"{address}: lost or doubled replies"
        keys = [mail["X-Kmblog-Notification"] for mail in mails]
        assert len(keys) == len(set(keys)), f"{address}: two mails for one window"
        assert set(keys) <= windows
        # One recipient's keys differ only in their window: one mail per window, and
        # the replies were gathered (not one mail each).
        assert len({re.sub(r":\d+$", "", key) for key in keys}) == 1
        assert len(mails) <= posting / COALESCE + 3, (address, len(mails), posting)
    assert len(smtp.inbox.messages) == sum(
        len(smtp.inbox.to(a)) for a in [*addresses, "host@example.org"]
    )
