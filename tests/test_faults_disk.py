"""A full disk (issue 20): writes are refused with a clear 503, nothing half-stored, and
everything stored before is kept; once there is room again the blog takes writes.

The disk is a real small filesystem (tmpfs) mounted by the test and filled to the last
byte; mounting needs root, which the development and CI machines have.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from kmblog.extensions import db
from kmblog.models import Media
from tests.conftest import POSTGRES_URL
from tests.live_server import Answer, Browser, gunicorn
from tests.test_backup import Instance
from tests.test_media import jpeg, served, upload

DEMO_POST = "/2009/03/km-strategy-is-the-how-vision-consensus-execution.html"


@contextmanager
def small_filesystem(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True)
    mounted = subprocess.run(  # noqa: S603 - the system's mount, our own folder
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],  # noqa: S607
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        if os.geteuid() != 0:
            pytest.skip(f"mounting a small filesystem needs root: {mounted.stderr.strip()}")
        pytest.fail(f"mount failed: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S603, S607


def fill(folder: Path) -> Path:
    """Write a file until the filesystem has no byte left; returns it."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 65536)
    except OSError as error:
        assert error.errno == errno.ENOSPC, error
    finally:
        os.close(descriptor)
    # The last partial block too.
    with pytest.raises(OSError, match="No space left"):
        (folder / "one-more").write_bytes(b"x" * 4096)
    (folder / "one-more").unlink()
    return filler


@pytest.mark.skipif(
    bool(POSTGRES_URL), reason="the database's own disk: SQLite's file is ours to put there"
)
def test_a_full_disk_refuses_comments_with_a_clear_503_and_keeps_the_rest(tmp_path):
    with small_filesystem(tmp_path / "small", "8m") as small:
        blog = Instance(f"sqlite:///{small / 'blog.sqlite'}", tmp_path / "instance")
        blog.ok("db", "upgrade")
        blog.ok("demo")
        env = {"KMBLOG_INSTANCE_PATH": str(blog.folder), "KMBLOG_MEDIA_DIR": str(blog.media)}
        acknowledged = []
        with gunicorn(blog.url, tmp_path / "server.log", **env) as base:
            reader = Browser(base)

            def comment(body: str) -> int:
                fields = reader.comment_fields(DEMO_POST)
                return reader.request(DEMO_POST, {**fields, "body": body, "name": "Ada"}).status

            for n in range(3):
                assert comment(f"Before the disk filled, remark {n}.") == 303
                acknowledged.append(f"Before the disk filled, remark {n}.")
            filler = fill(small)
            # Free pages inside the file may take a few more; then the disk says no.
            statuses = []
            for n in range(300):
                body = f"While the disk is full, remark {n}: " + "knowledge " * 200
                statuses.append(comment(body))
                if statuses[-1] == 303:
                    acknowledged.append(body)
                else:
                    break
            assert statuses[-1] == 503, statuses
            assert set(statuses) <= {303, 503}, statuses
            refused = reader.request(DEMO_POST, {**reader.comment_fields(DEMO_POST), "body": "x"})
            assert refused.status == 503
            assert "the server's disk is full" in refused.body
            assert "Nothing you sent was saved" in refused.body
            # Readers still read.
            page = reader.request(DEMO_POST)
            assert page.status == 200 and "Before the disk filled, remark 2." in page.body

            filler.unlink()
            assert comment("Room again.") == 303
            acknowledged.append("Room again.")

        with sqlite3.connect(small / "blog.sqlite") as check:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = {row[0] for row in check.execute("SELECT body_source FROM comments")}
        assert set(acknowledged) <= stored


def test_a_full_media_disk_refuses_an_upload_with_503_and_stores_nothing(
    app, auth, writer, tmp_path
):
    assert auth.login("writer").status_code == 303
    with small_filesystem(tmp_path / "media", "2m") as media:
        app.config["MEDIA_DIR"] = str(media)
        first = upload(auth.client, jpeg((600, 400)), alt="A map drawn before", json=True)
        assert first.status_code == 201, first.text
        before = sorted(path.name for path in media.iterdir())
        filler = fill(media)

        refused = upload(auth.client, jpeg((2400, 1600)), alt="A wall of notes", json=True)
        assert refused.status_code == 503
        assert "disk is full" in refused.json["error"]
        assert "Nothing was saved" in refused.json["error"]
        page = upload(auth.client, jpeg((2400, 1600)), alt="A wall of notes")
        assert page.status_code == 503 and "disk is full" in page.text
        # Nothing of it stored: no row, no file (not even half of one); the first is whole.
        assert sorted(p.name for p in media.iterdir() if p != filler) == before
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Media)) == 1
        assert served(auth.client, first.json["url"]).status_code == 200

        filler.unlink()
        again = upload(auth.client, jpeg((2400, 1600)), alt="A wall of notes", json=True)
        assert again.status_code == 201, again.text


@contextmanager
def postgres_on_small_disk(size: str) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL database whose tables live on a small filesystem of their own: a
    tablespace on a tmpfs owned by the server's user, beside the run's database (the
    server's write-ahead log stays on its own disk, as on a real server whose data
    volume fills). Gives the database's URL and the filesystem's folder."""
    assert POSTGRES_URL
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        data = connection.execute(text("SHOW data_directory")).scalar_one()
    if not Path(data).exists():
        pytest.fail(f"the test's PostgreSQL server is not on this machine (no {data})")
    owner = Path(data).stat()
    folder = Path(tempfile.mkdtemp(prefix="kmblog-pg-full-"))
    folder.chmod(0o755)  # the server's user walks into it
    mounted = subprocess.run(  # noqa: S603 - the system's mount, our own folder
        [  # noqa: S607
            "mount", "-t", "tmpfs", "-o",
            f"size={size},uid={owner.st_uid},gid={owner.st_gid},mode=700",
            "tmpfs", str(folder),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.fail(f"mount failed: {mounted.stderr.strip()}")
    name = "kmblog_small_disk"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text("DROP TABLESPACE IF EXISTS kmblog_small_disk"))
            connection.execute(text(f"CREATE TABLESPACE kmblog_small_disk LOCATION '{folder}'"))
            connection.execute(text(f'CREATE DATABASE "{name}" TABLESPACE kmblog_small_disk'))
        yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}")), folder
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text("DROP TABLESPACE IF EXISTS kmblog_small_disk"))
        admin.dispose()
        subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S603, S607
        folder.rmdir()


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL's own full disk needs PostgreSQL")
def test_postgresql_on_a_full_disk_refuses_comments_with_a_clear_503_and_keeps_the_rest(
    tmp_path,
):
    with postgres_on_small_disk("48m") as (url, small):
        blog = Instance(url, tmp_path / "instance")
        blog.ok("db", "upgrade")
        blog.ok("demo")
        env = {"KMBLOG_INSTANCE_PATH": str(blog.folder), "KMBLOG_MEDIA_DIR": str(blog.media)}
        acknowledged = []
        with gunicorn(url, tmp_path / "server.log", **env) as base:
            reader = Browser(base)

            def comment(body: str) -> Answer:
                fields = reader.comment_fields(DEMO_POST)
                return reader.request(DEMO_POST, {**fields, "body": body, "name": "Ada"})

            for n in range(3):
                assert comment(f"Before the disk filled, remark {n}.").status == 303
                acknowledged.append(f"Before the disk filled, remark {n}.")
            # The server's user owns the filesystem; root fills it to the last byte.
            filler = fill(small)
            # Room left inside the tables' pages takes a few more; then the disk says no,
            # every time (a short one may still fit in a page's last free bytes, so the
            # refusals are asked of long ones).
            statuses, refusals = [], []
            for n in range(300):
                body = f"While the disk is full, remark {n}: " + " ".join(["knowledge"] * 200)
                answer = comment(body)
                statuses.append(answer.status)
                if answer.status == 303:
                    acknowledged.append(body)
                    refusals.clear()
                else:
                    refusals.append(answer)
                    if len(refusals) == 5:
                        break
            assert set(statuses) <= {303, 503}, statuses
            assert len(refusals) == 5, statuses
            for refused in refusals:
                assert "the server's disk is full" in refused.body
                assert "Nothing you sent was saved" in refused.body
            page = reader.request(DEMO_POST)
            assert page.status == 200 and "Before the disk filled, remark 2." in page.body

            filler.unlink()
            assert comment("Room again.").status == 303
            acknowledged.append("Room again.")

        check = create_engine(url)
        with check.connect() as connection:
            stored = set(connection.scalars(text("SELECT body_source FROM comments")))
        check.dispose()
        assert set(acknowledged) <= stored
