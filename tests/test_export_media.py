"""Exports carry the uploaded images: the Blogger export names them by absolute address,
and the JSON export describes each upload and, as a ZIP archive, holds its files byte
for byte, with the posts' public history and everything else the blog holds."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from kmblog.blogger.exporter import archive_export
from kmblog.extensions import db
from kmblog.manage.services import PostAction, PostDraft, create_post, save_post
from kmblog.media.services import Upload, store_upload
from kmblog.models import Media, Page, Post, PostKind, User, utcnow
from kmblog.pages.services import PageDraft, create_page
from tests.factories import BASE_TIME
from tests.test_blogger_export import fill_blog

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://kip.example"
WIDTHS = [480, 960]


@pytest.fixture
def media_folder(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    app.config["MEDIA_DIR"] = str(folder)
    app.config["MEDIA_WIDTHS"] = WIDTHS
    return folder


def photo(size: tuple[int, int], seed: int) -> bytes:
    """A JPEG with detail (not one flat colour), different for each seed."""
    image = Image.effect_noise(size, 40 + seed).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def transparent_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (10, 200, 90, 128)).save(out, "PNG")
    return out.getvalue()


def store(app: Flask, folder: Path, data: bytes, name: str, alt: str) -> str:
    """Upload an image through the library's service; its Markdown address."""
    with app.app_context():
        uploader = db.session.scalars(select(User).order_by(User.id)).first()
        media = store_upload(
            Upload(data=data, filename=name, declared_type="", alt=alt),
            uploader,
            folder,
            max_bytes=10_000_000,
            max_pixels=50_000_000,
            widths=WIDTHS,
        )
        return media.url


def picture_blog(app: Flask, blog: Any, folder: Path) -> dict[str, Any]:  # type: ignore[misc]
    """An author's blog with three images in a post, a page and (unused) the library; the
    post published, then changed twice (a noted change and a typo fix); a plan with a
    strategy."""
    admin = blog.author("boss", display_name="The Boss")
    harbour = store(app, folder, photo((1400, 900), 1), "harbour.jpg", "A harbour at dusk")
    chart = store(app, folder, transparent_png(), "chart.png", "A chart of who knows what")
    store(app, folder, photo((500, 400), 2), "spare.jpeg", "An unused picture")
    with app.app_context():
        author = db.session.get(User, admin)
        assert author is not None
        body = f"Where we meet:\n\n![A harbour at dusk]({harbour})\n"
        post = create_post(
            author, PostDraft(title="A harbour", body=body), BASE_TIME, publish_at=BASE_TIME
        )
        later = BASE_TIME + timedelta(days=2)
        save_post(
            post,
            PostDraft(title="A harbour", body=body + "\nAnd why.", change_note="Added why."),
            PostAction.SAVE,
            later,
        )
        save_post(
            post,
            PostDraft(title="A harbour", body=body + "\nAnd why!", typo=True),
            PostAction.SAVE,
            later + timedelta(hours=1),
        )
        page = create_page(
            author,
            PageDraft(title="About the charts", body=f"![A chart of who knows what]({chart})"),
            BASE_TIME,
            True,
        )
        plan = create_post(
            author, PostDraft(title="A plan", body="What.", kind=PostKind.PLAN), BASE_TIME
        )
        strategy = create_post(
            author,
            PostDraft(
                title="A strategy", body="How.", kind=PostKind.STRATEGY, companion_id=plan.id
            ),
            BASE_TIME,
        )
        return {"post": post.id, "page": page.id, "plan": plan.id, "strategy": strategy.id}


def files_on_disk(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def media_rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [
            {
                "sha256": m.sha256,
                "alt": m.alt,
                "width": m.width,
                "height": m.height,
                "widths": m.width_list,
                "url": m.url,
            }
            for m in db.session.scalars(select(Media).order_by(Media.id))
        ]


def run_export(runner: Any, out: Path, *args: str) -> str:
    result = runner.invoke(args=["export", *args, str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def without_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported_at"}


# --- the JSON export and its archive ----------------------------------------------------


def test_the_archive_holds_every_image_file_byte_for_byte(
    app: Flask, blog: Any, runner: Any, media_folder: Path, tmp_path: Path
) -> None:
    picture_blog(app, blog, media_folder)
    on_disk = files_on_disk(media_folder)
    # Three uploads: 1 + 2 files a width each; the small one and the PNG have fewer widths.
    assert len(on_disk) >= 3 * 3

    out = tmp_path / "blog.zip"
    assert "with the images' files" in run_export(runner, out, "json")
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None  # every member's CRC checks
        names = archive.namelist()
        assert names[0] == "kmblog.json"
        carried = {
            name.removeprefix("media/"): archive.read(name)
            for name in names
            if name.startswith("media/")
        }
        document = json.loads(archive.read("kmblog.json"))
        # Unpacked, the files are readable by their owner and the others.
        assert {info.external_attr >> 16 for info in archive.infolist()} == {0o644}
    assert set(names) == {"kmblog.json"} | {f"media/{name}" for name in on_disk}
    assert carried == on_disk  # every stored file, byte for byte, and nothing else

    # kmblog.json describes each upload and names exactly the files carried.
    described = document["media"]
    assert [
        {key: m[key] for key in ("sha256", "alt", "width", "height", "widths", "url")}
        for m in described
    ] == media_rows(app)
    listed = {f["name"]: f for m in described for f in m["files"]}
    assert set(listed) == set(on_disk)
    assert all(listed[name]["bytes"] == len(data) for name, data in on_disk.items())
    assert all(m["missing_files"] == [] for m in described)
    harbour = next(m for m in described if m["alt"] == "A harbour at dusk")
    assert harbour["content_type"] == "image/jpeg" and harbour["original_name"] == "harbour.jpg"
    assert {f["content_type"] for f in harbour["files"]} == {"image/jpeg", "image/webp"}
    assert sorted({f["width"] for f in harbour["files"]}) == WIDTHS
    # Each file is the image it says: its type and width as listed.
    for name, entry in listed.items():
        with Image.open(io.BytesIO(carried[name])) as image:
            assert Image.MIME[image.format or ""] == entry["content_type"], name
            assert image.width == entry["width"], name

    # The archive's kmblog.json is the JSON export, but for its time.
    plain = tmp_path / "blog.json"
    assert "name the file .zip" in run_export(runner, plain, "json")
    assert without_time(json.loads(plain.read_text(encoding="utf-8"))) == without_time(document)


def test_a_file_gone_from_the_media_folder_is_listed_as_missing(
    app: Flask, blog: Any, runner: Any, media_folder: Path, tmp_path: Path
) -> None:
    picture_blog(app, blog, media_folder)
    gone = sorted(media_folder.glob("*-480.webp"))[0]
    gone.unlink()
    out = tmp_path / "blog.zip"
    run_export(runner, out, "json")
    with zipfile.ZipFile(out) as archive:
        assert f"media/{gone.name}" not in archive.namelist()
        carried = {n.removeprefix("media/") for n in archive.namelist() if n != "kmblog.json"}
        document = json.loads(archive.read("kmblog.json"))
    assert carried == set(files_on_disk(media_folder))
    missing = [name for m in document["media"] for name in m["missing_files"]]
    assert missing == [gone.name]


def test_the_json_export_is_whole_and_every_reference_resolves(
    app: Flask, blog: Any, runner: Any, media_folder: Path, tmp_path: Path
) -> None:
    """History, pages' source format, pairs and images, on top of the Blogger samples."""
    fill_blog(blog, runner)
    ids = picture_blog(app, blog, media_folder)
    out = tmp_path / "blog.json"
    run_export(runner, out, "json")
    # Strict JSON: no NaN or other extension a reader elsewhere would refuse.
    data = json.loads(out.read_text(encoding="utf-8"), parse_constant=pytest.fail)

    posts = {p["id"]: p for p in data["posts"]}
    history = [r for r in data["revisions"] if r["post_id"] == ids["post"]]
    assert [(r["number"], r["note"], r["typo"]) for r in history] == [
        (1, "", False),
        (2, "Added why.", False),
        (3, "", True),
    ]
    assert history[-1]["body_source"].endswith("And why!")
    assert posts[ids["post"]]["revised_at"] == history[-1]["created_at"]
    assert posts[ids["strategy"]]["companion_id"] == ids["plan"]
    assert posts[ids["plan"]]["companion_id"] is None

    with app.app_context():
        stored_pages = {p.id: p.source_format.value for p in db.session.scalars(select(Page))}
        post_ids = set(db.session.scalars(select(Post.id)))
    assert {p["id"]: p["source_format"] for p in data["pages"]} == stored_pages
    assert {"html", "markdown"} <= set(stored_pages.values())  # imported and written here
    assert set(posts) == post_ids

    authors = {a["id"] for a in data["authors"]}
    comments = {c["id"] for c in data["comments"]}
    for revision in data["revisions"]:
        assert revision["post_id"] in posts and revision["author_id"] in authors | {None}
    for post in data["posts"]:
        assert post["author_id"] in authors
        assert post["companion_id"] in set(posts) | {None}
    for comment in data["comments"]:
        assert comment["post_id"] in posts and comment["parent_id"] in comments | {None}
        assert "edited_at" in comment
    for page in data["pages"]:
        assert page["author_id"] in authors
    for media in data["media"]:
        assert media["uploader_id"] in authors
    assert "thread_depth" in data["settings"] and "blocked_words" in data["settings"]
    assert all("password_hash" not in a for a in data["authors"])


def test_the_admin_downloads_the_archive_and_authors_may_not(
    app: Flask, blog: Any, client: Any, auth: Any, admin: int, writer: int, media_folder: Path
) -> None:
    picture_blog(app, blog, media_folder)
    assert auth.login("writer").status_code == 303
    assert client.get("/manage/transfer/export/kmblog.zip").status_code == 403
    auth.logout()
    assert auth.login("admin").status_code == 303
    page = client.get("/manage/transfer/").text
    assert 'href="/manage/transfer/export/kmblog.zip"' in page
    answer = client.get("/manage/transfer/export/kmblog.zip")
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="blog-')
    with zipfile.ZipFile(io.BytesIO(answer.data)) as archive:
        assert archive.testzip() is None
        carried = {
            n.removeprefix("media/"): archive.read(n)
            for n in archive.namelist()
            if n.startswith("media/")
        }
        document = json.loads(archive.read("kmblog.json"))
    assert carried == files_on_disk(media_folder)
    # The plain JSON download describes the same images.
    plain = client.get("/manage/transfer/export/kmblog.json").get_json()
    assert plain["media"] == document["media"]


# --- the Blogger export -----------------------------------------------------------------


def media_addresses(html: str) -> list[str]:
    """Every address an <img> or <source> names (src and each srcset candidate)."""
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    found = []
    for node in tree.iter("img", "source"):
        if node.get("src"):
            found.append(node.get("src"))
        for candidate in (node.get("srcset") or "").split(","):
            if candidate.strip():
                found.append(candidate.split()[0])
    return found


def test_the_blogger_export_names_every_image_by_an_address_that_serves_it(
    app: Flask, blog: Any, runner: Any, client: Any, media_folder: Path, tmp_path: Path
) -> None:
    picture_blog(app, blog, media_folder)
    out = tmp_path / "blog.xml"
    run_export(runner, out, "blogger", "--base-url", BASE)
    text = out.read_text(encoding="utf-8")

    parsed = feedparser.parse(text)
    assert not parsed.bozo, parsed.get("bozo_exception")
    titles = {entry.title for entry in parsed.entries}
    assert {"A harbour", "About the charts"} <= titles

    root = lxml.etree.fromstring(out.read_bytes())
    contents = {
        entry.findtext(f"{ATOM}title"): entry.findtext(f"{ATOM}content") or ""
        for entry in root.iter(f"{ATOM}entry")
    }
    on_disk = files_on_disk(media_folder)
    for title, wanted in (("A harbour", "A harbour at dusk"), ("About the charts", "A chart")):
        addresses = media_addresses(contents[title])
        assert addresses, title
        assert all(a.startswith(f"{BASE}/media/") for a in addresses), addresses
        assert wanted in contents[title]
        # Each address, asked of this blog, gives the stored file.
        for address in addresses:
            name = address.removeprefix(f"{BASE}/media/")
            with client.get(f"/media/{name}") as answer:
                assert answer.status_code == 200, address
                assert answer.get_data() == on_disk[name], address
    assert '"/media/' not in text and "&quot;/media/" not in text


def test_the_archive_costs_the_same_queries_for_two_images_or_six(
    app: Flask, blog: Any, media_folder: Path, count_queries: Any
) -> None:
    """Rows are read a page at a time: more images, more files, no more queries."""
    blog.author("boss")
    costs = []
    for seed in range(6):
        store(app, media_folder, photo((600, 400), 10 + seed), f"p{seed}.jpg", f"Picture {seed}")
        if seed in (1, 5):
            with app.app_context(), count_queries() as queries:
                archive = b"".join(archive_export(utcnow(), media_folder))
            with zipfile.ZipFile(io.BytesIO(archive)) as opened:
                assert len(json.loads(opened.read("kmblog.json"))["media"]) == seed + 1
            costs.append(len(queries))
    assert costs[0] == costs[1]
