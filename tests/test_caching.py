"""Conditional GETs and the page cache: cheap when nothing changed, never stale."""

from __future__ import annotations

import gzip
import re
import time
from datetime import timedelta

import brotli
import pytest
from flask import Flask
from sqlalchemy import create_engine, update

from kmblog.comments.services import CommentRules, NewComment, add_comment
from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus, Post, Settings, utcnow
from tests.conftest import PASSWORD
from tests.forms import hidden_field
from tests.test_comments import post_comment

PAGES = ["/", "{post}", "/search/label/Tools", "/2009/06/", "/labels/", "/feeds/posts/default",
         "/feeds/comments/default", "/feeds/{post_id}/comments/default",
         "/series/cached-series.html", "/feeds/series/cached-series/default"]  # fmt: skip


@pytest.fixture
def post(blog):  # type: ignore[no-untyped-def]
    made = blog.post(title="Cached reading", labels=("Tools",))
    blog.comment(made, body="First thoughts.")
    blog.series("Cached series", (made,))
    return made


def db_url(app: Flask) -> str:
    return str(app.config["SQLALCHEMY_DATABASE_URI"])


def _url(page: str, post) -> str:  # type: ignore[no-untyped-def]
    return page.format(post=post.url, post_id=post.id)


@pytest.mark.parametrize("page", PAGES)
def test_pages_answer_a_matching_etag_with_304_in_one_query(client, post, count_queries, page):
    """A feed reader or browser that has the page gets 304 and no body."""
    first = client.get(_url(page, post))
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert "must-revalidate" in first.headers["Cache-Control"]
    with count_queries() as queries:
        again = client.get(_url(page, post), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert len(queries) <= 1
    by_date = client.get(
        _url(page, post), headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304


def test_an_old_etag_gets_the_new_page(client, blog, post):
    """After a change the old validators no longer match."""
    etag = client.get("/").headers["ETag"]
    blog.post(title="Something new")
    response = client.get("/", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert "Something new" in response.text
    assert response.headers["ETag"] != etag


def test_a_reader_sees_their_own_comment_at_once(client, post):
    """The cached post page misses as soon as a comment is published."""
    assert "My own words" not in client.get(post.url).text
    assert client.get(post.url).status_code == 200  # now served from the cache
    assert post_comment(client, post.url, body="My own words").status_code == 303
    page = client.get(post.url).text
    assert "My own words" in page
    assert "2 Comments:" in page
    assert "My own words" in client.get("/feeds/comments/default").text


def test_held_and_spam_comments_do_not_empty_the_cache(app, client, post):
    """A flood of spam cannot force every page to be rendered again."""
    etag = client.get(post.url).headers["ETag"]
    with app.app_context():
        stored = db.session.get(Post, post.id)
        rules = CommentRules(blocked_words=("cheap pills",), moderation_links=0)
        add_comment(stored, NewComment(body="cheap pills here"), rules, utcnow())  # spam
        add_comment(stored, NewComment(body="see https://example.org"), rules, utcnow())  # held
        add_comment(stored, NewComment(body="bot"), rules, utcnow(), bot_suspected=True)
    assert client.get(post.url, headers={"If-None-Match": etag}).status_code == 304


def test_moderation_settings_and_edits_show_at_once(client, auth, blog, post):
    """Approving a comment, changing the title, editing a post: the next page is fresh."""
    blog.author("editor", password=PASSWORD, role="admin")
    held = blog.comment(post, body="Waiting politely.", status=CommentStatus.PENDING)
    assert "Waiting politely." not in client.get(post.url).text
    reader = client.application.test_client()
    assert "Waiting politely." not in reader.get(post.url).text
    auth.login("editor")
    auth.post_form(
        "/manage/comments/moderate", {"single": f"approve:{held.id}"}, form_page="/manage/comments"
    )
    assert "Waiting politely." in reader.get(post.url).text
    blog.settings(title="A Renamed Blog")
    assert "A Renamed Blog" in reader.get("/").text


def test_a_scheduled_post_shows_when_its_time_comes_without_a_write(blog, post, make_app):
    """No cron and no write: the page version moves with the clock. The reader's app
    would trust its last version for an hour; the post's time comes before that."""
    reader = make_app(PAGE_VERSION_RECHECK_SECONDS=3600).test_client()
    due = utcnow() + timedelta(seconds=1.5)
    blog.post(title="Due soon", published=due)
    assert "Due soon" not in reader.get("/").text
    assert "Due soon" not in reader.get("/").text  # cached
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.1)
    assert "Due soon" in reader.get("/").text


def test_a_version_changed_behind_the_apps_back_shows_within_the_recheck(blog, post, make_app):
    """A database file restored or written by another program raises no change signal:
    the app reads the version again after PAGE_VERSION_RECHECK_SECONDS."""
    reader = make_app(PAGE_VERSION_RECHECK_SECONDS=0.5).test_client()
    assert "Cached reading" in reader.get("/").text
    engine = create_engine(db_url(reader.application))
    with engine.begin() as connection:  # a plain engine: not the app's session
        connection.execute(update(Post).values(title="Restored title"))
        connection.execute(update(Settings).values(content_version=Settings.content_version + 1))
    engine.dispose()
    time.sleep(0.6)
    assert "Restored title" in reader.get("/").text


def test_signed_in_authors_always_get_a_fresh_page(client, auth, blog, post):
    """An author's page is never a cached one (it shows the authoring bar)."""
    blog.author("writer", password=PASSWORD)
    client.get("/")  # cached for anonymous readers
    auth.login("writer")
    page = client.get("/")
    assert "Signed in as" in page.text
    assert "ETag" not in page.headers


def test_two_processes_with_their_own_caches_agree(app, make_app, blog, post):
    """Each worker's in-process cache is keyed by the database's version: no stale page."""
    other = make_app().test_client()
    first = app.test_client()
    assert "Second thoughts" not in first.get(post.url).text
    assert "Second thoughts" not in other.get(post.url).text
    assert post_comment(first, post.url, body="Second thoughts").status_code == 303
    assert "Second thoughts" in other.get(post.url).text


def test_every_reader_gets_the_same_page_and_no_cookie(client, post):
    """One copy serves everyone: no session, no token; each reader can still comment."""
    alice, bob = client.application.test_client(), client.application.test_client()
    a_page, b_page = alice.get(post.url), bob.get(post.url)
    assert a_page.data == b_page.data
    assert "Set-Cookie" not in a_page.headers and "Set-Cookie" not in b_page.headers
    assert 'name="csrf_token"' not in b_page.text
    assert hidden_field(b_page.text, "shown")
    assert post_comment(bob, post.url, body="Bob's comment").status_code == 303


def test_static_assets_have_fingerprinted_names_and_long_lifetimes(client):
    """The stylesheet's name carries its hash; it may be cached for a year."""
    href = re.search(r'rel="stylesheet" href="([^"]+)"', client.get("/").text).group(1)
    assert re.fullmatch(r"/assets/css/kmblog\.[0-9a-f]{10}\.css", href)
    with client.get(href) as response:
        assert response.status_code == 200
        assert response.cache_control.max_age == 365 * 24 * 3600
        assert response.cache_control.immutable
        assert "body" in response.text
    stale = href.replace(href.split(".")[-2], "0123456789")
    assert client.get(stale).status_code == 404
    assert client.get("/assets/../config.py").status_code == 404


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_text_assets_go_out_compressed_to_clients_that_take_it(client, encoding):
    """Every page waits on the stylesheet: it goes out compressed (Lighthouse's "text
    compression" audit), the same file once decoded, and plain to a client that asks so."""
    href = re.search(r'rel="stylesheet" href="([^"]+)"', client.get("/").text).group(1)
    with client.get(href, headers={"Accept-Encoding": "identity"}) as plain:
        assert "Content-Encoding" not in plain.headers
        original = plain.get_data()
    squeezed = client.get(href, headers={"Accept-Encoding": f"{encoding}, deflate"})
    assert squeezed.status_code == 200
    assert squeezed.headers["Content-Encoding"] == encoding
    assert squeezed.headers["Content-Type"] == plain.headers["Content-Type"]
    decode = gzip.decompress if encoding == "gzip" else brotli.decompress
    assert decode(squeezed.get_data()) == original
    assert len(squeezed.get_data()) < len(original) / 2
    for response in (plain, squeezed):
        assert "Accept-Encoding" in response.vary
        assert response.cache_control.immutable


def test_a_page_for_a_shared_cache_is_every_readers_page(client, post):
    """Through the nginx front: the same bytes as any reader gets, a lifetime for nginx,
    and the script that asks for the reader's own form timer, which posts a comment."""
    shared = {"X-Kmblog-Shared-Cache": "1"}
    page = client.get(post.url, headers=shared)
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    assert page.headers["X-Accel-Expires"] == "5"
    assert "js/comment-form" in page.text
    again = client.get(post.url, headers=shared)  # from the app's cache
    assert again.data == page.data == client.get(post.url).data
    assert "Set-Cookie" not in again.headers
    timer = client.get("/comments/form-timer")
    assert timer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in timer.headers
    answer = client.post(post.url, data={"shown": timer.get_json()["shown"], "body": "Hello"})
    assert answer.status_code == 303
    assert "kmblog_fresh=1" in answer.headers["Set-Cookie"]


def test_signing_in_sets_the_marker_a_front_cache_passes_through(client, auth, blog):
    blog.author("writer", password=PASSWORD)
    response = auth.login("writer")
    assert any(h.startswith("kmblog_author=1") for h in response.headers.getlist("Set-Cookie"))
    out = auth.logout()
    assert any(h.startswith("kmblog_author=;") for h in out.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("page", PAGES)
def test_a_page_from_the_cache_is_the_page_first_sent(client, post, page):
    """Served again from the cache (before the app builds a request), a page has the same
    bytes and headers as when it was made: security headers, validators, type; a HEAD
    gets the headers alone; nothing of the first reader's session comes with it."""
    url = _url(page, post)
    reader = client.application.test_client(use_cookies=False)
    first = reader.get(url)
    again = reader.get(url)
    assert again.status_code == first.status_code == 200
    for name in ("Content-Type", "Content-Security-Policy", "X-Content-Type-Options",
                 "Referrer-Policy", "X-Frame-Options", "ETag", "Last-Modified",
                 "Cache-Control", "Vary"):  # fmt: skip
        assert again.headers.get(name) == first.headers.get(name), name
    assert int(again.headers["Content-Length"]) == len(again.data)
    assert again.data == first.data
    assert "Set-Cookie" not in first.headers and "Set-Cookie" not in again.headers
    head = reader.head(url)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == first.headers["ETag"]
    unchanged = reader.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]


def test_each_host_gets_its_own_links(make_app, post):
    """Feeds carry absolute links: a copy made for one host name is not sent to another."""
    reader = make_app(SERVER_NAME=None).test_client(use_cookies=False)
    for _ in range(2):
        one = reader.get("/feeds/posts/default", base_url="http://one.example")
        other = reader.get("/feeds/posts/default", base_url="http://other.example")
        assert "http://one.example/" in one.text and "other.example" not in one.text
        assert "http://other.example/" in other.text and "one.example" not in other.text


def test_a_new_reader_can_comment_with_the_form_of_a_cached_page(client, post, caplog):
    """The form of a page served from the cache (before Flask, which would hide a fault
    by answering itself) carries a timer the comment view accepts, and no session."""
    client.application.test_client().get(post.url)  # someone else's visit fills the cache
    reader = client.application.test_client()
    page = reader.get(post.url)
    assert "Set-Cookie" not in page.headers
    shown = hidden_field(page.text, "shown")
    answer = reader.post(post.url, data={"shown": shown, "body": "Mine"})
    assert answer.status_code == 303
    assert not [r for r in caplog.records if r.name.startswith("kmblog.pagecache")], caplog.text


def _content_version(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Settings, 1).content_version


@pytest.mark.parametrize(
    ("status", "raises"),
    [(CommentStatus.PUBLISHED, True), (CommentStatus.PENDING, False)],
    ids=["published", "held"],
)
def test_a_comment_whose_text_changes_in_place_raises_the_version(app, blog, post, status, raises):
    """Not only a comment's status: new text on a published comment is a new page (a
    commenter's edit, a re-render); a held comment's text is seen by no reader."""
    comment = blog.comment(post, body="Before the change.", status=status)
    before = _content_version(app)
    with app.app_context():
        stored = db.session.get(Comment, comment.id)
        stored.body_source = "After the change."
        stored.body_html = "<p>After the change.</p>"
        db.session.commit()
    assert (_content_version(app) > before) is raises
