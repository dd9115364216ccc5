"""axe-core on every kind of page: no "serious" or "critical" violations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import AXE, DESKTOP, PHONE, Watch

# Each kind of page the blog has, by the address of one of them ("{post}" and
# "{profile}" are filled in from the home page).
PAGES = {
    "home": "/",
    "post": "{post}",
    # The demo's "Tacit and Explicit" post was changed after publication: its history
    # lists two revisions and shows the diff between them (issue 18).
    "post history": "/2009/03/tacit-and-explicit-a-working-distinction-not-a-dogma/history",
    "label": "/search/label/KM Strategy",
    # The demo's series of four articles, and a post in the middle of it (previous and
    # next links in the series).
    "series": "/series/from-plan-to-practice.html",
    "post in a series": "/2009/04/taking-stock-an-inventory-of-knowledge-assets.html",
    "all labels": "/labels/",
    "archive": "/2009/03/",
    "archive year": "/2009/",
    "search": "/search?q=knowledge",
    "older posts": "{older}",
    "profile": "{profile}",
    "login": "/login",
    "error 404": "/no/such/page",
}
AUTHOR_PAGES = {
    "dashboard": "/manage/",
    "published posts": "/manage/?state=published",
    "editor": "/manage/posts/new?kind=strategy",
    "moderation queue": "/manage/comments",
    "published comments": "/manage/comments?status=published",
    "settings": "/manage/settings",
    "authors": "/manage/users",
    "account": "/manage/account",
    "how you sign in": "/manage/account/security",
    "media library": "/manage/media/",
    "pages": "/manage/pages/",
    "page editor": "/manage/pages/new",
    "import and export": "/manage/transfer/",
    "series": "/manage/series/",
    # The demo's one series, with its posts' Up and Down buttons.
    "series editor": "/manage/series/1/edit",
}
BLOCKING = {"serious", "critical"}
EVERY_IMPACT = {"minor", "moderate", "serious", "critical"}
SCREENS = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def addresses(browser: Any, server: str) -> dict[str, str]:
    context = browser.new_context(base_url=server)
    page = context.new_page()
    page.goto("/")
    found = {
        "post": page.locator(".post-title a").first.get_attribute("href"),
        "older": page.get_by_role("link", name="Older Posts").get_attribute("href"),
        "profile": page.locator(".post-footer a.author").first.get_attribute("href"),
    }
    context.close()
    return found


def axe_violations(page: Any, impacts: set[str] = BLOCKING) -> list[str]:
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:8])
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def _check(context: Any, address: str, watch: Watch, server: str) -> list[str]:
    page = context.new_page()
    if address == PAGES["error 404"]:
        watch.expect_status(404, server + address)
    page.goto(address)
    return axe_violations(page)


@pytest.mark.parametrize("screen", ["desktop", "phone"])
@pytest.mark.parametrize("kind", PAGES)
def test_reader_pages_have_no_serious_accessibility_violations(
    new_context, watch, server, addresses, kind, screen
):
    # Only this context bypasses the CSP, so that the injected axe script may run.
    context = new_context(viewport=SCREENS[screen], bypass_csp=True)
    violations = _check(context, PAGES[kind].format(**addresses), watch, server)
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("kind", AUTHOR_PAGES)
def test_authoring_pages_have_no_serious_accessibility_violations(
    new_context, watch, server, author_state, kind
):
    context = new_context(bypass_csp=True, storage_state=author_state)
    violations = _check(context, AUTHOR_PAGES[kind], watch, server)
    assert not violations, "\n".join(violations)


def test_page_authoring_pages_have_no_serious_accessibility_violations(
    new_context, watch, server, author_state
):
    """The pages' list, editor and delete question, with pages in them, and a page as a
    reader sees it with the sidebar's Pages box, on a desktop and on a phone. The pages
    are written and ordered through the forms, as an author would."""
    context = new_context(bypass_csp=True, storage_state=author_state)
    page = context.new_page()
    for title in ("About this blog", "Contact"):
        page.goto("/manage/pages/new")
        assert not axe_violations(page), "\n".join(axe_violations(page))
        page.get_by_label("Title").fill(title)
        page.get_by_label("Body (Markdown)").fill(f"{title}: who writes here, and *why*.")
        page.get_by_role("button", name="Publish").click()
        page.wait_for_url(re.compile(r"/manage/pages/\d+/edit$"))
    edit_address = page.url
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)

    page.goto("/manage/pages/")
    page.get_by_role("button", name=re.compile(r"move “Contact” up")).click()
    page.wait_for_url(re.compile(r"/manage/pages/#page-\d+$"))
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)

    page.goto(edit_address.replace("/edit", "/delete"))
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)

    for screen in SCREENS.values():
        reader = new_context(viewport=screen, bypass_csp=True).new_page()
        reader.goto("/p/about-this-blog.html")
        pages_box = reader.locator(".sidebar .widget.pages a")
        assert pages_box.all_inner_texts() == ["Contact", "About this blog"]
        violations = axe_violations(reader)
        assert not violations, "\n".join(violations)
