"""Authors in a real browser: writing a KM Strategy from its template, moderating."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE
from tests.browser.helpers import navigate, shoot

PLAN = "Taking Stock: An Inventory of Knowledge Assets"
PLAN_STRATEGY = "Picking a Kind of KM (and Saying No to the Others)"  # the demo's pair
MODERATED_POST = "Getting Senior Managers to Agree (Really Agree)"


def _flash(page: Any) -> str:
    return " ".join(page.locator(".flash").all_text_contents())


def test_an_author_writes_previews_schedules_publishes_and_pairs_a_strategy(
    author, new_context, author_state, screenshots
):
    page = author
    title = "KM Strategy: Sharing Lessons Across Sites"  # one server per run: no clash
    page.goto("/manage/")
    navigate(page, page.get_by_role("link", name="KM Strategy", exact=True).click)
    assert page.get_by_label("Title").input_value() == "KM Strategy: "
    assert page.get_by_label("Kind").input_value() == "strategy"
    assert "## A shared vision" in page.get_by_label("Body (Markdown)").input_value()

    page.get_by_label("Title").fill(title)
    page.get_by_label("Labels").fill("KM Strategy, Leadership")
    page.get_by_label("Labels").blur()
    page.evaluate("() => window.scrollTo(0, 0)")
    shoot(page, screenshots, "editor-desktop")
    navigate(page, page.get_by_role("button", name="Preview").click)
    preview = page.locator("section.preview")
    assert preview.locator(".post-title").text_content() == title
    assert preview.get_by_role("heading", name="A shared vision").is_visible()
    assert page.get_by_label("Title").input_value() == title  # the form is kept
    shoot(page, screenshots, "editor-preview-desktop")
    phone = new_context(viewport=PHONE, storage_state=author_state).new_page()
    phone.goto("/manage/posts/new?kind=strategy")
    shoot(phone, screenshots, "editor-phone")

    # Scheduled: readers do not see it yet.
    page.get_by_label("Publish at").fill("2031-05-06T09:30")
    navigate(page, page.get_by_role("button", name="Publish (or schedule)").click)
    assert "scheduled" in _flash(page)
    assert "Scheduled for May 6, 2031" in page.locator(".post-state").text_content()
    reader = new_context().new_page()
    reader.goto("/")
    assert title not in reader.locator(".post-title").all_text_contents()

    # Published now: the publish time emptied, then Update.
    page.get_by_label("Publish at").fill("")
    navigate(page, page.get_by_role("button", name="Update").click)
    assert "Saved and published." in _flash(page)
    address = page.locator(".post-state a").get_attribute("href")

    # Paired with a plan.
    page.get_by_label("Companion").select_option(label=PLAN)
    navigate(page, page.get_by_role("button", name="Update").click)
    assert "Saved and published." in _flash(page)
    assert page.get_by_label("Companion").locator("option:checked").text_content() == PLAN

    # The reader sees it first on the home page, with its plan, and the plan links back.
    reader.goto("/")
    assert reader.locator(".post-title").first.text_content() == title
    navigate(reader, reader.get_by_role("link", name=title).click)
    assert reader.url.endswith(address)
    navigate(
        reader, reader.get_by_role("link", name=f"The plan behind this strategy: {PLAN}").click
    )
    assert reader.locator("h3.post-title").text_content() == PLAN
    # The plan lists its strategies: the new one, and the demo's, which pairing kept.
    strategies = reader.locator(".companion-link")
    assert "The strategies for this plan:" in (strategies.text_content() or "")
    assert strategies.get_by_role("link", name=title).is_visible()
    assert strategies.get_by_role("link", name=PLAN_STRATEGY).is_visible()


def _set_comment_policy(page: Any, policy: str) -> None:
    page.goto("/manage/settings")
    page.get_by_label("Comments", exact=True).select_option(policy)
    navigate(page, page.get_by_role("button", name="Save settings").click)
    assert "Settings saved." in _flash(page)
    assert page.get_by_label("Comments", exact=True).input_value() == policy


@pytest.fixture
def moderated(author: Any) -> Iterator[Any]:
    """Comments held for moderation while the test runs (set in the settings page)."""
    _set_comment_policy(author, "moderated")
    yield author
    _set_comment_policy(author, "open")


def test_a_moderator_approves_one_held_comment_and_marks_another_as_spam(
    moderated, new_context, author_state, screenshots
):
    page = moderated
    good = "Our directors agreed only once they had to say it out loud to each other."
    bad = "Cheap replica watches, best price, click now"
    reader = new_context().new_page()
    reader.goto("/search?q=senior")
    navigate(reader, reader.get_by_role("link", name=MODERATED_POST).click)
    post_address = reader.url
    for body, name in ((good, "Tomas Lind"), (bad, "")):
        reader.get_by_label("Comment", exact=True).fill(body)
        reader.get_by_label("Name (optional)").fill(name)
        navigate(reader, reader.get_by_role("button", name="Publish").click)
        reader.wait_for_url(re.compile(r"#comment-form$"))
        assert "will appear once a moderator has approved it" in _flash(reader)
        assert body not in reader.locator("#comments").text_content()

    page.goto("/manage/comments")
    queue = page.locator(".moderation-list > li")
    assert queue.count() == 2
    shoot(page, screenshots, "moderation-queue-desktop")
    phone = new_context(viewport=PHONE, storage_state=author_state).new_page()
    phone.goto("/manage/comments")
    shoot(phone, screenshots, "moderation-queue-phone")

    navigate(page, queue.filter(has_text=good).get_by_role("button", name="Approve").click)
    assert "1 comment approved." in _flash(page)
    navigate(page, queue.filter(has_text=bad).get_by_role("button", name="Spam").click)
    assert "1 comment marked as spam." in _flash(page)
    assert page.locator(".no-posts").text_content() == "No comments here."
    navigate(page, page.get_by_role("link", name="Spam").click)
    assert bad in page.locator(".moderation-list").text_content()

    reader.goto(post_address)
    comments = reader.locator("#comments").text_content()
    assert good in comments and "Tomas Lind" in comments
    assert bad not in comments
