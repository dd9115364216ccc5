"""Two-factor sign-in with an authenticator app (TOTP) and recovery codes: enrolment,
the second step of signing in, what a wrong, replayed or late code gets, the admins'
requirement, the mail an author gets, and that the sign-in reveals no names."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kmblog.auth.services import create_user, set_password
from kmblog.extensions import db
from kmblog.jobs import start_in_process
from kmblog.models import AuditEvent, RecoveryCode, Role, Settings, User, utcnow
from tests.conftest import PASSWORD, AuthActions
from tests.forms import hidden_field
from tests.mail_server import MailServer, body_of, wait_until

SECURITY = "/manage/account/security"
SECOND_FACTOR = "/login/second-factor"


def enrol(auth: AuthActions) -> tuple[str, list[str]]:
    """Set up the app through the security page: the secret read from the page, the
    first code computed from it; returns the secret and the recovery codes shown."""
    started = auth.post_form(f"{SECURITY}/totp/start", {}, SECURITY)
    assert started.status_code == 303
    page = auth.client.get(SECURITY).text
    secret = re.search(r'<code id="totp-secret" class="totp-secret">([A-Z2-7]+)</code>', page)
    assert secret, page
    assert "otpauth://totp/" in page
    assert 'src="data:image/svg+xml' in page  # the QR code, with no request elsewhere
    code = pyotp.TOTP(secret.group(1)).now()
    shown = auth.post_form(f"{SECURITY}/totp/confirm", {"code": code}, SECURITY)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", shown.text)
    assert len(codes) == 10
    return secret.group(1), codes


def next_code(secret: str) -> str:
    """The code of the next time step: accepted (a clock a little ahead), and not the
    one enrolment used."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def send_code(client: FlaskClient, code: str, field: str = "code"):  # type: ignore[no-untyped-def]
    page = client.get(SECOND_FACTOR)
    token = hidden_field(page.text, "csrf_token", SECOND_FACTOR)
    return client.post(SECOND_FACTOR, data={"csrf_token": token, field: code})


def signed_in(client: FlaskClient) -> bool:
    return client.get("/manage/").status_code == 200


def user_row(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


@pytest.fixture
def enrolled(client, auth, writer) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """The writer with their app set up, signed out again."""
    auth.login("writer")
    secret, codes = enrol(auth)
    auth.logout()
    return secret, codes


def test_enrolment_needs_a_right_code_and_a_wrong_one_changes_nothing(app, client, auth, writer):
    auth.login("writer")
    assert "Two-factor sign-in with an authenticator app is off" in client.get(SECURITY).text
    auth.post_form(f"{SECURITY}/totp/start", {}, SECURITY)
    page = client.get(SECURITY).text
    secret = re.search(r'id="totp-secret" class="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"

    refused = auth.post_form(f"{SECURITY}/totp/confirm", {"code": wrong}, SECURITY)

    assert refused.status_code == 400
    assert "That code is not right." in refused.text
    user = user_row(app, writer)
    assert user.totp_enabled_at is None and user.totp_last_step is None
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
    # Signing in still needs the password only.
    auth.logout()
    assert auth.login("writer").headers["Location"] == "/manage/"


def test_the_right_code_signs_in_and_a_replayed_one_is_refused(app, client, auth, enrolled):
    secret, _ = enrolled
    started = auth.login("writer", next_url="/manage/comments")
    assert started.status_code == 303
    assert started.headers["Location"] == SECOND_FACTOR
    assert not signed_in(client)
    page = client.get(SECOND_FACTOR)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.text
    assert "Recovery code" in page.text

    code = next_code(secret)
    done = send_code(client, code)
    assert done.status_code == 303
    assert done.headers["Location"] == "/manage/comments"
    assert signed_in(client)
    auth.logout()

    # The same code again, from a fresh password: refused, not signed in.
    assert auth.login("writer").headers["Location"] == SECOND_FACTOR
    replayed = send_code(client, code)
    assert replayed.status_code == 401
    assert "That code is not right." in replayed.text
    # ... and so is the older code of the current step.
    assert send_code(client, pyotp.TOTP(secret).now()).status_code == 401
    assert not signed_in(client)


def test_keep_me_signed_in_is_kept_through_the_second_step(client, auth, enrolled):
    secret, _ = enrolled
    password_step = auth.login("writer", remember=True)
    assert password_step.headers["Location"] == SECOND_FACTOR
    assert "remember_token=" not in " ".join(password_step.headers.getlist("Set-Cookie"))
    done = send_code(client, next_code(secret))
    assert done.status_code == 303
    cookies = done.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "Expires=" in c for c in cookies), cookies


def test_a_wrong_code_is_refused_with_nothing_more_said(client, auth, enrolled):
    secret, _ = enrolled
    auth.login("writer")
    wrong = f"{(int(next_code(secret)) + 7) % 1_000_000:06d}"
    for code in (wrong, "12345", "abcdef", "1" * 16):
        refused = send_code(client, code)
        assert refused.status_code == 401, code
        assert "That code is not right." in refused.text
        assert not signed_in(client)
    empty = send_code(client, "")
    assert empty.status_code == 400
    assert "Enter the 6-digit code" in empty.text


def test_a_recovery_code_works_once(app, client, auth, enrolled):
    _, codes = enrolled
    auth.login("writer")
    used = send_code(client, codes[3].upper().replace("-", " "), field="recovery_code")
    assert used.status_code == 303
    dashboard = client.get("/manage/")
    assert dashboard.status_code == 200
    assert "Signed in with a recovery code; 9 left" in dashboard.text
    auth.logout()

    auth.login("writer")
    again = send_code(client, codes[3], field="recovery_code")
    assert again.status_code == 401
    assert "That code is not right." in again.text
    assert not signed_in(client)
    with app.app_context():
        rows = db.session.scalars(select(RecoveryCode)).all()
        assert sum(row.used_at is not None for row in rows) == 1
        # Kept as salted hashes only.
        assert not any(codes[3].replace("-", "") in row.code_hash for row in rows)


def test_the_pending_sign_in_expires(make_app, writer):
    quick = make_app(SECOND_FACTOR_SECONDS=1)
    client = quick.test_client()
    auth = AuthActions(client)
    auth.login("writer")
    secret, _ = enrol(auth)
    auth.logout()

    assert auth.login("writer").headers["Location"] == SECOND_FACTOR
    time.sleep(1.5)
    late = client.get(SECOND_FACTOR)
    assert late.status_code == 303
    assert late.headers["Location"] == "/login"
    assert "That sign-in has ended" in client.get("/login").text
    # A code sent now starts nothing.
    token = hidden_field(client.get("/login").text, "csrf_token")
    posted = client.post(SECOND_FACTOR, data={"csrf_token": token, "code": next_code(secret)})
    assert posted.status_code == 303 and posted.headers["Location"] == "/login"
    assert not signed_in(client)


@pytest.mark.parametrize(
    "path", ["/manage/", SECURITY, "/manage/settings", "/manage/posts/new", "/manage/media/"]
)
def test_the_authoring_area_stays_closed_while_the_second_factor_is_awaited(
    client, auth, enrolled, path
):
    auth.login("writer")
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_signing_out_ends_the_pending_sign_in(client, auth, enrolled):
    secret, _ = enrolled
    auth.login("writer")
    token = hidden_field(client.get(SECOND_FACTOR).text, "csrf_token")
    cancelled = client.post("/logout", data={"csrf_token": token})
    assert cancelled.status_code == 303
    assert client.get(SECOND_FACTOR).headers["Location"] == "/login"
    assert not signed_in(client)


def test_a_new_password_ends_a_pending_sign_in(app, client, auth, enrolled, writer):
    secret, _ = enrolled
    auth.login("writer")
    with app.app_context():
        set_password(db.session.get(User, writer), "another password")  # type: ignore[arg-type]
    assert client.get(SECOND_FACTOR).headers["Location"] == "/login"
    assert not signed_in(client)


def test_disabling_asks_for_the_password_and_then_the_password_alone_signs_in(
    app, client, auth, enrolled, writer
):
    secret, _ = enrolled
    auth.login("writer")
    send_code(client, next_code(secret))
    refused = auth.post_form(
        f"{SECURITY}/totp/disable", {"disable_password": "not my password"}, SECURITY
    )
    assert refused.status_code == 400
    assert "That is not your password" in refused.text
    assert user_row(app, writer).totp_enabled_at is not None

    done = auth.post_form(f"{SECURITY}/totp/disable", {"disable_password": PASSWORD}, SECURITY)
    assert done.status_code == 303
    user = user_row(app, writer)
    assert user.totp_enabled_at is None and user.totp_secret is None
    auth.logout()
    assert auth.login("writer").headers["Location"] == "/manage/"


def test_new_recovery_codes_replace_the_old_ones(client, auth, enrolled):
    secret, old = enrolled
    auth.login("writer")
    send_code(client, next_code(secret))
    refused = auth.post_form(f"{SECURITY}/recovery-codes", {"codes_password": "nope"}, SECURITY)
    assert refused.status_code == 400
    made = auth.post_form(f"{SECURITY}/recovery-codes", {"codes_password": PASSWORD}, SECURITY)
    assert made.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", made.text)
    assert len(new) == 10 and not set(new) & set(old)
    auth.logout()
    auth.login("writer")
    assert send_code(client, old[0], field="recovery_code").status_code == 401
    assert send_code(client, new[0], field="recovery_code").status_code == 303


def test_an_author_without_a_second_factor_signs_in_as_before(client, auth, writer):
    response = auth.login("writer")
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/"
    assert signed_in(client)


def test_a_required_second_factor_sends_authors_to_enrol_first(app, client, auth, admin, writer):
    auth.login("admin")
    page = client.get("/manage/settings").text
    assert "Every author must use a second factor" in page
    form = {
        "title": "KM Depot",
        "timezone": "UTC",
        "posts_per_page": "5",
        "items_per_feed": "25",
        "comment_policy": "open",
        "moderation_links": "2",
        "edit_window_minutes": "15",
        "thread_depth": "4",
        "require_second_factor": "y",
    }
    assert auth.post_form("/manage/settings", form).status_code == 303
    with app.app_context():
        assert db.session.get(Settings, 1).require_second_factor is True  # type: ignore[union-attr]
    # The admin has none either: even signing out starts from the security page.
    assert client.get("/manage/settings").headers["Location"] == SECURITY
    client.post("/logout", data={"csrf_token": auth.csrf_token(SECURITY)})

    # Signed in with the password (they have no second factor yet)...
    assert auth.login("writer").status_code == 303
    for path in ("/manage/", "/manage/posts/new", "/manage/comments", "/manage/series/"):
        sent = client.get(path)
        assert sent.status_code == 303, path
        assert sent.headers["Location"] == SECURITY
    page = client.get(SECURITY)
    assert page.status_code == 200
    assert "This blog asks every author to sign in with a second factor" in page.text
    # ... until they have one.
    secret, _ = enrol(auth)
    assert client.get("/manage/").status_code == 200
    auth.logout()
    assert auth.login("writer").headers["Location"] == SECOND_FACTOR
    assert send_code(client, next_code(secret)).status_code == 303
    assert signed_in(client)


def test_the_second_factor_is_rate_limited(make_app, writer):
    limited = make_app(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    auth = AuthActions(client)
    auth.login("writer")
    secret, _ = enrol(auth)
    auth.logout()
    auth.login("writer")
    wrong = f"{(int(next_code(secret)) + 3) % 1_000_000:06d}"
    for attempt in range(5):
        assert send_code(client, wrong).status_code == 401, f"attempt {attempt + 1}"
    blocked = send_code(client, wrong)
    assert blocked.status_code == 429
    # Even the right code waits now.
    assert send_code(client, next_code(secret)).status_code == 429
    assert not signed_in(client)


def test_the_sign_in_does_not_tell_which_names_exist(make_app, enrolled):
    slow = make_app(PASSWORD_HASH_METHOD="pbkdf2:sha256:200000")
    with slow.app_context():
        create_user("known", PASSWORD, Role.AUTHOR, utcnow())
    client = slow.test_client()

    def attempt(username: str) -> tuple[int, str, float]:
        token = hidden_field(client.get("/login").text, "csrf_token")
        began = time.perf_counter()
        response = client.post(
            "/login", data={"csrf_token": token, "username": username, "password": "wrong pass"}
        )
        took = time.perf_counter() - began
        message = re.search(r'class="form-error" role="alert">([^<]+)<', response.text)
        return response.status_code, message.group(1) if message else "", took

    known = [attempt("known") for _ in range(5)]
    with_app = [attempt("writer") for _ in range(3)]  # the one with two-factor sign-in
    unknown = [attempt("nobody-here") for _ in range(5)]
    answers = {(status, message) for status, message, _ in known + with_app + unknown}
    assert answers == {(401, "That username and password do not match an active account.")}
    known_time = statistics.median(took for *_, took in known)
    unknown_time = statistics.median(took for *_, took in unknown)
    # The dummy hash for an unknown name costs what a real check does (without it an
    # unknown name is answered some ten times sooner; the bound leaves room for a busy machine).
    assert unknown_time > 0.3 * known_time, (known_time, unknown_time)


# --- mail ------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_TLS="none",
        MAIL_SENDER="KM Depot <depot@blog.test>",
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
    )
    consumer = start_in_process(app, workers=2)
    yield app
    consumer.stop(graceful=True)


def test_every_change_to_how_an_author_signs_in_is_mailed_to_them(mail_app, blog, smtp, admin):
    blog.author("mailed", password=PASSWORD, email="mailed@blog.test")
    blog.author("quiet", password=PASSWORD)  # no address: no mail
    client = mail_app.test_client()
    auth = AuthActions(client)

    def mails() -> list[str]:
        return [body_of(m) for m in smtp.inbox.to("mailed@blog.test")]

    def expect(count: int, text: str) -> None:
        wait_until(lambda: len(mails()) >= count, what=f"mail {count}: {text}")
        assert text in mails()[count - 1]

    auth.login("mailed")
    secret, _ = enrol(auth)
    expect(1, "Two-factor sign-in with an authenticator app was turned on.")
    message = smtp.inbox.to("mailed@blog.test")[0]
    assert message["Subject"] == "A change to how you sign in to A Knowledge Management Blog"
    assert "/manage/account/security" in body_of(message)
    assert secret not in body_of(message)

    auth.post_form(f"{SECURITY}/recovery-codes", {"codes_password": PASSWORD}, SECURITY)
    expect(2, "New recovery codes were made")
    auth.logout()

    auth.login("mailed")
    assert send_code(client, next_code(secret)).status_code == 303

    auth.post_form(
        f"{SECURITY}/password",
        {
            "current_password": PASSWORD,
            "new_password": "a new pass 1",
            "new_password_again": "a new pass 1",
        },
        SECURITY,
    )
    expect(3, "Your password was changed.")
    assert signed_in(client)  # this browser stays signed in

    auth.post_form(f"{SECURITY}/totp/disable", {"disable_password": "a new pass 1"}, SECURITY)
    expect(4, "Two-factor sign-in with an authenticator app was turned off")
    auth.logout()

    auth.login("admin")
    with mail_app.app_context():
        mailed_id = db.session.scalars(select(User.id).where(User.username == "mailed")).one()
        quiet_id = db.session.scalars(select(User.id).where(User.username == "quiet")).one()
    for user_id in (mailed_id, quiet_id):
        reset = auth.post_form(
            f"/manage/users/{user_id}/password", {"password": "given by admin"}, "/manage/users"
        )
        assert reset.status_code == 303
    expect(5, "An administrator (admin) set a new password for you.")
    auth.logout()

    # A recovery code used to sign in.
    auth.login("quiet", "given by admin")
    _, quiet_codes = enrol(auth)
    auth.logout()
    auth.login("mailed", "given by admin")
    auth.post_form(f"{SECURITY}/totp/start", {}, SECURITY)
    page = client.get(SECURITY).text
    mailed_secret = re.search(r'id="totp-secret" class="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    shown = auth.post_form(
        f"{SECURITY}/totp/confirm", {"code": pyotp.TOTP(mailed_secret).now()}, SECURITY
    )
    mailed_codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", shown.text)
    expect(6, "turned on")
    auth.logout()
    auth.login("mailed", "given by admin")
    assert send_code(client, mailed_codes[0], field="recovery_code").status_code == 303
    expect(7, "A recovery code was used to sign in to your account (9 unused codes left).")
    auth.logout()
    auth.login("quiet", "given by admin")
    assert send_code(client, quiet_codes[0], field="recovery_code").status_code == 303

    time.sleep(1)
    assert len(mails()) == 7
    assert {m["To"] for m in smtp.inbox.messages} == {"mailed@blog.test"}


def test_the_pages_of_two_factor_sign_in_cost_a_few_queries(
    app, client, auth, blog, enrolled, count_queries
):
    """The second step and the security page cost a fixed handful of statements, and
    checking the admins' requirement costs a dashboard nothing it did not read anyway."""
    secret, codes = enrolled
    auth.login("writer")
    client.get(SECOND_FACTOR)
    with count_queries() as queries:
        assert client.get(SECOND_FACTOR).status_code == 200
    second_step = len(queries)
    send_code(client, codes[0], field="recovery_code")
    with count_queries() as queries:
        assert client.get(SECURITY).status_code == 200
    security = len(queries)
    with count_queries() as queries:
        assert client.get("/manage/").status_code == 200
    dashboard = len(queries)
    # The second step: the pending author, and whether they have a passkey to offer;
    # the security page: the author, the settings and the author's passkeys.
    assert (second_step, security) == (2, 3)

    # An author without a second factor: the requirement is read with the settings the
    # page reads anyway.
    blog.author("plain", password=PASSWORD)
    other = app.test_client()
    AuthActions(other).login("plain")
    other.get("/manage/")
    with count_queries() as queries:
        assert other.get("/manage/").status_code == 200
    assert len(queries) == dashboard


def test_an_author_without_a_password_still_cannot_sign_in(app, client, auth, blog, admin):
    """An author imported from Blogger has no password: the requirement of a second
    factor changes nothing for them, and the answer is the one for any wrong name."""
    blog.author("imported")  # no password, as the Blogger import makes them
    with app.app_context():
        db.session.get(Settings, 1).require_second_factor = True  # type: ignore[union-attr]
        db.session.commit()
    refused = auth.login("imported", "anything at all")
    assert refused.status_code == 401
    assert "That username and password do not match an active account." in refused.text
    assert client.get(SECOND_FACTOR).headers["Location"] == "/login"
    assert not signed_in(client)


def test_the_audit_trail_tells_how_each_sign_in_was_made_and_what_changed(
    app, client, auth, enrolled
):
    """An admin reading the trail sees the app set up, a refused code after a right
    password (the author named), and the sign-in with its second factor; a right password
    alone is no sign-in yet."""
    secret, _ = enrolled
    auth.login("writer")
    send_code(client, "000000" if next_code(secret) != "000000" else "111111")
    send_code(client, next_code(secret))
    assert signed_in(client)
    with app.app_context():
        trail = [
            (event.action, event.actor_name, event.summary)
            for event in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("auth.%")).order_by(AuditEvent.id)
            )
        ]
    assert trail == [
        ("auth.sign_in", "writer", "writer signed in with password"),
        (
            "auth.security_changed",
            "writer",
            "Two-factor sign-in with an authenticator app was turned on.",
        ),
        (
            "auth.sign_in_failed",
            "writer",
            "writer's authenticator code was refused after a right password",
        ),
        ("auth.sign_in", "writer", "writer signed in with password and an authenticator code"),
    ]


def test_an_admin_turns_off_a_locked_out_authors_second_factors(app, client, auth, enrolled):
    """An author who lost their phone and their codes: an admin turns their second
    factors off from the authors' list; their password alone signs them in again, the
    trail names the admin, and an author cannot do it to another."""
    auth.login("admin")
    listed = client.get("/manage/users").text
    assert listed.count("Turn off two-factor") == 1  # the writer's row only
    writer = user_row(app, _id_of(app, "writer"))
    done = auth.post_form(f"/manage/users/{writer.id}/second-factors", {}, "/manage/users")
    assert done.status_code == 303
    assert "Turn off two-factor" not in client.get("/manage/users").text
    user = user_row(app, writer.id)
    assert user.totp_secret is None and user.totp_enabled_at is None
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.second_factors_reset")
        ).all()
        assert (event.actor_name, event.subject_id) == ("admin", writer.id)
    auth.logout()
    assert auth.login("writer").headers["Location"] == "/manage/"

    # An author (not an admin) may not.
    other = app.test_client()
    AuthActions(other).login("writer")
    refused = AuthActions(other).post_form(
        f"/manage/users/{writer.id}/second-factors", {}, "/manage/account"
    )
    assert refused.status_code == 403


def _id_of(app: Flask, username: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found
