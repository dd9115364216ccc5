"""Two-factor sign-in in real Chromium: an author sets up an authenticator app on the
security page (the key read from the page, the codes computed as an app would), signs
out, and signs in with password and code; a password without the right code never
reaches the dashboard. axe-core checks the security page and the second step."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp

from tests.browser.helpers import navigate
from tests.browser.test_accessibility import axe_violations

USERNAME = "twofactor"
PASSWORD = "a long two-factor password"


def _create_author(author: Any) -> None:
    """The admin makes the author through the authors' page."""
    author.goto("/manage/users")
    form = author.locator('form[action="/manage/users"]')
    form.get_by_label("Username").fill(USERNAME)
    form.get_by_label("Role").select_option("author")
    form.get_by_label("Password").fill(PASSWORD)
    navigate(author, lambda: form.get_by_role("button", name="Create author").click())
    assert f"Created author {USERNAME}." in author.content()


def _password_step(page: Any) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    navigate(page, lambda: page.get_by_role("button", name="Sign in", exact=True).click())


def _code_after(secret: str, used: set[str]) -> str:
    """A code as the app shows it now, never one already used (the blog refuses a code
    twice): the next step's, which the blog also takes, if now's was used."""
    for ahead in (0, 30):
        code = pyotp.TOTP(secret).at(time.time() + ahead)
        if code not in used:
            used.add(code)
            return code
    raise AssertionError("no fresh code")


def _axe(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, "\n".join(violations)


def test_an_author_sets_up_an_app_and_signs_in_with_its_code(author, new_context, watch, server):
    # Refused codes are answered 400 (set-up) and 401 (sign-in), as forms here are.
    watch.expect_status(400, server + "/manage/account/security/totp/confirm")
    watch.expect_status(401, server + "/login/second-factor")
    _create_author(author)
    context = new_context()
    page = context.new_page()
    _password_step(page)
    assert page.url.endswith("/manage/")  # no second factor yet: as before

    page.goto("/manage/account/security")
    assert page.get_by_text("Two-factor sign-in with an authenticator app is off").is_visible()
    navigate(page, lambda: page.get_by_role("button", name="Set up an authenticator app").click())
    secret = page.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.is_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")
    used: set[str] = set()

    # A wrong code first: refused, and the app is not on.
    right = pyotp.TOTP(secret).now()
    page.get_by_label("Code from your authenticator app").fill(
        f"{(int(right) + 1) % 1_000_000:06d}"
    )
    navigate(page, lambda: page.get_by_role("button", name="Turn on two-factor sign-in").click())
    assert page.get_by_role("alert").filter(has_text="That code is not right.").is_visible()
    page.get_by_label("Code from your authenticator app").fill(_code_after(secret, used))
    navigate(page, lambda: page.get_by_role("button", name="Turn on two-factor sign-in").click())
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.goto("/manage/account/security")
    assert page.get_by_text("You have 10 unused recovery codes").is_visible()

    navigate(page, lambda: page.get_by_role("button", name="Sign out").click())

    # Password, then a wrong code: still not in.
    _password_step(page)
    assert page.url.endswith("/login/second-factor")
    page.get_by_label("Code from your authenticator app").fill("000000")
    navigate(page, lambda: page.get_by_role("button", name="Sign in", exact=True).click())
    assert page.get_by_text("That code is not right.").is_visible()
    page.goto("/manage/")
    assert "/login" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()

    # Password, then the right code: the dashboard.
    _password_step(page)
    page.get_by_label("Code from your authenticator app").fill(_code_after(secret, used))
    navigate(page, lambda: page.get_by_role("button", name="Sign in", exact=True).click())
    assert page.url.endswith("/manage/")
    assert page.get_by_role("button", name="Sign out").is_visible()


def test_a_password_without_the_second_factor_does_not_reach_the_dashboard(new_context):
    """(After the test above.) The second step left unanswered: no authoring page opens,
    and signing out from it ends it."""
    page = new_context().new_page()
    _password_step(page)
    assert page.url.endswith("/login/second-factor")
    for address in ("/manage/", "/manage/account/security", "/manage/posts/new"):
        page.goto(address)
        assert "/login?next=" in page.url, address
    page.goto("/login/second-factor")
    navigate(page, lambda: page.get_by_role("button", name="Cancel and sign out").click())
    page.goto("/login/second-factor")
    assert page.url.endswith("/login")
    assert page.get_by_text("That sign-in has ended").is_visible()


def test_the_security_pages_and_the_second_step_pass_axe(new_context, author_state, watch, server):
    """(After the first test.) The security page as an author without and while setting
    up an app, the recovery codes, and the second step of signing in."""
    watch.expect_status(401, server + "/login/second-factor")
    admin = new_context(bypass_csp=True, storage_state=author_state).new_page()
    admin.goto("/manage/account/security")
    _axe(admin)

    page = new_context(bypass_csp=True).new_page()
    _password_step(page)
    assert page.url.endswith("/login/second-factor")
    _axe(page)
    page.get_by_label("Code from your authenticator app").fill("12")
    navigate(page, lambda: page.get_by_role("button", name="Sign in", exact=True).click())
    assert page.get_by_role("alert").is_visible()
    _axe(page)

    # An author part-way through setting up an app (the QR code and the key shown).
    writer = new_context(bypass_csp=True).new_page()
    writer.goto("/login")
    writer.get_by_label("Username").fill("second")
    writer.get_by_label("Password").fill(PASSWORD)
    admin.goto("/manage/users")
    form = admin.locator('form[action="/manage/users"]')
    form.get_by_label("Username").fill("second")
    form.get_by_label("Role").select_option("author")
    form.get_by_label("Password").fill(PASSWORD)
    navigate(admin, lambda: form.get_by_role("button", name="Create author").click())
    navigate(writer, lambda: writer.get_by_role("button", name="Sign in", exact=True).click())
    writer.goto("/manage/account/security")
    navigate(
        writer, lambda: writer.get_by_role("button", name="Set up an authenticator app").click()
    )
    _axe(writer)
    secret = writer.locator("#totp-secret").inner_text().strip()
    writer.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    navigate(
        writer, lambda: writer.get_by_role("button", name="Turn on two-factor sign-in").click()
    )
    _axe(writer)
    writer.goto("/manage/account/security")
    _axe(writer)
