"""Sessions and headers: cookie flags and lifetimes, cookies that die with a sign-out, a
new password or a disabled account, password hashing, trusted hosts, security headers,
no inline script or style, request body limits, and error pages without internals."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.security import check_password_hash, generate_password_hash

import config
from kmblog import create_app
from kmblog.auth.services import hash_password
from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus, Post, PostKind, Role, User
from tests.conftest import PASSWORD, SECRET_KEY, AuthActions
from tests.factories import BlogBuilder, PostRef
from tests.forms import hidden_field, shown_comment_fields

HOST = "blog.test"
# The blog's own stylesheet (under a fingerprinted name or not).
IN_THE_BLOGS_LOOK = re.compile(r'<link rel="stylesheet" href="([^"]*/kmblog\b[^"]*\.css)"')


# --- apps with other settings -----------------------------------------------------------


@pytest.fixture
def production(
    monkeypatch: pytest.MonkeyPatch, database_url: str, other_apps: list[Flask]
) -> Callable[..., Flask]:
    """create_app("production"), configured from the environment as in a deployment."""

    def build(**env: str) -> Flask:
        monkeypatch.setenv("KMBLOG_SECRET_KEY", "a-production-secret-key-for-the-tests")
        monkeypatch.setenv("KMBLOG_SQLALCHEMY_DATABASE_URI", database_url)
        for key, value in env.items():
            monkeypatch.setenv(f"KMBLOG_{key}", value)
        new = create_app("production")
        other_apps.append(new)
        return new

    return build


# --- content and people -----------------------------------------------------------------


@dataclass
class Site:
    admin: int
    writer: int
    post: PostRef
    plan: PostRef
    draft: PostRef
    comment_id: int


HOSTILE_BODY = """Knowledge needs come first.

<p style="color:red" onclick="alert(1)">Styled paragraph</p>

<script>alert(1)</script>

<img src="https://example.org/x.png" onerror="alert(1)" style="width:1px">

| a | b |
|---|---|
| 1 | 2 |
"""


@pytest.fixture
def site(blog: BlogBuilder) -> Site:
    admin = blog.author("admin", role=Role.ADMIN, password=PASSWORD)
    writer = blog.author("writer", password=PASSWORD, bio="Writes about KM.")
    post = blog.post(
        title="What is KM?", body=HOSTILE_BODY, labels=("KM Strategy",), author_id=writer
    )
    plan = blog.post(title="A KM plan", author_id=writer)
    with blog.app.app_context():
        stored = db.session.get(Post, plan.id)
        assert stored is not None
        stored.kind = PostKind.PLAN
        db.session.commit()
    draft = blog.post(title="Unfinished", draft=True, author_id=writer)
    comment = blog.comment(post, body='<b style="x" onmouseover="alert(1)">bold</b> remark')
    blog.comment(post, body="Please hold me", name="Held", status=CommentStatus.PENDING)
    return Site(admin, writer, post, plan, draft, comment.id)


def cookie_value(client: FlaskClient, name: str) -> str:
    cookie = client.get_cookie(name, domain=HOST)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def client_with(app: Flask, **cookies: str) -> FlaskClient:
    """A fresh browser holding only copies of the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain=HOST)
    return other


def fetch_or_fail(client: FlaskClient, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    """GET `path`; an exception that escapes the app's error pages fails the test."""
    try:
        return client.get(path, **kwargs)
    except Exception as error:  # the point is that nothing escapes the app
        pytest.fail(f"GET {path} {kwargs} escaped the error pages: {error!r}")


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/manage/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def set_cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"the response sets no {name} cookie"
    return headers[-1]


def cookie_attributes(header: str) -> dict[str, str]:
    attributes = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


def lifetime(client: FlaskClient, name: str) -> timedelta:
    cookie = client.get_cookie(name, domain=HOST)
    assert cookie is not None
    if cookie.max_age is not None:
        return timedelta(seconds=cookie.max_age)
    assert cookie.expires is not None, f"{name} is a session cookie"
    expires = cookie.expires
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return expires - datetime.now(UTC)


# --- cookie flags and lifetimes ---------------------------------------------------------


def test_session_and_remember_cookies_are_http_only_and_same_site_lax(client, auth, site):
    response = auth.login("writer", remember=True)
    assert response.status_code == 303
    for name in ("session", "remember_token"):
        attributes = cookie_attributes(set_cookie_header(response, name))
        assert "httponly" in attributes, name
        assert attributes.get("samesite", "").lower() == "lax", name


def test_the_remember_cookie_lasts_thirty_days(client, auth, site):
    auth.login("writer", remember=True)
    assert timedelta(days=29) < lifetime(client, "remember_token") <= timedelta(days=30)


def test_without_remember_me_there_is_no_lasting_cookie(client, auth, site):
    response = auth.login("writer")
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember")]
    session = cookie_attributes(set_cookie_header(response, "session"))
    assert "expires" not in session and "max-age" not in session


def test_remember_days_sets_the_remember_cookie_lifetime(make_app, site):
    short = make_app(REMEMBER_DAYS=7)
    client = short.test_client()
    AuthActions(client).login("writer", remember=True)
    assert timedelta(days=6) < lifetime(client, "remember_token") <= timedelta(days=7)


def test_production_cookies_are_secure(production, site):
    app = production()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["DEBUG"] is False and app.config["TESTING"] is False
    assert app.config["SECRET_KEY"] == "a-production-secret-key-for-the-tests"

    client = app.test_client()
    base = {"base_url": "https://blog.example.org"}
    page = client.get("/login", **base)
    token = hidden_field(page.text, "csrf_token")
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "writer",
            "password": PASSWORD,
            "remember": "y",
        },
        **base,
    )
    assert response.status_code == 303
    for name in ("session", "remember_token"):
        assert "secure" in cookie_attributes(set_cookie_header(response, name)), name


# --- copies of cookies stop working -----------------------------------------------------


def copies_of_cookies(app: Flask, client: FlaskClient) -> dict[str, dict[str, str]]:
    """The session and remember cookies of `client`, alone and together, checked to work."""
    session, remember = cookie_value(client, "session"), cookie_value(client, "remember_token")
    copies = {
        "session cookie": {"session": session},
        "remember cookie": {"remember_token": remember},
        "both cookies": {"session": session, "remember_token": remember},
    }
    for what, cookies in copies.items():
        assert is_signed_in(client_with(app, **cookies)), f"the {what} does not sign in at all"
    return copies


def assert_copies_dead(app: Flask, copies: dict[str, dict[str, str]]) -> None:
    for what, cookies in copies.items():
        assert not is_signed_in(client_with(app, **cookies)), f"a copy of the {what} still works"


def test_copied_cookies_stop_working_after_sign_out(app, client, auth, site):
    auth.login("writer", remember=True)
    copies = copies_of_cookies(app, client)
    response = auth.logout()
    assert response.status_code == 303
    assert not is_signed_in(client)
    assert_copies_dead(app, copies)
    # Signing in again works, with fresh cookies.
    auth.login("writer", remember=True)
    assert is_signed_in(client)


def admin_client(app: Flask) -> AuthActions:
    admin = AuthActions(app.test_client())
    assert admin.login("admin").status_code == 303
    return admin


def test_copied_cookies_stop_working_after_an_admin_sets_a_new_password(app, client, auth, site):
    auth.login("writer", remember=True)
    copies = copies_of_cookies(app, client)
    admin = admin_client(app)
    response = admin.post_form(
        f"/manage/users/{site.writer}/password",
        {"password": "a brand new password"},
        form_page="/manage/users",
    )
    assert response.status_code == 303
    assert not is_signed_in(client)
    assert_copies_dead(app, copies)
    assert auth.login("writer").status_code == 401
    assert auth.login("writer", password="a brand new password").status_code == 303


def test_copied_cookies_stop_working_after_the_author_is_disabled(app, client, auth, site):
    auth.login("writer", remember=True)
    copies = copies_of_cookies(app, client)
    admin = admin_client(app)
    response = admin.post_form(f"/manage/users/{site.writer}/active", {}, form_page="/manage/users")
    assert response.status_code == 303
    with app.app_context():
        user = db.session.get(User, site.writer)
        assert user is not None and user.active is False
    assert not is_signed_in(client)
    assert_copies_dead(app, copies)
    # Enabling the author again does not bring the old cookies back.
    admin.post_form(f"/manage/users/{site.writer}/active", {}, form_page="/manage/users")
    assert_copies_dead(app, copies)


def test_another_authors_sign_out_leaves_a_session_alone(app, client, auth, site):
    auth.login("writer", remember=True)
    admin = admin_client(app)
    admin.logout()
    assert is_signed_in(client)


# --- password hashing -------------------------------------------------------------------


def pbkdf2_iterations(stored: str) -> int:
    method = stored.split("$", 1)[0]
    name, digest, iterations = method.split(":")
    assert (name, digest) == ("pbkdf2", "sha256"), method
    return int(iterations)


def meets_owasp(stored: str) -> bool:
    """OWASP Password Storage Cheat Sheet: PBKDF2-HMAC-SHA256 with 600,000 iterations,
    or scrypt with N >= 2**17, r = 8, p = 1 (werkzeug's default is stronger)."""
    method = stored.split("$", 1)[0]
    if method.startswith("pbkdf2:"):
        return pbkdf2_iterations(stored) >= 600_000
    if method.startswith("scrypt:"):
        n, r, p = (int(v) for v in method.split(":")[1:])
        return n >= 2**17 and r >= 8 and p >= 1
    return False


def test_the_default_password_hash_meets_owasp(database_url, other_apps):
    method = config.Config.PASSWORD_HASH_METHOD
    assert meets_owasp(generate_password_hash("x", method=method)), method
    default = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": SECRET_KEY})
    other_apps.append(default)
    assert default.config["PASSWORD_HASH_METHOD"] == config.Config.PASSWORD_HASH_METHOD
    with default.app_context():
        stored = hash_password("correct horse battery staple")
    assert meets_owasp(stored), stored
    assert check_password_hash(stored, "correct horse battery staple")
    assert not check_password_hash(stored, "correct horse battery stapler")
    # Outside an app (the CLI before the app exists) the same cost applies.
    assert meets_owasp(hash_password("x" * 12))


def test_a_thousand_character_password_can_be_set_and_used(app, site):
    long_password = "Ω" + "correct horse " * 71 + "x" * 5
    assert len(long_password) == 1000
    admin = admin_client(app)
    response = admin.post_form(
        "/manage/users",
        {"username": "longpass", "display_name": "", "email": "", "role": "author",
         "password": long_password},
    )  # fmt: skip
    assert response.status_code == 303
    reader = AuthActions(app.test_client())
    assert reader.login("longpass", password=long_password).status_code == 303
    assert is_signed_in(reader.client)
    stranger = AuthActions(app.test_client())
    assert stranger.login("longpass", password=long_password[:-1]).status_code == 401


def test_a_huge_password_is_refused_without_a_crash(app, site):
    huge = "p" * 100_000
    admin = admin_client(app)

    login = AuthActions(app.test_client()).login("writer", password=huge)
    assert 400 <= login.status_code < 500
    assert "Traceback" not in login.text

    create = admin.post_form(
        "/manage/users",
        {"username": "hugepass", "display_name": "", "email": "", "role": "author",
         "password": huge},
    )  # fmt: skip
    assert 400 <= create.status_code < 500
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "hugepass")).first() is None

    with app.app_context():
        before = db.session.get(User, site.writer).password_hash  # type: ignore[union-attr]
    reset = admin.post_form(
        f"/manage/users/{site.writer}/password", {"password": huge}, form_page="/manage/users"
    )
    assert reset.status_code < 500
    with app.app_context():
        after = db.session.get(User, site.writer).password_hash  # type: ignore[union-attr]
    assert after == before
    # The author is told why: not that the password is too short.
    message = admin.client.get("/manage/users").text
    assert "at least 8 characters" not in message, "a too-long password is called too short"


# --- trusted hosts ----------------------------------------------------------------------


def test_a_production_app_answers_only_its_trusted_host(production, site):
    app = production(TRUSTED_HOSTS='["blog.example.org"]')
    assert app.config["TRUSTED_HOSTS"] == ["blog.example.org"]
    client = app.test_client()
    good = client.get("/", base_url="https://blog.example.org")
    assert good.status_code == 200
    assert "What is KM?" in good.text
    for request in (
        {"base_url": "https://evil.example"},
        {"base_url": "https://blog.example.org", "headers": {"Host": "evil.example"}},
    ):
        evil = fetch_or_fail(client, "/", **request)
        assert evil.status_code == 400, request
        assert "Traceback" not in evil.text


# --- security headers and no inline script or style -------------------------------------


@dataclass
class Pages:
    app: Flask
    client: FlaskClient
    auth: AuthActions
    site: Site
    make_app: Callable[..., Flask]
    monkeypatch: pytest.MonkeyPatch


def _csrf(client: FlaskClient, path: str) -> str:
    return hidden_field(client.get(path).text, "csrf_token", path)


def _comment(client: FlaskClient, url: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {**shown_comment_fields(client, url), "body": "", "name": "", "url": ""}
    return client.post(url, data={**data, **fields})


def _stylesheet(client: FlaskClient) -> str:
    match = IN_THE_BLOGS_LOOK.search(client.get("/").text)
    assert match, "the home page links no stylesheet"
    return match.group(1)


def _signed_in(p: Pages, username: str = "admin") -> FlaskClient:
    assert p.auth.login(username).status_code == 303
    return p.client


def _login_flood(p: Pages):  # type: ignore[no-untyped-def]
    client = p.make_app(RATELIMIT_ENABLED=True).test_client()
    response = None
    for _ in range(6):
        response = client.post("/login", data={"username": "writer", "password": "wrong"})
    return response


def _comment_flood(p: Pages):  # type: ignore[no-untyped-def]
    client = p.make_app(RATELIMIT_ENABLED=True).test_client()
    response = None
    for i in range(6):
        response = _comment(client, p.site.post.url, body=f"flood {i}")
    return response


def _server_error(p: Pages):  # type: ignore[no-untyped-def]
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT password_hash FROM users -- internal detail")

    p.monkeypatch.setattr("kmblog.blog.views.list_posts", boom)
    return p.make_app(PROPAGATE_EXCEPTIONS=False).test_client().get("/")


def _database_down(p: Pages):  # type: ignore[no-untyped-def]
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT * FROM posts", {}, ConnectionError("server closed"))

    p.monkeypatch.setattr("kmblog.blog.views.list_posts", down)
    return p.client.get("/")


def _preview(p: Pages):  # type: ignore[no-untyped-def]
    client = _signed_in(p)
    return client.post(
        "/manage/posts/new",
        data={
            "csrf_token": _csrf(client, "/manage/posts/new"),
            "title": "Preview",
            "body": HOSTILE_BODY,
            "kind": "article",
            "companion_id": "0",
            "action": "preview",
        },
    )


PAGES: dict[str, tuple[int, Callable[[Pages], Any]]] = {
    "home": (200, lambda p: p.client.get("/")),
    "post": (200, lambda p: p.client.get(p.site.post.url)),
    "label": (200, lambda p: p.client.get("/search/label/KM Strategy")),
    "year": (200, lambda p: p.client.get("/2009/")),
    "month": (200, lambda p: p.client.get("/2009/06/")),
    "search": (200, lambda p: p.client.get("/search?q=knowledge")),
    "plans": (200, lambda p: p.client.get("/plans/")),
    "strategies": (200, lambda p: p.client.get("/strategies/")),
    "profile": (200, lambda p: p.client.get("/profile/writer")),
    "posts feed": (200, lambda p: p.client.get("/feeds/posts/default")),
    "comments feed": (200, lambda p: p.client.get("/feeds/comments/default")),
    "static css": (200, lambda p: p.client.get("/static/css/kmblog.css")),
    "fingerprinted css": (200, lambda p: p.client.get(_stylesheet(p.client))),
    "form timer": (200, lambda p: p.client.get("/comments/form-timer")),
    "static js": (200, lambda p: p.client.get("/static/js/labels.js")),
    "login": (200, lambda p: p.client.get("/login")),
    "login refused": (401, lambda p: p.auth.login("writer", password="wrong password")),
    "404": (404, lambda p: p.client.get("/no/such/page")),
    "405": (405, lambda p: p.client.put("/")),
    "comment 422": (422, lambda p: _comment(p.client, p.site.post.url, body="")),
    "comment 400": (400, lambda p: p.client.post(p.site.post.url, data={"body": "x"})),
    "413": (413, lambda p: p.client.post("/login", data={"password": "x" * 70_000})),
    "429 sign-in": (429, _login_flood),
    "429 comment": (429, _comment_flood),
    "500": (500, _server_error),
    "503": (503, _database_down),
    "403": (403, lambda p: _signed_in(p, "writer").get("/manage/settings")),
    "dashboard": (200, lambda p: _signed_in(p).get("/manage/?state=published")),
    "editor new": (200, lambda p: _signed_in(p).get("/manage/posts/new")),
    "editor edit": (200, lambda p: _signed_in(p).get(f"/manage/posts/{p.site.post.id}/edit")),
    "editor preview": (200, _preview),
    "delete": (200, lambda p: _signed_in(p).get(f"/manage/posts/{p.site.draft.id}/delete")),
    "moderation": (200, lambda p: _signed_in(p).get("/manage/comments")),
    "published comments": (200, lambda p: _signed_in(p).get("/manage/comments?status=published")),
    "settings": (200, lambda p: _signed_in(p).get("/manage/settings")),
    "users": (200, lambda p: _signed_in(p).get("/manage/users")),
}


def _fetch(request, app, client, auth, site, make_app, monkeypatch):  # type: ignore[no-untyped-def]
    """The response of one kind of page (the fixture's parameter names it)."""
    expected, fetch = PAGES[request.param]
    response = fetch(Pages(app, client, auth, site, make_app, monkeypatch))
    try:
        assert response.status_code == expected, f"{request.param}: {response.status_code}"
        response.get_data()  # static files are streamed: read, then close
        yield response
    finally:
        response.close()


NOT_HTML = {"posts feed", "comments feed", "static css", "fingerprinted css", "form timer",
            "static js"}  # fmt: skip
HTML_PAGES = [name for name in PAGES if name not in NOT_HTML]
ERROR_PAGES = [name for name, (status, _) in PAGES.items() if status >= 400]


@pytest.fixture(params=list(PAGES))
def page(request, app, client, auth, site, make_app, monkeypatch):  # type: ignore[no-untyped-def]
    yield from _fetch(request, app, client, auth, site, make_app, monkeypatch)


@pytest.fixture(params=HTML_PAGES)
def html_page(request, app, client, auth, site, make_app, monkeypatch):  # type: ignore[no-untyped-def]
    yield from _fetch(request, app, client, auth, site, make_app, monkeypatch)


@pytest.fixture(params=ERROR_PAGES)
def error_page(request, app, client, auth, site, make_app, monkeypatch):  # type: ignore[no-untyped-def]
    yield from _fetch(request, app, client, auth, site, make_app, monkeypatch)


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    return directives


def test_every_response_carries_the_security_headers(page):
    policy = page.headers.get("Content-Security-Policy")
    assert policy, "no Content-Security-Policy"
    directives = csp_directives(policy)
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts, "no script-src nor default-src"
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert unsafe not in scripts, f"script-src allows {unsafe}"
    styles = directives.get("style-src", directives.get("default-src"))
    assert styles and "'unsafe-inline'" not in styles
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("object-src") == ["'none'"]
    assert page.headers.get("X-Content-Type-Options") == "nosniff"
    assert page.headers.get("Referrer-Policy") in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers, styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        names = {name.lower(): value or "" for name, value in attrs}
        # A data block (JSON-LD) is no script: the browser never runs it, and the CSP
        # has nothing to say about it.
        data_block = names.get("type", "").strip().lower() == "application/ld+json"
        if tag == "script" and not names.get("src") and not data_block:
            self.problems.append("an inline <script>")
        if tag == "style":
            self.problems.append("a <style> element")
        if "style" in names:
            self.problems.append(f"a style attribute on <{tag}>")
        for name in names:
            if name.startswith("on"):
                self.problems.append(f"an {name} attribute on <{tag}>")
        for name in ("href", "src", "action", "formaction"):
            if names.get(name, "").strip().lower().startswith("javascript:"):
                self.problems.append(f"a javascript: {name} on <{tag}>")

    handle_startendtag = handle_starttag


def test_no_page_has_inline_script_handlers_or_styles(html_page):
    page = html_page
    assert page.mimetype == "text/html"
    parser = InlineCode()
    parser.feed(page.text)
    parser.close()
    assert parser.elements > 10, "not a full page"
    assert parser.problems == []


def test_error_pages_show_no_internals(error_page):
    page = error_page
    assert page.status_code >= 400
    assert page.mimetype == "text/html"
    for leak in ("Traceback", "SELECT", "password_hash", "werkzeug", "sqlalchemy"):
        assert leak.lower() not in page.text.lower(), leak
    assert IN_THE_BLOGS_LOOK.search(page.text), "the error page is not in the blog's look"


# --- request body limits ----------------------------------------------------------------

OVER_64_KIB = 64 * 1024 + 1


def test_a_huge_comment_is_refused_with_a_readable_413(app, client, blog, site):
    before = blog.count(Comment)
    data = {**shown_comment_fields(client, site.post.url), "body": "x" * OVER_64_KIB}
    response = client.post(site.post.url, data=data)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "Too much at once" in response.text
    assert "Traceback" not in response.text
    assert blog.count(Comment) == before


def test_a_huge_sign_in_is_refused_with_a_readable_413(client, site):
    data = {"csrf_token": _csrf(client, "/login"), "username": "writer", "password": "x" * 70_000}
    response = client.post("/login", data=data)
    assert response.status_code == 413
    assert "Too much at once" in response.text
    assert not is_signed_in(client)


def test_a_form_just_under_the_limit_is_not_a_413(client, site):
    data = {**shown_comment_fields(client, site.post.url), "body": "x" * 60_000}
    response = client.post(site.post.url, data=data)
    assert response.status_code == 422  # too long for a comment, but read and answered


@pytest.mark.parametrize(
    "body",
    [
        "Knowledge management. " * 9_090,  # 199,980 characters
        "Savoir-faire é à ü. " * 10_240,  # 204,800 characters of UTF-8, over 200 KiB
    ],
    ids=["ascii", "utf-8"],
)
def test_the_authoring_area_accepts_a_200_kib_post(app, auth, site, body):
    body = body[:200_000]
    assert len(body.encode()) >= 195 * 1024
    auth.login("writer")
    response = auth.post_form(
        "/manage/posts/new",
        {"title": "A long essay", "body": body, "kind": "article", "companion_id": "0",
         "action": "save"},
    )  # fmt: skip
    assert response.status_code == 303, response.text[:500]
    with app.app_context():
        stored = db.session.scalars(select(Post).where(Post.title == "A long essay")).one()
        assert stored.body_source == body.replace("\r\n", "\n")


# --- errors never show internals ---------------------------------------------------------


def test_an_unexpected_error_is_a_500_page_and_is_logged(site, make_app, monkeypatch, caplog):
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT password_hash FROM users -- internal detail")

    monkeypatch.setattr("kmblog.blog.views.list_posts", boom)
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert IN_THE_BLOGS_LOOK.search(response.text)
    for leak in ("Traceback", "SELECT", "password_hash", "RuntimeError"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged, "the error was not logged"
    assert "internal detail" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_a_database_error_is_a_503_page_and_is_logged(app, client, site, monkeypatch, caplog):
    def down(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT * FROM posts", {}, ConnectionError("server closed"))

    monkeypatch.setattr("kmblog.blog.views.list_posts", down)
    with caplog.at_level(logging.ERROR):
        response = client.get("/")
    assert response.status_code == 503
    assert response.headers.get("Retry-After", "").isdigit()
    assert "Back in a moment" in response.text
    assert IN_THE_BLOGS_LOOK.search(response.text)
    for leak in ("Traceback", "SELECT", "OperationalError", "server closed"):
        assert leak not in response.text
    assert any("database unavailable" in r.getMessage() for r in caplog.records)


@pytest.fixture
def unreachable(make_app, tmp_path: Path) -> Flask:  # type: ignore[no-untyped-def]
    """The blog with its database gone (a file in a folder that does not exist)."""
    url = f"sqlite:///{tmp_path / 'gone' / 'away' / 'kmblog.sqlite'}"
    return make_app(SQLALCHEMY_DATABASE_URI=url, PROPAGATE_EXCEPTIONS=False)


@pytest.mark.parametrize("path", ["/", "/2009/06/what-is-km.html", "/feeds/posts/default"])
def test_a_reader_gets_a_503_when_the_database_is_unreachable(unreachable, path, caplog):
    response = fetch_or_fail(unreachable.test_client(), path)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert "Back in a moment" in response.text
    assert "Traceback" not in response.text
    assert "unable to open" not in response.text


@pytest.mark.parametrize("path", ["/", "/manage/"])
def test_a_signed_in_author_gets_a_503_when_the_database_is_unreachable(
    client, auth, site, unreachable, path
):
    auth.login("writer", remember=True)
    author = client_with(unreachable, session=cookie_value(client, "session"))
    response = fetch_or_fail(author, path)
    assert response.status_code == 503
    assert "Back in a moment" in response.text
    assert "Traceback" not in response.text
