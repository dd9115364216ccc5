"""Commenters' own edits (issue 16): for a while after posting, and until someone
replies, the browser that posted a comment may edit or delete it; anyone else, and
that browser afterwards, gets a clear refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from kmblog.blog import views as blog_views
from kmblog.comments import views as comment_views
from kmblog.comments.services import comment_moment
from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus, Settings, utcnow
from kmblog.rendering import render_comment
from tests.conftest import SECRET_KEY
from tests.factories import PostRef
from tests.html_tree import Node, hazards, parse_html
from tests.security.payloads import PAYLOADS
from tests.test_bad_input import SETTINGS
from tests.test_comments import post_comment

EDIT_COOKIE = "kmblog_edit"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def post(blog) -> PostRef:  # type: ignore[no-untyped-def]
    # Published just now, so that no rule on old posts holds a comment on it.
    return blog.post(title="Editable thoughts", published=utcnow() - timedelta(hours=1))


def comment_on(client: FlaskClient, post: PostRef, body: str = "My first draft.") -> int:
    """Comment as a reader of `client`'s browser; the new comment's id."""
    response = post_comment(client, post.url, body=body, name="Ann", url="")
    assert response.status_code == 303
    return int(response.headers["Location"].rsplit("#c", 1)[1])


def edit(client: FlaskClient, comment_id: int, body: str, **kwargs):  # type: ignore[no-untyped-def]
    return client.post(f"/comments/{comment_id}/edit", data={"body": body}, **kwargs)


def stored(app: Flask, comment_id: int) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        assert comment is not None
        db.session.expunge(comment)
        return comment


def item(page: str, comment_id: int) -> Node:
    """A comment's <li> on a post page."""
    return parse_html(page).one("li", id=f"c{comment_id}")


def own_links(page: str, comment_id: int) -> list[str]:
    """The Edit and Delete links under a comment, as the page shows them."""
    return [
        a.get("href") or "" for a in item(page, comment_id).find_all("a", class_="edit-comment")
    ] + [a.get("href") or "" for a in item(page, comment_id).find_all("a", class_="delete-comment")]


def assert_refused(response, status: int, words: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text[:300]
    assert response.mimetype == "text/html"
    assert words in response.text
    assert 'role="alert"' in response.text


@pytest.fixture
def later(monkeypatch) -> Iterator[list[timedelta]]:  # type: ignore[no-untyped-def]
    """Move the app's clock on: `later.append(timedelta(...))`."""
    shift: list[timedelta] = []

    def now() -> datetime:
        return utcnow() + sum(shift, timedelta(0))

    monkeypatch.setattr(comment_views, "utcnow", now)
    monkeypatch.setattr(blog_views, "utcnow", now)
    yield shift


# --- editing ------------------------------------------------------------------------------


def test_the_commenter_edits_within_the_window_and_the_comment_says_edited(app, client, post):
    comment_id = comment_on(client, post)
    page = client.get(post.url).text
    assert own_links(page, comment_id) == [
        f"/comments/{comment_id}/edit",
        f"/comments/{comment_id}/delete",
    ]
    form = client.get(f"/comments/{comment_id}/edit")
    assert form.status_code == 200
    assert "My first draft." in form.text
    assert "private" in form.headers["Cache-Control"]

    done = edit(client, comment_id, "My second thoughts, https://example.org")
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{post.url}#c{comment_id}")

    reader = app.test_client()
    for who in (client, reader):
        shown = item(who.get(post.url).text, comment_id)
        assert "My second thoughts" in shown.text()
        assert "My first draft." not in shown.text()
        assert "Edited" in shown.one("p", class_="comment-footer").text()
    # The reader sees no links to change someone else's comment.
    assert not item(reader.get(post.url).text, comment_id).find_all("a", class_="edit-comment")
    assert "1 Comment:" in reader.get(post.url).text

    comment = stored(app, comment_id)
    assert comment.status == CommentStatus.PUBLISHED
    assert comment.edited_at is not None
    assert comment.body_html == render_comment("My second thoughts, https://example.org")


@pytest.mark.parametrize("feed", ["/feeds/comments/default", "/feeds/{post_id}/comments/default"])
def test_the_feeds_carry_the_edited_text_and_time(app, client, post, feed):
    comment_id = comment_on(client, post)
    url = feed.format(post_id=post.id)
    before = feedparser.parse(client.get(url).data)
    assert len(before.entries) == 1
    edit(client, comment_id, "Said better now.")
    after = feedparser.parse(app.test_client().get(url).data)
    assert len(after.entries) == 1
    entry = after.entries[0]
    assert entry.id == before.entries[0].id
    assert "Said better now." in entry.content[0].value
    assert "My first draft." not in entry.content[0].value
    edited_at = stored(app, comment_id).edited_at
    assert edited_at is not None
    assert entry.updated_parsed[:6] == edited_at.utctimetuple()[:6]
    assert entry.published_parsed == before.entries[0].published_parsed
    assert entry.updated_parsed > before.entries[0].updated_parsed or (
        entry.updated_parsed == before.entries[0].updated_parsed
    )


def test_an_empty_edit_is_explained_and_changes_nothing(app, client, post):
    comment_id = comment_on(client, post)
    response = edit(client, comment_id, "   ")
    assert response.status_code == 422
    assert "Write a comment before you save it" in response.text
    assert stored(app, comment_id).body_source == "My first draft."


def test_an_edit_that_now_trips_a_rule_goes_to_the_moderation_queue(app, client, blog, post):
    blog.settings(moderation_links=1)
    comment_id = comment_on(client, post, "One link: https://a.example")
    assert stored(app, comment_id).status == CommentStatus.PUBLISHED
    response = edit(client, comment_id, "Now two: https://a.example https://b.example")
    assert response.status_code == 303
    assert "will appear once a moderator has approved it" in client.get(post.url).text
    assert stored(app, comment_id).status == CommentStatus.PENDING
    assert "Now two" not in app.test_client().get(post.url).text


def test_an_edit_with_a_blocked_word_is_spam_and_told_as_held(app, client, blog, post):
    blog.settings(blocked_words="cheap pills")
    comment_id = comment_on(client, post)
    edit(client, comment_id, "Buy cheap pills here")
    assert stored(app, comment_id).status == CommentStatus.SPAM
    assert "will appear once a moderator has approved it" in client.get(post.url).text


def test_a_held_comment_stays_held_after_an_edit(app, client, blog, post):
    blog.settings(moderation_words="casino")
    assert post_comment(client, post.url, body="About the casino").status_code == 303
    with app.app_context():
        comment_id = db.session.scalar(select(Comment.id))
    assert stored(app, comment_id).status == CommentStatus.PENDING
    edit(client, comment_id, "About knowledge")
    assert stored(app, comment_id).status == CommentStatus.PENDING


def test_an_edit_is_sanitised_as_a_new_comment_is(app, client, post):
    """Every hostile payload of the security suite, typed as an edit: stored exactly as
    the renderer makes a new comment of it, and nothing in the comment's markup runs."""
    comment_id = comment_on(client, post)
    problems = []
    for pid, payload in PAYLOADS:
        response = edit(client, comment_id, payload)
        if response.status_code == 422:  # a blank one after cleaning, or too long
            continue
        assert response.status_code == 303, pid
        comment = stored(app, comment_id)
        if comment.body_html != render_comment(comment.body_source):
            problems.append(f"{pid}: stored HTML is not the renderer's")
        found = hazards(item(client.get(post.url).text, comment_id))
        problems += [f"{pid}: {hazard}" for hazard in found]
    assert not problems, "\n".join(problems[:40])


# --- refusals -----------------------------------------------------------------------------


def test_after_the_window_the_edit_is_refused_and_the_links_are_gone(app, client, post, later):
    comment_id = comment_on(client, post)
    later.append(timedelta(minutes=15, seconds=1))
    assert own_links(client.get(post.url).text, comment_id) == []
    assert_refused(client.get(f"/comments/{comment_id}/edit"), 403, "15 minutes")
    assert_refused(edit(client, comment_id, "Too late"), 403, "15 minutes")
    assert_refused(client.post(f"/comments/{comment_id}/delete"), 403, "15 minutes")
    assert stored(app, comment_id).body_source == "My first draft."
    assert stored(app, comment_id).status == CommentStatus.PUBLISHED


def test_the_window_is_a_setting(app, client, blog, post, later):
    blog.settings(edit_window_minutes=60)
    comment_id = comment_on(client, post)
    later.append(timedelta(minutes=59))
    assert edit(client, comment_id, "Still in time").status_code == 303
    later.append(timedelta(minutes=2))
    assert_refused(edit(client, comment_id, "Too late"), 403, "60 minutes")


def test_a_window_of_zero_sets_no_cookie(client, blog, post):
    blog.settings(edit_window_minutes=0)
    response = post_comment(client, post.url, body="No edits here.")
    assert EDIT_COOKIE not in response.headers.get("Set-Cookie", "")


def test_after_a_reply_the_edit_is_refused_and_the_links_are_gone(app, client, blog, post):
    comment_id = comment_on(client, post)
    reply = blog.comment(post, body="I disagree.", at=utcnow())
    with app.app_context():
        answer = db.session.get(Comment, reply.id)
        answer.parent_id, answer.root_id, answer.depth = comment_id, comment_id, 1
        db.session.commit()
    assert own_links(client.get(post.url).text, comment_id) == []
    assert_refused(client.get(f"/comments/{comment_id}/edit"), 409, "replied")
    assert_refused(edit(client, comment_id, "Rewritten"), 409, "replied")
    assert_refused(client.post(f"/comments/{comment_id}/delete"), 409, "replied")
    assert stored(app, comment_id).body_source == "My first draft."


def test_another_browser_is_refused(app, client, post):
    comment_id = comment_on(client, post)
    stranger = app.test_client()
    assert_refused(stranger.get(f"/comments/{comment_id}/edit"), 403, "Only the browser")
    assert_refused(edit(stranger, comment_id, "Hijacked"), 403, "Only the browser")
    assert_refused(stranger.post(f"/comments/{comment_id}/delete"), 403, "Only the browser")
    # A browser with a claim of its own is refused the comments it did not post.
    other = app.test_client()
    comment_on(other, post, "Someone else's words")
    assert_refused(edit(other, comment_id, "Hijacked"), 403, "Only the browser")
    assert stored(app, comment_id).body_source == "My first draft."


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(EDIT_COOKIE, domain="blog.test")
    assert cookie is not None
    return cookie.value


@pytest.mark.parametrize(
    "forge",
    [
        lambda value, claim: value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"),
        lambda value, claim: URLSafeSerializer("another key", salt="comment-edit-claims").dumps(
            [claim]
        ),
        lambda value, claim: URLSafeSerializer(SECRET_KEY, salt="another salt").dumps([claim]),
        # Signed rightly, for the right number, but another comment's moment (a number
        # SQLite may give again once its comment is removed).
        lambda value, claim: URLSafeSerializer(SECRET_KEY, salt="comment-edit-claims").dumps(
            [[claim[0], claim[1] - 1]]
        ),
        lambda value, claim: "not a token at all",
    ],
    ids=["tampered", "other-key", "other-salt", "other-moment", "garbage"],
)
def test_a_forged_or_tampered_claim_is_refused(app, client, post, forge):
    comment_id = comment_on(client, post)
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        claim = [comment_id, comment_moment(comment.created_at)]
    thief = app.test_client()
    thief.set_cookie(EDIT_COOKIE, forge(_cookie(client), claim), domain="blog.test")
    assert_refused(edit(thief, comment_id, "Forged"), 403, "Only the browser")
    assert own_links(thief.get(post.url).text, comment_id) == []
    assert stored(app, comment_id).body_source == "My first draft."


def test_a_claim_copied_rightly_is_the_proof(app, client, post):
    """The cookie is the proof (as Isso's is): the same value in another client works.
    (It is HttpOnly and SameSite=Lax, and lasts as long as the window.)"""
    comment_id = comment_on(client, post)
    value = _cookie(client)
    copy = app.test_client()
    copy.set_cookie(EDIT_COOKIE, value, domain="blog.test")
    assert edit(copy, comment_id, "From my other tab").status_code == 303


def test_the_cookie_is_httponly_lax_and_lasts_the_window(client, post):
    response = post_comment(client, post.url, body="Cookie check.")
    cookie = next(
        line for line in response.headers.getlist("Set-Cookie") if line.startswith(EDIT_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Max-Age=900" in cookie


def test_a_cross_site_edit_or_delete_is_refused(app, client, post):
    comment_id = comment_on(client, post)
    for path, data in (
        (f"/comments/{comment_id}/edit", {"body": "x"}),
        (f"/comments/{comment_id}/delete", {}),
    ):
        response = client.post(path, data=data, headers={"Sec-Fetch-Site": "cross-site"})
        assert response.status_code == 403
        response = client.post(path, data=data, headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
    comment = stored(app, comment_id)
    assert comment.body_source == "My first draft."
    assert comment.status == CommentStatus.PUBLISHED


@pytest.mark.parametrize("path", ["/comments/999999/edit", "/comments/99999999999/edit",
                                  "/comments/999999/delete"])  # fmt: skip
def test_no_such_comment_is_a_clear_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# --- deleting -----------------------------------------------------------------------------


def test_the_commenter_deletes_their_comment(app, client, post):
    comment_id = comment_on(client, post)
    other_id = comment_on(client, post, "A second comment of mine.")
    confirm = client.get(f"/comments/{comment_id}/delete")
    assert confirm.status_code == 200
    assert "My first draft." in confirm.text
    done = client.post(f"/comments/{comment_id}/delete")
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"{post.url}#comments")
    page = client.get(post.url).text
    assert "Your comment was deleted." in page
    assert "My first draft." not in page
    assert "1 Comment:" in page
    assert own_links(page, other_id)  # the other comment is still theirs to change
    assert stored(app, comment_id).status == CommentStatus.DELETED
    feed = feedparser.parse(app.test_client().get("/feeds/comments/default").data)
    assert [entry.content[0].value for entry in feed.entries] == [
        "<p>A second comment of mine.</p>"
    ]
    assert_refused(edit(client, comment_id, "Back again"), 404, "no comment here")


def test_deleting_the_last_claimed_comment_clears_the_cookie(client, post):
    comment_id = comment_on(client, post)
    done = client.post(f"/comments/{comment_id}/delete")
    assert any(
        line.startswith(f"{EDIT_COOKIE}=;") and "Max-Age=0" in line
        for line in done.headers.getlist("Set-Cookie")
    )
    assert client.get_cookie(EDIT_COOKIE, domain="blog.test") is None


# --- caches and costs -----------------------------------------------------------------------


def test_readers_share_the_cached_page_and_the_commenter_gets_their_own(app, client, post):
    comment_id = comment_on(client, post)
    reader = app.test_client()
    first = reader.get(post.url)
    assert own_links(first.text, comment_id) == []
    # The commenter's page, with their links, is made for them and kept nowhere.
    mine = client.get(post.url)
    assert own_links(mine.text, comment_id)
    assert "X-Accel-Expires" not in mine.headers
    again = reader.get(post.url)
    assert again.data == first.data
    assert "X-Accel-Expires" in again.headers


def test_an_edit_shows_at_once_to_readers_of_the_cached_page(app, client, post):
    comment_id = comment_on(client, post)
    reader = app.test_client()
    etag = reader.get(post.url).headers["ETag"]
    assert reader.get(post.url, headers={"If-None-Match": etag}).status_code == 304
    edit(client, comment_id, "Corrected in place.")
    fresh = reader.get(post.url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert "Corrected in place." in fresh.text


def test_query_counts_stay_the_same(make_app, blog, post, count_queries):
    """A reader's page costs what it did; the commenter's page one query more (which of
    their comments are still theirs), however many comments they claim."""
    # The version re-read on the clock (every second on SQLite) would add a query to
    # whichever page a slow run lands it on; the writes' own signal still moves it.
    uncached = make_app(PAGE_CACHE=False, PAGE_VERSION_RECHECK_SECONDS=3600)
    reader, commenter = uncached.test_client(), uncached.test_client()
    reader.get(post.url)
    with count_queries() as queries:
        reader.get(post.url)
    base = len(queries)
    counts = []
    for n in range(3):
        comment_on(commenter, post, f"Comment number {n}")
        commenter.get(post.url)
        with count_queries() as queries:
            page = commenter.get(post.url).text
        counts.append(len(queries))
        assert len(re.findall(r'class="edit-comment"', page)) == n + 1
    with count_queries() as queries:
        reader.get(post.url)
    assert len(queries) == base
    assert counts == [base + 1] * 3


def test_the_settings_page_sets_the_window(app, client, auth, admin):
    auth.login("admin")
    for value, status in (("30", 303), ("-1", 422), ("", 422), ("1441", 422)):
        response = auth.post_form(
            "/manage/settings", {**SETTINGS.fields, "edit_window_minutes": value}
        )
        assert response.status_code == status, value
    with app.app_context():
        assert db.session.scalar(select(Settings.edit_window_minutes)) == 30


@pytest.mark.parametrize(
    "claims",
    [[["1", 2]], [[True, 1]], [[1]], {"1": 2}, "text", [[2**70, 1]], [[-1, 1]], [[0, 0]], None],
    ids=["text-id", "bool", "short", "object", "string", "huge", "negative", "zero", "null"],
)
def test_a_rightly_signed_claim_of_the_wrong_shape_is_no_claim(app, client, post, claims):
    """Only the blog can sign a claim; still, one of any other shape is read as none."""
    comment_id = comment_on(client, post)
    odd = app.test_client()
    value = URLSafeSerializer(SECRET_KEY, salt="comment-edit-claims").dumps(claims)
    odd.set_cookie(EDIT_COOKIE, value, domain="blog.test")
    assert odd.get(post.url).status_code == 200
    assert_refused(edit(odd, comment_id, "Odd"), 403, "Only the browser")
