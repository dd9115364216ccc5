"""Series in a real browser: a reader follows the demo's series part by part and finds
its feed; an author makes a series, puts two new posts in it from the editor and swaps
them with the Up and Down buttons (no script), on a desktop and on a phone."""

from __future__ import annotations

import re
from typing import Any

import feedparser

from tests.browser.conftest import PHONE
from tests.browser.helpers import navigate, scroll_width, shoot

SERIES = "From Plan to Practice"
PARTS = [
    "Writing a KM Plan: Start With What the Organisation Is Trying to Do",
    "Taking Stock: An Inventory of Knowledge Assets",
    "Getting Senior Managers to Agree (Really Agree)",
    "Is It Working? Reviewing a KM Programme After Six Months",
]


def _listed(page: Any) -> list[str]:
    return page.locator(".series-posts .p-name").all_text_contents()  # type: ignore[no-any-return]


def test_a_reader_follows_a_series_part_by_part(reader, new_context, screenshots):
    page = reader
    page.goto("/2009/04/taking-stock-an-inventory-of-knowledge-assets.html")
    assert page.locator(".series-part").text_content() == f"Part 2 of 4 in {SERIES}"

    navigate(page, page.get_by_role("link", name=f"Next in the series: {PARTS[2]}").click)
    assert page.locator("h3.post-title").text_content() == PARTS[2]
    navigate(page, page.get_by_role("link", name=SERIES, exact=True).click)
    assert page.url.endswith("/series/from-plan-to-practice.html")
    assert _listed(page) == PARTS
    shoot(page, screenshots, "series-desktop")

    # Its feed, advertised and linked, answers Atom with the four parts.
    feed_link = page.get_by_role("link", name="Posts in this series (Atom)")
    address = feed_link.get_attribute("href")
    assert page.locator(f'head link[rel=alternate][href="{address}"]').count() == 1
    response = page.request.get(address)
    assert response.ok
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert sorted(entry.title for entry in feedparser.parse(response.body()).entries) == sorted(
        PARTS
    )

    navigate(page, page.get_by_role("link", name=PARTS[3]).click)
    assert page.locator(".series-part").text_content() == f"Part 4 of 4 in {SERIES}"
    assert page.locator(".series-next").count() == 0
    navigate(page, page.get_by_role("link", name=f"Previous in the series: {PARTS[2]}").click)
    assert page.locator("h3.post-title").text_content() == PARTS[2]

    phone = new_context(viewport=PHONE).new_page()
    phone.goto("/2009/04/taking-stock-an-inventory-of-knowledge-assets.html")
    assert scroll_width(phone) <= PHONE["width"]
    for link in (".series-previous", ".series-next"):
        box = phone.locator(link).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    shoot(phone, screenshots, "series-part-phone")


def _write(page: Any, title: str, series: str) -> None:
    """A new post, published, put into `series` from the editor."""
    page.goto("/manage/posts/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body (Markdown)").fill(f"{title}: a short note for the series.")
    page.get_by_label("Series").select_option(label=series)
    navigate(page, page.get_by_role("button", name="Publish (or schedule)").click)
    page.wait_for_url(re.compile(r"/manage/posts/\d+/edit$"))
    assert page.get_by_label("Series").locator("option:checked").text_content() == series


def test_an_author_makes_a_series_fills_it_and_orders_it_without_script(
    author, new_context, screenshots
):
    page = author
    title = "Notes on Communities"  # one server per run: no clash
    page.goto("/manage/series/")
    navigate(page, page.get_by_role("link", name="New series").click)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description (Markdown)").fill("Short notes on *communities*.")
    navigate(page, page.get_by_role("button", name="Make the series").click)
    page.wait_for_url(re.compile(r"/manage/series/\d+/edit$"))
    editor = page.url

    _write(page, "Community Note One", title)
    _write(page, "Community Note Two", title)

    page.goto(editor)
    rows = page.locator("tbody tr td:nth-child(2)")
    assert rows.all_text_contents() == ["Community Note One", "Community Note Two"]
    navigate(
        page,
        page.get_by_role("button", name=re.compile("move “Community Note One” down")).click,
    )
    assert page.locator("tbody tr td:nth-child(2)").all_text_contents() == [
        "Community Note Two",
        "Community Note One",
    ]
    shoot(page, screenshots, "series-editor-desktop")

    reader = new_context(java_script_enabled=False).new_page()
    reader.goto("/series/notes-on-communities.html")
    assert _listed(reader) == ["Community Note Two", "Community Note One"]
    assert reader.locator(".series-description em").text_content() == "communities"

    phone = new_context(viewport=PHONE).new_page()
    phone.goto("/series/notes-on-communities.html")
    assert scroll_width(phone) <= PHONE["width"]
    shoot(phone, screenshots, "series-phone")
