"""Threaded replies in a real Chromium: a reply sent with scripts off (the Reply link
opens the form for it) and with them on (the form moves under the comment), and axe-core
on a threaded post at desktop and phone width."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import navigate, scroll_width
from tests.browser.test_accessibility import EVERY_IMPACT, axe_violations
from tests.browser.test_reader_journeys import _open_post, _send_comment

# The demo post with a threaded exchange (kmblog/demo_content.py).
THREADED_POST = "KM Strategy Is the How: Vision, Consensus, Execution"


def _comment_by(page: Any, name: str) -> Any:
    """The first comment whose author line names `name`."""
    return (
        page.locator("li.comment")
        .filter(has=page.locator(":scope > .comment-author", has_text=name))
        .first
    )


def _parent_of(comment: Any) -> str:
    """The id of the comment a comment's <li> is nested under ("" at the top)."""
    return str(comment.evaluate("(el) => el.parentElement.closest('li.comment')?.id ?? ''"))


def test_a_reply_without_javascript(new_context):
    page = new_context(java_script_enabled=False).new_page()
    _open_post(page, THREADED_POST)
    dave = _comment_by(page, "Dave")
    dave_id = dave.get_attribute("id")
    navigate(page, dave.locator(":scope > .comment-actions .comment-reply").click)
    assert re.search(rf"\?reply={dave_id.removeprefix('c')}#comment-form$", page.url)
    line = page.locator(".replying-to")
    assert line.is_visible()
    assert re.sub(r"\s+", " ", line.text_content()).startswith("Replying to Dave")

    reply = _send_comment(page, "Silent approval, and silent objection: both cost us.")
    assert _parent_of(reply) == dave_id
    assert "silent objection" in reply.locator(":scope > .comment-body").text_content()


def test_a_reply_with_javascript_moves_the_form_under_the_comment(reader):
    page = reader
    _open_post(page, THREADED_POST)
    address = page.url
    question = _comment_by(page, "Anonymous")
    question_id = question.get_attribute("id")
    form = page.locator("form.comment-form")

    question.locator(":scope > .comment-actions .comment-reply").click()
    # No new page: the form is now inside that comment, says so, and has the focus.
    assert page.url == address
    assert form.evaluate("(el) => el.closest('li.comment')?.id") == question_id
    assert re.sub(r"\s+", " ", page.locator(".replying-to").text_content()).startswith(
        "Replying to Anonymous"
    )
    assert page.evaluate("() => document.activeElement.name") == "body"

    # Cancel puts it back below the comments, as a comment on the post.
    page.locator(".cancel-reply").click()
    assert form.evaluate("(el) => el.closest('li.comment')") is None
    assert not page.locator(".replying-to").is_visible()
    assert page.locator("input[name='parent']").input_value() == ""

    question.locator(":scope > .comment-actions .comment-reply").click()
    reply = _send_comment(page, "Tell them when, and give them a part in it.")
    assert _parent_of(reply) == question_id


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_axe_finds_nothing_on_a_threaded_post(new_context, screen):
    context = new_context(viewport=DESKTOP if screen == "desktop" else PHONE, bypass_csp=True)
    page = context.new_page()
    _open_post(page, THREADED_POST)
    assert page.locator(".comment-replies .comment-replies").count() > 0  # nested
    violations = axe_violations(page, EVERY_IMPACT)
    assert not violations, "\n".join(violations)
    # And with the form moved under a comment, replying; the nesting fits a phone.
    _comment_by(page, "Dave").locator(":scope > .comment-actions .comment-reply").click()
    violations = axe_violations(page, EVERY_IMPACT)
    assert not violations, "\n".join(violations)
    width = (DESKTOP if screen == "desktop" else PHONE)["width"]
    assert scroll_width(page) <= width, f"the threaded post scrolls sideways: {scroll_width(page)}"
