"""Passkeys on the server: registering, signing in after the password and alone, and
everything that must be refused without changing anything (a forged signature, an
answer to another challenge, a replay, another author's passkey, a counter going back, a
disabled author, junk), through the real views with the test client.

The browser's side is a small software authenticator below: a P-256 key, WebAuthn's
authenticator data and client data, signed as an authenticator signs them, with "none"
attestation (what browsers send by default). It is checked by py_webauthn, not by us;
the same journeys run in Chromium with its virtual authenticator (tests/browser).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import os
import shutil
import time
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kmblog.auth.notices import send_security_mail_job
from kmblog.extensions import db
from kmblog.jobs import queue_of
from kmblog.models import Passkey, User
from tests import test_html_validity as html_validity
from tests.conftest import PASSWORD, AuthActions
from tests.factories import BlogBuilder
from tests.forms import hidden_field

ORIGIN = "http://blog.test"
RP_ID = "blog.test"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One passkey on a pretend device; `counting=False` is a synced passkey, whose
    counter stays 0."""

    def __init__(self, counting: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.counting = counting
        self.user_handle = b""

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin}).encode()

    def create(self, options: dict[str, Any], origin: str = ORIGIN) -> dict[str, Any]:
        """What navigator.credentials.create() gives, as PublicKeyCredential.toJSON()."""
        self.user_handle = unb64(options["user"]["id"])
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        flags = 0x01 | 0x04 | 0x40  # user present, user verified, credential data
        auth_data = (
            rp_hash
            + bytes([flags])
            + self.sign_count.to_bytes(4, "big")
            + bytes(16)  # AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["internal", "made-up"],
            },
        }

    def get(
        self,
        challenge: str,
        origin: str = ORIGIN,
        rp_id: str = RP_ID,
        sign_count: int | None = None,
        signer: ec.EllipticCurvePrivateKey | None = None,
    ) -> dict[str, Any]:
        """What navigator.credentials.get() gives, as PublicKeyCredential.toJSON()."""
        if sign_count is None:
            if self.counting:
                self.sign_count += 1
            sign_count = self.sign_count
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([0x01 | 0x04])
            + sign_count.to_bytes(4, "big")
        )
        client_data = self._client_data("webauthn.get", challenge, origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = (signer or self.key).sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": b64(self.user_handle),
            },
        }


class Browser:
    """The test client as passkeys.js uses the blog: JSON with the CSRF header."""

    def __init__(self, client: FlaskClient, auth: AuthActions) -> None:
        self.client = client
        self.auth = auth

    def post_json(self, path: str, body: Any, form_page: str = "/login") -> Any:
        token = hidden_field(self.client.get(form_page).text, "csrf_token", form_page)
        return self.client.post(path, json=body, headers={"X-CSRFToken": token})

    def register(self, device: SoftAuthenticator, name: str = "Laptop") -> Any:
        page = "/manage/account/security"
        options = self.post_json("/manage/account/passkeys/options", {}, page)
        assert options.status_code == 200, options.text
        credential = device.create(options.get_json())
        return self.post_json(
            "/manage/account/passkeys", {"name": name, "credential": credential}, page
        )

    def options(self, purpose: str) -> Any:
        return self.post_json("/login/passkey/options", {"purpose": purpose})

    def sign_in(self, credential: dict[str, Any], next_path: str = "") -> Any:
        return self.post_json("/login/passkey", {"credential": credential, "next": next_path})

    def challenge(self, purpose: str) -> str:
        answer = self.options(purpose)
        assert answer.status_code == 200, answer.text
        return str(answer.get_json()["challenge"])

    def signed_in(self) -> bool:
        return self.client.get("/manage/").status_code == 200


@pytest.fixture
def browser(client: FlaskClient, auth: AuthActions) -> Browser:
    return Browser(client, auth)


@pytest.fixture
def holder(blog: BlogBuilder, writer: int, browser: Browser) -> SoftAuthenticator:
    """The writer, with one passkey registered (and signed out again)."""
    browser.auth.login("writer")
    device = SoftAuthenticator()
    assert browser.register(device).status_code == 200
    browser.auth.logout()
    return device


def stored(app: Flask) -> list[tuple[Any, ...]]:
    """Every passkey as stored: what a refused attempt must leave as it was."""
    with app.app_context():
        rows = db.session.scalars(select(Passkey).order_by(Passkey.id))
        return [(p.user_id, p.credential_id, p.sign_count, p.last_used_at, p.name) for p in rows]


def test_a_passkey_is_registered_on_the_security_page(app, client, auth, browser, writer):
    auth.login("writer")
    page = client.get("/manage/account/security")
    assert page.status_code == 200 and "You have no passkey yet." in page.text
    assert "/js/passkeys." in page.text
    device = SoftAuthenticator()
    added = browser.register(device, name="  Work   laptop ")
    assert added.status_code == 200
    assert added.get_json() == {"next": "/manage/account/security"}
    with app.app_context():
        passkey = db.session.scalars(select(Passkey)).one()
        assert passkey.user_id == writer and passkey.name == "Work laptop"
        assert passkey.credential_id == device.credential_id
        assert passkey.transports == "internal"  # what no browser knows is dropped
        assert passkey.user_handle == device.user_handle and len(device.user_handle) == 32
        assert passkey.last_used_at is None
    listed = client.get("/manage/account/security").text
    assert "The passkey “Work laptop” is added" in listed
    assert "Work laptop" in listed and "Not yet" in listed
    # A second passkey of the same author carries the same user handle; the first is
    # named in the options so that a device does not register twice.
    options = browser.post_json("/manage/account/passkeys/options", {}, "/manage/account/security")
    assert options.get_json()["excludeCredentials"][0]["id"] == b64(device.credential_id)
    assert unb64(options.get_json()["user"]["id"]) == device.user_handle
    assert options.get_json()["authenticatorSelection"]["residentKey"] == "required"


def test_adding_a_passkey_queues_a_mail_to_its_author(make_app, tmp_path, blog, writer):
    outbox = tmp_path / "outbox"
    app = make_app(MAIL_OUTBOX=str(outbox), JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    with app.app_context():
        db.session.get(User, writer).email = "writer@example.org"
        db.session.commit()
    client = app.test_client()
    browser = Browser(client, AuthActions(client))
    browser.auth.login("writer")
    assert browser.register(SoftAuthenticator(), name="Phone").status_code == 200
    queued = queue_of(app).huey.pending()
    assert [task.name for task in queued] == ["auth.security_mail"]
    with app.app_context():
        send_security_mail_job(*queued[0].args)
    message = email.message_from_bytes(
        next(outbox.glob("*.eml")).read_bytes(), policy=email.policy.default
    )
    assert message["To"] == "writer@example.org"
    mail = message.get_content()
    assert "A passkey named “Phone” was added to your account." in mail
    assert "http://blog.test/manage/account/security" in mail


def test_a_registration_that_does_not_verify_adds_nothing(app, auth, browser, writer):
    auth.login("writer")
    page = "/manage/account/security"
    device = SoftAuthenticator()

    def attempt(change: Any, name: str = "Laptop") -> Any:
        options = browser.post_json("/manage/account/passkeys/options", {}, page).get_json()
        credential = change(options)
        return browser.post_json(
            "/manage/account/passkeys", {"name": name, "credential": credential}, page
        )

    wrong_challenge = attempt(lambda o: device.create({**o, "challenge": b64(os.urandom(32))}))
    other_site = attempt(lambda o: device.create(o, origin="https://evil.example"))
    other_rp = attempt(lambda o: device.create({**o, "rp": {"id": "evil.example"}}))
    no_name = attempt(lambda o: device.create(o), name="   ")
    for refused in (wrong_challenge, other_site, other_rp, no_name):
        assert refused.status_code == 400
        assert refused.get_json()["error"]
    assert "a name" in no_name.get_json()["error"]
    # No options asked for first: nothing to answer.
    unasked = browser.post_json(
        "/manage/account/passkeys",
        {
            "name": "X",
            "credential": device.create(
                {"user": {"id": b64(b"x")}, "rp": {"id": RP_ID}, "challenge": b64(b"y")}
            ),
        },
        page,
    )
    assert unasked.status_code == 400
    assert stored(app) == []


def test_password_then_passkey_signs_in_and_the_password_alone_does_not(
    app, client, browser, holder, writer
):
    before = stored(app)
    answer = browser.auth.login("writer", next_url="/manage/comments", remember=True)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/login/second-factor"
    assert not browser.signed_in()
    page = client.get("/login/second-factor")
    assert page.status_code == 200 and "Use a passkey" in page.text
    assert "/js/passkeys." in page.text

    options = browser.options("second-factor").get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [b64(holder.credential_id)]
    answer = browser.sign_in(holder.get(options["challenge"]))
    assert answer.status_code == 200
    assert answer.get_json() == {"next": "/manage/comments"}
    assert "kmblog_author=1" in answer.headers["Set-Cookie"]
    assert any(c.startswith("remember_token=") for c in answer.headers.getlist("Set-Cookie"))
    assert browser.signed_in()
    after = stored(app)
    assert after[0][2] == 1 and after[0][3] is not None  # counter and last use kept
    assert before[0][3] is None
    # The pending sign-in is spent: its page sends back to the sign-in form.
    assert client.get("/login/second-factor").headers["Location"] == "/login"


def test_a_passkey_alone_signs_in_from_the_login_page(app, client, browser, holder, writer):
    challenge = browser.challenge("sign-in")
    answer = browser.sign_in(holder.get(challenge), next_path="/manage/account")
    assert answer.status_code == 200 and answer.get_json() == {"next": "/manage/account"}
    assert browser.signed_in()
    # A next address off the site is not followed.
    browser.auth.logout()
    answer = browser.sign_in(holder.get(browser.challenge("sign-in")), "//evil.example/")
    assert answer.get_json() == {"next": "/manage/"}


def _refused(answer: Any) -> None:
    assert answer.status_code in {400, 401}, answer.text
    assert answer.get_json()["error"]


def test_a_forged_signature_is_refused_and_changes_nothing(app, browser, holder):
    before = stored(app)
    forger = ec.generate_private_key(ec.SECP256R1())
    _refused(browser.sign_in(holder.get(browser.challenge("sign-in"), signer=forger)))
    # A signature by the right key over other data (another site's answer, re-labelled).
    forged = holder.get(browser.challenge("sign-in"), rp_id="evil.example")
    _refused(browser.sign_in(forged))
    tampered = holder.get(browser.challenge("sign-in"))
    tampered["response"]["authenticatorData"] = b64(
        unb64(tampered["response"]["authenticatorData"])[:-1] + b"\xff"
    )
    _refused(browser.sign_in(tampered))
    assert not browser.signed_in()
    assert stored(app) == before


def test_an_answer_to_another_challenge_is_refused(app, browser, holder):
    before = stored(app)
    browser.challenge("sign-in")
    _refused(browser.sign_in(holder.get(b64(os.urandom(32)))))
    # Another origin answering our own challenge (a phishing page relaying it).
    _refused(browser.sign_in(holder.get(browser.challenge("sign-in"), origin="http://evil.test")))
    assert not browser.signed_in()
    assert stored(app) == before


def test_a_challenge_serves_once_even_with_an_old_cookie(app, client, browser, holder):
    """A synced passkey's counter stays 0, so only the challenge stops a replay."""
    synced = SoftAuthenticator(counting=False)
    browser.auth.login("writer")
    browser.sign_in(holder.get(browser.challenge("second-factor")))
    assert browser.register(synced, name="Synced").status_code == 200
    browser.auth.logout()

    challenge = browser.challenge("sign-in")
    old_cookie = client.get_cookie("session", domain="blog.test").value
    answer = synced.get(challenge)
    assert browser.sign_in(answer).status_code == 200
    browser.auth.logout()
    before = stored(app)
    # The same answer again: the challenge is spent.
    _refused(browser.sign_in(answer))
    # With the cookie that still held the challenge: made before the passkey's last
    # use, so it is spent all the same.
    client.set_cookie("session", old_cookie, domain="blog.test")
    _refused(browser.sign_in(answer))
    assert not browser.signed_in()
    assert stored(app) == before


def test_an_expired_challenge_or_pending_sign_in_is_refused(app, client, browser, holder):
    challenge = browser.challenge("sign-in")
    with client.session_transaction() as session:
        kept = session["passkey_challenge"]
        session["passkey_challenge"] = {**kept, "at": kept["at"] - 301}
    _refused(browser.sign_in(holder.get(challenge)))
    browser.auth.login("writer")
    with client.session_transaction() as session:
        session["pending_sign_in"] = {**session["pending_sign_in"], "at": int(time.time()) - 301}
    assert client.get("/login/second-factor").headers["Location"] == "/login"
    assert browser.options("second-factor").status_code == 409
    assert not browser.signed_in()


def test_another_authors_passkey_is_no_second_factor(app, blog, client, browser, holder):
    blog.author("other", password=PASSWORD)
    # "other" has a passkey of their own.
    browser.auth.login("other")
    theirs = SoftAuthenticator()
    assert browser.register(theirs).status_code == 200
    browser.auth.logout()
    before = stored(app)
    # The writer's password, then the other author's passkey.
    browser.auth.login("writer")
    _refused(browser.sign_in(theirs.get(browser.challenge("second-factor"))))
    assert not browser.signed_in()
    assert stored(app) == before


def test_a_counter_going_backwards_is_refused(app, browser, holder):
    assert browser.sign_in(holder.get(browser.challenge("sign-in"))).status_code == 200
    browser.auth.logout()
    before = stored(app)
    # A copy of the authenticator: its counter is behind the real one's.
    _refused(browser.sign_in(holder.get(browser.challenge("sign-in"), sign_count=1)))
    assert not browser.signed_in()
    assert stored(app) == before


def test_a_disabled_author_cannot_sign_in_with_a_passkey(app, blog, browser, holder, writer):
    blog.disable(writer)
    before = stored(app)
    _refused(browser.sign_in(holder.get(browser.challenge("sign-in"))))
    assert not browser.signed_in()
    assert stored(app) == before


@pytest.mark.parametrize(
    "body",
    [
        None,
        "not an object",
        [],
        {},
        {"credential": "x"},
        {"credential": {}},
        {"credential": {"rawId": 5, "id": 5}},
        {"credential": {"rawId": "!!!", "id": "!!!", "response": "x"}},
        {"credential": {"rawId": "a" * 5000, "id": "a", "response": {}}},
        {"credential": {"rawId": "AAAA", "id": "AAAA", "type": "public-key", "response": {}}},
    ],
)
def test_junk_is_refused_with_a_message_never_a_500(app, browser, holder, body):
    browser.challenge("sign-in")
    answer = browser.post_json("/login/passkey", body)
    _refused(answer)
    # The real passkey, its user handle swapped: refused too.
    credential = holder.get(browser.challenge("sign-in"))
    credential["response"]["userHandle"] = b64(b"someone else")
    _refused(browser.sign_in(credential))
    assert not browser.signed_in()


def test_without_the_csrf_token_nothing_is_asked_or_checked(client, holder):
    assert client.post("/login/passkey/options", json={"purpose": "sign-in"}).status_code == 400
    assert client.post("/login/passkey", json={"credential": {}}).status_code == 400


def test_passkeys_are_renamed_and_removed_by_their_author_only(app, blog, client, browser, holder):
    blog.author("other", password=PASSWORD)
    with app.app_context():
        passkey_id = db.session.scalars(select(Passkey.id)).one()
    browser.auth.login("other")
    page = "/manage/account/security"
    assert (
        browser.auth.post_form(
            f"/manage/account/passkeys/{passkey_id}/name", {"name": "Mine"}, page
        ).status_code
        == 404
    )
    assert client.get(f"/manage/account/passkeys/{passkey_id}/remove").status_code == 404
    assert (
        browser.auth.post_form(
            f"/manage/account/passkeys/{passkey_id}/remove", {}, page
        ).status_code
        == 404
    )
    browser.auth.logout()

    browser.auth.login("writer", next_url="")
    browser.sign_in(holder.get(browser.challenge("second-factor")))
    assert browser.signed_in()
    renamed = browser.auth.post_form(
        f"/manage/account/passkeys/{passkey_id}/name", {"name": "Old phone"}, page
    )
    assert renamed.status_code == 303
    assert "Old phone" in client.get(page).text
    too_long = browser.auth.post_form(
        f"/manage/account/passkeys/{passkey_id}/name", {"name": "x" * 101}, page
    )
    assert too_long.status_code == 303
    assert "at most 100 characters" in client.get(page).text
    question = client.get(f"/manage/account/passkeys/{passkey_id}/remove")
    assert "Remove the passkey “Old phone”?" in question.text
    assert stored(app)[0][4] == "Old phone"
    # Without the form's token, nothing is removed.
    assert client.post(f"/manage/account/passkeys/{passkey_id}/remove").status_code == 400
    removed = browser.auth.post_form(
        f"/manage/account/passkeys/{passkey_id}/remove", {}, question.request.path
    )
    assert removed.status_code == 303
    assert stored(app) == []
    assert "The passkey “Old phone” is removed" in client.get(page).text
    # Gone: it signs no one in, and the password alone is enough again.
    browser.auth.logout()
    _refused(browser.sign_in(holder.get(browser.challenge("sign-in"))))
    assert browser.auth.login("writer").headers["Location"] == "/manage/"


def test_the_relying_party_can_be_set_for_a_blog_behind_a_proxy(make_app, blog, writer):
    app = make_app(WEBAUTHN_RP_ID="blog.example.org", WEBAUTHN_ORIGIN="https://blog.example.org")
    client = app.test_client()
    browser = Browser(client, AuthActions(client))
    browser.auth.login("writer")
    page = "/manage/account/security"
    options = browser.post_json("/manage/account/passkeys/options", {}, page).get_json()
    assert options["rp"] == {"id": "blog.example.org", "name": options["rp"]["name"]}
    device = SoftAuthenticator()
    # The request's own address (http://blog.test) is not the origin any more.
    wrong = browser.post_json(
        "/manage/account/passkeys", {"name": "A", "credential": device.create(options)}, page
    )
    assert wrong.status_code == 400
    options = browser.post_json("/manage/account/passkeys/options", {}, page).get_json()
    credential = device.create(options, origin="https://blog.example.org")
    added = browser.post_json(
        "/manage/account/passkeys", {"name": "A", "credential": credential}, page
    )
    assert added.status_code == 200


def test_passkey_sign_in_is_rate_limited_like_the_login(make_app, blog, writer):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    browser = Browser(client, AuthActions(client))
    codes = [browser.sign_in({"rawId": "AAAA"}).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_the_security_page_costs_a_fixed_number_of_queries(
    client, auth, browser, writer, count_queries
):
    auth.login("writer")
    for name in ("One", "Two", "Three"):
        assert browser.register(SoftAuthenticator(), name=name).status_code == 200
    client.get("/manage/account/security")
    with count_queries() as queries:
        page = client.get("/manage/account/security")
    assert page.status_code == 200 and page.text.count('class="passkey-name"') == 3
    # The author, the settings, the passkeys: however many passkeys there are.
    assert len(queries) == 3, queries.statements


def test_the_pages_load_the_passkey_script_only_where_it_is_used(client, auth, writer):
    assert "/js/passkeys." in client.get("/login").text
    auth.login("writer")
    assert "/js/passkeys." not in client.get("/manage/").text
    assert "/js/passkeys." not in client.get("/").text
    assert "/js/passkeys." in client.get("/manage/account/security").text


def test_a_pending_sign_in_lasts_five_minutes(app, client, browser, holder):
    answer = browser.auth.login("writer")
    assert answer.headers["Location"] == "/login/second-factor"
    with client.session_transaction() as session:
        pending = dict(session["pending_sign_in"])
    assert set(pending) == {"user", "remember", "next", "at"}
    assert pending["next"] == "/manage/" and pending["remember"] is False
    assert abs(pending["at"] - time.time()) < timedelta(seconds=30).total_seconds()


def test_the_second_step_is_also_limited_per_author(make_app, blog, writer):
    app = make_app(
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_USERNAME_RATE_LIMIT="2 per minute",
    )
    client = app.test_client()
    browser = Browser(client, AuthActions(client))
    browser.auth.login("writer")
    assert browser.register(SoftAuthenticator()).status_code == 200
    browser.auth.logout()
    assert browser.auth.login("writer").headers["Location"] == "/login/second-factor"
    codes = [browser.sign_in({"rawId": "AAAA"}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    # Someone else signing in with a passkey alone is not held up by it.
    other = app.test_client()
    assert Browser(other, AuthActions(other)).sign_in({"rawId": "AAAA"}).status_code == 400


@pytest.fixture
def java() -> str:
    """The system's Java for the Nu HTML Checker (as tests/test_html_validity.py)."""
    reason = html_validity._missing()
    if reason is not None:
        if os.environ.get("KMBLOG_REQUIRE_VNU") == "1":
            pytest.fail(f"KMBLOG_REQUIRE_VNU=1: {reason}")
        pytest.skip(reason)
    return str(shutil.which("java"))


def test_the_passkey_pages_are_valid_html(app, client, browser, holder, java, tmp_path):
    pages = {"sign-in with the passkey button": client.get("/login").text}
    browser.auth.login("writer")
    pages["second step"] = client.get("/login/second-factor").text
    browser.sign_in(holder.get(browser.challenge("second-factor")))
    pages["security, with a passkey"] = client.get("/manage/account/security").text
    with app.app_context():
        passkey_id = db.session.scalars(select(Passkey.id)).one()
    pages["remove a passkey"] = client.get(f"/manage/account/passkeys/{passkey_id}/remove").text
    messages = html_validity.check_pages(java, pages, tmp_path)
    errors = [m for m in messages if m["type"] in {"error", "non-document-error"}]
    assert not errors, "\n".join(f"{m['page']}: {m['message']}" for m in errors)
