"""Signing in and out, and who may open which page of the authoring area."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD


def test_right_password_signs_in_and_lands_on_the_dashboard(client, auth, writer):
    response = auth.login("writer")
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/"
    page = client.get("/manage/")
    assert page.status_code == 200
    assert "Signed in as" in page.text


@pytest.mark.parametrize(
    ("username", "password"),
    [("writer", "wrong password"), ("nobody", PASSWORD), ("WRITER", PASSWORD), ("writer", "")],
)
def test_wrong_credentials_are_refused_with_a_message(client, auth, writer, username, password):
    response = auth.login(username, password)
    assert response.status_code in (400, 401)
    assert "Signed in as" not in response.text
    assert client.get("/manage/").status_code == 302


def test_a_disabled_author_cannot_sign_in(client, auth, blog, admin):
    user = blog.author("gone", password=PASSWORD)
    blog.disable(user)
    response = auth.login("gone")
    assert response.status_code == 401
    assert "do not match an active account" in response.text


def test_a_disabled_author_is_signed_out_at_the_next_request(client, auth, blog, admin):
    user = blog.author("leaving", password=PASSWORD)
    auth.login("leaving")
    assert client.get("/manage/").status_code == 200
    blog.disable(user)
    assert client.get("/manage/").status_code == 302


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "https://evil.example",
        "http://evil.example/manage/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_unsafe_next_values_land_on_a_local_page(auth, writer, next_url):
    location = auth.login("writer", next_url=next_url).headers["Location"]
    assert location == "/manage/"


def test_a_local_next_is_followed(auth, writer):
    location = auth.login("writer", next_url="/manage/comments?status=spam").headers["Location"]
    assert location == "/manage/comments?status=spam"


def test_a_signed_out_visitor_is_sent_to_sign_in_with_next(client):
    response = client.get("/manage/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_sign_out_is_a_post_and_ends_the_session(client, auth, writer):
    auth.login("writer")
    assert client.get("/logout").status_code == 405
    assert auth.logout().status_code == 303
    assert client.get("/manage/").status_code == 302


def test_remember_me_sets_a_long_lived_cookie(client, auth, writer):
    response = auth.login("writer", remember=True)
    assert any("remember_token=" in header for header in response.headers.getlist("Set-Cookie"))


# Each role against each page of the authoring area.
ANONYMOUS, AUTHOR, ADMIN = "anonymous", "author", "admin"
PAGES = {
    "/manage/": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/?state=scheduled": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/posts/new": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/posts/new?kind=strategy": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/posts/{own}/edit": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/posts/{others}/edit": {ANONYMOUS: 302, AUTHOR: 403, ADMIN: 200},
    "/manage/posts/{own}/delete": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/posts/{others}/delete": {ANONYMOUS: 302, AUTHOR: 403, ADMIN: 200},
    "/manage/posts/999999/edit": {ANONYMOUS: 302, AUTHOR: 404, ADMIN: 404},
    "/manage/comments": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/comments?status=published": {ANONYMOUS: 302, AUTHOR: 200, ADMIN: 200},
    "/manage/settings": {ANONYMOUS: 302, AUTHOR: 403, ADMIN: 200},
    "/manage/users": {ANONYMOUS: 302, AUTHOR: 403, ADMIN: 200},
    "/login": {ANONYMOUS: 200, AUTHOR: 302, ADMIN: 302},
}
CASES = [(page, role, status) for page, roles in PAGES.items() for role, status in roles.items()]


@pytest.mark.parametrize(("page", "role", "status"), CASES)
def test_role_by_page(client, auth, blog, admin, writer, page, role, status):
    own = blog.post(author_id=writer)
    others = blog.post(author_id=admin)
    if role != ANONYMOUS:
        auth.login("writer" if role == AUTHOR else "admin")
    response = client.get(page.format(own=own.id, others=others.id))
    assert response.status_code == status
    if status == 403:
        assert "Not allowed" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/manage/settings",
        "/manage/users",
        "/manage/users/1/role",
        "/manage/users/1/active",
        "/manage/users/1/password",
    ],
)
def test_authors_cannot_post_to_admin_forms(client, auth, writer, path):
    auth.login("writer")
    response = auth.post_form(
        path, {"role": "admin", "password": "x" * 10, "title": "Hijacked"}, form_page="/manage/"
    )
    assert response.status_code == 403


def test_the_sign_in_page_and_the_editor_describe_themselves(client, auth, admin):
    """One meta description each (Lighthouse's SEO audit asks for one on every page,
    and a shared link shows it), saying what the page is for."""
    descriptions = re.compile(r'<meta name="description" content="([^"]*)"')
    sign_in = descriptions.findall(client.get("/login").text)
    assert len(sign_in) == 1 and "sign in" in sign_in[0]
    auth.login("admin")
    editor = descriptions.findall(client.get("/manage/posts/new").text)
    assert len(editor) == 1 and "write a post" in editor[0]
