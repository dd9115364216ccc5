"""Editing without loss in a real browser (issue 18): text typed and never saved comes
back when the editor is opened again, whether the blog kept it or, offline, the browser
did; and of two sessions saving the same post, the second is told and loses nothing."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.helpers import navigate, shoot
from tests.browser.test_accessibility import axe_violations

KEPT = "Unsaved changes kept at"


def _delete(page: Any) -> None:
    """Remove a post the test made, so that the session's blog stays as the demo made it."""
    page.goto(page.url.replace("/edit", "/delete"))
    navigate(page, page.get_by_role("button", name="Delete the post").click)


def _start_draft(page: Any, title: str, body: str) -> str:
    """A draft saved from the editor; returns its editor's address."""
    page.goto("/manage/posts/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body (Markdown)").fill(body)
    navigate(page, page.get_by_role("button", name="Save draft").click)
    assert re.search(r"/manage/posts/\d+/edit$", page.url), page.url
    return str(page.url)


def test_text_typed_then_the_tab_closed_is_offered_and_restored(
    new_context, author_state, server, screenshots
):
    context = new_context(storage_state=author_state)
    page = context.new_page()
    editor = _start_draft(page, "Autosave: lessons from the field", "The saved opening.")

    body = page.get_by_label("Body (Markdown)")
    body.fill("The saved opening.\n\nA paragraph typed and never saved: ")
    body.press_sequentially("it must survive.")
    page.get_by_label("Summary").fill("What survives a closed tab.")
    page.locator(".autosave-status").filter(has_text=KEPT).wait_for()
    page.close()  # no Save, no unload handlers

    page = context.new_page()
    page.goto(editor)
    offer = page.locator("section.autosave-offer")
    assert offer.get_by_role("heading", name="Unsaved text").is_visible()
    # Until the author chooses, the form holds the saved post and autosave waits.
    assert page.get_by_label("Body (Markdown)").input_value() == "The saved opening."
    assert "waits" in page.locator(".autosave-status").text_content()
    offer.locator("summary").click()
    shoot(page, screenshots, "editor-unsaved-text-offered")

    # The offer, as a screen reader meets it (axe runs only where the CSP is bypassed).
    checker = new_context(storage_state=author_state, bypass_csp=True).new_page()
    checker.goto(editor)
    violations = axe_violations(checker)
    assert not violations, "\n".join(violations)

    restore = offer.get_by_role("link", name=re.compile(r"^Restore the unsaved text from "))
    navigate(page, restore.click)
    assert page.get_by_label("Body (Markdown)").input_value() == (
        "The saved opening.\n\nA paragraph typed and never saved: it must survive."
    )
    assert page.get_by_label("Summary").input_value() == "What survives a closed tab."
    assert "is back in the form" in page.locator(".autosave-restored").text_content()

    # Saved: the copy is gone, and the editor opens without an offer.
    navigate(page, page.get_by_role("button", name="Save draft").click)
    page.goto(editor)
    assert page.locator("section.autosave-offer").count() == 0
    assert "it must survive." in page.get_by_label("Body (Markdown)").input_value()
    _delete(page)


def test_text_typed_while_the_blog_cannot_be_reached_is_kept_in_the_browser(
    new_context, author_state, watch
):
    """The autosave requests fail as they do offline (the editor's page itself loads),
    until the text has been offered back from this browser's copy and restored."""
    watch.expected.append(re.compile(r"ERR_INTERNET_DISCONNECTED"))
    context = new_context(storage_state=author_state)
    page = context.new_page()
    editor = _start_draft(page, "Autosave: written on a train", "Before the tunnel.")

    autosaves = re.compile(r"/manage/posts/\d+/autosave$")
    context.route(autosaves, lambda route: route.abort("internetdisconnected"))
    page.get_by_label("Body (Markdown)").fill("Before the tunnel. Written in the tunnel.")
    page.locator(".autosave-status").filter(has_text="kept in this browser").wait_for()
    page.close()

    page = context.new_page()
    page.goto(editor)
    offer = page.locator("section.autosave-offer.local-copy")
    assert offer.get_by_role("heading", name="Unsaved text in this browser").is_visible()
    assert page.get_by_label("Body (Markdown)").input_value() == "Before the tunnel."
    offer.get_by_role("button", name=re.compile(r"^Restore the unsaved text from ")).click()
    assert page.locator("section.autosave-offer").count() == 0
    body = page.get_by_label("Body (Markdown)").input_value()
    assert body == "Before the tunnel. Written in the tunnel."
    # Back online, the restored text reaches the blog like any other.
    context.unroute(autosaves)
    page.locator(".autosave-status").filter(has_text=KEPT).wait_for()

    navigate(page, page.get_by_role("button", name="Save draft").click)
    assert page.get_by_label("Body (Markdown)").input_value() == body
    page.goto(editor)
    assert page.locator("section.autosave-offer").count() == 0
    _delete(page)


def test_two_sessions_save_the_same_post_and_the_second_is_told(
    new_context, author_state, watch, server, screenshots
):
    first = new_context(storage_state=author_state).new_page()
    editor = _start_draft(first, "Autosave: two editors", "The shared opening.")
    # The second session is the one shown the conflict: axe checks that page too.
    second = new_context(storage_state=author_state, bypass_csp=True).new_page()
    second.goto(editor)

    first.get_by_label("Body (Markdown)").fill("The shared opening, as the first one put it.")
    navigate(first, first.get_by_role("button", name="Save draft").click)
    assert "Saved as a draft." in first.locator(".flash").text_content()

    second.get_by_label("Body (Markdown)").fill("The shared opening; the second one's version.")
    watch.expect_status(409, server + editor.removeprefix(server))
    navigate(second, second.get_by_role("button", name="Save draft").click)
    conflict = second.locator("section.edit-conflict")
    assert conflict.get_by_role("heading", name=re.compile("Not saved")).is_visible()
    assert "after you opened the editor" in conflict.get_by_role("alert").text_content()
    # Nothing lost: the second one's text in the form, the first one's shown beside it.
    assert second.get_by_label("Body (Markdown)").input_value() == (
        "The shared opening; the second one's version."
    )
    conflict.locator("summary").click()
    saved = conflict.get_by_label("The saved text of the post").input_value()
    assert saved == "The shared opening, as the first one put it."
    shoot(second, screenshots, "editor-conflict")
    violations = axe_violations(second)
    assert not violations, "\n".join(violations)

    # Saving again, knowing both, keeps the second one's text.
    navigate(second, second.get_by_role("button", name="Save draft").click)
    assert "Saved as a draft." in second.locator(".flash").text_content()
    first.goto(editor)
    assert first.get_by_label("Body (Markdown)").input_value() == (
        "The shared opening; the second one's version."
    )
    _delete(first)


def test_a_new_pages_text_survives_a_closed_tab_too(new_context, author_state):
    context = new_context(storage_state=author_state)
    page = context.new_page()
    page.goto("/manage/pages/new")
    page.get_by_label("Title").fill("Colophon")
    page.get_by_label("Body (Markdown)").fill("How this blog is made, half written.")
    page.locator(".autosave-status").filter(has_text=KEPT).wait_for()
    page.close()

    page = context.new_page()
    page.goto("/manage/pages/new")
    offer = page.locator("section.autosave-offer")
    assert "new page" in offer.text_content()
    navigate(page, offer.get_by_role("link", name=re.compile(r"^Restore the unsaved text")).click)
    assert page.get_by_label("Title").input_value() == "Colophon"
    assert page.get_by_label("Body (Markdown)").input_value() == (
        "How this blog is made, half written."
    )
    navigate(page, page.get_by_role("button", name="Save draft").click)
    edit_address = page.url
    assert re.search(r"/manage/pages/\d+/edit$", edit_address), edit_address
    page.goto("/manage/pages/new")
    assert page.locator("section.autosave-offer").count() == 0
    page.goto(edit_address.replace("/edit", "/delete"))
    navigate(page, page.get_by_role("button", name="Delete the page").click)
