"""Every form filled and sent with the keyboard alone, its focus visible at every stop
(tab_to fails on a stop whose focus shows neither an outline nor a shadow)."""

from __future__ import annotations

import re
import time

from tests.browser.conftest import AUTHOR, AUTHOR_PASSWORD
from tests.browser.helpers import FOCUS_STYLE, navigate, tab_to


def test_the_skip_link_is_the_first_stop_and_leads_to_the_posts(reader):
    page = reader
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the posts")
    assert skip.evaluate("(link) => link === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # on the screen once focused
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # The next Tab goes on from the posts, not from the top of the page.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_a_comment_by_keyboard(reader):
    page = reader
    page.goto("/2009/08/a-community-of-practice-is-not-a-mailing-list.html")
    tab_to(page, "textarea[name=body]")
    page.keyboard.type("Typed without a mouse: our community met weekly at first.")
    tab_to(page, "input[name=name]", limit=2)
    page.keyboard.type("Keyboard Kim")
    # The web address, the e-mail address, the mail choice (one stop), then the button.
    tab_to(page, "button[type=submit]", limit=5)
    navigate(page, lambda: page.keyboard.press("Enter"))
    page.wait_for_url(re.compile(r"#c\d+$"))
    comment = page.locator("li#" + page.url.rsplit("#", 1)[1])
    assert "Keyboard Kim said..." in comment.text_content()
    assert "Typed without a mouse" in comment.text_content()


def test_a_search_by_keyboard(reader):
    page = reader
    page.goto("/")
    tab_to(page, "input[name=q]")
    page.keyboard.type("vision")
    navigate(page, lambda: page.keyboard.press("Enter"))
    page.wait_for_url(re.compile(r"/search\?q=vision"))
    assert "KM Strategy Is the How: Vision, Consensus, Execution" in (
        page.locator(".post-title").all_text_contents()
    )


def test_signing_in_by_keyboard(new_context):
    page = new_context().new_page()
    page.goto("/login")
    # The username field has the focus from the start (autofocus), and shows it.
    assert page.evaluate("() => document.activeElement.name") == "username"
    focused = page.evaluate(FOCUS_STYLE)
    assert focused["outline"] or focused["shadow"]
    page.keyboard.type(AUTHOR)
    tab_to(page, "input[name=password]", limit=1)
    page.keyboard.type(AUTHOR_PASSWORD)
    navigate(page, lambda: page.keyboard.press("Enter"))
    page.wait_for_url(re.compile(r"/manage/$"))
    assert "Signed in as Eda Editor" in page.locator(".manage-nav").text_content()


def test_writing_a_draft_by_keyboard(author):
    page = author
    title = f"Notes from a keyboard {time.time_ns()}"
    page.goto("/manage/posts/new")
    tab_to(page, "input[name=title]")
    page.keyboard.type(title)
    tab_to(page, "textarea[name=body]", limit=1)
    page.keyboard.type("First line.\n\n## A heading\n\nMore text.")
    # Past the image upload's three stops (file, description, button) under the text.
    tab_to(page, "textarea[name=summary]", limit=4)
    page.keyboard.type("What a keyboard-written draft says in a link card.")
    tab_to(page, "input[name=labels]", limit=1)
    page.keyboard.type("Tools")
    tab_to(page, "select[name=kind]", limit=1)
    page.keyboard.press("ArrowDown")  # Article -> Plan
    tab_to(page, "button[value=save]", limit=12)
    navigate(page, lambda: page.keyboard.press("Enter"))
    page.wait_for_url(re.compile(r"/manage/posts/\d+/edit$"))
    assert "Saved as a draft." in page.locator(".flash").text_content()
    assert page.get_by_label("Title").input_value() == title
    assert page.get_by_label("Kind").input_value() == "plan"
    assert page.get_by_label("Labels").input_value() == "Tools"
    assert page.locator("textarea[name=summary]").input_value().startswith("What a keyboard")
    assert "## A heading" in page.get_by_label("Body (Markdown)").input_value()
