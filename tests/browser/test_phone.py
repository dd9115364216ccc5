"""Every page at 375 px wide: no sideways scrolling, the sidebar below the posts, forms
that fit and work; and the home page's screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import navigate, scroll_width, shoot
from tests.browser.test_accessibility import AUTHOR_PAGES, PAGES

# Where the demo blog's one-of-a-kind addresses are found.
FOUND = {
    "post": "/2009/05/choose-the-software-last.html",
    "older": "/search?updated-max=2009-05-06T16:20:00-04:00&max-results=5",
    "profile": "/profile/dokafor",
}
READER_PAGES = {**PAGES, "plans": "/plans/", "strategies": "/strategies/"}

# Every control the reader or author is meant to use (not the honeypot, not hidden ones).
CONTROLS = (
    "main input:not([type=hidden]):not([tabindex='-1']), main textarea, main select,"
    " main button, .sidebar input, .sidebar button"
)


def _check_fits(page: Any) -> None:
    width = PHONE["width"]
    assert scroll_width(page) <= width, f"{page.url} scrolls sideways: {scroll_width(page)} px"
    for control in page.locator(CONTROLS).all():
        box = control.bounding_box()
        assert box is not None, f"{page.url}: a control is not shown"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (page.url, box)
        assert box["height"] >= 20, f"{page.url}: a control too small to tap: {box}"


def _check_sidebar_below(page: Any) -> None:
    main = page.locator("main").bounding_box()
    sidebar = page.locator("aside.sidebar").bounding_box()
    assert main is not None and sidebar is not None
    assert sidebar["y"] >= main["y"] + main["height"], "the sidebar is not below the posts"
    assert sidebar["width"] > PHONE["width"] * 0.8, "the sidebar does not take the full width"


@pytest.mark.parametrize("kind", READER_PAGES)
def test_reader_pages_fit_a_phone(new_context, watch, server, kind):
    page = new_context(viewport=PHONE).new_page()
    address = READER_PAGES[kind].format(**FOUND)
    if kind == "error 404":
        watch.expect_status(404, server + address)
    page.goto(address)
    _check_fits(page)
    if kind not in {"login", "error 404"}:  # these have no sidebar
        _check_sidebar_below(page)


@pytest.mark.parametrize("kind", AUTHOR_PAGES)
def test_authoring_pages_fit_a_phone(new_context, author_state, kind):
    page = new_context(viewport=PHONE, storage_state=author_state).new_page()
    page.goto(AUTHOR_PAGES[kind])
    _check_fits(page)


def test_signing_in_and_searching_work_on_a_phone(new_context):
    page = new_context(viewport=PHONE).new_page()
    page.goto("/")
    page.get_by_role("searchbox", name="Search this blog").fill("community")
    navigate(page, page.get_by_role("button", name="Search").click)
    assert "A Community of Practice Is Not a Mailing List" in (
        page.locator(".post-title").all_text_contents()
    )
    navigate(page, page.get_by_role("link", name="Sign in").click)
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("a long browser password")
    navigate(page, page.get_by_role("button", name="Sign in", exact=True).click)
    page.wait_for_url(re.compile(r"/manage/$"))
    assert scroll_width(page) <= PHONE["width"]


def test_the_home_page_on_a_desktop_and_a_phone(new_context, screenshots):
    desktop = new_context(viewport=DESKTOP).new_page()
    desktop.goto("/")
    main = desktop.locator("main").bounding_box()
    sidebar = desktop.locator("aside.sidebar").bounding_box()
    assert main is not None and sidebar is not None
    # Minima's two columns: the sidebar to the right of the posts, level with them.
    assert sidebar["x"] >= main["x"] + main["width"]
    assert abs(sidebar["y"] - main["y"]) < 5
    shoot(desktop, screenshots, "home-desktop")

    phone = new_context(viewport=PHONE).new_page()
    phone.goto("/")
    shoot(phone, screenshots, "home-phone")
