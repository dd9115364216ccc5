"""Signing in and out."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from kmblog.auth.forms import LoginForm
from kmblog.auth.services import authenticate, end_sessions, find_session_user
from kmblog.auth.twofactor import PENDING_KEY, PENDING_SECONDS, has_second_factor
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
        if user is not None:
            remember = bool(form.remember.data)
            next_path = safe_next(form.next.data)
            if has_second_factor(user):
                # The password was right; the sign-in waits for the second factor.
                session[PENDING_KEY] = {
                    "user": user.get_id(),
                    "remember": remember,
                    "next": next_path,
                    "at": int(time.time()),
                }
                return redirect(url_for("auth.second_factor"), 303)
            return finish_sign_in(user, remember, next_path)
        form.password.errors.append("That username and password do not match an active account.")
        return render_template("auth/login.html", form=form), 401
    status = 200 if request.method == "GET" else 400
    return render_template("auth/login.html", form=form), status


def finish_sign_in(user: User, remember: bool, next_path: str) -> Response:
    """Sign `user` in (every factor checked) and send them to `next_path`, a local path."""
    session.pop(PENDING_KEY, None)
    login_user(user, remember=remember)
    response = redirect(next_path, 303)
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


def pending_sign_in() -> tuple[User, dict[str, Any]] | None:
    """The author whose password was right and who now owes the second factor, with the
    pending state; None when there is none, it is older than PENDING_SECONDS, or the
    account changed since (signed out everywhere, disabled)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    at = pending.get("at")
    if not isinstance(at, int | float) or not 0 <= time.time() - at <= PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = find_session_user(str(pending.get("user", "")))
    if user is None:
        session.pop(PENDING_KEY, None)
        return None
    return user, pending


@auth.get("/login/second-factor")
def second_factor() -> Any:
    """The second step of signing in, after a correct password."""
    found = pending_sign_in()
    if found is None:
        flash("Sign in with your username and password first.")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/second_factor.html", user=found[0])


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
