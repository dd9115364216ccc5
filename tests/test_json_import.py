"""The JSON export comes back in: exported, imported into an empty blog and exported
again it is the same document (but for its time) with the same image files, and the
blog it makes serves its posts and threads. A blog with content is refused, and so is a
broken, foreign or tampered file, with nothing written."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from kmblog.extensions import db
from kmblog.models import (
    Comment,
    CommentStatus,
    Label,
    Media,
    Page,
    Post,
    PostRevision,
    Role,
    Series,
    Settings,
    User,
)
from tests.conftest import PASSWORD, AuthActions, _reset_tables
from tests.forms import hidden_field
from tests.test_blogger_export import fill_blog
from tests.test_export_media import (
    WIDTHS,
    files_on_disk,
    photo,
    picture_blog,
    store,
    without_time,
)

MODELS = (User, Label, Post, PostRevision, Page, Comment, Series, Media)


@pytest.fixture
def media_folder(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    app.config["MEDIA_DIR"] = str(folder)
    app.config["MEDIA_WIDTHS"] = WIDTHS
    return folder


def rich_blog(app: Flask, blog: Any, runner: Any, folder: Path) -> dict[str, Any]:
    """Everything the export holds: posts written here and imported from Blogger (HTML
    bodies, Blogger comments), revisions, a page, a plan with its strategy, images, a
    series, and a thread three replies deep with a held comment in it."""
    made = picture_blog(app, blog, folder)
    fill_blog(blog, runner)
    first, second = blog.posts(2, labels=("Threads",))
    series = blog.series("Two parts", (first, second), description="Read *in order*.")
    top = blog.comment(first, "Where do we start?", name="Ida")
    reply = blog.comment(first, "With the needs.", name="Ole", reply_to=top)
    deeper = blog.comment(first, "Whose needs, though?", name="Ida", reply_to=reply)
    blog.comment(first, "The readers' ones.", name="Ole", reply_to=deeper)
    blog.comment(first, "Buy cheap pills", name="Spam", status=CommentStatus.PENDING)
    return {**made, "first": first, "series": series}


def export_zip(runner: Any, out: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    result = runner.invoke(args=["export", "json", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        document = json.loads(archive.read("kmblog.json"))
        files = {
            name.removeprefix("media/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("media/")
        }
    return document, files


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in MODELS
        }


def threads(app: Flask) -> dict[int, tuple[int | None, int | None, int, bool]]:
    """Each comment's place in its thread, which the export does not hold as such."""
    with app.app_context():
        return {
            c.id: (c.parent_id, c.root_id, c.depth, c.replied)
            for c in db.session.scalars(select(Comment))
        }


def empty_the_blog(app: Flask, migrated: dict[str, Any], folder: Path) -> None:
    with app.app_context():
        _reset_tables(migrated)
    shutil.rmtree(folder, ignore_errors=True)
    assert set(counts(app).values()) == {0}


def test_export_import_export_gives_the_same_document_and_files(
    app: Flask,
    blog: Any,
    runner: Any,
    client: FlaskClient,
    migrated: dict[str, Any],
    media_folder: Path,
    tmp_path: Path,
) -> None:
    made = rich_blog(app, blog, runner, media_folder)
    before = counts(app)
    placed = threads(app)
    assert {depth for _, _, depth, _ in placed.values()} >= {0, 1, 2, 3}
    on_disk = files_on_disk(media_folder)
    first, first_files = export_zip(runner, tmp_path / "first.zip")
    assert first_files == on_disk
    # What the round trip must carry is in the first document.
    assert len(first["revisions"]) >= 2 and first["series"] and first["pages"]
    assert any(c["parent_id"] for c in first["comments"])
    assert any(c["status"] == "pending" for c in first["comments"])
    assert any(p["companion_id"] for p in first["posts"])
    assert any(p["source_format"] == "html" for p in first["posts"])

    empty_the_blog(app, migrated, media_folder)
    result = runner.invoke(args=["import", "json", str(tmp_path / "first.zip")])
    assert result.exit_code == 0, result.output
    assert "no password" in result.output and "flask users password" in result.output
    assert counts(app) == before
    assert threads(app) == placed
    with app.app_context():
        assert all(user.password_hash is None for user in db.session.scalars(select(User)))

    second, second_files = export_zip(runner, tmp_path / "second.zip")
    # The documents are the same but for the time of the export.
    assert without_time(second) == without_time(first)
    assert second_files == first_files
    assert files_on_disk(media_folder) == on_disk  # byte for byte

    # The imported blog serves the post with its thread, and holds back the held comment.
    page = client.get(made["first"].url)
    assert page.status_code == 200
    text = page.text
    positions = [
        text.index(words)
        for words in (
            "Where do we start?",
            "With the needs.",
            "Whose needs, though?",
            "The readers&#39; ones.",
        )
    ]
    assert positions == sorted(positions)
    assert "Buy cheap pills" not in text
    assert client.get(f"/series/{made['series'].slug}.html").status_code == 200
    assert client.get("/p/about-the-charts.html").status_code == 200
    # The blog goes on: a new post gets an id of its own (PostgreSQL's sequences moved).
    new = blog.post("Written after the move", author_id=first["authors"][0]["id"])
    assert new.id > max(p["id"] for p in first["posts"])


def test_a_blog_with_content_is_refused_and_keeps_it(
    app: Flask, blog: Any, runner: Any, media_folder: Path, tmp_path: Path
) -> None:
    rich_blog(app, blog, runner, media_folder)
    export_zip(runner, tmp_path / "blog.zip")
    before = counts(app)
    result = runner.invoke(args=["import", "json", str(tmp_path / "blog.zip")])
    assert result.exit_code != 0
    assert "not empty" in result.output and "Nothing was imported" in result.output
    assert counts(app) == before


def _document(runner: Any, tmp_path: Path, blog: Any, app: Flask, folder: Path) -> bytes:
    """A small blog's export as an archive's bytes."""
    admin = blog.author("boss", display_name="The Boss")
    post = blog.post("A first post", body="Hello **there**.", author_id=admin)
    blog.comment(post, "Hi.", name="Ida")
    out = tmp_path / "small.zip"
    export_zip(runner, out)
    return out.read_bytes()


def _rezip(archive: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The archive with its document changed by `change`."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "kmblog.json":
                document = json.loads(data)
                change(document)
                data = json.dumps(document).encode()
            target.writestr(name, data)
    return out.getvalue()


def _tampered_image(archive: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name.startswith("media/") and name.endswith(".jpg"):
                data = data[:-3] + b"XYZ"
            target.writestr(name, data)
    return out.getvalue()


def _hostile(document: dict[str, Any]) -> None:
    post = document["posts"][0]
    post["source_format"] = "html"
    post["body_source"] = '<p onclick="steal()">Hi<script>steal()</script></p>'
    post["body_html"] = "<script>steal()</script>"
    document["comments"][0]["body_html"] = "<img src=x onerror=steal()>"


BROKEN: dict[str, Callable[[bytes], bytes]] = {
    "not JSON": lambda _: b"{not json",
    "not an object": lambda _: b"[1, 2]",
    "another format": lambda a: _rezip(a, lambda d: d.update(format="wordpress")),
    "a later version": lambda a: _rezip(a, lambda d: d.update(version=2)),
    "a missing field": lambda a: _rezip(a, lambda d: d["posts"][0].pop("title")),
    "a wrong type": lambda a: _rezip(a, lambda d: d["comments"][0].update(created_at=5)),
    "an unknown author": lambda a: _rezip(a, lambda d: d["posts"][0].update(author_id=999)),
    "a thread in a circle": lambda a: _rezip(
        a, lambda d: d["comments"][0].update(parent_id=d["comments"][0]["id"])
    ),
    "a published post without an address": lambda a: _rezip(
        a, lambda d: d["posts"][0].update(path=None)
    ),
    "a bad time zone": lambda a: _rezip(a, lambda d: d["settings"].update(timezone="Mars/Base")),
    "a lone surrogate": lambda a: _rezip(a, lambda d: d["authors"][0].update(bio="\ud800")),
    "a time out of range": lambda a: _rezip(
        a, lambda d: d["posts"][0].update(created_at="0001-01-01T00:00:00+05:00")
    ),
    "a NUL character": lambda a: _rezip(a, lambda d: d["posts"][0].update(title="a\x00b")),
    "an image that is not the one listed": _tampered_image,
    "a file that is not in the export": lambda a: _add_member(a, "../evil.sh", b"rm -rf /"),
    "not a ZIP but for its start": lambda a: b"PK\x03\x04" + b"\x00" * 50,
}


def _add_member(archive: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO(archive)
    with zipfile.ZipFile(out, "a") as target:
        target.writestr(name, data)
    return out.getvalue()


def test_broken_or_foreign_files_are_refused_with_nothing_written(
    app: Flask,
    blog: Any,
    runner: Any,
    migrated: dict[str, Any],
    media_folder: Path,
    tmp_path: Path,
) -> None:
    url = store(app, media_folder, photo((700, 500), 3), "sea.jpg", "The sea")
    good = _document(runner, tmp_path, blog, app, media_folder)
    assert url.replace("/media/", "media/") in zipfile.ZipFile(io.BytesIO(good)).namelist()
    empty_the_blog(app, migrated, media_folder)
    for what, breaking in BROKEN.items():
        bad = tmp_path / "bad.zip"
        bad.write_bytes(breaking(good))
        result = runner.invoke(args=["import", "json", str(bad)])
        assert result.exit_code == 1, (what, result.output)
        assert "Error:" in result.output and "Nothing was imported" in result.output, (
            what,
            result.output,
        )
        assert set(counts(app).values()) == {0}, what
        assert not media_folder.exists() or not any(media_folder.iterdir()), what
        with app.app_context():
            assert db.session.get(Settings, 1).title == migrated["title"], what  # type: ignore[union-attr]

    # Hostile HTML is not refused: it is sanitised as on saving, the file's HTML unused.
    hostile = tmp_path / "hostile.zip"
    hostile.write_bytes(_rezip(good, _hostile))
    result = runner.invoke(args=["import", "json", str(hostile)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        comment = db.session.scalars(select(Comment)).one()
        assert "script" not in post.body_html and "onclick" not in post.body_html
        assert "Hi" in post.body_html
        assert "onerror" not in comment.body_html and "<img" not in comment.body_html


def test_an_admin_uploads_the_archive_on_the_transfer_page(
    app: Flask,
    blog: Any,
    runner: Any,
    client: FlaskClient,
    auth: AuthActions,
    migrated: dict[str, Any],
    media_folder: Path,
    tmp_path: Path,
) -> None:
    made = rich_blog(app, blog, runner, media_folder)
    first, first_files = export_zip(runner, tmp_path / "first.zip")
    archive = (tmp_path / "first.zip").read_bytes()
    assert len(archive) > app.config["MAX_BODY_BYTES"]  # the route has a limit of its own

    def send(data: bytes) -> tuple[int, str]:
        token = hidden_field(client.get("/manage/transfer/").text, "json-csrf_token")
        fields = {
            "json-csrf_token": token,
            "json-export": FileStorage(io.BytesIO(data), "blog.zip"),
        }
        # Encoded here, in memory: the test client would spool a large body to a file.
        boundary, body = encode_multipart(fields)
        response = client.post(
            "/manage/transfer/import-json",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        return response.status_code, response.text

    # The admin's blog has content: refused, with the reason.
    blog.author("root", role=Role.ADMIN, password=PASSWORD)
    auth.login("root")
    status, text = send(archive)
    assert status == 409 and "not empty" in text and "Nothing was imported" in text

    # Emptied but for the admin (who may hold an id the file uses): imported.
    empty_the_blog(app, migrated, media_folder)
    blog.author("root", role=Role.ADMIN, password=PASSWORD)
    auth.login("root")
    status, text = send(b"{}")
    assert status == 400 and "not a kmblog JSON export" in text
    status, text = send(archive)
    assert status == 200, text
    assert "no password" in text and "flask users password" in text
    assert client.get(made["first"].url).status_code == 200
    assert "Whose needs, though?" in client.get(made["first"].url).text
    second, second_files = export_zip(runner, tmp_path / "second.zip")
    assert second_files == first_files
    # The authors come back with the same names, posts and ids but for the admin's
    # account, which the file's authors never take over.
    names = {a["username"] for a in second["authors"]}
    assert names == {a["username"] for a in first["authors"]} | {"root"}
    assert [p["title"] for p in second["posts"]] == [p["title"] for p in first["posts"]]


def test_the_transfer_page_is_for_admins_only(
    blog: Any, client: FlaskClient, auth: AuthActions
) -> None:
    blog.author("writer", password=PASSWORD)
    auth.login("writer")
    response = client.post("/manage/transfer/import-json", data={})
    assert response.status_code == 403
