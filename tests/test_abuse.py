"""Spam and floods: rate limits on commenting and signing in, the honeypot, the form
timer, and the comment rules of the settings (links, words, first comments)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner
from sqlalchemy import select

from kmblog import formtimer
from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, CommentStatus, Role
from tests.conftest import PASSWORD, SECRET_KEY
from tests.factories import BlogBuilder
from tests.forms import comment_form_fields, hidden_field, shown_comment_fields

HELD_MESSAGE = "your comment will appear once a moderator has approved it"
# The blog's own stylesheet (under a fingerprinted name or not).
IN_THE_BLOGS_LOOK = re.compile(r'<link rel="stylesheet" href="[^"]*/kmblog\b[^"]*\.css"')


# --- helpers ----------------------------------------------------------------------------


def send_comment(
    client: FlaskClient,
    url: str,
    body: str = "A thoughtful comment.",
    name: str = "",
    web: str = "",
    address: str | None = None,
    **extra: str | None,
):  # type: ignore[no-untyped-def]
    """Show the form, fill it in and send it; `extra` adds or (with None) drops fields."""
    environ = {"environ_base": {"REMOTE_ADDR": address}} if address else {}
    data: dict[str, str] = {
        **shown_comment_fields(client, url, **environ),
        "body": body,
        "name": name,
        "url": web,
    }
    for key, value in extra.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data=data, **environ)


def stored(app: Flask) -> list[tuple[str, str, str, str]]:
    """Every comment as (body, name, url, status), oldest first."""
    with app.app_context():
        return [
            (c.body_source, c.author_name, c.author_url, c.status.value)
            for c in db.session.scalars(select(Comment).order_by(Comment.id))
        ]


def status_of(app: Flask, body: str) -> str:
    found = [row[3] for row in stored(app) if row[0] == body]
    assert len(found) == 1, f"expected one stored comment {body!r}, found {found}"
    return found[0]


def set_status(app: Flask, body: str, status: CommentStatus) -> None:
    with app.app_context():
        comment = db.session.scalars(select(Comment).where(Comment.body_source == body)).one()
        comment.status = status
        db.session.commit()


def textarea_text(page: str) -> str:
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.DOTALL)
    assert match, "no textarea on the page"
    return html.unescape(match.group(1)).strip()


def assert_readable_error_page(response, code: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == code
    assert response.mimetype == "text/html"
    text = response.text
    assert "<html" in text and IN_THE_BLOGS_LOOK.search(text), "not a page in the blog's look"
    assert "Traceback" not in text
    assert "werkzeug" not in text.lower()


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/manage/").status_code == 200


# --- comment rate limit -----------------------------------------------------------------


def test_the_sixth_comment_in_a_minute_is_refused_and_keeps_what_was_typed(make_app, blog):
    limited = make_app(RATELIMIT_ENABLED=True)
    assert limited.config["COMMENT_RATE_LIMIT"] == "5 per minute;30 per hour"
    post = blog.post()
    client = limited.test_client()
    for i in range(5):
        response = send_comment(client, post.url, body=f"Comment number {i}")
        assert response.status_code == 303, f"comment {i + 1} was refused"

    typed = "My sixth & most <careful> thought,\non two lines."
    response = send_comment(
        client, post.url, body=typed, name="Dave Reader", web="https://dave.example/"
    )

    assert_readable_error_page(response, 429)
    assert "Post a Comment" in response.text  # the post page itself, with the form
    assert post.title in response.text
    assert "You have sent several comments in a short time" in response.text
    assert textarea_text(response.text) == typed
    assert 'value="Dave Reader"' in response.text
    assert 'value="https://dave.example/"' in response.text
    assert "Retry-After" in response.headers
    assert len(stored(limited)) == 5
    assert typed not in [row[0] for row in stored(limited)]


def test_other_addresses_may_still_comment_when_one_is_limited(make_app, blog):
    limited = make_app(RATELIMIT_ENABLED=True)
    post = blog.post()
    client = limited.test_client()
    for i in range(5):
        assert send_comment(client, post.url, body=f"Flood {i}").status_code == 303
    assert send_comment(client, post.url, body="Flood 5").status_code == 429

    other = send_comment(client, post.url, body="From another place", address="203.0.113.9")
    assert other.status_code == 303
    assert status_of(limited, "From another place") == "published"
    # ...and the limited address stays limited.
    assert send_comment(client, post.url, body="Flood 6").status_code == 429
    assert len(stored(limited)) == 6


def test_the_comment_limit_comes_from_the_configuration(make_app, blog):
    limited = make_app(RATELIMIT_ENABLED=True, COMMENT_RATE_LIMIT="2 per minute")
    post = blog.post()
    client = limited.test_client()
    assert send_comment(client, post.url, body="one").status_code == 303
    assert send_comment(client, post.url, body="two").status_code == 303
    assert send_comment(client, post.url, body="three").status_code == 429
    assert [row[0] for row in stored(limited)] == ["one", "two"]


# --- sign-in limits ---------------------------------------------------------------------


@pytest.fixture
def writer(blog: BlogBuilder) -> int:
    return blog.author("writer", role=Role.AUTHOR, password=PASSWORD)


def try_login(client: FlaskClient, username: str, password: str, address: str):  # type: ignore[no-untyped-def]
    environ = {"environ_base": {"REMOTE_ADDR": address}}
    page = client.get("/login", **environ)
    token = hidden_field(page.text, "csrf_token", "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": ""},
        **environ,
    )


def test_sign_in_is_limited_per_address(make_app, writer):
    limited = make_app(RATELIMIT_ENABLED=True)
    assert limited.config["LOGIN_RATE_LIMIT"] == "10 per minute;50 per hour"
    client = limited.test_client()
    # Different usernames, so that only the per-address limit applies.
    for i in range(10):
        response = try_login(client, f"guess{i}", "wrong password", "198.51.100.7")
        assert response.status_code == 401, f"attempt {i + 1}"
    blocked = try_login(client, "guess10", "wrong password", "198.51.100.7")
    assert_readable_error_page(blocked, 429)
    assert "Slow down a little" in blocked.text

    # Even the right password is refused from that address while it is blocked.
    right = try_login(client, "writer", PASSWORD, "198.51.100.7")
    assert right.status_code == 429
    assert not is_signed_in(client)

    # Another address is not affected.
    other = limited.test_client()
    assert try_login(other, "writer", PASSWORD, "198.51.100.8").status_code == 303
    assert is_signed_in(other)


def test_sign_in_is_limited_per_username_from_any_address(make_app, writer):
    limited = make_app(RATELIMIT_ENABLED=True)
    assert limited.config["LOGIN_USERNAME_RATE_LIMIT"] == "5 per minute;20 per hour"
    client = limited.test_client()
    # The same username (spelled in ways the key folds together) from five addresses.
    for i, spelling in enumerate(["writer", "WRITER", " Writer ", "writer", "wRiTeR"]):
        response = try_login(client, spelling, "wrong password", f"192.0.2.{i + 1}")
        assert response.status_code == 401, f"attempt {i + 1}"

    blocked = try_login(client, "writer", "wrong password", "192.0.2.50")
    assert_readable_error_page(blocked, 429)
    assert "Slow down a little" in blocked.text

    # The right password, from yet another address, is refused during the block.
    right = try_login(client, "writer", PASSWORD, "192.0.2.51")
    assert_readable_error_page(right, 429)
    assert not is_signed_in(client)

    # Other usernames are not blocked from those addresses.
    assert try_login(client, "someone-else", "wrong password", "192.0.2.1").status_code == 401


# --- turning the guards off from the environment -----------------------------------------


# The settings the environment may set: the test apps' own values are left out.
GUARD_SETTINGS = ("RATELIMIT_ENABLED", "COMMENT_MIN_SECONDS")


def test_the_environment_turns_the_guards_off(monkeypatch, make_app, blog):
    monkeypatch.setenv("KMBLOG_RATELIMIT_ENABLED", "false")
    monkeypatch.setenv("KMBLOG_COMMENT_MIN_SECONDS", "0")
    relaxed = make_app(without=GUARD_SETTINGS)
    assert relaxed.config["RATELIMIT_ENABLED"] is False
    assert relaxed.config["COMMENT_MIN_SECONDS"] == 0
    post = blog.post()
    client = relaxed.test_client()
    for i in range(7):  # more than the limit, each sent at once after the form
        assert send_comment(client, post.url, body=f"Quick {i}").status_code == 303
    assert {row[3] for row in stored(relaxed)} == {"published"}
    for _ in range(12):
        assert try_login(client, "nobody", "wrong password", "10.0.0.1").status_code == 401


def test_without_the_environment_the_guards_are_on(monkeypatch, make_app, blog):
    monkeypatch.delenv("KMBLOG_RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("KMBLOG_COMMENT_MIN_SECONDS", raising=False)
    strict = make_app(without=GUARD_SETTINGS)
    assert strict.config["RATELIMIT_ENABLED"] is True
    assert strict.config["COMMENT_MIN_SECONDS"] == 3
    post = blog.post()
    client = strict.test_client()
    response = send_comment(client, post.url, body="Too quick", shown=reader_timer(client))
    assert response.status_code == 303
    assert status_of(strict, "Too quick") == "spam"


# --- honeypot ---------------------------------------------------------------------------


def test_a_filled_honeypot_is_spam_told_like_a_held_comment(app, client, blog, auth):
    owner = blog.author("owner", password=PASSWORD)
    post = blog.post(author_id=owner)

    trapped = send_comment(client, post.url, body="Buy cheap watches", website="http://x.example")
    assert trapped.status_code == 303
    assert status_of(app, "Buy cheap watches") == "spam"
    landing = client.get(trapped.headers["Location"].split("#")[0])
    assert HELD_MESSAGE in landing.text
    assert "Buy cheap watches" not in landing.text
    assert "0 Comments:" in landing.text

    # A comment held by a moderated blog gets exactly the same answer.
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    held = send_comment(client, post.url, body="An honest question")
    assert status_of(app, "An honest question") == "pending"
    assert held.status_code == trapped.status_code
    assert held.headers["Location"] == trapped.headers["Location"]
    assert HELD_MESSAGE in client.get(held.headers["Location"].split("#")[0]).text

    for feed in ("/feeds/comments/default", f"/feeds/{post.id}/comments/default"):
        response = client.get(feed)
        assert response.status_code == 200
        assert "cheap watches" not in response.text, feed
    assert "cheap watches" not in client.get("/").text

    # The post's author finds it among the spam.
    auth.login("owner")
    spam_page = client.get("/manage/comments?status=spam")
    assert spam_page.status_code == 200
    assert "Buy cheap watches" in spam_page.text
    assert "Buy cheap watches" not in client.get("/manage/comments?status=pending").text


# --- form timer -------------------------------------------------------------------------


class SignerFrom(TimestampSigner):
    """A signer whose clock is `offset` seconds away from now."""

    def __init__(self, offset: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = offset

    def get_timestamp(self) -> int:
        return int(time.time()) + self.offset


def shown_at(
    offset: int, key: str = SECRET_KEY, salt: str = "comment-form-shown", kind: str = "reader"
) -> str:
    """A form timer of `kind` signed `offset` seconds from now."""
    return SignerFrom(offset, secret_key=key, salt=salt).sign(kind.encode()).decode()


def reader_timer(client: FlaskClient) -> str:
    """What the post page's script asks for when the comment form comes into view."""
    answer = client.get("/comments/form-timer")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    return str(answer.json["shown"])


@pytest.fixture
def timed(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(COMMENT_MIN_SECONDS=3)


def test_a_comment_sent_right_after_the_form_came_into_view_is_spam(timed, blog):
    post = blog.post()
    client = timed.test_client()
    shown = reader_timer(client)
    response = send_comment(client, post.url, body="Instant reply", shown=shown)
    assert response.status_code == 303
    assert status_of(timed, "Instant reply") == "spam"


# Each value is made when the test runs: a stamp "in the future" must still be one.
FORGED_TIMERS: dict[str, Callable[[], str | None]] = {
    "missing": lambda: None,
    "empty": lambda: "",
    "unsigned": lambda: "reader",
    "forged": lambda: "reader.AAAAAA.forged-signature",
    "other-key": lambda: shown_at(-60, key="another-secret-key"),
    "other-salt": lambda: shown_at(-60, salt="another-salt"),
    "other-payload": lambda: shown_at(-60, kind="comment-form"),
    "nul": lambda: "\x00" * 10,
}


@pytest.mark.parametrize("kind", list(FORGED_TIMERS))
def test_a_missing_or_forged_timer_stores_nothing_and_keeps_the_comment(timed, blog, kind):
    """Without a timer signed here the form did not come from this blog: nothing is
    stored, and the reader gets the form back with what they typed and a new timer."""
    post = blog.post()
    shown = FORGED_TIMERS[kind]()
    response = send_comment(timed.test_client(), post.url, body="Timer test", shown=shown)
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert "Timer test" in response.text
    assert "Set-Cookie" not in response.headers
    assert stored(timed) == []


def test_a_timer_from_the_future_is_spam(timed, blog):
    post = blog.post()
    send_comment(timed.test_client(), post.url, body="Time traveller", shown=shown_at(+60))
    assert status_of(timed, "Time traveller") == "spam"


def test_a_timer_signed_long_enough_ago_is_published(timed, blog):
    post = blog.post()
    response = send_comment(
        timed.test_client(), post.url, body="Considered reply", shown=shown_at(-5)
    )
    assert response.status_code == 303
    assert status_of(timed, "Considered reply") == "published"


def test_a_reader_who_takes_a_few_seconds_is_published(timed, blog, monkeypatch):
    post = blog.post()
    client = timed.test_client()
    fields = {**shown_comment_fields(client, post.url), "shown": reader_timer(client)}
    later = time.time() + 4
    monkeypatch.setattr(formtimer, "time", SimpleNamespace(time=lambda: later))
    response = client.post(post.url, data={**fields, "body": "Slow and steady", "name": "Ann"})
    assert response.status_code == 303
    assert status_of(timed, "Slow and steady") == "published"


def test_the_timer_waits_the_configured_seconds(timed, blog):
    post = blog.post()
    client = timed.test_client()
    # Stamps hold whole seconds: -1 is at most two seconds ago, -3 at least three.
    send_comment(client, post.url, body="One second", shown=shown_at(-1))
    send_comment(client, post.url, body="Three seconds", shown=shown_at(-3))
    assert status_of(timed, "One second") == "spam"
    assert status_of(timed, "Three seconds") == "published"


def test_without_the_script_a_reader_confirms_once_and_is_published(timed, blog, monkeypatch):
    """A page every reader shares carries only the page's timer, which says nothing of
    this reader's pace: the blog shows the comment once more with a timer of the
    reader's own, and publishes it when it comes back (at a person's pace)."""
    post = blog.post()
    client = timed.test_client()
    fields = shown_comment_fields(client, post.url)
    typed = {"body": "Written without JavaScript", "name": "Ann", "url": ""}
    first = client.post(post.url, data={**fields, **typed})
    assert first.status_code == 200
    assert "press Publish once more" in first.text
    assert "Written without JavaScript" in first.text
    assert "Set-Cookie" not in first.headers
    assert stored(timed) == []
    again = comment_form_fields(first.text, post.url)
    assert again["shown"] != fields["shown"]
    later = time.time() + 4
    monkeypatch.setattr(formtimer, "time", SimpleNamespace(time=lambda: later))
    second = client.post(post.url, data={**again, **typed})
    assert second.status_code == 303
    assert status_of(timed, "Written without JavaScript") == "published"


def test_a_bot_that_confirms_at_once_is_spam(timed, blog):
    """The confirmation stops a bot as the timer did: sent straight back, it is spam."""
    post = blog.post()
    client = timed.test_client()
    typed = {"body": "Buy now", "name": "Bot", "url": ""}
    first = client.post(post.url, data={**shown_comment_fields(client, post.url), **typed})
    assert first.status_code == 200
    second = client.post(post.url, data={**comment_form_fields(first.text, post.url), **typed})
    assert second.status_code == 303
    assert status_of(timed, "Buy now") == "spam"


# --- rules in the settings --------------------------------------------------------------


def test_more_links_than_allowed_hold_a_comment(app, client, blog):
    post = blog.post()
    two = "See https://a.example and http://b.example"
    three = "See https://a.example, http://b.example and <a href='https://c.example'>c</a>"
    send_comment(client, post.url, body=two)
    send_comment(client, post.url, body=three)
    assert status_of(app, two) == "published"
    assert status_of(app, three) == "pending"


def test_the_link_limit_is_a_setting(app, client, blog):
    blog.settings(moderation_links=0)
    post = blog.post()
    send_comment(client, post.url, body="Only one: https://a.example")
    send_comment(client, post.url, body="No link at all")
    assert status_of(app, "Only one: https://a.example") == "pending"
    assert status_of(app, "No link at all") == "published"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"body": "Fancy a CASINO night?"}, "pending"),
        ({"body": "A free money offer"}, "pending"),
        ({"body": "Hello", "name": "Casino King"}, "pending"),
        ({"body": "Hello", "name": "Dave", "web": "https://casino.example/"}, "pending"),
        ({"body": "An honest remark about knowledge"}, "published"),
    ],
    ids=["body", "phrase", "name", "url", "clean"],
)
def test_moderation_words_hold_a_comment(app, client, blog, fields, expected):
    blog.settings(moderation_words="casino\nFree Money\n")
    post = blog.post()
    send_comment(client, post.url, **fields)
    assert status_of(app, fields["body"]) == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"body": "Cheap ViAgRa here"},
        {"body": "Hello", "name": "viagra seller"},
        {"body": "Hello", "name": "Dave", "web": "https://VIAGRA.example/"},
    ],
    ids=["body", "name", "url"],
)
def test_blocked_words_make_a_comment_spam(app, client, blog, fields):
    blog.settings(blocked_words="viagra", moderation_words="viagra")
    post = blog.post()
    response = send_comment(client, post.url, **fields)
    assert response.status_code == 303
    assert status_of(app, fields["body"]) == "spam"
    assert fields["body"] not in client.get(post.url).text


def test_a_first_comment_is_held_then_the_commenter_is_trusted(app, client, blog):
    blog.settings(hold_first_comment=True)
    post = blog.post()
    dave = {"name": "Dave", "web": "https://dave.example/"}

    send_comment(client, post.url, body="My first words", **dave)
    assert status_of(app, "My first words") == "pending"
    # Still unknown while the first comment waits.
    send_comment(client, post.url, body="Impatient second", **dave)
    assert status_of(app, "Impatient second") == "pending"

    set_status(app, "My first words", CommentStatus.PUBLISHED)
    response = send_comment(client, post.url, body="Now I am known", **dave)
    assert status_of(app, "Now I am known") == "published"
    assert "#c" in response.headers["Location"]
    send_comment(client, post.url, body="Name in other case", name="DAVE", web=dave["web"])
    assert status_of(app, "Name in other case") == "published"

    # The same name with another web address, or another name, is someone new.
    send_comment(client, post.url, body="Impostor", name="Dave", web="https://evil.example/")
    send_comment(client, post.url, body="Someone new", name="Erin", web=dave["web"])
    send_comment(client, post.url, body="Anonymous words")
    assert status_of(app, "Impostor") == "pending"
    assert status_of(app, "Someone new") == "pending"
    assert status_of(app, "Anonymous words") == "pending"


def test_anonymous_comments_are_always_held_as_first_comments(app, client, blog):
    blog.settings(hold_first_comment=True)
    post = blog.post()
    send_comment(client, post.url, body="Anonymous one")
    set_status(app, "Anonymous one", CommentStatus.PUBLISHED)
    send_comment(client, post.url, body="Anonymous two")
    assert status_of(app, "Anonymous two") == "pending"


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ("Émile", "Émile"),
        ("Ørjan Ås", "Ørjan Ås"),
        ("ДМИТРИЙ", "ДМИТРИЙ"),
        ("Émile", "ÉMILE"),
        ("Ørjan Ås", "ørjan ås"),
        ("Дмитрий", "ДМИТРИЙ"),
    ],
    ids=["latin", "nordic", "cyrillic", "latin-case", "nordic-case", "cyrillic-case"],
)
def test_a_trusted_commenter_with_a_non_ascii_name_is_recognised(app, client, blog, first, later):
    """Names compare without regard to case, as "Dave" and "DAVE" do, in every script."""
    blog.settings(hold_first_comment=True)
    post = blog.post()
    send_comment(client, post.url, body="First, held", name=first, web="https://e.example/")
    set_status(app, "First, held", CommentStatus.PUBLISHED)
    send_comment(client, post.url, body="Second, trusted", name=later, web="https://e.example/")
    assert status_of(app, "Second, trusted") == "published"
