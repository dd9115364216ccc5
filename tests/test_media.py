"""Images: uploaded over HTTP, checked, stored as re-encoded variants without metadata,
served for a year, shown in posts with srcset, listed and deleted in the media library.

Every image here is made by Pillow in the test and read back by Pillow; every hostile
file is refused with a message and leaves no file and no row behind.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from kmblog.extensions import db
from kmblog.models import Media, Post
from kmblog.rendering import render_post
from tests.forms import hidden_field
from tests.html_tree import parse_html
from tests.test_editor import editor_form

LIBRARY = "/manage/media/"
UPLOAD = "/manage/media/upload"
GPS_IFD = ExifTags.IFD.GPSInfo
ATOM = "{http://www.w3.org/2005/Atom}"


# --- images made here -------------------------------------------------------------------


def photo_with_gps(size: tuple[int, int] = (2000, 1500), orientation: int = 6) -> bytes:
    """A JPEG as a phone takes it: a position in its EXIF and the camera turned."""
    image = Image.new("RGB", size, (200, 120, 40))
    # A band of colour along the top, to see which way the stored image stands.
    image.paste((20, 40, 220), (0, 0, size[0], size[1] // 10))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    exif[GPS_IFD] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (51.0, 30.0, 26.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (0.0, 7.0, 39.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    # The test's own premise: the upload does carry a position.
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    return data


def png(size: tuple[int, int] = (640, 400), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 90, 128) if mode == "RGBA" else (10, 200, 90)).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 90, 200)).save(out, "JPEG")
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, its data a compressed run of
    zeros: decoding it whole would take gigabytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    zeros = zlib.compress(b"\x00" * 4_000_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zeros) + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("shell.php", "<?php echo 'hi'; ?>")
    return out.getvalue()


# --- fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def media_folder(app: Flask, tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    app.config["MEDIA_DIR"] = str(folder)
    return folder


@pytest.fixture
def signed_in(auth, writer, media_folder):  # type: ignore[no-untyped-def]
    assert auth.login("writer").status_code == 303
    return writer


def upload(
    client: FlaskClient,
    data: bytes,
    filename: str = "photo.jpg",
    alt: str = "A harbour at dusk",
    content_type: str = "image/jpeg",
    json: bool = False,
) -> Any:
    token = hidden_field(client.get(LIBRARY).text, "csrf_token")
    # The body made here, as a browser would send it: Werkzeug's test client would spool
    # a large one to a temporary file that a refused request leaves open.
    fields = {
        "csrf_token": token,
        "alt": alt,
        "image": FileStorage(io.BytesIO(data), filename, content_type=content_type),
    }
    boundary, body = encode_multipart(fields)
    return client.post(
        UPLOAD,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Accept": "application/json"} if json else {},
    )


def served(client: FlaskClient, path: str) -> Any:
    """GET `path`, its body read and the file behind it closed (send_file keeps it open
    until the response is)."""
    with client.get(path) as answer:
        answer.get_data()
        return answer


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*")) if folder.exists() else []


def media_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Media)) or 0


def only_media(app: Flask) -> Media:
    with app.app_context():
        media = db.session.scalars(select(Media)).one()
        db.session.expunge(media)
        return media


# --- storing ----------------------------------------------------------------------------


def test_a_photo_is_stored_upright_in_every_width_and_format_without_its_gps(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    answer = upload(client, photo_with_gps(), json=True)
    assert answer.status_code == 201, answer.text
    media = only_media(app)
    # Turned upright (orientation 6: a quarter turn), so 1500 wide by 2000 high; widths
    # up to 1600 but never beyond the photo's own 1500.
    assert (media.width, media.height) == (1500, 2000)
    assert media.width_list == [480, 960, 1500]
    assert media.alt == "A harbour at dusk"
    assert media.original_name == "photo.jpg"
    assert answer.json == {
        "markdown": f"![A harbour at dusk](/media/{media.sha256}.jpg)",
        "url": f"/media/{media.sha256}.jpg",
        "alt": "A harbour at dusk",
    }
    files = stored_files(media_folder)
    names = {path.name for path in files}
    expected = {f"{media.sha256}.jpg"} | {
        f"{media.sha256}-{w}.{ext}" for w in (480, 960, 1500) for ext in ("jpg", "webp")
    }
    assert names == expected
    for path in files:
        with Image.open(path) as stored:
            assert stored.format == ("WEBP" if path.suffix == ".webp" else "JPEG")
            exif = stored.getexif()
            assert not exif.get_ifd(GPS_IFD), f"{path.name} kept the GPS position"
            assert ExifTags.Base.Make not in exif
            assert ExifTags.Base.Orientation not in exif
            assert "exif" not in stored.info
            width = int(path.stem.rsplit("-", 1)[1]) if "-" in path.stem else 1500
            assert stored.width == width
            assert stored.height == round(2000 * width / 1500)
            # Orientation 6 asks for a quarter turn clockwise: the band stored along the
            # top of the camera's pixels now runs down the right-hand side.
            rgb = stored.convert("RGB")
            red, _, blue = rgb.getpixel((stored.width - 3, stored.height // 2))
            assert blue > 150 and red < 100
            red, _, blue = rgb.getpixel((2, stored.height // 2))
            assert red > 150 and blue < 100
            red, _, blue = rgb.getpixel((stored.width // 2, 2))
            assert red > 150 and blue < 100


def test_the_same_image_uploaded_twice_is_stored_once(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    data = jpeg()
    first = upload(client, data, json=True)
    files = stored_files(media_folder)
    second = upload(client, data, filename="copy.jpg", alt="Another name", json=True)
    assert first.status_code == second.status_code == 201
    assert first.json["url"] == second.json["url"]
    assert media_count(app) == 1
    assert stored_files(media_folder) == files


def test_a_transparent_png_stays_png_and_a_small_image_is_never_enlarged(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    assert upload(client, png((300, 200)), "logo.png", content_type="image/png").status_code == 303
    media = only_media(app)
    assert (media.extension, media.width, media.width_list) == ("png", 300, [300])
    with Image.open(media_folder / f"{media.sha256}.png") as stored:
        assert stored.format == "PNG"
        assert stored.size == (300, 200)
        assert stored.mode == "RGBA"


def test_images_are_served_for_a_year_with_their_type(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    upload(client, photo_with_gps())
    media = only_media(app)
    reader = app.test_client()
    for name, content_type in (
        (f"{media.sha256}.jpg", "image/jpeg"),
        (f"{media.sha256}-480.webp", "image/webp"),
    ):
        answer = served(reader, f"/media/{name}")
        assert answer.status_code == 200
        assert answer.content_type == content_type
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        cache = answer.headers["Cache-Control"]
        assert "public" in cache and "max-age=31536000" in cache and "immutable" in cache
        assert "Set-Cookie" not in answer.headers
        Image.open(io.BytesIO(answer.data)).verify()
    for missing in (f"{'0' * 64}.jpg", "../secret_key", f"{media.sha256}.php", "x.jpg"):
        assert served(reader, f"/media/{missing}").status_code == 404


# --- refusals ---------------------------------------------------------------------------

PHP = b"<?php system($_GET['c']); ?>\n"
REFUSED = {
    "a text file": (b"Meeting notes, not a picture.\n" * 20, "notes.txt", "text/plain",
                    "not an image"),
    "a PHP file named .jpg": (PHP, "shell.jpg", "image/jpeg", "not an image"),
    "a JPEG with PHP after it": (jpeg() + PHP, "photo.jpg", "image/jpeg", "something besides"),
    "a PNG that is also a ZIP": (png() + zip_archive(), "chart.png", "image/png",
                                 "something besides"),
    "a PNG named .jpg": (png(), "photo.jpg", "image/jpeg", "claims to be JPG"),
    "a JPEG sent as a PNG": (jpeg(), "photo.png", "image/png", "claims to be PNG"),
    "a 50,000 × 50,000 PNG": (png_header_claiming(50_000, 50_000), "bomb.png", "image/png",
                              "megapixels"),
    "a 9,000 × 9,000 PNG": (png_header_claiming(9_000, 9_000), "big.png", "image/png",
                            "megapixels"),
    "an SVG with a script": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "logo.svg", "image/svg+xml", "SVG images are not accepted"),
    "a truncated JPEG": (jpeg()[:600], "cut.jpg", "image/jpeg", "damaged"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_or_wrong_files_are_refused_and_nothing_is_stored(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path, case: str
) -> None:
    data, filename, content_type, message = REFUSED[case]
    page = upload(client, data, filename, content_type=content_type)
    assert page.status_code == 422
    assert message in parse_html(page.text).one("p", class_="form-error").text()
    as_json = upload(client, data, filename, content_type=content_type, json=True)
    assert as_json.status_code == 422
    assert message in as_json.json["error"]
    assert stored_files(media_folder) == []
    assert media_count(app) == 0


def test_an_image_without_a_description_is_refused(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    answer = upload(client, jpeg(), alt="   ", json=True)
    assert answer.status_code == 422
    assert "Describe the image" in answer.json["error"]
    assert stored_files(media_folder) == [] and media_count(app) == 0


def test_a_30_mb_file_is_refused_with_413_and_a_clear_page(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    big = jpeg() + b"\x00" * (30 * 1024 * 1024)
    page = upload(client, big)
    assert page.status_code == 413
    assert "images may be up to 20 MB" in page.text
    as_json = upload(client, big, json=True)
    assert as_json.status_code == 413
    assert "up to 20 MB" in as_json.json["error"]
    assert stored_files(media_folder) == [] and media_count(app) == 0


def test_uploads_need_a_signed_in_author(client: FlaskClient, media_folder: Path) -> None:
    answer = client.post(UPLOAD, data={}, content_type="multipart/form-data")
    assert answer.status_code in {302, 400, 401}
    assert stored_files(media_folder) == []


# --- in posts ---------------------------------------------------------------------------


def _publish(client: FlaskClient, body: str, title: str = "A picture post") -> str:
    values = editor_form(client.get("/manage/posts/new").text)
    values.update(title=title, body=body, action="publish")
    values.pop("image", None)
    answer = client.post("/manage/posts/new", data=values)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["Location"])


def test_a_published_post_shows_the_image_with_srcset_sizes_and_lazy_loading(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    markdown = upload(client, photo_with_gps(), json=True).json["markdown"]
    _publish(client, f"Before the picture.\n\n{markdown}\n\nAfter it.")
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        address = f"/{post.year}/{post.month:02d}/{post.slug}.html"
    media = only_media(app)
    page = app.test_client().get(address)
    assert page.status_code == 200
    tree = parse_html(page.text)
    picture = tree.one("picture")
    source = picture.one("source")
    assert source.get("type") == "image/webp"
    base = f"/media/{media.sha256}"
    assert (
        source.get("srcset")
        == f"{base}-480.webp 480w, {base}-960.webp 960w, {base}-1500.webp 1500w"
    )
    img = picture.one("img")
    assert img.get("src") == f"{base}.jpg"
    assert img.get("alt") == "A harbour at dusk"
    assert img.get("srcset") == f"{base}-480.jpg 480w, {base}-960.jpg 960w, {base}-1500.jpg 1500w"
    assert img.get("sizes") == source.get("sizes") == "(max-width: 760px) 100vw, 760px"
    assert (img.get("width"), img.get("height")) == ("1500", "2000")
    assert img.get("loading") == "lazy"
    assert img.get("decoding") == "async"
    # Every address in the page's srcsets is served.
    reader = app.test_client()
    for candidate in (img.get("srcset", "") + ", " + source.get("srcset", "")).split(","):
        assert served(reader, candidate.split()[0]).status_code == 200


def test_the_editor_preview_shows_the_image_the_same_way(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    markdown = upload(client, jpeg(), json=True).json["markdown"]
    values = editor_form(client.get("/manage/posts/new").text)
    values.update(title="Draft", body=markdown, action="preview")
    values.pop("image", None)
    page = client.post("/manage/posts/new", data=values)
    assert page.status_code == 200
    preview = parse_html(page.text).one("section", class_="preview")
    assert "480w" in preview.one("img").get("srcset", "")


def test_the_editor_uploads_without_a_script_and_keeps_what_was_typed(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    values: dict[str, Any] = editor_form(client.get("/manage/posts/new").text)
    values.update(title="", body="Some words first.", action="upload", image_alt="A chart")
    values["image"] = (io.BytesIO(png()), "chart.png", "image/png")
    page = client.post("/manage/posts/new", data=values, content_type="multipart/form-data")
    assert page.status_code == 200, page.text
    media = only_media(app)
    body = editor_form(page.text)["body"]
    assert body == f"Some words first.\n\n![A chart](/media/{media.sha256}.png)\n"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    # A refused file: the text stays, the message sits by the file field.
    values.update(body="Still here.", image_alt="A script")
    values["image"] = (io.BytesIO(PHP), "shell.jpg", "image/jpeg")
    page = client.post("/manage/posts/new", data=values, content_type="multipart/form-data")
    assert page.status_code == 422
    assert editor_form(page.text)["body"] == "Still here."
    assert "not an image" in page.text
    assert media_count(app) == 1


def test_srcset_and_friends_are_ours_alone() -> None:
    html = render_post(
        '<img src="https://elsewhere.example/a.jpg" srcset="https://elsewhere.example/b.jpg 2x"'
        ' loading="eager" onerror="alert(1)">\n\n'
        "![x](/media/" + "a" * 64 + ".jpg)"
    )
    assert "elsewhere.example/b.jpg" not in html
    assert "onerror" not in html
    # An address of the right shape that no upload stands behind: a plain image.
    assert f'<img alt="x" src="/media/{"a" * 64}.jpg"' in html
    assert "srcset" not in html


# --- the library ------------------------------------------------------------------------


def test_the_library_lists_reuses_and_deletes_only_unused_images(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    markdown = upload(client, jpeg(), alt="Team at the whiteboard", json=True).json["markdown"]
    post_address = _publish(client, markdown, title="Workshop notes")
    media = only_media(app)
    page = client.get(LIBRARY)
    assert page.status_code == 200
    tree = parse_html(page.text)
    item = tree.one("li", class_="media-item")
    thumb = item.one("img")
    assert thumb.get("alt") == "Team at the whiteboard"
    assert served(client, thumb.get("src", "")).status_code == 200
    assert item.one("input", class_="media-markdown").get("value") == markdown
    assert "Workshop notes" in item.text()
    assert item.find("form") is None  # no Delete button while it is used

    token = hidden_field(page.text, "csrf_token")
    refused = client.post(f"/manage/media/{media.id}/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "“Workshop notes” shows this image" in refused.text
    assert len(stored_files(media_folder)) == 5 and media_count(app) == 1

    edit = client.get(post_address)
    values = editor_form(edit.text)
    values.update(body="No picture any more.", action="save")
    values.pop("image", None)
    assert client.post(post_address, data=values).status_code == 303
    page = client.get(LIBRARY)
    assert parse_html(page.text).one("li", class_="media-item").find("form") is not None
    deleted = client.post(
        f"/manage/media/{media.id}/delete",
        data={"csrf_token": hidden_field(page.text, "csrf_token")},
    )
    assert deleted.status_code == 303
    assert stored_files(media_folder) == [] and media_count(app) == 0
    assert served(client, f"/media/{media.sha256}.jpg").status_code == 404


def test_another_author_may_not_delete_an_image(
    client: FlaskClient,
    app: Flask,
    auth,
    blog,
    signed_in: int,
    media_folder: Path,  # type: ignore[no-untyped-def]
) -> None:
    upload(client, jpeg())
    media = only_media(app)
    auth.logout()
    blog.author("other", password="correct horse battery staple")
    other = app.test_client()
    from tests.conftest import AuthActions

    other_auth = AuthActions(other)
    assert other_auth.login("other", "correct horse battery staple").status_code == 303
    token = hidden_field(other.get(LIBRARY).text, "csrf_token")
    assert (
        other.post(f"/manage/media/{media.id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    assert media_count(app) == 1


# --- away from the blog -----------------------------------------------------------------


def test_feeds_and_the_blogger_export_name_uploaded_images_by_absolute_address(
    client: FlaskClient,
    app: Flask,
    auth,
    signed_in: int,
    admin: int,
    media_folder: Path,  # type: ignore[no-untyped-def]
) -> None:
    markdown = upload(client, jpeg(), json=True).json["markdown"]
    _publish(client, f"A picture:\n\n{markdown}")
    media = only_media(app)
    absolute = f"http://blog.test/media/{media.sha256}"

    # Read as XML: feedparser's own sanitiser would drop srcset before we saw it.
    feed = ElementTree.fromstring(app.test_client().get("/feeds/posts/default").data)
    content = feed.findtext(f"{ATOM}entry/{ATOM}content") or ""
    images = parse_html(content).find_all("img")
    assert [img.get("src") for img in images] == [f"{absolute}.jpg"]
    assert images[0].get("srcset") == f"{absolute}-480.jpg 480w, {absolute}-800.jpg 800w"
    webp = parse_html(content).one("source").get("srcset")
    assert webp == f"{absolute}-480.webp 480w, {absolute}-800.webp 800w"
    assert f'"/media/{media.sha256}' not in content

    auth.logout()
    assert auth.login("admin").status_code == 303
    export = client.get("/manage/transfer/export/blogger.xml").text
    contents = [
        entry.findtext(f"{ATOM}content") or ""
        for entry in ElementTree.fromstring(export).iter(f"{ATOM}entry")
    ]
    shown = [content for content in contents if "A picture" in content]
    assert len(shown) == 1
    assert f'src="{absolute}.jpg"' in shown[0]
    assert f"{absolute}-800.webp 800w" in shown[0]
    assert f'"/media/{media.sha256}' not in shown[0]


def test_a_30_mb_image_sent_with_the_editor_gets_a_clear_413(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    values: dict[str, Any] = editor_form(client.get("/manage/posts/new").text)
    values.update(title="Big", body="Words.", action="upload", image_alt="Too big")
    values["image"] = FileStorage(
        io.BytesIO(jpeg() + b"\x00" * (30 * 1024 * 1024)), "big.jpg", content_type="image/jpeg"
    )
    boundary, body = encode_multipart(values)
    page = client.post(
        "/manage/posts/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert page.status_code == 413
    text = parse_html(page.text).one("section", class_="error-page").text()
    assert "larger than this page accepts (up to 20 MB), so nothing was saved" in text
    assert stored_files(media_folder) == [] and media_count(app) == 0


def test_an_unwritable_media_folder_is_a_message_not_a_500(
    client: FlaskClient, app: Flask, signed_in: int, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be")
    app.config["MEDIA_DIR"] = str(blocked / "media")
    answer = upload(client, jpeg(), json=True)
    # The server's trouble, not the image's: 503, as for a full disk.
    assert answer.status_code == 503
    assert "could not be stored" in answer.json["error"]
    assert media_count(app) == 0


def test_a_detailed_photo_of_a_few_megabytes_is_accepted(
    client: FlaskClient, app: Flask, signed_in: int, media_folder: Path
) -> None:
    """Compressed pixels look like random bytes: the checks for scripts and archives
    riding along must not mistake them for one."""
    noise = Image.effect_noise((2400, 1800), 120).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=98)
    assert len(out.getvalue()) > 2_000_000
    answer = upload(client, out.getvalue(), "noise.jpeg", content_type="image/jpg", json=True)
    assert answer.status_code == 201, answer.json
    assert only_media(app).width_list == [480, 960, 1600]
