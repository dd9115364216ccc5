"""Exporting: Blogger's format round-trips, JSON holds everything, and the admin's page."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.models import Comment, Page, Post, Role
from tests.blogger_files import NS, SAMPLES, expected, sample
from tests.conftest import _reset_tables

STAMP = re.compile(r"^<updated>([^<]+)</updated>$", re.MULTILINE)


def fill_blog(blog, runner) -> None:  # type: ignore[no-untyped-def]
    """A blog written here (Markdown posts, a draft, typed comments) plus both samples."""
    blog.settings(
        title="Knowledge in Practice", description="Notes on KM", timezone="Europe/Berlin"
    )
    blog.author("ana", display_name="Ana Writer", email="ana@example.org")
    plan = blog.post(
        "A KM plan in five questions",
        body="# Goals\n\nWhat do we **need** to know? See [the map](https://example.org/map).\n\n"
        "| need | source |\n| --- | --- |\n| context | people |\n",
        labels=("KM Plans", "knowledge sharing"),
    )
    blog.post("Half a thought", body="Still *drafting*.", draft=True)
    blog.comment(plan, "Useful, <b>very</b>. More at https://example.net/notes", name="Lena")
    blog.comment(plan, "A plain anonymous remark.\n\nIn two paragraphs.", url="")
    # Two different Blogger blogs: the second is merged, on request.
    for number, name in enumerate(SAMPLES):
        merge = ["--merge"] if number else []
        result = runner.invoke(args=["import", "blogger", *merge, str(sample(name))])
        assert result.exit_code == 0, result.output


def export_text(runner, path: Path) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["export", "blogger", str(path), "--base-url", "http://kip.test"])
    assert result.exit_code == 0, result.output
    return path.read_text(encoding="utf-8")


def without_stamp(text: str) -> str:
    """The export with its own time (the feed's <updated>, used by its settings
    entries too) taken out: the only thing allowed to differ."""
    stamp = STAMP.search(text)
    assert stamp is not None
    return text.replace(stamp[1], "STAMP")


def counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Post, Page, Comment)
        }


def test_export_import_export_gives_the_same_file(app, blog, runner, migrated, tmp_path):
    fill_blog(blog, runner)
    before = counts(app)
    first = export_text(runner, tmp_path / "first.xml")
    with app.app_context():
        _reset_tables(migrated)
    assert counts(app) == {"Post": 0, "Page": 0, "Comment": 0}
    result = runner.invoke(args=["import", "blogger", str(tmp_path / "first.xml")])
    assert result.exit_code == 0, result.output
    assert counts(app) == before
    second = export_text(runner, tmp_path / "second.xml")
    assert without_stamp(second) == without_stamp(first)


def test_the_export_holds_every_item_of_the_samples(app, blog, runner, tmp_path):
    fill_blog(blog, runner)
    root = ElementTree.fromstring(export_text(runner, tmp_path / "out.xml"))  # noqa: S314
    ids = {
        (e.findtext("a:id", "", NS) or "").rpartition("-")[2] for e in root.findall("a:entry", NS)
    }
    drafts = {
        (e.findtext("a:title", "", NS) or "")
        for e in root.findall("a:entry", NS)
        if e.findtext("app:control/app:draft", "", NS) == "yes"
    }
    for name in SAMPLES:
        want = expected(sample(name))
        assert {item.blogger_id for item in want.items} <= ids
        assert {item.title for item in want.items if item.draft} <= drafts
    assert "Half a thought" in drafts


def test_json_export_holds_everything(app, blog, runner, tmp_path):
    fill_blog(blog, runner)
    out = tmp_path / "blog.json"
    result = runner.invoke(args=["export", "json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "kmblog-export" and data["version"] == 1
    assert data["settings"]["title"] == expected(sample(SAMPLES[0])).title  # the first kept
    assert {key: len(data[key]) for key in ("posts", "pages", "comments")} == {
        key.lower() + "s": n for key, n in counts(app).items()
    }
    plan = next(p for p in data["posts"] if p["title"] == "A KM plan in five questions")
    assert plan["labels"] == ["KM Plans", "knowledge sharing"]
    assert plan["body_source"].startswith("# Goals")
    names = {c["author_name"] for c in data["comments"]}
    assert {"Lena", ""} <= names


# --- the admin's page -----------------------------------------------------------------


def test_only_admins_open_the_import_and_export_page(app, blog, client, auth):
    assert client.get("/manage/transfer/").status_code == 302
    blog.author("writer", password="correct horse battery")
    auth.login("writer")
    assert client.get("/manage/transfer/").status_code == 403
    assert client.get("/manage/transfer/export/blogger.xml").status_code == 403


def test_admin_uploads_an_export_and_downloads_the_blog(app, blog, client, auth, migrated):
    blog.author("boss", password="correct horse battery", role=Role.ADMIN)
    auth.login("boss")
    upload = sample("blogger-2008-minima.xml").read_bytes()
    assert len(upload) > app.config["MAX_BODY_BYTES"]  # the route has a limit of its own
    want = expected(sample("blogger-2008-minima.xml"))

    def send(data: bytes, token: bool = True):  # type: ignore[no-untyped-def]
        form = {"export": (io.BytesIO(data), "export.xml")}
        if token:
            form["csrf_token"] = auth.csrf_token("/manage/transfer/")
        return client.post("/manage/transfer/import", data=form, content_type="multipart/form-data")

    assert send(upload, token=False).status_code == 400
    assert counts(app)["Post"] == 0
    refused = send(b"<html><body>not a blog</body></html>")
    assert refused.status_code == 400 and "not an Atom feed" in refused.text
    page = send(upload)
    assert page.status_code == 200
    assert f"posts published: {len(want.of('post', draft=False))}" in page.text
    assert "&lt;embed&gt;" in page.text  # the sanitising report, escaped

    xml = client.get("/manage/transfer/export/blogger.xml")
    assert xml.status_code == 200
    assert xml.headers["Content-Disposition"].startswith("attachment")
    root = ElementTree.fromstring(xml.data)  # noqa: S314
    assert len(root.findall("a:entry", NS)) > len(want.items)
    document = client.get("/manage/transfer/export/kmblog.json")
    assert len(json.loads(document.data)["posts"]) == len(want.of("post"))
