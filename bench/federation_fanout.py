"""A post published to 1,000 fediverse followers on 50 servers (issue 19), run by hand:

    .venv/bin/python bench/federation_fanout.py [--followers 1000] [--servers 50]
        [--workers 4] [--publishes 5] [--retry-seconds 1] [--attempts 4]

The blog runs under gunicorn (as tests/live_server.py starts it) with a job worker of its
own (`flask jobs worker`), on a fresh SQLite file in bench/.data/. The follower servers
are small threaded HTTP servers on loopback, one per "server", each a shared inbox for
its followers: they answer 202 to every POST without checking anything, except one that
always answers 500 and one that waits 2 s before its 202.

Measured: the editor's publish request (signed in, over HTTP) with no followers and with
all of them; from that request to the last delivery at each good server; the failing
server's tries and when its delivery was given up; and whether the slow and the failing
server held up the others (each delivery is a job of its own).

Retries are made short for the run (--retry-seconds, --attempts: the settings
FEDERATION_RETRY_SECONDS and FEDERATION_DELIVERY_ATTEMPTS; 30 s and 8 tries as shipped).
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.forms import form_values  # noqa: E402
from tests.html_tree import parse_html  # noqa: E402
from tests.live_server import Browser, gunicorn  # noqa: E402

PASSWORD = "bench-password-for-fanout"  # noqa: S105 - a throwaway database's admin
SLOW_SECONDS = 2.0


@dataclass
class Server:
    """One follower server on loopback and the POSTs it was sent (monotonic times)."""

    kind: str  # "good", "slow" or "failing"
    port: int = 0
    posts: list[tuple[float, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arrivals(self, marker: bytes) -> list[float]:
        with self.lock:
            return [moment for moment, body in self.posts if marker in body]


@contextmanager
def follower_server(kind: str) -> Iterator[Server]:
    server = Server(kind)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if server.kind == "slow":
                time.sleep(SLOW_SECONDS)
            with server.lock:
                server.posts.append((time.monotonic(), body))
            self.send_response(500 if server.kind == "failing" else 202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


@functools.cache
def _app(database_url: str):  # type: ignore[no-untyped-def]
    from kmblog import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})


def prepare(database_url: str) -> None:
    """Migrate and make the admin who publishes."""
    from flask_migrate import upgrade

    from kmblog.auth.services import create_user
    from kmblog.federation import services
    from kmblog.models import Role, utcnow

    app = _app(database_url)
    with app.app_context(), app.test_request_context():
        upgrade()
        create_user("bench", PASSWORD, Role.ADMIN, utcnow(), email="bench@example.org")
        services.blog_key()  # made once, before anything is timed


def add_followers(database_url: str, servers: list[Server], followers: int) -> None:
    """`followers` remote actors, spread evenly over the servers' shared inboxes."""
    from kmblog.extensions import db
    from kmblog.models import Follower, RemoteActor

    app = _app(database_url)
    with app.app_context():
        for number in range(followers):
            base = servers[number % len(servers)].base
            actor = RemoteActor(
                uri=f"{base}/users/u{number}",
                inbox=f"{base}/users/u{number}/inbox",
                shared_inbox=f"{base}/inbox",
                key_id=f"{base}/users/u{number}#main-key",
            )
            db.session.add(Follower(actor=actor, follow_uri=f"{base}/follows/{number}"))
        db.session.commit()


def delivery_to(database_url: str, inbox: str) -> tuple[str, int]:
    """The newest delivery to `inbox`: its state and how many tries it took."""
    from sqlalchemy import select

    from kmblog.extensions import db
    from kmblog.models import Delivery

    app = _app(database_url)
    with app.app_context():
        delivery = db.session.scalars(
            select(Delivery).where(Delivery.inbox == inbox).order_by(Delivery.id.desc())
        ).first()
        if delivery is None:
            return "none", 0
        return delivery.status.value, delivery.attempts


class Editor:
    """An admin signed in through the login form, publishing through the editor."""

    def __init__(self, base: str) -> None:
        self.browser = Browser(base)
        answer = self.browser.request(
            "/login",
            {
                "csrf_token": self.browser.csrf_token("/login"),
                "username": "bench",
                "password": PASSWORD,
                "next": "",
            },
        )
        assert answer.status == 303, answer.status

    def publish(self, title: str) -> float:
        """Publish a post; the seconds the request took (the form read beforehand)."""
        page = self.browser.request("/manage/posts/new").body
        values = next(
            form_values(form)
            for form in parse_html(page).find_all("form")
            if "title" in form_values(form)
        )
        values.pop("image", None)
        values.update(
            title=title,
            body="Who needs what knowledge, and when: a short note for the fediverse.",
            action="publish",
        )
        started = time.perf_counter()
        answer = self.browser.request("/manage/posts/new", values)
        elapsed = time.perf_counter() - started
        assert answer.status == 303, (answer.status, answer.body[:500])
        return elapsed


def _ms(values: list[float]) -> str:
    ordered = sorted(v * 1000 for v in values)
    return (
        f"median {statistics.median(ordered):.0f} ms, max {ordered[-1]:.0f} ms (n={len(ordered)})"
    )


def run(options: argparse.Namespace) -> None:
    data = ROOT / "bench" / ".data"
    data.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=data, prefix="fanout-"))
    database_url = f"sqlite:///{work / 'blog.sqlite'}"
    prepare(database_url)
    env = {
        "KMBLOG_BASE_URL": "http://blog.bench.example",
        "KMBLOG_FETCH_ALLOW_LOOPBACK": "true",
        "KMBLOG_FEDERATION_RETRY_SECONDS": str(options.retry_seconds),
        "KMBLOG_FEDERATION_DELIVERY_ATTEMPTS": str(options.attempts),
        "KMBLOG_FEDERATION_TIMEOUT": "10",
        "KMBLOG_JOBS_SQLITE_PATH": str(work / "jobs.sqlite"),
    }
    kinds = ["failing", "slow"] + ["good"] * (options.servers - 2)
    with ExitStack() as stack:
        servers = [stack.enter_context(follower_server(kind)) for kind in kinds]
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "flask", "jobs", "worker", "--workers", str(options.workers)],
            cwd=ROOT,
            env={**os.environ, **env, "DATABASE_URL": database_url,
                 "SECRET_KEY": "live-test-secret", "FLASK_APP": "kmblog"},
            stdout=(work / "worker.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = stack.enter_context(gunicorn(database_url, work / "server.log", **env))
            editor = Editor(base)
            editor.publish("Warm-up")  # first request of each kind, the key made
            without = [editor.publish(f"No followers yet {n}") for n in range(options.publishes)]
            time.sleep(3)  # their fan-outs (to nobody) done
            add_followers(database_url, servers, options.followers)

            title = "Measured post for the fediverse"
            started = time.monotonic()
            first = editor.publish(title)
            marker = title.encode()
            good = [s for s in servers if s.kind == "good"]
            slow = next(s for s in servers if s.kind == "slow")
            failing = next(s for s in servers if s.kind == "failing")
            failing_inbox = f"{failing.base}/inbox"
            deadline = started + options.timeout
            state = "pending"
            while time.monotonic() < deadline:
                done = all(s.arrivals(marker) for s in good + [slow])
                state, tries = delivery_to(database_url, failing_inbox)
                if done and state == "failed":
                    break
                time.sleep(0.2)
            ended = time.monotonic()
            good_done = [min(s.arrivals(marker)) - started for s in good if s.arrivals(marker)]
            slow_done = [t - started for t in slow.arrivals(marker)]
            failing_tries = [t - started for t in failing.arrivals(marker)]
            state, tries = delivery_to(database_url, failing_inbox)
            duplicates = sum(len(s.arrivals(marker)) - 1 for s in good if s.arrivals(marker))
            with_followers = [first] + [
                editor.publish(f"More for the followers {n}") for n in range(options.publishes - 1)
            ]
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()

    print(f"followers {options.followers} on {options.servers} servers "
          f"(1 answering 500, 1 taking {SLOW_SECONDS:.0f} s); "
          f"{options.workers} worker threads; retry {options.retry_seconds} s doubling, "
          f"{options.attempts} tries")  # fmt: skip
    print(f"publish request, 0 followers:     {_ms(without)}")
    print(f"publish request, {options.followers} followers: {_ms(with_followers)}")
    print(f"fast servers with the post: {len(good_done)}/{len(good)}; "
          f"first at {min(good_done):.2f} s, median {statistics.median(good_done):.2f} s, "
          f"last at {max(good_done):.2f} s after the publish request began")  # fmt: skip
    print(f"slow server's delivery done at {', '.join(f'{t:.2f} s' for t in slow_done) or 'never'}")
    if slow_done:
        waiting = (slow_done[0] - SLOW_SECONDS, slow_done[0])
        during = sum(1 for t in good_done if waiting[0] <= t <= waiting[1])
        print(f"fast servers served while the slow one was answering "
              f"({waiting[0]:.2f}-{waiting[1]:.2f} s): {during}")  # fmt: skip
        after_failure = sum(1 for t in good_done if failing_tries and t > failing_tries[0])
        print(f"fast servers served after the failing server's first 500: {after_failure}")
    print(f"all {len(good) + 1} good servers done at {max(good_done + slow_done):.2f} s")
    print(f"failing server: {len(failing_tries)} tries at "
          f"{', '.join(f'{t:.1f} s' for t in failing_tries)}; "
          f"delivery {state} after {tries} tries; "
          f"watched until {ended - started:.1f} s")  # fmt: skip
    print(f"duplicate deliveries to fast servers: {duplicates}")
    print(f"run folder: {work}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="job worker threads")
    parser.add_argument("--publishes", type=int, default=5, help="publish requests timed, each")
    parser.add_argument("--retry-seconds", type=float, default=1)
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for all")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
