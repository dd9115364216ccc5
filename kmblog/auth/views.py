"""Signing in and out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kmblog.audit.services import record_sign_in
from kmblog.auth.forms import LoginForm
from kmblog.auth.services import authenticate, end_sessions, find_session_user
from kmblog.extensions import csrf, limiter, login_manager
from kmblog.models import User

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
        record_sign_in(user, form.username.data, request.remote_addr or "")
        if user is not None:
            login_user(user, remember=form.remember.data)
            response = redirect(safe_next(form.next.data), 303)
            # Tells a front cache to pass this browser to the app (no secret in it).
            days = current_app.config["REMEMBER_DAYS"]
            response.set_cookie(
                AUTHOR_COOKIE,
                "1",
                max_age=days * 86400 if form.remember.data else None,
                httponly=True,
                samesite="Lax",
            )
            return response
        form.password.errors.append("That username and password do not match an active account.")
        return render_template("auth/login.html", form=form), 401
    status = 200 if request.method == "GET" else 400
    return render_template("auth/login.html", form=form), status


@auth.post("/logout")
@login_required
def logout() -> Any:
    """Sign out (a POST, so that no link or image can sign anyone out)."""
    # Every copy of this author's cookies stops working, not only this browser's.
    end_sessions(current_user._get_current_object())
    logout_user()
    flash("You are signed out.")
    response = redirect(url_for("blog.index"), 303)
    response.delete_cookie(AUTHOR_COOKIE)
    return response
