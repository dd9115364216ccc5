"""Readers carry nothing: no page or feed sets a cookie for a reader, a comment form
sent from another site is refused, a comment without JavaScript still works, and every
reader's page goes out compressed, the same bytes for everyone."""

from __future__ import annotations

import gzip
import re
import time
from types import SimpleNamespace
from typing import Any

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kmblog import formtimer
from kmblog.extensions import db
from kmblog.models import Comment, Page, PostStatus, User, utcnow
from tests.conftest import PASSWORD
from tests.forms import comment_form_fields, shown_comment_fields

# Every kind of reader's page and feed, with what a reader may follow from it.
READER_PAGES = [
    "/",
    "{post}",
    "{post}?showComment=1246302420000",
    "{post}?m=1",
    "/search/label/Tools",
    "/labels/",
    "/2009/",
    "/2009/06/",
    "/2009_06_01_archive.html",
    "/search?updated-max=2030-01-01T00:00:00%2B00:00&max-results=5",
    "/search?q=knowledge",
    "/plans/",
    "/strategies/",
    "/profile/{author}",
    "/p/about.html",
    "/series/reading-list.html",
    "/feeds/series/reading-list/default",
    "/feeds/posts/default",
    "/feeds/posts/default?alt=rss",
    "/feeds/posts/summary",
    "/feeds/posts/default/-/Tools",
    "/feeds/comments/default",
    "/feeds/{post_id}/comments/default",
    "/atom.xml",
    "/comments/form-timer",
    "/no/such/page",
    "/2009/06/no-such-post.html",
]


@pytest.fixture
def site(app: Flask, blog: Any) -> dict[str, str]:
    """A post with a label and comments in a series, an author, and a standalone page."""
    post = blog.post(title="Readers carry nothing", labels=("Tools",))
    blog.series("Reading list", (post,))
    blog.comment(post, body="A first thought.", name="Dave")
    with app.app_context():
        author = db.session.scalars(select(User)).first()
        assert author is not None
        db.session.add(
            Page(
                title="About",
                slug="about",
                body_source="About us.",
                body_html="<p>About us.</p>",
                status=PostStatus.PUBLISHED,
                author=author,
                published_at=utcnow(),
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        db.session.commit()
        return {"post": post.url, "post_id": str(post.id), "author": author.username}


@pytest.mark.parametrize("page_cache", [True, False], ids=["cache on", "cache off"])
@pytest.mark.parametrize("path", READER_PAGES)
def test_no_answer_to_a_reader_sets_a_cookie(make_app, site, path, page_cache):
    """Made anew, from the cache, as HEAD, compressed or not: never a Set-Cookie."""
    reader = make_app(PAGE_CACHE=page_cache).test_client(use_cookies=False)
    url = path.format(**site)
    for headers in ({}, {"Accept-Encoding": "gzip, br"}, {}):
        answer = reader.get(url, headers=headers)
        assert answer.status_code < 500, url
        assert "Set-Cookie" not in answer.headers, f"{url}: {answer.headers['Set-Cookie']}"
    assert "Set-Cookie" not in reader.head(url).headers, url


# --- cross-site posting -------------------------------------------------------------------

CROSS_SITE = {
    "fetch metadata: cross-site": {"Sec-Fetch-Site": "cross-site"},
    "fetch metadata: same-site": {"Sec-Fetch-Site": "same-site"},
    "another origin": {"Origin": "https://evil.example"},
    "another port": {"Origin": "http://blog.test:8080"},
    "an opaque origin": {"Origin": "null"},
    "fetch metadata wins over origin": {
        "Sec-Fetch-Site": "cross-site",
        "Origin": "http://blog.test",
    },
}
SAME_SITE = {
    "fetch metadata: same-origin": {"Sec-Fetch-Site": "same-origin", "Origin": "http://blog.test"},
    "this origin": {"Origin": "http://blog.test"},
    "neither header (an old or script-less client)": {},
}


def _comment(client: FlaskClient, url: str, headers: dict[str, str], body: str) -> Any:
    fields = shown_comment_fields(client, url)
    return client.post(url, data={**fields, "body": body}, headers=headers)


def _bodies(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Comment.body_source).order_by(Comment.id)))


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_comment_form_sent_from_another_site_is_refused(app, client, site, headers):
    before = _bodies(app)
    answer = _comment(client, site["post"], headers, "Posted from elsewhere")
    assert answer.status_code == 403
    assert "sent from another site" in answer.text
    assert _bodies(app) == before


@pytest.mark.parametrize("headers", SAME_SITE.values(), ids=SAME_SITE.keys())
def test_a_comment_form_sent_from_this_blog_is_taken(app, client, site, headers):
    answer = _comment(client, site["post"], headers, "Posted from here")
    assert answer.status_code == 303
    assert "Posted from here" in _bodies(app)


def test_a_signed_in_authors_forms_are_refused_from_another_site(app, auth, client, site, blog):
    """Sessions begin with signing in: their forms are guarded by the same check, on top
    of their session's CSRF token."""
    blog.author("writer", password=PASSWORD)
    auth.login("writer")
    page = client.get(site["post"]).text
    fields = comment_form_fields(page, site["post"])
    assert "csrf_token" in fields  # an author's form carries a token bound to the session
    refused = client.post(
        site["post"],
        data={**fields, "body": "Forged in my name"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert refused.status_code == 403
    token_missing = client.post(site["post"], data={"shown": fields["shown"], "body": "No token"})
    assert token_missing.status_code == 400
    assert _bodies(app) == ["A first thought."]
    settings = client.post("/manage/settings", data={"title": "Hijacked"},
                           headers={"Origin": "https://evil.example"})  # fmt: skip
    assert settings.status_code == 403


# --- a comment without JavaScript, the guards on -----------------------------------------


def test_a_reader_without_javascript_comments_and_carries_no_cookie_until_then(
    make_app, site, monkeypatch
):
    """The blog's defaults (timer on): the shared page's form is sent, the blog asks to
    confirm once, the comment is published; no cookie was set on the way."""
    guarded = make_app(COMMENT_MIN_SECONDS=3)
    reader = guarded.test_client()
    url = site["post"]
    page = reader.get(url)
    typed = {"body": "Typed without any script", "name": "Ann", "url": ""}
    ask = reader.post(url, data={**comment_form_fields(page.text, url), **typed})
    assert ask.status_code == 200
    assert "press Publish once more" in ask.text
    later = time.time() + 5
    monkeypatch.setattr(formtimer, "time", SimpleNamespace(time=lambda: later))
    done = reader.post(url, data={**comment_form_fields(ask.text, url), **typed})
    assert done.status_code == 303
    assert "Typed without any script" in _bodies(guarded)
    for answer in (page, ask):
        assert "Set-Cookie" not in answer.headers
    # Only now, having commented, does the reader carry anything: the front cache's
    # pass to see their own comment at once.
    assert "kmblog_fresh=1" in done.headers["Set-Cookie"]
    assert "session=" not in done.headers["Set-Cookie"]


# --- compression -----------------------------------------------------------------------

DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
# A page made anew carries the comment form's page timer, signed with the second it was
# made: two renders a second apart differ there and nowhere else.
PAGE_TIMER = re.compile(rb'(name="shown"[^>]*value=")[^"]*(")')


def same_page(made: bytes) -> bytes:
    return PAGE_TIMER.sub(rb"\1\2", made)


@pytest.mark.parametrize("page_cache", [True, False], ids=["cache on", "cache off"])
@pytest.mark.parametrize("path", ["/", "{post}", "/labels/", "/feeds/posts/default",
                                  "/feeds/comments/default"])  # fmt: skip
def test_pages_and_feeds_go_out_compressed_the_same_for_everyone(make_app, site, path, page_cache):
    reader = make_app(PAGE_CACHE=page_cache).test_client(use_cookies=False)
    url = path.format(**site)
    plain = reader.get(url)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert bool(PAGE_TIMER.search(plain.data)) == (path == "{post}")
    for accept, expected in [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("*", "br"),
        ("identity", None),
        ("br;q=0, gzip;q=0", None),
    ]:
        answers = [reader.get(url, headers={"Accept-Encoding": accept}) for _ in range(2)]
        for answer in answers:
            assert answer.headers.get("Content-Encoding") == expected, (url, accept)
            assert "Accept-Encoding" in answer.headers["Vary"]
            assert int(answer.headers["Content-Length"]) == len(answer.data)
            body = DECODE[expected](answer.data) if expected else answer.data
            assert same_page(body) == same_page(plain.data), (url, accept)
        if expected:
            assert len(answers[0].data) < len(plain.data) * 0.6
        # Made anew or from the cache: the same (from the cache, byte for byte).
        bodies = [DECODE[expected](a.data) if expected else a.data for a in answers]
        if page_cache:
            assert answers[0].data == answers[1].data
        assert same_page(bodies[0]) == same_page(bodies[1])


def test_a_304_and_a_head_need_no_encoding(client, site):
    first = client.get("/", headers={"Accept-Encoding": "br"})
    again = client.get(
        "/", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""
    head = client.head("/", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.data == b""


def test_an_authors_pages_are_not_compressed(auth, client, blog, site):
    """A page with a session's form token and what its author typed is not compressed
    (BREACH: compression would let another site guess the token from sizes)."""
    blog.author("writer", password=PASSWORD)
    auth.login("writer")
    for url in ("/manage/", site["post"], "/"):
        answer = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert answer.status_code == 200
        assert "Content-Encoding" not in answer.headers, url
