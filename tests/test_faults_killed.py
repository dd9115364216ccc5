"""Faults survived (issue 20): a process killed with SIGKILL in the middle of its work
leaves nothing half-written, and a full disk refuses writes with a 503 while keeping
everything already stored.

Real processes, really killed: gunicorn workers taking comments and posts, `flask import
blogger` and `flask backup` on a blog big enough to be caught mid-way.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus, Post, PostRevision
from kmblog.rendering import render_comment
from tests.conftest import PASSWORD, POSTGRES_URL
from tests.live_server import ROOT, Browser, gunicorn
from tests.test_backup import Instance

CLIENTS = 8


def _bench_generator() -> ModuleType:
    """bench/blogger_import.py's export generator (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("blogger_bench", ROOT / "bench/blogger_import.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _workers(master: int) -> list[int]:
    """The worker processes of the gunicorn whose master is `master`."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def _gunicorn_master(port: str) -> int:
    """The gunicorn master this test process started for `port`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().split(") ")[1].split()[1])
            if parent == os.getpid() and f"127.0.0.1:{port}".encode() in command:
                return int(entry.name)
    raise AssertionError(f"no gunicorn of ours on port {port}")


def test_workers_killed_mid_request_leave_no_half_written_comment_or_post(
    app, blog, writer, tmp_path
):
    post = blog.post(title="A post under fire")
    acknowledged: list[str] = []
    published: list[str] = []
    stop = threading.Event()

    def comment(client: int) -> None:
        browser = Browser(base, timeout=10)
        n = 0
        while not stop.is_set():
            body = f"Client {client} remark {n}: lessons travel with people."
            with suppress(OSError, http.client.HTTPException):  # a worker killed under us
                fields = browser.comment_fields(post.url)
                answer = browser.request(post.url, {**fields, "body": body, "name": f"R{client}"})
                if answer.status == 303:
                    acknowledged.append(body)
            n += 1

    def publish(author: Browser) -> None:
        n = 0
        while not stop.is_set():
            title = f"Field notes {n}"
            with suppress(OSError, http.client.HTTPException):
                token = author.csrf_token("/manage/posts/new")
                answer = author.request(
                    "/manage/posts/new",
                    {"csrf_token": token, "title": title, "body": f"Note {n} on what we learned.",
                     "kind": "article", "companion_id": "0", "action": "publish",
                     "comments_open": "y"},
                )  # fmt: skip
                if answer.status == 303:
                    published.append(title)
            n += 1

    kills = 0
    log = tmp_path / "server.log"
    with gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], log, workers=3, threads=2) as base:
        master = _gunicorn_master(base.rsplit(":", 1)[1])
        author = Browser(base, timeout=10)
        token = author.csrf_token("/login")
        signed = author.request(
            "/login", {"csrf_token": token, "username": "writer", "password": PASSWORD}
        )
        assert signed.status == 303
        with ThreadPoolExecutor(CLIENTS + 1) as pool:
            running = [pool.submit(comment, client) for client in range(CLIENTS)]
            running.append(pool.submit(publish, author))
            deadline = time.monotonic() + 8
            chooser = random.Random(20)  # noqa: S311 - which worker to kill, not a secret
            while time.monotonic() < deadline:
                time.sleep(0.4)
                workers = _workers(master)
                if workers:
                    with suppress(ProcessLookupError):
                        os.kill(chooser.choice(workers), signal.SIGKILL)
                        kills += 1
            stop.set()
            for future in running:
                future.result()
        # Still serving after the kills: gunicorn made new workers.
        assert _answer_soon(base, post.url) == 200

    # Killed often enough to land mid-request, yet readers and the author got through.
    counts = f"{kills} kills, {len(acknowledged)} comments, {len(published)} posts"
    assert kills >= 8, counts
    assert acknowledged and published, counts
    with app.app_context():
        comments = db.session.scalars(select(Comment).where(Comment.post_id == post.id)).all()
        bodies = [comment.body_source for comment in comments]
        # Every acknowledged comment is stored, once, whole.
        assert set(acknowledged) <= set(bodies)
        assert len(bodies) == len(set(bodies))
        for stored in comments:
            assert stored.body_html == render_comment(stored.body_source)
            assert stored.status == CommentStatus.PUBLISHED
        posts = db.session.scalars(select(Post).where(Post.title.like("Field notes %"))).all()
        assert set(published) <= {p.title for p in posts}
        for stored_post in posts:
            # Published whole: its address, its HTML and its first public revision.
            assert stored_post.slug and stored_post.body_html.startswith("<p>Note ")
            revisions = db.session.scalar(
                select(func.count()).where(PostRevision.post_id == stored_post.id)
            )
            assert revisions == 1, stored_post.title


def _answer_soon(base: str, path: str) -> int:
    """The status of `path` once a worker is there to answer (within seconds)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return Browser(base).request(path).status
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def _killed_when(
    command: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> Iterator[None]:
    """Run `command`, SIGKILL it as soon as `ready()` is true (it must become true)."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and app
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert process.poll() is None, "it finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        yield
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _environment(instance: Instance) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": instance.url,
        "KMBLOG_INSTANCE_PATH": str(instance.folder),
        "KMBLOG_MEDIA_DIR": str(instance.media),
    }
    env.pop("KMBLOG_TEST_DATABASE_URL", None)
    return env


@pytest.fixture
def big_export(tmp_path: Path) -> Path:
    export = tmp_path / "big.xml"
    _bench_generator().generate(export, posts=600, comments=6000)
    return export


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    """An empty instance of the run's database kind."""
    if not POSTGRES_URL:
        yield Instance(f"sqlite:///{tmp_path / 'blog.sqlite'}", tmp_path / "blog")
        return
    from tests.test_backup import postgres_database

    with postgres_database("kmblog_faults") as url:
        yield Instance(url, tmp_path / "blog")


def test_an_import_killed_midway_leaves_nothing_and_can_run_again(instance, big_export):
    instance.ok("db", "upgrade")
    started = time.monotonic()
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "kmblog",
        "import",
        "blogger",
        str(big_export),
    ]
    # Killed once it has been parsing and writing for a while (the whole import takes
    # several seconds; the first second is start-up).
    with _killed_when(command, _environment(instance), lambda: time.monotonic() - started > 3):
        pass
    rows = instance.rows()
    assert rows["posts"] == [] and rows["comments"] == [] and rows["labels"] == []
    instance.ok("import", "blogger", str(big_export))
    rows = instance.rows()
    assert len(rows["posts"]) == 600 and len(rows["comments"]) == 6000


def test_a_backup_killed_midway_leaves_no_archive_and_the_next_one_is_whole(
    instance, big_export, tmp_path
):
    instance.ok("db", "upgrade")
    instance.ok("import", "blogger", str(big_export))
    out = tmp_path / "backups" / "night.tar.gz"
    partial = out.with_name(out.name + ".partial")
    command = [sys.executable, "-m", "flask", "--app", "kmblog", "backup", str(out)]
    with _killed_when(
        command,
        _environment(instance),
        lambda: partial.exists() and partial.stat().st_size > 20_000,
    ):
        pass
    # Never a file under the name asked for that is not a whole backup.
    assert not out.exists()
    instance.ok("backup", str(out))
    restored = Instance(f"sqlite:///{tmp_path / 'check.sqlite'}", tmp_path / "check")
    restored.ok("restore", str(out))
    assert len(restored.rows()["comments"]) == 6000
