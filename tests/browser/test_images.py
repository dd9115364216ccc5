"""Images in a real browser: uploaded from the editor by the file field and by dropping
a file on the text, seen in the preview and on the published post with srcset (the
browser picks a WebP variant), and no sideways scrolling on a phone."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

from PIL import Image

from tests.browser.conftest import PHONE
from tests.browser.helpers import navigate, scroll_width

MEDIA_MARKDOWN = re.compile(r"!\[([^\]]*)\]\((/media/[0-9a-f]{64}\.(?:jpg|png))\)")


def _jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def _flash(page: Any) -> str:
    return " ".join(page.locator(".flash").all_text_contents())


def _loaded_image(page: Any, scope: str) -> dict[str, Any]:
    """The first image in `scope` once the browser has loaded it."""
    image = page.locator(f"{scope} img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s + ' img'); return i && i.complete"
        " && i.naturalWidth > 0; }",
        arg=scope,
    )
    return dict(
        image.evaluate(
            "(i) => ({src: i.getAttribute('src'), srcset: i.getAttribute('srcset'),"
            " current: i.currentSrc, width: i.getAttribute('width'),"
            " loading: i.getAttribute('loading'), alt: i.alt,"
            " webp: i.parentElement.querySelector('source[type=\"image/webp\"]')?.srcset})"
        )
    )


def test_an_author_uploads_by_file_field_previews_and_publishes_with_srcset(author, new_context):
    page = author
    page.goto("/manage/posts/new")
    page.get_by_label("Title").fill("Mapping who knows what")
    page.get_by_label("Body (Markdown)").fill("The map from our workshop:")
    page.get_by_label("Image (JPEG, PNG or WebP)").set_input_files(
        files=[
            {
                "name": "workshop-map.jpg",
                "mimeType": "image/jpeg",
                "buffer": _jpeg((2400, 1600), (30, 110, 170)),
            }
        ]
    )
    page.get_by_label("Image description (alternative text)").fill("A whiteboard knowledge map")
    page.get_by_role("button", name="Upload image").click()
    status = page.locator(".upload-status")
    status.filter(has_text="Uploaded").wait_for()
    body = page.get_by_label("Body (Markdown)").input_value()
    found = MEDIA_MARKDOWN.search(body)
    assert found, body
    assert found.group(1) == "A whiteboard knowledge map"
    assert body.startswith("The map from our workshop:\n\n![")

    navigate(page, page.get_by_role("button", name="Preview").click)
    shown = _loaded_image(page, "section.preview")
    assert shown["src"] == found.group(2)
    assert "480w" in shown["srcset"] and "1600w" in shown["srcset"]
    assert shown["current"].endswith(".webp"), shown  # Chromium takes the WebP source
    assert shown["width"] == "1600" and shown["loading"] == "lazy"

    navigate(page, page.get_by_role("button", name="Publish (or schedule)").click)
    assert "Saved and published." in _flash(page)
    address = page.locator(".post-state a").get_attribute("href")

    reader = new_context().new_page()
    reader.goto(address)
    shown = _loaded_image(reader, ".post-body")
    assert shown["alt"] == "A whiteboard knowledge map"
    assert "960w" in shown["srcset"] and ".webp 480w" in shown["webp"]
    assert "/media/" in shown["current"] and shown["current"].endswith(".webp")

    phone = new_context(viewport=PHONE).new_page()
    phone.goto(address)
    shown = _loaded_image(phone, ".post-body")
    box = phone.locator(".post-body img").first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert scroll_width(phone) <= PHONE["width"]


def test_an_image_dropped_on_the_text_goes_in_at_the_cursor_once_described(author):
    page = author
    page.goto("/manage/posts/new")
    text = page.get_by_label("Body (Markdown)")
    text.fill("First paragraph.\n\nLast paragraph.")
    # The cursor after the first paragraph, then a file dropped as the desktop would.
    text.evaluate("(t) => { t.focus(); t.setSelectionRange(17, 17); }")
    encoded = base64.b64encode(_jpeg((900, 600), (170, 60, 40))).decode()
    transfer = page.evaluate_handle(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const moved = new DataTransfer();
            moved.items.add(new File([bytes], "dropped.jpg", {type: "image/jpeg"}));
            return moved;
        }""",
        encoded,
    )
    text.dispatch_event("drop", {"dataTransfer": transfer})
    alt = page.get_by_label("Image description (alternative text)")
    assert alt.evaluate("(a) => a === document.activeElement")
    assert "dropped.jpg" in page.locator(".upload-status").text_content()
    # Nothing is sent before it is described.
    assert page.get_by_label("Image (JPEG, PNG or WebP)").evaluate("(f) => f.files.length") == 1
    page.get_by_role("button", name="Upload image").click()
    page.locator(".upload-status").filter(has_text="Describe the image first").wait_for()
    alt.fill("A red brick archive")
    page.get_by_role("button", name="Upload image").click()
    page.locator(".upload-status").filter(has_text="Uploaded").wait_for()
    body = text.input_value()
    first, image, last = body.split("\n\n")[:3]
    assert first == "First paragraph."
    assert MEDIA_MARKDOWN.fullmatch(image) and "A red brick archive" in image
    assert last.startswith("Last paragraph.")
