"""Readers in a real browser: browsing, commenting, finding the feeds."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import feedparser

from tests.browser.conftest import PHONE
from tests.browser.helpers import navigate, shoot

POST_TITLE = re.compile(r"^/\d{4}/\d{2}/[a-z0-9-]+\.html$")
COMMENT_POST = "Choose the Software Last"


def _titles(page: Any) -> list[str]:
    return [title.strip() for title in page.locator(".post-title").all_text_contents()]


def _path(page: Any) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def test_a_reader_browses_posts_labels_archive_search_and_pages(reader):
    page = reader
    page.goto("/")
    first_page = _titles(page)
    assert len(first_page) == 5  # the demo's posts per page

    # A labelled post, from its title (one that another test published today may have
    # no label).
    labelled = page.locator("article.post:has(.post-labels a)").first.locator(".post-title a")
    title = labelled.text_content()
    assert title in first_page
    navigate(page, labelled.click)
    assert POST_TITLE.match(_path(page).split("#")[0])
    assert page.locator("h3.post-title").text_content() == title

    # One of its labels: every post listed carries it.
    label_link = page.locator(".post-labels a").first
    label = label_link.text_content()
    navigate(page, label_link.click)
    assert label in page.locator(".status-banner").text_content()
    footers = page.locator(".post-labels").all_text_contents()
    assert footers and all(label in footer for footer in footers)

    # An archive month: the demo's posts are of 2009, but another test may have
    # published one today, so go through the year's page, which lists its months.
    archive = page.locator(".sidebar .archive")
    navigate(page, archive.get_by_role("link", name="2009", exact=True).click)
    assert _path(page) == "/2009/"
    months = page.locator(".year-months")
    navigate(page, months.get_by_role("link", name="March", exact=True).click)
    assert _path(page) == "/2009/03/"
    assert "March 2009" in page.locator(".status-banner").text_content()
    # Stored upper case, as Blogger wrote its date headers.
    headers = page.locator(".date-header").all_text_contents()
    assert headers and all("MARCH" in header and "2009" in header for header in headers)

    # Search from the sidebar box.
    page.get_by_role("searchbox", name="Search this blog").fill("tacit")
    navigate(page, lambda: page.keyboard.press("Enter"))
    page.wait_for_url(re.compile(r"/search\?q=tacit"))
    assert "Tacit and Explicit: A Working Distinction, Not a Dogma" in _titles(page)

    # Home, older posts, and back.
    navigate(page, page.locator(".blog-title a").click)
    assert _titles(page) == first_page
    navigate(page, page.get_by_role("link", name="Older Posts").click)
    older = _titles(page)
    assert older and not set(older) & set(first_page)
    navigate(page, page.get_by_role("link", name="Newer Posts").click)
    assert _titles(page) == first_page


def _open_post(page: Any, title: str) -> None:
    page.goto("/search?q=" + title.split()[0])
    navigate(page, page.get_by_role("link", name=title, exact=True).click)
    assert page.locator("h3.post-title").text_content() == title


def _send_comment(page: Any, body: str, name: str = "", url: str = "") -> Any:
    """Fill and send the comment form; returns the comment the page went to."""
    page.get_by_label("Comment", exact=True).fill(body)
    page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Web address (optional)").fill(url)
    navigate(page, page.get_by_role("button", name="Publish").click)
    page.wait_for_url(re.compile(r"#c\d+$"))
    anchor = page.url.rsplit("#", 1)[1]
    comment = page.locator(f"li#{anchor}")
    assert comment.is_visible()
    # The page went to the comment: it is the :target, and on the screen.
    assert page.evaluate("(id) => document.querySelector(':target')?.id === id", anchor)
    assert comment.evaluate("(el) => el.getBoundingClientRect().top < window.innerHeight")
    return comment


def test_a_reader_comments_anonymously_and_by_name_and_script_stays_text(reader, screenshots):
    page = reader
    _open_post(page, COMMENT_POST)

    anonymous = _send_comment(page, "Buying the tool first is how our wiki died.")
    assert anonymous.locator(".comment-author").text_content().split(",")[-1].strip() == (
        "Anonymous said..."
    )
    assert "our wiki died" in anonymous.locator(".comment-body").text_content()

    named = _send_comment(
        page,
        "We listed the questions people ask before we looked at any product.",
        name="Ruth Mwangi",
        url="https://ruth.example.org/notes",
    )
    link = named.locator(".comment-author a[rel~=nofollow]")
    assert link.text_content() == "Ruth Mwangi"
    assert link.get_attribute("href") == "https://ruth.example.org/notes"

    page.locator("#comments").evaluate("(comments) => comments.scrollIntoView()")
    shoot(page, screenshots, "post-with-comments-desktop")

    hostile = "<script>alert('comment')</script><img src=x onerror=alert(1)> still here"
    scripted = _send_comment(page, hostile)
    # What was typed shows as text; no script ran (the dialog listener would fail the
    # test) and no image was made of it.
    assert "<script>alert('comment')</script>" in scripted.locator(".comment-body").inner_text()
    assert scripted.locator("script, img").count() == 0


def test_a_reader_on_a_phone_comments_and_sees_the_post_fit(new_context, screenshots):
    page = new_context(viewport=PHONE).new_page()
    _open_post(page, COMMENT_POST)
    shoot(page, screenshots, "post-phone")
    comment = _send_comment(page, "Read this on the train; the checklist fits my phone.")
    assert "fits my phone" in comment.text_content()
    page.locator("#comments").evaluate("(comments) => comments.scrollIntoView()")
    shoot(page, screenshots, "post-with-comments-phone")


def _assert_atom(page: Any, address: str) -> Any:
    answer = page.request.get(address)
    assert answer.status == 200, address
    assert answer.headers["content-type"].startswith("application/atom+xml"), address
    feed = feedparser.parse(answer.body())
    assert feed.version == "atom10" and not feed.bozo, (address, feed.get("bozo_exception"))
    return feed


def test_a_reader_finds_the_feeds_and_each_answers_atom(reader):
    page = reader
    page.goto("/")
    advertised = page.locator('link[rel=alternate][type="application/atom+xml"]')
    home_feeds = [urljoin(page.url, href) for href in _hrefs(advertised)]
    assert home_feeds
    navigate(page, page.get_by_role("link", name="Posts (Atom)").click)
    posts_feed = _assert_atom(page, page.url)
    assert len(posts_feed.entries) >= 5
    assert page.url in home_feeds

    page.goto("/")
    _open_post(page, COMMENT_POST)
    post_feeds = [urljoin(page.url, href) for href in _hrefs(advertised)]
    visible = page.get_by_role("link", name="Post Comments (Atom)")
    comments_feed = urljoin(page.url, visible.get_attribute("href"))
    assert comments_feed in post_feeds
    sidebar = page.locator(".sidebar a[type='application/atom+xml']")
    sidebar_feeds = [urljoin(page.url, href) for href in _hrefs(sidebar)]

    navigate(page, page.locator(".post-labels a").first.click)
    label_feeds = [urljoin(page.url, href) for href in _hrefs(advertised)]
    assert any("/feeds/posts/default/-/" in feed for feed in label_feeds)

    every_feed = set(home_feeds + post_feeds + sidebar_feeds + label_feeds)
    assert len(every_feed) >= 4
    for address in sorted(every_feed):
        feed = _assert_atom(page, address)
        assert feed.feed.get("title"), address


def _hrefs(locator: Any) -> list[str]:
    return [element.get_attribute("href") for element in locator.all()]


def test_a_reader_carries_no_cookie_and_the_form_asks_for_their_own_timer(new_context):
    """Reading sets no cookie in a real browser; when the comment form comes into view
    the page's script swaps the page's timer for one of the reader's own."""
    context = new_context()
    page = context.new_page()
    page.goto("/")
    navigate(page, page.locator(".post-title a").first.click)
    page.goto("/labels/")
    page.goto("/feeds/posts/default")
    assert context.cookies() == []
    _open_post(page, "Tacit and Explicit: A Working Distinction, Not a Dogma")
    shown = page.locator("form.comment-form input[name='shown']")
    assert shown.get_attribute("value").startswith("page.")
    page.locator("form.comment-form").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => document.querySelector(\"input[name='shown']\").value.startsWith('reader.')"
    )
    assert context.cookies() == []
    _send_comment(page, "A timer of my own, and no cookie until now.")
    # Commenting sets the front cache's pass, and the claim that lets this browser edit
    # its comment for a while (tests/browser/test_own_edits.py).
    assert sorted(cookie["name"] for cookie in context.cookies()) == ["kmblog_edit", "kmblog_fresh"]


def test_a_reader_without_javascript_comments(new_context):
    """The comment form works with scripts off: the page's own timer is enough when the
    blog asks for no minimum time (the test server's setting); with one, the blog asks
    to press Publish once more (tests/test_readers_carry_nothing.py)."""
    page = new_context(java_script_enabled=False).new_page()
    _open_post(page, "Tacit and Explicit: A Working Distinction, Not a Dogma")
    comment = _send_comment(page, "Written with scripts off.")
    assert "scripts off" in comment.locator(".comment-body").text_content()
