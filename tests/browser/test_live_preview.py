"""The editor's live preview in real Chromium: the pane beside the text follows what
the author types, as readers will see it; it fits a phone; axe-core finds nothing."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import PHONE
from tests.browser.helpers import scroll_width, shoot
from tests.browser.test_accessibility import EVERY_IMPACT, axe_violations

TYPED = """\
Maps show who knows what.[^who]

# Goals

What the organisation *wants*.

# Needs

# Assets

# Tools

[^who]: A directory of experts is the simplest.
"""
# What no phone can fit on a line: the pane must wrap it, not widen the page.
WIDE = (
    "\n\n" + "Knowledgemanagementwithoutspaces" * 6 + "\n\n| a | b | c | d | e |\n"
    "|---|---|---|---|---|\n| " + " | ".join(["https://example.org/a/long/address"] * 5) + " |\n"
)


def type_body(page: Any, text: str) -> None:
    """Type into the body as a person does, key by key (the script listens to input)."""
    body = page.get_by_label("Body (Markdown)")
    body.fill("")
    body.press_sequentially(text, delay=2)


def pane(page: Any) -> Any:
    return page.locator("section.live-preview .live-preview-body")


def wait_for_preview(page: Any, text: str) -> None:
    page.wait_for_function(
        "(text) => (document.querySelector('.live-preview-body') || {}).textContent"
        "?.includes(text)",
        arg=text,
    )


def test_typing_updates_the_preview_beside_the_text(author, screenshots):
    page = author
    page.goto("/manage/posts/new")
    preview = page.locator("section.live-preview")
    assert preview.is_visible()

    type_body(page, TYPED)
    wait_for_preview(page, "A directory of experts")

    shown = pane(page)
    assert shown.locator("em").text_content() == "wants"
    # The contents and the footnote, with links that land inside the pane.
    assert shown.locator(".toc a").all_text_contents() == ["Goals", "Needs", "Assets", "Tools"]
    note = shown.locator("sup a")
    assert note.get_attribute("href") == "#p-fn:who"
    note.click()
    assert page.url.endswith("#p-fn:who")
    assert shown.locator(":target").text_content().strip().startswith("A directory of experts")
    stats = page.locator(".reading-stats").text_content()
    assert re.fullmatch(r"\d+ words · 1 min read", stats or ""), stats

    # The HTML is the server's own rendering, the same as the preview address gives.
    answer = page.evaluate(
        """async () => {
          const form = document.querySelector("textarea#body").form;
          const data = new FormData();
          data.append("body", document.querySelector("textarea#body").value);
          const response = await fetch("/manage/posts/preview", {
            method: "POST", body: data,
            headers: {"X-CSRFToken": form.querySelector("[name=csrf_token]").value},
          });
          // As the browser writes it back (entities as characters), to compare.
          const parsed = document.createElement("template");
          parsed.innerHTML = (await response.json()).html;
          return parsed.innerHTML;
        }"""
    )
    assert shown.evaluate("(node) => node.innerHTML") == answer

    # Side by side on a wide screen: the pane to the right of the text, level with it.
    text_box = page.get_by_label("Body (Markdown)").bounding_box()
    pane_box = preview.bounding_box()
    assert pane_box["x"] >= text_box["x"] + text_box["width"]
    assert abs(pane_box["y"] - text_box["y"]) < 200
    page.evaluate("() => window.scrollTo(0, 0)")
    shoot(page, screenshots, "live-preview-desktop")

    # A change a moment later replaces it.
    type_body(page, "Now **only** this.")
    wait_for_preview(page, "Now only this.")
    assert shown.locator("strong").text_content() == "only"
    assert shown.locator(".toc").count() == 0
    assert page.locator(".reading-stats").text_content() == "3 words · 1 min read"


def test_on_a_phone_the_preview_is_under_the_text_and_nothing_scrolls_sideways(
    new_context, author_state, screenshots
):
    page = new_context(viewport=PHONE, storage_state=author_state).new_page()
    page.goto("/manage/posts/new")
    type_body(page, TYPED + WIDE)
    wait_for_preview(page, "Knowledgemanagement")

    text_box = page.get_by_label("Body (Markdown)").bounding_box()
    pane_box = page.locator("section.live-preview").bounding_box()
    assert pane_box["y"] >= text_box["y"] + text_box["height"]
    assert scroll_width(page) <= PHONE["width"]
    page.locator("section.live-preview").scroll_into_view_if_needed()
    shoot(page, screenshots, "live-preview-phone")


def test_the_preview_button_still_previews_and_the_pane_takes_over_when_typing(author):
    page = author
    page.goto("/manage/posts/new")
    page.get_by_label("Title").fill("Button preview")
    type_body(page, "First *version*.")
    wait_for_preview(page, "First version.")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url(re.compile(r"/manage/posts/new$"))

    served = page.locator("section.preview")
    assert served.locator(".post-title").text_content() == "Button preview"
    assert served.locator("em").text_content() == "version"
    assert page.locator(".reading-stats").text_content() == "2 words · 1 min read"

    page.get_by_label("Body (Markdown)").press("End")
    page.get_by_label("Body (Markdown)").press_sequentially(" Second.", delay=2)
    wait_for_preview(page, "Second.")
    # The server's preview was of the text as sent: it gives way to the pane.
    assert served.count() == 0


def test_axe_finds_nothing_in_the_editor_with_its_live_preview(new_context, author_state):
    for screen in ({"width": 1280, "height": 900}, PHONE):
        context = new_context(viewport=screen, bypass_csp=True, storage_state=author_state)
        page = context.new_page()
        page.goto("/manage/posts/new")
        type_body(page, TYPED)
        wait_for_preview(page, "A directory of experts")
        violations = axe_violations(page, EVERY_IMPACT)
        assert not violations, "\n".join(violations)
