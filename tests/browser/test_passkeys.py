"""Passkeys in real Chromium, with its virtual authenticator (the Chrome DevTools
Protocol's WebAuthn domain: a platform authenticator with a screen lock that always says
yes): one is registered on the security page, then signs in after the password and on
its own; the password alone does not reach the dashboard; a removed passkey signs no one
in; and axe finds nothing serious on the pages.

WebAuthn refuses IP addresses as the relying party, so these pages are opened as
http://localhost:PORT (a secure context, like https) rather than 127.0.0.1.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Watch
from tests.browser.test_accessibility import axe_violations

PASSWORD = "a passkey holder's password"
AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


def _local(server: str) -> str:
    return server.replace("127.0.0.1", "localhost")


def _new_author(new_context: Any, author_state: str, username: str) -> None:
    """The admin makes an author of the test's own (signing out ends every session of
    an author, so the shared admin must not be the one who signs out)."""
    admin = new_context(storage_state=author_state).new_page()
    admin.goto("/manage/users")
    form = admin.locator("form", has=admin.get_by_role("button", name="Create author"))
    form.get_by_label("Username").fill(username)
    form.get_by_label("Display name").fill(username.capitalize())
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create author").click()
    admin.wait_for_load_state()
    assert admin.get_by_role("cell", name=re.compile(username)).count() >= 1


def _authenticator(context: Any, page: Any) -> tuple[Any, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
    return cdp, made["authenticatorId"]


def _password(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/$"))


def _add_passkey(page: Any, base: str, name: str) -> None:
    page.goto(base + "/manage/account/security")
    page.get_by_label("Name of the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text(f"The passkey “{name}” is added").wait_for()


def _not_signed_in(page: Any, base: str) -> None:
    page.goto(base + "/manage/")
    assert re.search(r"/login\?next=", page.url), page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_a_passkey_signs_in_after_the_password_and_alone_until_removed(
    new_context: Any, author_state: str, server: str, watch: Watch
) -> None:
    base = _local(server)
    _new_author(new_context, author_state, "keyholder")
    context = new_context()
    page = context.new_page()
    cdp, authenticator = _authenticator(context, page)

    # Without a passkey the password is enough; the security page makes one.
    _password(page, base, "keyholder")
    page.wait_for_url(re.compile(r"/manage/$"))
    _add_passkey(page, base, "Test laptop")
    row = page.locator(".passkey-list tbody tr")
    assert row.count() == 1
    assert row.locator(".passkey-name").inner_text() == "Test laptop"
    assert "Not yet" in row.inner_text()
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]

    # The password alone now stops at the second step: the dashboard is not reached.
    _sign_out(page)
    _password(page, base, "keyholder")
    page.wait_for_url(re.compile(r"/login/second-factor$"))
    assert page.get_by_role("heading", name="One more step").is_visible()
    _not_signed_in(page, base)

    # Password, then the passkey: signed in, where the sign-in was going.
    _password(page, base, "keyholder")
    page.wait_for_url(re.compile(r"/login/second-factor$"))
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(re.compile(r"/manage/$"))
    assert page.get_by_text("Signed in as Keyholder").is_visible()
    _sign_out(page)

    # The passkey alone, from the sign-in page (a discoverable credential).
    page.goto(base + "/login?next=/manage/account/security")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(re.compile(r"/manage/account/security$"))
    assert "Not yet" not in page.locator(".passkey-list tbody tr").inner_text()
    _sign_out(page)

    # The device says no (its check of who holds it fails): a clear message, and the
    # dashboard is not reached.
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    page.goto(base + "/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    status = page.locator(".passkey-sign-in .passkey-status")
    status.filter(has_text="The passkey was not used").wait_for()
    _not_signed_in(page, base)
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": True})

    # Removed (after a question), the passkey no longer signs anyone in, though the
    # device still holds it; the password alone is enough again.
    _password(page, base, "keyholder")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(re.compile(r"/manage/$"))
    page.goto(base + "/manage/account/security")
    page.get_by_role("link", name="Remove “Test laptop”").click()
    assert page.get_by_role("heading", name="Remove the passkey “Test laptop”?").is_visible()
    page.get_by_role("button", name="Remove the passkey").click()
    page.get_by_text("The passkey “Test laptop” is removed").wait_for()
    assert page.locator(".passkey-list").count() == 0
    _sign_out(page)

    watch.expect_status(401, base + "/login/passkey")
    page.goto(base + "/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    status.filter(has_text="That passkey was not accepted").wait_for()
    _not_signed_in(page, base)
    _password(page, base, "keyholder")
    page.wait_for_url(re.compile(r"/manage/$"))


def test_the_passkey_pages_have_no_serious_accessibility_violations(
    new_context: Any, author_state: str, server: str
) -> None:
    base = _local(server)
    _new_author(new_context, author_state, "keyaxe")
    # Only this context bypasses the CSP, so that the injected axe script may run.
    context = new_context(bypass_csp=True)
    page = context.new_page()
    _authenticator(context, page)
    _password(page, base, "keyaxe")
    page.wait_for_url(re.compile(r"/manage/$"))
    page.goto(base + "/manage/account/security")
    page.get_by_role("button", name="Add a passkey").wait_for()
    assert not (found := axe_violations(page)), "\n".join(found)
    _add_passkey(page, base, "Phone")
    assert not (found := axe_violations(page)), "\n".join(found)
    page.get_by_role("link", name="Remove “Phone”").click()
    page.get_by_role("button", name="Remove the passkey").wait_for()
    assert not (found := axe_violations(page)), "\n".join(found)
    _sign_out(page)
    _password(page, base, "keyaxe")
    page.wait_for_url(re.compile(r"/login/second-factor$"))
    page.get_by_role("button", name="Use a passkey").wait_for()
    assert not (found := axe_violations(page)), "\n".join(found)
    page.goto(base + "/login")
    page.get_by_role("button", name="Sign in with a passkey").wait_for()
    assert not (found := axe_violations(page)), "\n".join(found)
