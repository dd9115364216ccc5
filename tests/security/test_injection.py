"""Every injection payload in every field that takes untrusted text, on every page and
feed that shows it.

Seven fields: a reader's comment text, name and web address; an author's post title,
Markdown body and labels (through the real editor, signed in); a search query. For each,
the pages (post, home, label, search; the authoring pages that show the text too) are
parsed with html.parser and the feeds with feedparser and as raw XML, and nothing that
came from a payload may run script: no <script>, <iframe>, <object>, <embed>, <base>,
<meta http-equiv>, <style>, <svg>, <math>, form control... (html_tree.BANNED_ELEMENTS),
no on* or style attribute, no javascript:, vbscript: or data: address. Template syntax
is shown as typed, never evaluated. Whole pages are compared with a page of the same
kind made without payloads, so that the layout's own forms are told apart from new ones.

Speed: each field takes all payloads in one test (comments on one post; one post per
title, body or labels payload), each page and feed is fetched once for the batch, and
problems are collected and reported together, each naming its payload id. Payloads with
characters XML cannot carry go in one at a time and are hidden again after their checks,
so that one which breaks a feed is named and cannot hide the others' results.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, CommentStatus, Post, PostStatus
from kmblog.settings import get_settings
from tests.conftest import PASSWORD, SECRET_KEY, AuthActions
from tests.factories import BlogBuilder, PostRef
from tests.html_tree import (
    BANNED_ELEMENTS,
    SCRIPTING_ELEMENTS,
    Node,
    census,
    census_difference,
    hazards,
    parse_html,
    script_url,
    words,
)
from tests.security.payloads import (
    CATEGORIES,
    PAYLOADS,
    TEMPLATE_INJECTION,
    TEMPLATE_MARKERS,
)

SITE = "http://blog.test"
NEW_POST = "/manage/posts/new"
ALL = "max-results=10000"  # with MAX_RESULTS_LIMIT raised below: every probe on one page
NS = {"atom": "http://www.w3.org/2005/Atom"}
TYPED = dict(PAYLOADS)  # payload by id

# What the app removes from every stored text (rendering.clean_text), as typed by a tester.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Characters outside XML 1.0's Char production: a feed cannot carry them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The tags a commenter may type (b, i, em, strong, code, blockquote, a href): a payload
# using them is not shown as its typed text, so only its safety is checked.
_COMMENT_TAG = re.compile(r"<\s*/?\s*(?:a|b|i|em|strong|code|blockquote)\b", re.IGNORECASE)
_WEB_ADDRESS = re.compile(r"https?://[^\s/?#\\]", re.IGNORECASE)
_COMMENT_LOCATION = re.compile(r"#c(\d+)$")
_EDIT_LOCATION = re.compile(r"/manage/posts/(\d+)/edit$")


def typed_text(payload: str) -> str:
    return _CONTROLS.sub("", payload)


def typed_line(payload: str) -> str:
    """A one-line field as the app keeps it: controls dropped, whitespace runs one space."""
    return words(typed_text(payload))


def squeezed(text: str) -> str:
    return "".join(words(text).split())


# --- the site under test, and a list of problems ------------------------------------------


@dataclass
class Site:
    app: Flask
    blog: BlogBuilder
    reader: FlaskClient  # a visitor, not signed in
    author: FlaskClient  # the author "writer", signed in
    title: str  # the blog's title, as pages and feeds show it
    problems: list[str] = field(default_factory=list)
    # The moderation list's census before any comment (its form controls vary with the
    # number of comments, so only scripting elements and attributes are compared).
    moderation_baseline: Counter[str] = field(default_factory=Counter)

    def problem(self, pid: str, where: str, message: str) -> None:
        self.problems.append(f"[{pid}] {where}: {message}")

    def check(self, ok: bool, pid: str, where: str, message: str) -> None:
        if not ok:
            self.problem(pid, where, message)

    def assert_no_problems(self, what: str, checked: int) -> None:
        culprits = sorted({p[1 : p.index("]")] for p in self.problems})
        shown = "\n".join(self.problems[:80])
        more = f"\n... and {len(self.problems) - 80} more" if len(self.problems) > 80 else ""
        assert not self.problems, (
            f"{len(self.problems)} problems with {what} ({checked} payloads); "
            f"payloads involved: {', '.join(culprits)}\n{shown}{more}"
        )


@pytest.fixture
def site(app: Flask, blog: BlogBuilder, client: FlaskClient) -> Site:
    # One page or feed shows every probe (the app caps max-results at 100, and a post
    # shows 100 comments a page).
    app.config["MAX_RESULTS_LIMIT"] = 10_000
    app.config["COMMENTS_PER_PAGE"] = 10_000
    # Every comment is published at once: no rule holds a hostile one back from view.
    blog.settings(
        comment_policy=CommentPolicy.OPEN,
        moderate_after_days=None,
        moderation_links=10_000,
        moderation_words="",
        blocked_words="",
        hold_first_comment=False,
    )
    blog.author("writer", password=PASSWORD)  # the first author: writes blog.post() too
    author = app.test_client()
    assert AuthActions(author).login("writer").status_code == 303
    with app.app_context():
        title = get_settings().title
    return Site(app, blog, client, author, title)


# --- fetching and parsing -----------------------------------------------------------------


def fetch(
    site: Site, url: str, pid: str = "*", client: FlaskClient | None = None, **kwargs: Any
) -> TestResponse | None:
    """GET `url`; None (and a problem) unless it answers 200."""
    try:
        response = (client or site.reader).get(url, **kwargs)
    except Exception as error:  # the test client re-raises what the app raised
        site.problem(pid, url, f"raised {type(error).__name__}: {error}")
        return None
    if response.status_code != 200:
        site.problem(pid, url, f"answered {response.status_code}, not 200")
        return None
    site.check(SECRET_KEY.encode() not in response.data, pid, url, "shows the SECRET_KEY")
    return response


def page(
    site: Site,
    url: str,
    pid: str = "*",
    baseline: Counter[str] | None = None,
    client: FlaskClient | None = None,
    elements: frozenset[str] = BANNED_ELEMENTS,
    **kwargs: Any,
) -> Node | None:
    """An HTML page, parsed; compared with `baseline` (a census of a page of its kind)."""
    response = fetch(site, url, pid, client, **kwargs)
    if response is None:
        return None
    return check_page(site, response, url, pid, baseline, elements)


def check_page(
    site: Site,
    response: TestResponse,
    url: str,
    pid: str,
    baseline: Counter[str] | None,
    elements: frozenset[str] = BANNED_ELEMENTS,
) -> Node:
    policy = response.headers.get("Content-Security-Policy", "")
    site.check(
        "script-src 'self'" in policy and "unsafe-inline" not in policy,
        pid,
        url,
        f"weak or missing Content-Security-Policy: {policy!r}",
    )
    tree = parse_html(response.text)
    if baseline is not None:
        for difference in census_difference(tree, baseline, elements):
            site.problem(pid, url, f"page differs from one without payloads: {difference}")
    return tree


def baseline_census(
    site: Site,
    url: str,
    client: FlaskClient | None = None,
    elements: frozenset[str] = BANNED_ELEMENTS,
) -> Counter[str]:
    response = (client or site.reader).get(url)
    assert response.status_code == 200, url
    found = census(parse_html(response.text), elements)
    assert not [key for key in found if "[" in key], f"{url} has hazards of its own: {found}"
    return found


@dataclass
class Feed:
    url: str
    root: ElementTree.Element
    parsed: feedparser.FeedParserDict
    # by alternate link: (feedparser's entry, the raw <entry>)
    entries: dict[str, tuple[feedparser.FeedParserDict, ElementTree.Element]]


def fetch_feed(site: Site, url: str, pid: str = "*") -> Feed | None:
    """An Atom feed, well-formed, read by feedparser and as raw XML."""
    response = fetch(site, url, pid)
    if response is None:
        return None
    site.check(response.mimetype == "application/atom+xml", pid, url, response.mimetype)
    try:
        root = ElementTree.fromstring(response.data)  # noqa: S314 - the app's own feed
    except ElementTree.ParseError as error:
        site.problem(pid, url, f"not well-formed XML: {error}")
        return None
    parsed = feedparser.parse(response.data)
    if parsed.bozo:
        site.problem(pid, url, f"feedparser: {parsed.get('bozo_exception')}")
    raw = {}
    for entry in root.iterfind("atom:entry", NS):
        # The alternate link: rel="alternate", or no rel at all (RFC 4287, 4.2.7.2).
        links = [
            link.get("href") or ""
            for link in entry.iterfind("atom:link", NS)
            if link.get("rel", "alternate") == "alternate"
        ]
        raw[links[0] if links else ""] = entry
    entries = {e.link: (e, raw[e.link]) for e in parsed.entries if e.get("link") in raw}
    site.check(len(entries) == len(raw), pid, url, "feedparser and the XML differ on entries")
    return Feed(url, root, parsed, entries)


_SHOWN_TIMES = re.compile(
    r"\b\d{1,2}:\d{2}(?: [AP]M)?|\b\d{4}-\d{2}-\d{2}T[\d:.+-]+|\b\d{1,2}, \d{4}\b"
)


def check_template(site: Site, pid: str, where: str, text: str) -> None:
    """A template payload is shown as typed, never evaluated."""
    if pid not in TEMPLATE_MARKERS:
        return
    shown, evaluated = TEMPLATE_MARKERS[pid]
    text = words(text)
    site.check(shown in text, pid, where, f"template text {shown!r} not shown in {text!r}")
    if evaluated is not None:
        # Times and dates the page shows itself ("at 8:42 AM") are not the payload's.
        own = _SHOWN_TIMES.sub(" ", text)
        site.check(evaluated not in own, pid, where, f"template evaluated: {text!r}")


def check_region(
    site: Site,
    pid: str,
    where: str,
    region: Node | None,
    banned: frozenset[str] = BANNED_ELEMENTS,
    template: bool = True,
) -> None:
    """Nothing inside `region` (the part of a page showing the payload) can run script."""
    if region is None:
        site.problem(pid, where, "the part of the page that shows the text is missing")
        return
    for hazard in hazards(region, banned):
        site.problem(pid, where, f"active markup: {hazard}")
    if template:
        check_template(site, pid, where, region.text())


def check_html_content(
    site: Site, pid: str, where: str, entry: Any, raw: Any, template: bool = True
) -> None:
    """An entry's <content type="html">, raw and as feedparser reads it, is inert HTML."""
    content = raw.find("atom:content", NS)
    if content is None:
        site.problem(pid, where, "entry has no <content>")
        return
    site.check(content.get("type") == "html", pid, where, f"content type {content.get('type')}")
    check_region(
        site, pid, f"{where} raw <content>", parse_html(content.text or ""), template=template
    )
    parsed = entry.content[0].value if entry.get("content") else ""
    check_region(site, pid, f"{where} feedparser content", parse_html(parsed), template=template)


def check_text_construct(
    site: Site, pid: str, where: str, element: Any, expected: str, prefix_ok: bool = False
) -> None:
    """An Atom text construct is plain text (no type="html") holding `expected`."""
    if element is None:
        site.problem(pid, where, "missing")
        return
    site.check(element.get("type", "text") == "text", pid, where, "is not type text")
    shown = words(element.text or "")
    ok = shown == words(expected)
    if prefix_ok and not ok and shown.endswith("…"):
        ok = words(expected).startswith(shown[:-1].rstrip())
    site.check(ok, pid, where, f"shows {shown!r}, typed {words(expected)!r}")


def in_rounds(
    payloads: Iterable[tuple[str, str]],
    check_round: Callable[[list[tuple[str, str]]], list[int]],
    hide: Callable[[list[int]], None],
) -> int:
    """Payloads XML cannot carry one at a time (hidden after), then all the others at once."""
    payloads = list(payloads)
    for pair in [p for p in payloads if _NOT_XML.search(p[1])]:
        hide(check_round([pair]))
    check_round([p for p in payloads if not _NOT_XML.search(p[1])])
    return len(payloads)


def batch_id(made: dict[str, Any]) -> str:
    """The payload id to name for a whole page or feed: the one payload of a round of one,
    "*" for a batch (its own checks then name each payload)."""
    return next(iter(made)) if len(made) == 1 else "*"


def hide_comments(site: Site, ids: list[int]) -> None:
    with site.app.app_context():
        db.session.execute(
            update(Comment).where(Comment.id.in_(ids)).values(status=CommentStatus.DELETED)
        )
        db.session.commit()


def hide_posts(site: Site, ids: list[int]) -> None:
    with site.app.app_context():
        db.session.execute(update(Post).where(Post.id.in_(ids)).values(status=PostStatus.DRAFT))
        db.session.commit()


def count_comments(site: Site) -> int:
    return site.blog.count(Comment)


# --- comments: text, name, web address ----------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A comment sent through the form, and what it was sent with."""

    comment_id: int
    body: str
    name: str
    url: str


def comment_form_fields(site: Site, post: PostRef) -> dict[str, str]:
    """The hidden fields of the comment form as a browser sends them back."""
    tree = page(site, post.url)
    assert tree is not None
    form = tree.find("form", class_="comment-form")
    assert form is not None
    values = {name: form.find("input", name=name) for name in ("shown", "website")}
    assert all(values.values()), values
    # The honeypot goes back empty, as a person leaves it.
    return {name: node.get("value") or "" for name, node in values.items() if node}


def send_comment(
    site: Site, post: PostRef, hidden: dict[str, str], pid: str, body: str, name: str, url: str
) -> TestResponse | None:
    try:
        return site.reader.post(post.url, data={**hidden, "body": body, "name": name, "url": url})
    except Exception as error:
        site.problem(pid, f"POST {post.url}", f"raised {type(error).__name__}: {error}")
        return None


def published_id(site: Site, pid: str, response: TestResponse | None) -> int | None:
    if response is None:
        return None
    match = _COMMENT_LOCATION.search(response.headers.get("Location", ""))
    if response.status_code != 303 or not match:
        site.problem(
            pid, "comment form", f"not published: {response.status_code} {response.location}"
        )
        return None
    return int(match[1])


def check_refused(
    site: Site,
    pid: str,
    response: TestResponse,
    baseline: Counter[str],
    field_name: str,
    typed: str,
    stored_before: int,
) -> None:
    """A refused comment (422): nothing stored; the form shows the typed text, inert."""
    where = f"422 page for {field_name}"
    site.check(count_comments(site) == stored_before, pid, where, "a refused comment was stored")
    tree = check_page(site, response, where, pid, baseline)
    form = tree.find("form", class_="comment-form")
    if form is None:
        site.problem(pid, where, "no comment form")
        return
    field_input = form.find("input", name=field_name)
    shown = words(field_input.get("value") or "") if field_input else None
    site.check(shown == typed, pid, where, f"the field shows {shown!r}, typed {typed!r}")
    site.check(bool(tree.find("span", id=f"{field_name}-error")), pid, where, "no error")


def check_title_reads_content(site: Site, pid: str, where: str, title: Any, raw: Any) -> None:
    """An entry's title is plain text holding the first words of its HTML content, as
    an HTML parser reads them (spacing aside: a paragraph's end is a space in a title)."""
    if title is None:
        site.problem(pid, where, "missing")
        return
    site.check(title.get("type", "text") == "text", pid, where, "is not type text")
    content = raw.find("atom:content", NS)
    seen = squeezed(parse_html(content.text or "").text()) if content is not None else ""
    shown = squeezed(title.text or "")
    ok = shown == seen or (shown.endswith("…") and seen.startswith(shown[:-1]))
    site.check(ok, pid, where, f"shows {words(title.text or '')!r}, the content reads {seen!r}")


def check_comments(
    site: Site, post: PostRef, sent: dict[str, Sent], baseline: Counter[str], holder: str
) -> None:
    """The comments in `sent` on the post page, in both comment feeds and in moderation.

    `holder` is the field that holds each payload: "body", "name" or "url".
    """
    tree = page(site, post.url, batch_id(sent), baseline)
    if tree is not None:
        for pid, comment in sent.items():
            check_comment_on_page(site, pid, comment, tree, holder)

    for url in ("/feeds/comments/default", f"/feeds/{post.id}/comments/default"):
        feed = fetch_feed(site, f"{url}?{ALL}", batch_id(sent))
        if feed is None:
            continue
        for pid, comment in sent.items():
            where = f"{url} entry c{comment.comment_id}"
            found = next(
                (
                    entry
                    for link, entry in feed.entries.items()
                    if link.startswith(f"{SITE}{post.url}?showComment=")
                    and link.endswith(f"#c{comment.comment_id}")
                ),
                None,
            )
            if found is None:
                site.problem(pid, where, "missing")
                continue
            entry, raw = found
            check_html_content(site, pid, where, entry, raw, template=holder == "body")
            # The title is the first words of the comment as readers see it, in plain
            # text: what was typed, except that the tags a commenter may use are read
            # as markup (as on the page), so the words they hold are the title's.
            title = raw.find("atom:title", NS)
            if _COMMENT_TAG.search(comment.body):
                check_title_reads_content(site, pid, f"{where} <title>", title, raw)
            else:
                check_text_construct(
                    site, pid, f"{where} <title>", title, typed_line(comment.body), prefix_ok=True
                )
            raw_title = (title.text or "") if title is not None else ""
            site.check(
                words(entry.get("title", "")) == words(raw_title),
                pid,
                f"{where} <title>",
                "feedparser reads a different title",
            )
            name = typed_line(comment.name) or "Anonymous"
            check_text_construct(
                site, pid, f"{where} <author><name>", raw.find("atom:author/atom:name", NS), name
            )
            site.check(
                words(entry.get("author", "")) == name,
                pid,
                f"{where} author",
                f"feedparser reads {entry.get('author')!r}",
            )
            site.check(
                raw.find("atom:author/atom:uri", NS) is None,
                pid,
                f"{where} <author>",
                "a commenter's address is published as <uri>",
            )
            if holder == "body":
                check_template(site, pid, f"{where} <title>", raw_title)

    check_moderation_list(site, sent, holder)


def check_comment_on_page(site: Site, pid: str, comment: Sent, tree: Node, holder: str) -> None:
    where = f"post page li#c{comment.comment_id}"
    item = tree.find("li", id=f"c{comment.comment_id}")
    if item is None:
        site.problem(pid, where, "the comment is not on the page")
        return
    body = item.find("div", class_="comment-body")
    check_region(site, pid, f"{where} comment-body", body, template=holder == "body")
    if body is not None and holder == "body" and not _COMMENT_TAG.search(comment.body):
        site.check(
            squeezed(body.text()) == squeezed(typed_text(comment.body)),
            pid,
            f"{where} comment-body",
            f"shows {words(body.text())!r}, not the typed text",
        )
    author = item.find("p", class_="comment-author")
    check_region(site, pid, f"{where} comment-author", author, template=holder == "name")
    if author is None:
        return
    name = typed_line(comment.name) or "Anonymous"
    site.check(
        f", {name} said..." in words(author.text()),
        pid,
        f"{where} comment-author",
        f"shows {words(author.text())!r}, not the name {name!r}",
    )
    links = [a.get("href") for a in author.find_all("a")]
    expected = [f"#c{comment.comment_id}"] + ([typed_line(comment.url)] if comment.url else [])
    site.check(links == expected, pid, f"{where} comment-author", f"links {links}")
    for anchor in author.find_all("a")[1:]:
        rel = set((anchor.get("rel") or "").split())
        site.check({"nofollow", "ugc"} <= rel, pid, f"{where} commenter link", f"rel {rel}")
        site.check(
            words(anchor.text()) == typed_line(comment.name),
            pid,
            f"{where} commenter link",
            f"text {anchor.text()!r}",
        )


def check_moderation_list(site: Site, sent: dict[str, Sent], holder: str) -> None:
    """The author's moderation list shows the same comments, as inert as on the post."""
    seen: dict[int, Node] = {}
    for number in range(1, 100):  # 50 a page, newest first
        url = f"/manage/comments?status=published&page={number}"
        tree = page(site, url, "*", site.moderation_baseline, site.author, SCRIPTING_ELEMENTS)
        items = tree.find_all("li", class_="comment") if tree is not None else []
        seen.update({int((li.get("id") or "c0")[1:]): li for li in items})
        if len(items) < 50:
            break
    for pid, comment in sent.items():
        where = f"moderation list c{comment.comment_id}"
        item = seen.get(comment.comment_id)
        if item is None:
            site.problem(pid, where, "missing")
            continue
        check_region(
            site,
            pid,
            f"{where} comment-body",
            item.find("div", class_="comment-body"),
            template=holder == "body",
        )
        author = item.find("p", class_="comment-author")
        # The list's own checkbox is the one form control allowed here.
        check_region(
            site, pid, f"{where} comment-author", author, BANNED_ELEMENTS - {"input"}, False
        )
        if author is None:
            continue
        inputs = author.find_all("input")
        site.check([i.get("type") for i in inputs] == ["checkbox"], pid, where, f"inputs {inputs}")
        label = author.find("label")
        shown = words(label.text()) if label else ""
        name = typed_line(comment.name) or "Anonymous"
        site.check(shown.startswith(name), pid, where, f"label shows {shown!r}")
        if holder == "name":
            # The name alone: the label goes on with the time, which may hold "42".
            check_template(site, pid, where, shown[: len(name)])
        if comment.url:
            site.check(f"({typed_line(comment.url)})" in shown, pid, where, f"shows {shown!r}")


def comment_site(site: Site) -> tuple[PostRef, Counter[str], dict[str, str]]:
    """The post that takes the comments; its page's census before any comment; the form."""
    post = site.blog.post(title="Comment probes")
    baseline = baseline_census(site, post.url)
    site.moderation_baseline = baseline_census(
        site, "/manage/comments?status=published", site.author, SCRIPTING_ELEMENTS
    )
    return post, baseline, comment_form_fields(site, post)


def test_comment_text_payloads_are_inert(site: Site) -> None:
    """Each payload as a comment's text: shown as typed text on the page, in both comment
    feeds and in the moderation list, never as markup that runs."""
    post, baseline, hidden = comment_site(site)

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        sent = {}
        for pid, payload in batch:
            response = send_comment(site, post, hidden, pid, payload, f"Probe {pid}", "")
            comment_id = published_id(site, pid, response)
            if comment_id is not None:
                sent[pid] = Sent(comment_id, payload, f"Probe {pid}", "")
        check_comments(site, post, sent, baseline, "body")
        return [comment.comment_id for comment in sent.values()]

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_comments(site, ids))
    site.assert_no_problems("comment text", checked)


def test_commenter_name_payloads_are_inert(site: Site) -> None:
    """Each payload as a commenter's name: shown as typed on the page, as the plain-text
    author of both comment feeds and in the moderation list. A name over 100 characters
    is refused (422) and shown back, inert, in the form."""
    post, baseline, hidden = comment_site(site)

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        sent = {}
        for pid, payload in batch:
            before = count_comments(site)
            response = send_comment(site, post, hidden, pid, f"Name probe {pid}.", payload, "")
            if response is not None and len(typed_line(payload)) > 100:
                site.check(response.status_code == 422, pid, "long name", "not refused")
                if response.status_code == 422:
                    check_refused(
                        site, pid, response, baseline, "name", typed_line(payload), before
                    )
                continue
            comment_id = published_id(site, pid, response)
            if comment_id is not None:
                sent[pid] = Sent(comment_id, f"Name probe {pid}.", payload, "")
        check_comments(site, post, sent, baseline, "name")
        return [comment.comment_id for comment in sent.values()]

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_comments(site, ids))
    site.assert_no_problems("commenter names", checked)


def test_commenter_web_address_payloads_are_refused_or_inert(site: Site) -> None:
    """Each payload as a commenter's web address: anything but an http(s) address is
    refused (422, nothing stored, the typed text shown back inert); an http(s) address
    that carries markup is kept inside the name's link, with rel nofollow ugc."""
    post, baseline, hidden = comment_site(site)
    outcomes: Counter[str] = Counter()

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        sent = {}
        for pid, payload in batch:
            typed = typed_line(payload)
            before = count_comments(site)
            body, name = f"Address probe {pid}.", f"Probe {pid}"
            response = send_comment(site, post, hidden, pid, body, name, payload)
            if response is None:
                continue
            if response.status_code == 422:
                outcomes["refused"] += 1
                check_refused(site, pid, response, baseline, "url", typed, before)
                continue
            outcomes["accepted"] += 1
            site.check(
                bool(_WEB_ADDRESS.match(typed)),
                pid,
                "comment form",
                f"accepted {typed!r}, which is not an http(s) address",
            )
            comment_id = published_id(site, pid, response)
            if comment_id is not None:
                sent[pid] = Sent(comment_id, body, name, payload)
        check_comments(site, post, sent, baseline, "url")
        return [comment.comment_id for comment in sent.values()]

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_comments(site, ids))
    site.assert_no_problems(f"commenter web addresses {dict(outcomes)}", checked)
    # Some hostile http(s) addresses got in, so the link itself was checked too.
    assert outcomes["accepted"] > 0, outcomes


# --- posts: title, Markdown body, labels (through the editor) ---------------------------


def editor_token(site: Site) -> str:
    tree = page(site, NEW_POST, client=site.author)
    assert tree is not None
    token = tree.find("input", name="csrf_token")
    assert token is not None
    return token.get("value") or ""


def publish(site: Site, token: str, pid: str, title: str, body: str, labels: str = "") -> Any:
    """Publish a post through the editor; its id, or the response when it was refused."""
    data = {
        "csrf_token": token,
        "title": title,
        "body": body,
        "labels": labels,
        "kind": "article",
        "companion_id": "0",
        "slug": "",
        "publish_at": "",
        "comments_open": "y",
        "action": "publish",
    }
    try:
        response = site.author.post(NEW_POST, data=data)
    except Exception as error:
        site.problem(pid, f"POST {NEW_POST}", f"raised {type(error).__name__}: {error}")
        return None
    match = _EDIT_LOCATION.search(response.headers.get("Location", ""))
    if response.status_code == 303 and match:
        return int(match[1])
    return response


def post_paths(site: Site, ids: Iterable[int]) -> dict[int, str]:
    with site.app.app_context():
        rows = db.session.execute(
            select(Post.id, Post.year, Post.month, Post.slug).where(Post.id.in_(list(ids)))
        )
        return {row.id: f"/{row.year:04d}/{row.month:02d}/{row.slug}.html" for row in rows}


@dataclass
class PostBaselines:
    """Censuses of each kind of page, made with one harmless post."""

    post: Counter[str]
    home: Counter[str]
    editor: Counter[str]
    dashboard: Counter[str]


def post_baselines(site: Site, token: str, labels: str = "") -> PostBaselines:
    post_id = publish(site, token, "baseline", "Baseline post", "Nothing to see.", labels)
    assert isinstance(post_id, int), post_id
    path = post_paths(site, [post_id])[post_id]
    return PostBaselines(
        post=baseline_census(site, path),
        home=baseline_census(site, f"/?{ALL}"),
        editor=baseline_census(site, f"/manage/posts/{post_id}/edit", site.author),
        dashboard=baseline_census(site, "/manage/?state=published", site.author),
    )


def publish_all(
    site: Site, token: str, batch: list[tuple[str, str]], make: Callable[[str, str], dict]
) -> dict[str, int]:
    """One post per payload; `make(pid, payload)` gives its title, body and labels."""
    made = {}
    for pid, payload in batch:
        result = publish(site, token, pid, **make(pid, payload))
        if isinstance(result, int):
            made[pid] = result
        elif result is not None:
            site.problem(pid, "editor", f"not published: {result.status_code}")
    return made


def home_articles(site: Site, baseline: Counter[str], pid: str) -> dict[str, Node]:
    """The home page's articles, by post path."""
    tree = page(site, f"/?{ALL}", pid, baseline)
    if tree is None:
        return {}
    articles = {}
    for article in tree.find_all("article", class_="post"):
        link = article.find("h3", class_="post-title")
        anchor = link.find("a") if link else None
        if anchor is not None:
            articles[anchor.get("href") or ""] = article
    return articles


def test_post_title_payloads_are_inert(site: Site) -> None:
    """Each payload as a post's title: shown as typed in the post page (heading, <title>,
    feed link, neighbours' links), home page, posts feed, the post's comments feed, the
    dashboard and the editor."""
    token = editor_token(site)
    base = post_baselines(site, token)
    all_titles = {"Baseline post"} | {typed_line(p) for _, p in PAYLOADS}

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        made = {}
        for pid, payload in batch:
            result = publish(site, token, pid, payload, f"Title probe {pid}.")
            if not typed_line(payload) or len(payload.strip()) > 300:
                site.check(not isinstance(result, int), pid, "editor", "took an impossible title")
            elif isinstance(result, int):
                made[pid] = result
            elif result is not None:
                site.problem(pid, "editor", f"not published: {result.status_code}")
        paths = post_paths(site, made.values())
        for pid, post_id in made.items():
            check_title_on_post_page(site, pid, post_id, paths[post_id], base, all_titles)
        check_titles_elsewhere(site, made, paths, base)
        return list(made.values())

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_posts(site, ids))
    site.assert_no_problems("post titles", checked)


def check_title_on_post_page(
    site: Site, pid: str, post_id: int, path: str, base: PostBaselines, all_titles: set[str]
) -> None:
    title = typed_line(TYPED[pid])
    tree = page(site, path, pid, base.post)
    if tree is not None:
        heading = tree.find("h3", class_="post-title")
        check_region(site, pid, "post page h3.post-title", heading)
        shown = words(heading.text()) if heading else None
        site.check(shown == title, pid, "post page h3", f"shows {shown!r}")
        head_title = tree.find("title")
        shown = words(head_title.text()) if head_title else None
        site.check(shown == f"{site.title}: {title}", pid, "post page <title>", repr(shown))
        feed_link = tree.find("link", href=f"/feeds/{post_id}/comments/default")
        shown = words(feed_link.get("title") or "") if feed_link else None
        expected = f"{site.title} - {title} - Comments - Atom"
        site.check(shown == expected, pid, "post page feed <link title>", repr(shown))
        for pager in tree.find_all("a", class_="newer-link") + tree.find_all(
            "a", class_="older-link"
        ):
            shown = words(pager.get("title") or "")
            site.check(shown in all_titles, pid, "post page pager title", repr(shown))
    editor = page(site, f"/manage/posts/{post_id}/edit", pid, base.editor, site.author)
    if editor is not None:
        heading = editor.find("h2")
        check_region(site, pid, "editor h2", heading)
        shown = words(heading.text()) if heading else None
        site.check(shown == f"Edit “{title}”", pid, "editor h2", repr(shown))
        field_input = editor.find("input", name="title")
        shown = words(field_input.get("value") or "") if field_input else None
        site.check(shown == title, pid, "editor title field", repr(shown))
    feed = fetch_feed(site, f"/feeds/{post_id}/comments/default", pid)
    if feed is not None:
        expected = f"{site.title}: Comments on {title}"
        check_text_construct(
            site, pid, "post comments feed <title>", feed.root.find("atom:title", NS), expected
        )
        shown = words(feed.parsed.feed.get("title", ""))
        site.check(shown == expected, pid, "post comments feed title (feedparser)", repr(shown))


def check_titles_elsewhere(
    site: Site, made: dict[str, int], paths: dict[int, str], base: PostBaselines
) -> None:
    articles = home_articles(site, base.home, batch_id(made))
    feed = fetch_feed(site, f"/feeds/posts/default?{ALL}", batch_id(made))
    rows: dict[str, Node] = {}
    for number in range(1, 100):
        url = f"/manage/?state=published&page={number}"
        tree = page(site, url, "*", base.dashboard, site.author)
        if tree is None:
            break
        for row in tree.find_all("tr"):
            link = row.find("a")
            if link is not None and (link.get("href") or "").endswith("/edit"):
                rows[link.get("href") or ""] = link
        if tree.find("a", class_="older-link") is None:
            break
    for pid, post_id in made.items():
        title = typed_line(TYPED[pid])
        path = paths[post_id]
        article = articles.get(path)
        heading = article.find("h3", class_="post-title") if article else None
        check_region(site, pid, "home page h3.post-title", heading)
        shown = words(heading.text()) if heading else None
        site.check(shown == title, pid, "home page h3", f"shows {shown!r}")
        if feed is not None:
            found = feed.entries.get(SITE + path)
            if found is None:
                site.problem(pid, "posts feed", "entry missing")
            else:
                entry, raw = found
                where = "posts feed <title>"
                check_text_construct(site, pid, where, raw.find("atom:title", NS), title)
                check_template(site, pid, where, raw.findtext("atom:title", "", NS))
                shown = words(entry.get("title", ""))
                site.check(shown == title, pid, f"{where} (feedparser)", repr(shown))
        link = rows.get(f"/manage/posts/{post_id}/edit")
        check_region(site, pid, "dashboard title link", link)
        shown = words(link.text()) if link else None
        site.check(shown == title, pid, "dashboard title link", repr(shown))


def test_post_body_payloads_are_inert(site: Site) -> None:
    """Each payload as a post's Markdown body, written in the editor by a signed-in
    author: sanitised on the post page, home page and in the posts feed; kept as typed,
    inert, in the editor's text area."""
    token = editor_token(site)
    base = post_baselines(site, token)

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        made = publish_all(
            site, token, batch, lambda pid, body: {"title": f"Body probe {pid}", "body": body}
        )
        paths = post_paths(site, made.values())
        for pid, post_id in made.items():
            tree = page(site, paths[post_id], pid, base.post)
            if tree is not None:
                article = tree.find("article", class_="post")
                body = article.find("div", class_="post-body") if article else None
                check_region(site, pid, "post page div.post-body", body)
            editor = page(site, f"/manage/posts/{post_id}/edit", pid, base.editor, site.author)
            area = editor.find("textarea", name="body") if editor else None
            shown = area.text() if area else ""
            site.check(
                squeezed(shown) == squeezed(typed_text(TYPED[pid])),
                pid,
                "editor body text area",
                f"shows {shown!r}",
            )
        articles = home_articles(site, base.home, batch_id(made))
        feed = fetch_feed(site, f"/feeds/posts/default?{ALL}", batch_id(made))
        for pid, post_id in made.items():
            article = articles.get(paths[post_id])
            body = article.find("div", class_="post-body") if article else None
            check_region(site, pid, "home page div.post-body", body)
            if feed is not None:
                found = feed.entries.get(SITE + paths[post_id])
                if found is None:
                    site.problem(pid, "posts feed", "entry missing")
                else:
                    check_html_content(site, pid, "posts feed", *found)
        return list(made.values())

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_posts(site, ids))
    site.assert_no_problems("post bodies", checked)


def label_names(payload: str) -> list[str]:
    """The labels the editor makes of `payload` typed in its labels field (commas split)."""
    names = [typed_line(part)[:200] for part in payload.strip().split(",")]
    return [name for name in names if name]


def test_label_payloads_are_inert(site: Site) -> None:
    """Each payload in the editor's labels field (commas split it into labels): every
    label is shown as typed under its post, in the sidebar, on its own page (title,
    banner, feed link) and in the posts feed and its label feed as plain categories."""
    token = editor_token(site)
    base = post_baselines(site, token, labels="Baseline label")
    label_page = baseline_census(site, "/search/label/Baseline%20label")
    new_post_page = baseline_census(site, NEW_POST, site.author)

    def check_round(batch: list[tuple[str, str]]) -> list[int]:
        made = publish_all(
            site,
            token,
            batch,
            lambda pid, labels: {"title": f"Label probe {pid}", "body": ".", "labels": labels},
        )
        paths = post_paths(site, made.values())
        articles = home_articles(site, base.home, batch_id(made))
        label_links: dict[str, tuple[str, str]] = {}  # href -> (shown name, a payload id)
        for pid, post_id in made.items():
            expected = {name.casefold() for name in label_names(TYPED[pid])}
            post_page = page(site, paths[post_id], pid, base.post)
            for where, article in (
                ("post page", post_page.find("article", class_="post") if post_page else None),
                ("home page", articles.get(paths[post_id])),
            ):
                labels = article.find("p", class_="post-labels") if article else None
                if labels is None:
                    site.check(not expected, pid, where, "labels missing")
                    continue
                check_region(site, pid, f"{where} p.post-labels", labels)
                shown = {words(a.text()).casefold() for a in labels.find_all("a")}
                site.check(shown == expected, pid, f"{where} labels", f"{shown} != {expected}")
                for anchor in labels.find_all("a"):
                    label_links.setdefault(anchor.get("href") or "", (words(anchor.text()), pid))
        for href, (name, pid) in label_links.items():
            check_label_page(site, pid, href, name, label_page)
        check_label_sidebar_and_feed(site, made, paths, new_post_page)
        return list(made.values())

    checked = in_rounds(PAYLOADS, check_round, lambda ids: hide_posts(site, ids))
    site.assert_no_problems("labels", checked)


def check_label_page(site: Site, pid: str, href: str, name: str, baseline: Counter[str]) -> None:
    where = f"label page {href}"
    tree = page(site, href, pid, baseline, follow_redirects=True)
    if tree is None:
        return
    head_title = tree.find("title")
    shown = words(head_title.text()) if head_title else None
    site.check(shown == f"{site.title}: {name}", pid, f"{where} <title>", repr(shown))
    banner = tree.find("p", class_="status-banner")
    check_region(site, pid, f"{where} banner", banner)
    strong = banner.find("strong") if banner else None
    shown = words(strong.text()) if strong else None
    site.check(shown == name, pid, f"{where} banner", repr(shown))
    feed_links = [
        link
        for link in tree.find_all("link", rel="alternate")
        if (link.get("href") or "").startswith("/feeds/posts/default/-/")
    ]
    if len(feed_links) != 1:
        site.problem(pid, where, f"{len(feed_links)} label feed links")
        return
    shown = words(feed_links[0].get("title") or "")
    site.check(shown == f"{site.title} - {name} - Atom", pid, f"{where} feed link", repr(shown))
    feed = fetch_feed(site, feed_links[0].get("href") or "", pid)
    if feed is None:
        return
    feed_title = feed.root.find("atom:title", NS)
    expected = f"{site.title}: {name}"
    check_text_construct(site, pid, f"label feed {name!r} <title>", feed_title, expected)
    for entry, raw in feed.entries.values():
        check_html_content(site, pid, f"label feed {name!r}", entry, raw, template=False)
        terms = {words(c.get("term") or "") for c in raw.iterfind("atom:category", NS)}
        site.check(name in terms, pid, f"label feed {name!r} categories", f"{terms}")


def check_label_sidebar_and_feed(
    site: Site, made: dict[str, int], paths: dict[int, str], new_post_page: Counter[str]
) -> None:
    tree = page(site, "/", "*")
    sidebar = tree.find("section", class_="labels") if tree else None
    check_region(site, "*", "sidebar labels", sidebar)
    editor = page(site, NEW_POST, "*", new_post_page, site.author) or Node("#document", [])
    options = {words(o.get("value") or "").casefold() for o in editor.find_all("option")}
    feed = fetch_feed(site, f"/feeds/posts/default?{ALL}", batch_id(made))
    for pid, post_id in made.items():
        expected = {name.casefold() for name in label_names(TYPED[pid])}
        site.check(expected <= options, pid, "editor label list", f"{expected - options}")
        if feed is None:
            continue
        found = feed.entries.get(SITE + paths[post_id])
        if found is None:
            site.problem(pid, "posts feed", "entry missing")
            continue
        entry, raw = found
        categories = list(raw.iterfind("atom:category", NS))
        terms = {words(c.get("term") or "").casefold() for c in categories}
        shown_labels = {words(c.get("label") or "").casefold() for c in categories}
        site.check(terms == expected, pid, "posts feed categories", f"{terms} != {expected}")
        site.check(shown_labels == expected, pid, "posts feed category labels", f"{shown_labels}")
        for category in categories:
            scheme = category.get("scheme") or ""
            site.check(
                scheme.startswith(f"{SITE}/search/label/") and not script_url(scheme),
                pid,
                "posts feed category scheme",
                repr(scheme),
            )
        parsed_terms = {words(t.get("term") or "").casefold() for t in entry.get("tags", [])}
        site.check(parsed_terms == expected, pid, "posts feed tags (feedparser)", f"{parsed_terms}")


# --- search ---------------------------------------------------------------------------------


def test_search_query_payloads_are_inert(site: Site) -> None:
    """Each payload as a search query: shown as typed in the <title>, the banner and the
    search box, carried safely in the link to older results, never as markup."""
    # Two posts that hold every payload, so most searches find results and page them.
    every_payload = "\n\n".join(
        "\n".join(f"    {line}" for line in payload.splitlines()) for _, payload in PAYLOADS
    )
    site.blog.settings(posts_per_page=1)
    site.blog.post(title="Search probe one", body=every_payload)
    site.blog.post(title="Search probe two", body=every_payload)
    baseline = baseline_census(site, "/search?q=baseline")
    paged = 0
    for pid, payload in PAYLOADS:
        query = words(payload)
        where = "search page"
        tree = page(site, "/search", pid, baseline, query_string={"q": payload})
        if tree is None:
            continue
        head_title = tree.find("title")
        shown = words(head_title.text()) if head_title else None
        expected = f"{site.title}: Search results for {query}"
        site.check(shown == words(expected), pid, f"{where} <title>", repr(shown))
        banner = tree.find("p", class_="status-banner")
        check_region(site, pid, f"{where} banner", banner)
        strong = banner.find("strong") if banner else None
        shown = words(strong.text()) if strong else None
        site.check(shown == words(query), pid, f"{where} banner", repr(shown))
        box = tree.find("input", id="search-q")
        shown = words(box.get("value") or "") if box else None
        site.check(shown == query, pid, f"{where} search box", repr(shown))
        older = tree.find("a", class_="older-link")
        if older is not None:
            paged += 1
            href = older.get("href") or ""
            carried = parse_qs(urlsplit(href).query).get("q")
            site.check(carried == [payload], pid, f"{where} older link", repr(href))
    site.assert_no_problems("search queries", len(PAYLOADS))
    assert paged >= len(PAYLOADS) // 2, f"only {paged} searches were paged"


# --- the catalogue and the checks themselves ----------------------------------------------


def test_payload_catalogue() -> None:
    """At least 150 payloads, with unique ids, in non-empty groups."""
    ids = [pid for pid, _ in PAYLOADS]
    assert len(PAYLOADS) >= 150
    assert len(set(ids)) == len(ids), [pid for pid in ids if ids.count(pid) > 1]
    assert all(isinstance(payload, str) and payload.strip() for _, payload in PAYLOADS)
    assert all(CATEGORIES.values())
    assert set(TEMPLATE_MARKERS) == {pid for pid, _ in TEMPLATE_INJECTION}


@pytest.mark.parametrize(
    "markup",
    [
        "<script>x</script>",
        '<a href="&#106;avascript:x">x</a>',
        '<a href="&#x6A&#x61vascript:x">x</a>',
        '<a href=" java&#9;script:x">x</a>',
        '<a href="&#1;VBScript:x">x</a>',
        '<img src="DATA:image/png,x">',
        '<form action="javascript:x"></form>',
        '<svg><a xlink:href="javascript:x"></a></svg>',
        "<p style=color:red>x</p>",
        "<div onmouseover=x>x</div>",
        '<meta http-equiv="refresh" content="0">',
        '<iframe srcdoc="x"></iframe>',
        "<input autofocus>",
    ],
)
def test_the_checks_catch_what_they_look_for(markup: str) -> None:
    """The detector itself: each of these is active markup."""
    assert hazards(parse_html(markup))


@pytest.mark.parametrize(
    "markup",
    [
        "<p>javascript:alert(1) &lt;script&gt; {{7*7}}</p>",
        '<a href="https://example.org/javascript:x" rel="nofollow">x</a>',
        '<a href="mailto:javascript:x">x</a>',
        '<img src="https://example.org/a.png" alt="onerror=x">',
    ],
)
def test_the_checks_pass_what_is_harmless(markup: str) -> None:
    """The detector itself: text, http(s) and mailto: addresses are not active markup."""
    assert hazards(parse_html(markup)) == []
