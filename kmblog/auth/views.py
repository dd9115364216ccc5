"""Signing in and out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from kmblog.audit.services import record_second_factor_refused, record_sign_in
from kmblog.auth import twofactor
from kmblog.auth.forms import LoginForm, RecoveryCodeForm, TotpCodeForm
from kmblog.auth.notices import mail_security_change
from kmblog.auth.services import authenticate, end_sessions, find_session_user
from kmblog.auth.totp import check_code, recovery_codes_left, totp_enabled, use_recovery_code
from kmblog.extensions import csrf, limiter, login_manager
from kmblog.models import User, utcnow

auth = Blueprint("auth", __name__)


def username_key() -> str:
    """Sign-in attempts are also limited per username, whatever address they come from."""
    return "user:" + request.form.get("username", "").strip().casefold()[:64]


# The nginx front (bench/nginx.conf) passes browsers with this cookie to the app.
AUTHOR_COOKIE = "kmblog_author"

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    return find_session_user(session_id)


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, judged as a browser would follow it."""
    default = url_for("manage.dashboard")
    if not target:
        return default
    # Browsers drop tabs and line breaks from URLs and read "\" as "/".
    cleaned = "".join(ch for ch in target if ch not in "\t\r\n").replace("\\", "/")
    if any(ord(ch) < 32 for ch in cleaned):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not cleaned.startswith("/") or cleaned.startswith("//"):
        return default
    return cleaned


# The form checks its own CSRF token, so a stale one gives the form back with a message.
@csrf.exempt
@auth.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_USERNAME_RATE_LIMIT"],
    methods=["POST"],
    key_func=username_key,
    scope="login-username",
)
def login() -> Any:
    """Sign in; on success go to `next` (a local path only) or the dashboard."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is None:
            record_sign_in(None, form.username.data, request.remote_addr or "")
        else:
            next_path = safe_next(form.next.data)
            if twofactor.has_second_factor(user):
                # Not signed in yet: the second factor finishes it.
                twofactor.begin_pending(user, bool(form.remember.data), next_path)
                return redirect(url_for("auth.second_factor"), 303)
            return finish_sign_in(user, bool(form.remember.data), next_path)
        form.password.errors.append("That username and password do not match an active account.")
        return render_template("auth/login.html", form=form), 401
    status = 200 if request.method == "GET" else 400
    return render_template("auth/login.html", form=form), status


def finish_sign_in(user: User, remember: bool, next_path: str, how: str = "password") -> Response:
    """Sign `user` in (their password, and their second factor if they have one, were
    right: `how`, as the audit trail tells it) and go to `next_path` (a local path
    only)."""
    twofactor.end_pending()
    record_sign_in(user, user.username, request.remote_addr or "", how)
    login_user(user, remember=remember)
    response = redirect(safe_next(next_path), 303)
    # Tells a front cache to pass this browser to the app (no secret in it).
    days = current_app.config["REMEMBER_DAYS"]
    response.set_cookie(
        AUTHOR_COOKIE,
        "1",
        max_age=days * 86400 if remember else None,
        httponly=True,
        samesite="Lax",
    )
    return response


WRONG_CODE = "That code is not right."


@csrf.exempt  # the forms check their own CSRF token, as the sign-in form does
@auth.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_USERNAME_RATE_LIMIT"],
    methods=["POST"],
    key_func=twofactor.pending_user_key,
    scope="second-factor-user",
)
def second_factor() -> Any:
    """The second step of signing in: a code from the author's app or a recovery code
    (or a passkey, auth/_passkey_second_factor.html) after a right password."""
    pending = twofactor.pending_sign_in()
    if pending is None:
        flash("That sign-in has ended (after 5 minutes, or signed out). Please sign in again.")
        return redirect(url_for("auth.login"), 303)
    code_form = TotpCodeForm()
    recovery_form = RecoveryCodeForm()
    status = 200
    if request.method == "POST":
        user = pending.user
        now = utcnow()
        if "recovery_code" in request.form:
            if recovery_form.validate_on_submit():
                if use_recovery_code(user, recovery_form.recovery_code.data, now):
                    left = recovery_codes_left(user)
                    mail_security_change(
                        user,
                        "A recovery code was used to sign in to your account "
                        f"({left} unused code{'s' if left != 1 else ''} left).",
                    )
                    flash(
                        f"Signed in with a recovery code; {left} left. Make new ones on "
                        "the security page if you are running short."
                    )
                    return finish_sign_in(
                        user, pending.remember, pending.next, "password and a recovery code"
                    )
                record_second_factor_refused(user, "recovery code", request.remote_addr or "")
                recovery_form.recovery_code.errors.append(WRONG_CODE)
                status = 401
            else:
                status = 400
        elif code_form.validate_on_submit():
            if check_code(user, code_form.code.data, now):
                return finish_sign_in(
                    user, pending.remember, pending.next, "password and an authenticator code"
                )
            record_second_factor_refused(user, "authenticator code", request.remote_addr or "")
            code_form.code.errors.append(WRONG_CODE)
            status = 401
        else:
            status = 400
    return render_template(
        "auth/second_factor.html",
        code_form=code_form,
        recovery_form=recovery_form,
        totp=totp_enabled(pending.user),
        pending=pending,
    ), status


@auth.post("/logout")
def logout() -> Any:
    """Sign out (a POST, so that no link or image can sign anyone out); also ends a
    sign-in waiting for its second factor."""
    if not current_user.is_authenticated:
        if twofactor.end_pending():
            flash("Sign-in cancelled.")
            return redirect(url_for("auth.login"), 303)
        return login_manager.unauthorized()
    twofactor.end_pending()
    # Every copy of this author's cookies stops working, not only this browser's.
    end_sessions(current_user._get_current_object())
    logout_user()
    flash("You are signed out.")
    response = redirect(url_for("blog.index"), 303)
    response.delete_cookie(AUTHOR_COOKIE)
    return response


@auth.before_app_request
def send_to_enrolment() -> Any:
    """While every author must use a second factor, one without is sent from every page
    of the authoring area to the page where they set one up."""
    path = request.path
    if not path.startswith("/manage/") or path.startswith(twofactor.ENROLMENT_PATH):
        return None
    if current_user.is_authenticated and twofactor.must_enrol(current_user):
        flash(
            "This blog asks every author to sign in with a second factor. Set one up "
            "below; the rest of the authoring area opens once you have."
        )
        return redirect(url_for("manage.security"), 303)
    return None
