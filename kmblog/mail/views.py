"""The signed links in mail: confirm an address, unsubscribe (one click, RFC 8058),
and see or end all of one's subscriptions. No sign-in: the signed token is the
authority, so these forms carry no CSRF token of their own and the one-click POST is
accepted from a mail provider's server, whatever site it says it comes from."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, render_template, request
from flask.wrappers import Response

from kmblog.context import current_settings
from kmblog.extensions import csrf
from kmblog.mail.services import (
    apply_unsubscribe,
    confirm_subscriber,
    end_subscriptions,
    find_subscriber,
    subscriptions_of,
)
from kmblog.mail.tokens import (
    read_confirm_token,
    read_subscriptions_token,
    read_unsubscribe_token,
)
from kmblog.models import utcnow
from kmblog.security import allow_cross_site_post

mail = Blueprint("mail", __name__, url_prefix="/mail")

BAD_LINK = (
    "This link is not one this blog sent, or it was damaged on the way "
    "(a mail program may have cut it): open it from the mail again."
)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    """A page for the holder of a link: never cached, never indexed."""
    response = make_response(
        render_template(template, settings=current_settings(), **context), status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@csrf.exempt
@mail.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    """Double opt-in: a button to confirm (a GET alone confirms nothing, since mail
    scanners open links); the POST confirms."""
    found = read_confirm_token(token)
    if found is None:
        abort(404, description=BAD_LINK + " A confirmation link works for 14 days.")
    if request.method == "GET":
        return _page("mail/confirm.html", token=token, email=found[1], done=False)
    subscriber = confirm_subscriber(*found, now=utcnow())
    if subscriber is None:
        abort(404, description="This address has no subscriptions any more.")
    return _page("mail/confirm.html", token=token, email=subscriber.email, done=True)


@csrf.exempt
@allow_cross_site_post
@mail.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Response:
    """GET: a page with one button. POST (that button, or a mail provider's one-click
    request with the body List-Unsubscribe=One-Click): unsubscribed."""
    target = read_unsubscribe_token(token)
    if target is None:
        abort(404, description=BAD_LINK)
    if request.method == "GET":
        return _page("mail/unsubscribe.html", token=token, target=target, ended=None)
    ended = apply_unsubscribe(target)
    return _page("mail/unsubscribe.html", token=token, target=target, ended=ended or "nothing left")


@csrf.exempt
@mail.route("/subscriptions/<token>", methods=["GET", "POST"])
def subscriptions(token: str) -> Response:
    """Every subscription of one address, each with a button to end it, and one to end
    them all."""
    found = read_subscriptions_token(token)
    subscriber = find_subscriber(*found) if found else None
    if found is None:
        abort(404, description=BAD_LINK)
    message = ""
    if subscriber is not None and request.method == "POST":
        choice = request.form.get("end", "")
        if choice == "all":
            ended = end_subscriptions(subscriber)
        elif choice.isascii() and choice.isdigit() and len(choice) < 10:
            ended = end_subscriptions(subscriber, subscription_id=int(choice))
        else:
            abort(400, description="Choose a subscription to end.")
        message = f"Ended {ended} subscription{'s' if ended != 1 else ''}."
    listed = subscriptions_of(subscriber) if subscriber is not None else []
    return _page(
        "mail/subscriptions.html",
        token=token,
        email=found[1],
        subscriptions=listed,
        message=message,
    )
