"""Hostile comments: what a visitor types is shown as text, on the page and in the feeds."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import pytest

from kmblog.models import Comment
from tests.factories import PostRef
from tests.forms import shown_comment_fields
from tests.html_tree import URL_ATTRIBUTES, Node, parse_html, script_url
from tests.security.payloads import params

# A few of tests/security/payloads.py: markup, and addresses that are not http(s).
PAYLOADS = params(
    "script-plain",
    "img-onerror",
    "md-link-js-short-text",
    "a-js-plain",
    "a-js-first-letter-entity",
    "a-onclick-with-http-href",
)
SCRIPT_URLS = params(
    "url-js-bare",
    "url-js-title-case",
    "url-js-one-leading-space",
    "url-js-tab-inside",
    "url-vbs-bare",
    "url-data-html",
    "url-protocol-relative",
)
ATOM_NS = {"atom": "http://www.w3.org/2005/Atom"}


def active_markup(node: Node) -> list[str]:
    """Everything under `node` that could run script: <script>, <img>, on* and script URLs."""
    found = []
    for element in node.iter():
        if element.tag in {"script", "img", "iframe", "object", "embed", "svg"}:
            found.append(f"<{element.tag}>")
        for name, value in element.attrs:
            if name.startswith("on"):
                found.append(f"<{element.tag} {name}>")
            if name in URL_ATTRIBUTES and script_url(value):
                found.append(f"<{element.tag} {name}={value!r}>")
    return found


# --- the real comment form ----------------------------------------------------------------------


def post_comment(client, post: PostRef, body: str = "", name: str = "", url: str = ""):  # type: ignore[no-untyped-def]
    """Fill in the form under `post` as a reader does: its own token, then POST."""
    hidden = shown_comment_fields(client, post.url)
    return client.post(post.url, data={**hidden, "body": body, "name": name, "url": url})


def published_comment_id(response, post: PostRef) -> int:  # type: ignore[no-untyped-def]
    """The new comment's id, from the 303 redirect back to it on the post."""
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == post.url
    match = re.fullmatch(r"c(\d+)", location.fragment)
    assert match, location.fragment
    return int(match[1])


def comment_on_page(client, post: PostRef, comment_id: int) -> Node:  # type: ignore[no-untyped-def]
    page = client.get(post.url)
    assert page.status_code == 200
    return parse_html(page.text).one("li", id=f"c{comment_id}")


def feed_entries(client, url: str, comment_id: int):  # type: ignore[no-untyped-def]
    """The comment's entry in a comments feed: as feedparser reads it, and as raw XML."""
    response = client.get(url)
    assert response.status_code == 200
    link_end = f"#c{comment_id}"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    (entry,) = [e for e in parsed.entries if e.link.endswith(link_end)]
    root = ElementTree.fromstring(response.data)  # noqa: S314 - the app's own feed, in a test
    (raw,) = [
        e
        for e in root.iterfind("atom:entry", ATOM_NS)
        if e.find("atom:link", ATOM_NS).get("href", "").endswith(link_end)
    ]
    return entry, raw


def comment_feeds(post: PostRef) -> list[str]:
    return ["/feeds/comments/default", f"/feeds/{post.id}/comments/default"]


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_is_shown_as_text_on_the_page(client, blog, payload):
    """A hostile comment is published and shown as the typed text, never as markup."""
    post = blog.post()

    response = post_comment(client, post, body=payload)

    comment_id = published_comment_id(response, post)
    comment = comment_on_page(client, post, comment_id)
    assert active_markup(comment) == []
    assert comment.one("div", class_="comment-body").text().strip() == payload
    assert "Anonymous" in comment.one("p", class_="comment-author").text()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_name_is_shown_as_text_on_the_page(client, blog, payload):
    """A hostile name is published and shown as the typed text, never as markup."""
    post = blog.post()

    response = post_comment(client, post, body="A fair point.", name=payload)

    comment_id = published_comment_id(response, post)
    comment = comment_on_page(client, post, comment_id)
    assert active_markup(comment) == []
    author = comment.one("p", class_="comment-author")
    assert payload in " ".join(author.text().split())
    assert [a.get("href") for a in author.iter() if a.tag == "a"] == [f"#c{comment_id}"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_is_inert_in_the_comment_feeds(client, blog, payload):
    """In both comment feeds a hostile comment's content has no markup that runs."""
    post = blog.post()
    comment_id = published_comment_id(post_comment(client, post, body=payload), post)

    for url in comment_feeds(post):
        entry, raw = feed_entries(client, url, comment_id)
        raw_content = raw.find("atom:content", ATOM_NS)
        assert raw_content.get("type") == "html"
        for html in (raw_content.text or "", entry.content[0].value):
            content = parse_html(html)
            assert active_markup(content) == [], url
            assert content.text().strip() == payload, url
        # The title is plain text (no type="html"), so readers show it as typed.
        assert raw.find("atom:title", ATOM_NS).get("type", "text") == "text"
        assert entry.title_detail.type == "text/plain"
        assert entry.title == payload
        assert entry.author == "Anonymous"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_name_is_inert_in_the_comment_feeds(client, blog, payload):
    """In both comment feeds a hostile name is the author's plain-text name, as typed."""
    post = blog.post()
    response = post_comment(client, post, body="A fair point.", name=payload)
    comment_id = published_comment_id(response, post)

    for url in comment_feeds(post):
        entry, raw = feed_entries(client, url, comment_id)
        assert raw.findtext("atom:author/atom:name", None, ATOM_NS) == payload
        assert entry.author == payload
        assert entry.author_detail.get("href") is None
        raw_content = raw.find("atom:content", ATOM_NS).text or ""
        for html in (raw_content, entry.content[0].value):
            assert active_markup(parse_html(html)) == [], url


@pytest.mark.parametrize("address", PAYLOADS + SCRIPT_URLS)
def test_form_refuses_a_web_address_that_is_not_http(client, blog, address):
    """A web address other than http(s) gets a form error (422) and stores nothing."""
    post = blog.post()

    response = post_comment(client, post, body="A fair point.", name="Mallory", url=address)

    assert response.status_code == 422
    assert blog.count(Comment) == 0
    page = parse_html(response.text)
    form = page.one("form", class_="comment-form")
    assert active_markup(form) == []
    assert page.one("span", id="url-error").text().strip()
    # What was typed is given back, inert, for the reader to correct.
    assert form.one("input", name="url").get("value") == " ".join(address.split())
    assert form.one("textarea", name="body").text().strip() == "A fair point."


@pytest.mark.parametrize("address", SCRIPT_URLS)
def test_stored_script_web_address_is_never_linked(client, blog, address):
    """A commenter's stored address that is not http(s) (say, imported) makes no link."""
    post = blog.post()
    comment = blog.comment(post, body="Imported long ago.", name="Mallory", url=address)

    shown = comment_on_page(client, post, comment.id)

    assert active_markup(shown) == []
    author = shown.one("p", class_="comment-author")
    assert "Mallory" in author.text()
    assert [a.get("href") for a in author.iter() if a.tag == "a"] == [f"#c{comment.id}"]
    for url in comment_feeds(post):
        entry, raw = feed_entries(client, url, comment.id)
        assert entry.author == "Mallory"
        assert entry.author_detail.get("href") is None
        assert raw.find("atom:author/atom:uri", ATOM_NS) is None


def test_named_commenter_with_web_address_gets_nofollow_ugc_link(client, blog):
    """A name with an https address links to it, marked nofollow and ugc."""
    post = blog.post()

    response = post_comment(
        client, post, body="See my notes.", name="Mary Reader", url="https://example.org"
    )

    comment_id = published_comment_id(response, post)
    author = comment_on_page(client, post, comment_id).one("p", class_="comment-author")
    link = author.one("a", href="https://example.org")
    assert link.text() == "Mary Reader"
    assert {"nofollow", "ugc"} <= set((link.get("rel") or "").split())


def test_web_address_cannot_break_out_of_its_link(client, blog):
    """Quotes and tags in an http address stay inside the href."""
    post = blog.post()
    address = 'https://example.org/"onmouseover="alert(1)"><script>alert(1)</script>'

    response = post_comment(client, post, body="Hello.", name="Mary Reader", url=address)

    comment = comment_on_page(client, post, published_comment_id(response, post))
    assert active_markup(comment) == []
    link = comment.one("p", class_="comment-author").one("a", href=address)
    assert link.text() == "Mary Reader"
