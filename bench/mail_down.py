"""Comment POST latency with the mail server up, refusing connections, and hanging.

A commented post has subscribers, so every comment causes mail; the request only
records it and queues a job, and a job worker (`flask jobs worker`, its own process)
sends. This measures what a commenter waits for in each case:

    .venv/bin/python bench/mail_down.py [--comments 200]

`up`: aiosmtpd on loopback accepts everything. `refused`: nothing listens on the port.
`hanging`: a socket accepts connections and never answers (the worst outage: a
synchronous sender would wait for its whole SMTP timeout). A fresh SQLite file in
bench/.data/ each time; gunicorn as tests/live_server.py starts it.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from tests.live_server import Browser, free_port, gunicorn  # noqa: E402

SUBSCRIBERS = 5


class _Accept:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        return "250 OK"


@contextmanager
def mail_server(kind: str) -> Iterator[int]:
    port = free_port()
    if kind == "up":
        controller = Controller(_Accept(), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            yield port
        finally:
            controller.stop()
    elif kind == "hanging":
        listener = socket.socket()
        listener.bind(("127.0.0.1", port))
        listener.listen(100)  # accepted by the kernel, never answered
        try:
            yield port
        finally:
            listener.close()
    else:
        yield port  # nothing listens


def _prepare(database_url: str) -> str:
    """Migrate, make a post with SUBSCRIBERS confirmed subscribers; returns its path."""
    from flask_migrate import upgrade

    from kmblog import create_app
    from kmblog.auth.services import create_user
    from kmblog.comments.services import CommentRules, MailWish, NewComment, add_comment
    from kmblog.extensions import db
    from kmblog.mail.services import confirm_subscriber
    from kmblog.manage.services import PostDraft, create_post
    from kmblog.models import MailEvent, Role, Subscriber, SubscriptionKind, utcnow
    from kmblog.urls import post_url

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
    with app.app_context(), app.test_request_context():
        upgrade()
        author = create_user("bench", None, Role.ADMIN, utcnow(), email="bench@example.org")
        now = utcnow()
        draft = PostDraft(title="A subscribed post", body="Knowledge flows both ways.")
        post = create_post(author, draft, now, publish_at=now)
        for n in range(SUBSCRIBERS):
            address = f"reader{n}@example.org"
            add_comment(
                post,
                NewComment(body="Tell me more."),
                CommentRules(),
                utcnow(),
                mail=MailWish(address, SubscriptionKind.POST),
            )
            subscriber = db.session.query(Subscriber).filter_by(email=address).one()
            confirm_subscriber(subscriber.id, address, utcnow())
        db.session.query(MailEvent).update({"processed_at": utcnow()})
        db.session.commit()
        return post_url(post)


def measure(kind: str, comments: int) -> list[float]:
    data = ROOT / "bench" / ".data"
    data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=data, prefix="mail-down-"))
    database_url = f"sqlite:///{work / 'blog.sqlite'}"
    path = _prepare(database_url)
    with mail_server(kind) as port:
        env = {
            "KMBLOG_MAIL_SERVER": "127.0.0.1",
            "KMBLOG_MAIL_PORT": str(port),
            "KMBLOG_MAIL_TLS": "none",
            "KMBLOG_MAIL_TIMEOUT": "20",
            "KMBLOG_MAIL_COALESCE_SECONDS": "1",
            "KMBLOG_JOBS_SQLITE_PATH": str(work / "jobs.sqlite"),
        }
        worker_env = {
            **os.environ,
            **env,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test-secret",
            "FLASK_APP": "kmblog",
        }
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "flask", "jobs", "worker"],
            cwd=ROOT, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            with gunicorn(database_url, work / "server.log", **env) as base:
                reader = Browser(base)
                timings = []
                for n in range(comments):
                    fields = reader.comment_fields(path)
                    started = time.perf_counter()
                    answer = reader.request(path, {**fields, "body": f"Comment {n}."})
                    timings.append(time.perf_counter() - started)
                    assert answer.status == 303, answer.status
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=200)
    options = parser.parse_args()
    print(f"{'mail server':<12} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for kind in ("up", "refused", "hanging"):
        timings = sorted(t * 1000 for t in measure(kind, options.comments))
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"{kind:<12} {statistics.median(timings):>10.1f} {p95:>8.1f} {timings[-1]:>8.1f}")


if __name__ == "__main__":
    main()
