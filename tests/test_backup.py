"""Backups and restore (issue 20): `flask backup` while the blog serves, `flask restore`
into an empty instance, on SQLite and on PostgreSQL and from one to the other; damaged
archives refused before anything is written; scheduled backups keep the newest few.

The commands run as an operator runs them: `flask` in a process of its own, each
instance with its own folder, against a real gunicorn taking comments where that matters.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, select, text

from kmblog.backup import scheduled_backup_job
from kmblog.backup.archive import backup_name
from kmblog.extensions import db
from kmblog.models import AuditEvent, Comment, CommentStatus, utcnow
from kmblog.rendering import render_comment
from tests.conftest import POSTGRES_URL
from tests.live_server import ROOT, Browser, gunicorn
from tests.test_media import jpeg, upload

CLIENTS = 20


@dataclass
class Instance:
    """One installation: its database and its own folder (secret key, images, queue)."""

    url: str
    folder: Path

    @property
    def media(self) -> Path:
        return self.folder / "media"

    def flask(self, *args: str, secret: bool = False) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "KMBLOG_INSTANCE_PATH": str(self.folder),
            "KMBLOG_MEDIA_DIR": str(self.media),
        }
        env.pop("KMBLOG_TEST_DATABASE_URL", None)
        if not secret:
            # As a local install: the key made on first start, kept in the folder.
            env.pop("SECRET_KEY", None)
        return subprocess.run(  # noqa: S603 - our own interpreter and app
            [sys.executable, "-m", "flask", "--app", "kmblog", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def ok(self, *args: str) -> str:
        done = self.flask(*args)
        assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table of the app's schema in key order, as the app reads it."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                return {
                    table.name: [
                        dict(row)
                        for row in connection.execute(
                            select(table).order_by(*table.primary_key.columns)
                        ).mappings()
                    ]
                    for table in db.metadata.sorted_tables
                }
        finally:
            engine.dispose()


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside the test run's; dropped afterwards."""
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Instance]:
    """An empty instance of the run's database kind, to restore into."""
    folder = tmp_path / "restored"
    if not POSTGRES_URL:
        yield Instance(f"sqlite:///{tmp_path / 'restored.sqlite'}", folder)
        return
    with postgres_database("kmblog_restored") as url:
        yield Instance(url, folder)


@pytest.fixture
def demo(tmp_path: Path) -> Instance:
    """A local install (SQLite) with the demo blog, an author and an uploaded image."""
    instance = Instance(f"sqlite:///{tmp_path / 'demo.sqlite'}", tmp_path / "demo")
    instance.ok("db", "upgrade")
    instance.ok("demo")
    return instance


def _comments(url: str) -> list[Comment]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Comment.body_source, Comment.body_html)).all()
    finally:
        engine.dispose()
    return [Comment(body_source=source, body_html=html) for source, html in rows]


# --- the point of it: a backup while readers comment ---------------------------------


def test_a_backup_taken_while_20_clients_comment_restores_every_acknowledged_comment(
    app, blog, empty, tmp_path
):
    post = blog.post(title="A busy post")
    source = Instance(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "source")
    acknowledged: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def comment(client: int) -> None:
        browser = Browser(base)
        n = 0
        while not stop.is_set():
            body = f"Client {client} comment {n}: what the team learned this week."
            fields = browser.comment_fields(post.url)
            answer = browser.request(post.url, {**fields, "body": body, "name": f"R{client}"})
            assert answer.status == 303, answer.status
            with lock:
                acknowledged.append((time.monotonic(), body))
            n += 1

    log = tmp_path / "server.log"
    with gunicorn(source.url, log) as base, ThreadPoolExecutor(CLIENTS) as pool:
        running = [pool.submit(comment, client) for client in range(CLIENTS)]
        while len(acknowledged) < 2 * CLIENTS:
            time.sleep(0.05)
        began = time.monotonic()
        with lock:
            before = {body for moment, body in acknowledged if moment < began}
        backup = source.ok("backup", str(tmp_path / "busy.tar.gz"))
        ended = time.monotonic()
        time.sleep(0.5)
        stop.set()
        for future in running:
            future.result()
    during = [body for moment, body in acknowledged if began <= moment <= ended]
    # The backup really ran while comments kept coming in.
    assert during, "no comment was acknowledged while the backup ran"
    assert "Backed up" in backup

    restored = empty.ok("restore", str(tmp_path / "busy.tar.gz"))
    assert "Restored" in restored
    comments = _comments(empty.url)
    bodies = [comment.body_source for comment in comments]
    missing = before - set(bodies)
    assert not missing, f"{len(missing)} acknowledged comments lost, e.g. {sorted(missing)[:3]}"
    # Each once and whole, and nothing that was never sent.
    assert len(bodies) == len(set(bodies))
    assert set(bodies) <= {body for _, body in acknowledged}
    for restored_comment in comments:
        assert restored_comment.body_html == render_comment(restored_comment.body_source)


# --- a whole blog, every row and file ------------------------------------------------


@pytest.fixture
def written(app, blog, auth, writer, tmp_path) -> Instance:  # type: ignore[no-untyped-def]
    """The run's database with what authors and readers make: posts with labels, a
    threaded conversation, a held comment, a page, a series, an image uploaded through
    the form."""
    source = Instance(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "source")
    app.config["MEDIA_DIR"] = str(source.media)
    assert auth.login("writer").status_code == 303
    image = upload(auth.client, jpeg((1200, 800)), alt="Sticky notes on a wall", json=True)
    assert image.status_code == 201, image.text
    post = blog.post(
        title="Mapping who knows what",
        body=f"Start with the people.\n\n{image.json['markdown']}",
        labels=("KM Planning", "Knowledge maps"),
    )
    first = blog.comment(post, "Who keeps the map current?", name="Ann")
    blog.comment(post, "The people on it.", name="Ben", reply_to=first)
    blog.comment(post, "Buy cheap watches", status=CommentStatus.PENDING)
    blog.post(title="A draft about tacit knowledge", draft=True)
    blog.page("About")
    blog.series("Knowledge maps", (post,), description="How to *start* one.")
    return source


def test_a_restored_blog_has_every_row_image_and_its_key_and_takes_new_writes(
    written, empty, tmp_path
):
    archive = tmp_path / "blog.tar.gz"
    written.ok("backup", str(archive))
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # password hashes, the key
    before = written.rows()
    key = (written.folder / "secret_key").read_bytes()

    empty.ok("restore", str(archive))
    after = empty.rows()
    # The page cache's key moves on; every other value is as it was.
    assert (
        after.pop("settings")[0]["content_version"] > before.pop("settings")[0]["content_version"]
    )
    # The audit trail came along; the source's ends with the backup it made (after the
    # archive was whole), the restored one with the restore.
    trail_before, trail_after = before.pop("audit_events"), after.pop("audit_events")
    assert trail_before[-1]["action"] == "backup.made"
    assert trail_before[-1]["actor_name"] == "command line"
    assert trail_after[-1]["action"] == "backup.restored"
    assert trail_after[:-1] == trail_before[:-1]
    assert any(event["action"] == "auth.sign_in" for event in trail_after)
    assert after == before
    assert before["media"] and before["comments"] and before["pages"] and before["series_posts"]
    assert (empty.folder / "secret_key").read_bytes() == key
    assert sorted(path.name for path in empty.media.iterdir()) == sorted(
        path.name for path in written.media.iterdir()
    )
    for path in written.media.iterdir():
        assert (empty.media / path.name).read_bytes() == path.read_bytes()
    # New rows get new ids after the restored ones (PostgreSQL's sequences moved on).
    empty.ok("users", "create", "newcomer", "--role", "author")
    users = empty.rows()["users"]
    assert users[-1]["username"] == "newcomer"
    assert users[-1]["id"] == max(user["id"] for user in before["users"]) + 1


@pytest.mark.skipif(not POSTGRES_URL, reason="from one database to the other needs PostgreSQL")
def test_a_sqlite_backup_restores_on_postgresql_and_back(written, demo, tmp_path):
    """A local blog moving to PostgreSQL, and a PostgreSQL blog brought home."""
    local = tmp_path / "local.tar.gz"
    demo.ok("backup", str(local))
    with postgres_database("kmblog_moved") as url:
        moved = Instance(url, tmp_path / "moved")
        moved.ok("restore", str(local))
        assert _without_version(moved.rows()) == _without_version(demo.rows())
    served = tmp_path / "served.tar.gz"
    written.ok("backup", str(served))
    home = Instance(f"sqlite:///{tmp_path / 'home.sqlite'}", tmp_path / "home")
    home.ok("restore", str(served))
    assert _without_version(home.rows()) == _without_version(written.rows())


def _without_version(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Rows to compare between a blog and its restored copy: without the page cache's
    version, and without the audit trail's records of the backup and of the restore
    (one is only in the source, the other only in the copy)."""
    for row in rows["settings"]:
        row.pop("content_version")
    rows["audit_events"] = [
        event
        for event in rows["audit_events"]
        if event["action"] not in {"backup.made", "backup.restored"}
    ]
    return rows


# --- refused, and nothing written ----------------------------------------------------


def _damaged(archive: Path, out: Path) -> Path:
    """The archive with one comment changed inside, its manifest left as it was."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for member in source:
            data = source.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name == "database/comments.jsonl":
                content = content.replace(b"Who keeps", b"Who deletes", 1)
                assert b"Who deletes" in content
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    return out


@pytest.mark.parametrize("damage", ["a changed row", "cut short", "not an archive"])
def test_a_damaged_archive_is_refused_before_anything_is_written(written, demo, tmp_path, damage):
    archive = tmp_path / "blog.tar.gz"
    written.ok("backup", str(archive))
    if damage == "a changed row":
        bad = _damaged(archive, tmp_path / "changed.tar.gz")
    elif damage == "cut short":
        bad = tmp_path / "short.tar.gz"
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    else:
        bad = tmp_path / "notes.tar.gz"
        bad.write_text("Meeting notes, not a backup.")
    before = demo.rows()
    done = demo.flask("restore", "--replace", str(bad))
    assert done.returncode != 0
    assert "Error:" in done.stderr
    assert "checksum" in done.stderr or "not a whole kmblog backup" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert demo.rows() == before


def test_restore_refuses_an_instance_that_has_a_blog_unless_told(written, demo, tmp_path):
    archive = tmp_path / "blog.tar.gz"
    written.ok("backup", str(archive))
    before = demo.rows()
    done = demo.flask("restore", str(archive))
    assert done.returncode != 0
    assert "restore fills an empty one. Use --replace" in done.stderr
    assert demo.rows() == before
    demo.ok("restore", "--replace", str(archive))
    assert _without_version(demo.rows()) == _without_version(written.rows())


# --- on a schedule -------------------------------------------------------------------


def test_scheduled_backups_run_when_due_and_keep_the_newest(app, blog, tmp_path):
    blog.post(title="Worth keeping")
    folder = tmp_path / "backups"
    folder.mkdir()
    now = utcnow()
    # Three older ones, the newest of them 25 hours old.
    for hours in (73, 49, 25):
        (folder / backup_name(now - timedelta(hours=hours))).write_bytes(b"old")
    app.config.update(BACKUP_DIR=str(folder), BACKUP_EVERY_HOURS=24, BACKUP_KEEP=2)
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    with app.app_context():
        scheduled_backup_job()
        kept = sorted(folder.glob("kmblog-backup-*.tar.gz"))
        assert len(kept) == 2
        assert kept[0].read_bytes() == b"old"  # the 25-hour-old one
        assert kept[1].stat().st_size > 1000  # a real archive, just written
        scheduled_backup_job()  # not due again for 24 hours
        assert sorted(folder.glob("kmblog-backup-*.tar.gz")) == kept
        # The audit trail has the one backup, taken by the blog itself.
        made = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "backup.made")
        ).all()
        assert [(event.actor_id, event.actor_name) for event in made] == [(None, "")]
        assert made[0].details["file"] == str(kept[1])
        assert made[0].details["old_backups_removed"] == 2
