"""A commenter edits and then deletes their comment in a real browser, with scripts
off (the edit form is a page of its own); another browser sees the edit, not the links."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.helpers import navigate
from tests.browser.test_accessibility import SCREENS, axe_violations
from tests.browser.test_reader_journeys import _open_post, _send_comment

POST = "Choose the Software Last"


def test_a_commenter_edits_then_deletes_their_comment(new_context):
    page = new_context(java_script_enabled=False).new_page()
    _open_post(page, POST)
    comment = _send_comment(page, "Tools come last, I think, though I wrote this in haste.")
    anchor = comment.get_attribute("id")
    post_url = page.url.split("#")[0]

    # Their own comment offers Edit and Delete; the form page holds what they wrote.
    navigate(page, comment.get_by_role("link", name="Edit", exact=True).click)
    assert page.get_by_role("heading", name="Edit your comment").is_visible()
    box = page.get_by_label("Your comment")
    assert "in haste" in box.input_value()
    box.fill("Tools come last: first the questions people ask, then the tool.")
    navigate(page, page.get_by_role("button", name="Save my changes").click)
    page.wait_for_url(re.compile(rf"#{anchor}$"))
    mine = page.locator(f"li#{anchor}")
    assert "first the questions people ask" in mine.locator(".comment-body").text_content()
    assert "in haste" not in mine.text_content()
    assert mine.locator(".comment-edited").text_content().startswith("Edited ")

    # Another browser sees the edit, and no links to change it.
    other = _other_reader(new_context, post_url, anchor)
    assert "first the questions people ask" in other.text_content()
    assert other.locator(".comment-edited").count() == 1
    assert other.get_by_role("link", name="Edit", exact=True).count() == 0

    # Delete, after a confirmation.
    navigate(page, mine.get_by_role("link", name="Delete", exact=True).click)
    assert page.get_by_role("heading", name="Delete your comment?").is_visible()
    navigate(page, page.get_by_role("button", name="Delete my comment").click)
    assert page.get_by_role("status").filter(has_text="Your comment was deleted.").is_visible()
    assert page.locator(f"li#{anchor}").count() == 0


def _other_reader(new_context: Any, post_url: str, anchor: str | None) -> Any:
    page = new_context().new_page()
    page.goto(post_url)
    return page.locator(f"li#{anchor}")


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_the_commenters_pages_have_no_serious_accessibility_violations(new_context, screen):
    """The post with their own links, the edit form and the delete confirmation."""
    # Only this context bypasses the CSP, so that the injected axe script may run.
    page = new_context(viewport=SCREENS[screen], bypass_csp=True).new_page()
    _open_post(page, POST)
    comment = _send_comment(page, f"Checked for accessibility on a {screen}.")
    found = {"post with own links": axe_violations(page)}
    edit_url = comment.get_by_role("link", name="Edit", exact=True).get_attribute("href")
    delete_url = comment.get_by_role("link", name="Delete", exact=True).get_attribute("href")
    for kind, address in (("edit form", edit_url), ("delete confirmation", delete_url)):
        page.goto(address)
        found[kind] = axe_violations(page)
    problems = [f"{kind}: {v}" for kind, violations in found.items() for v in violations]
    assert not problems, "\n".join(problems)
