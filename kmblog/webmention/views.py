"""Where other sites send mentions (Webmention, Pingback), and the authors' list of
mentions received."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from kmblog.context import current_settings
from kmblog.extensions import csrf, db, limiter
from kmblog.models import CommentStatus, MentionProtocol, Webmention, utcnow
from kmblog.webmention import pingback
from kmblog.webmention.forms import MentionActionForm
from kmblog.webmention.services import (
    MentionRefused,
    mentions_for,
    own_hosts,
    receive_mention,
    set_mention_status,
)

mentions_blueprint = Blueprint("webmention", __name__)

TEXT = {"Content-Type": "text/plain; charset=utf-8"}
XML = {"Content-Type": "text/xml; charset=utf-8"}


def _rate_limit() -> str:
    return str(current_app.config["WEBMENTION_RATE_LIMIT"])


@csrf.exempt
@mentions_blueprint.post("/webmention")
@limiter.limit(_rate_limit)
def webmention() -> Any:
    """A Webmention (source, target): stored, answered 202, verified by a job."""
    try:
        receive_mention(
            request.form.get("source", ""),
            request.form.get("target", ""),
            own_hosts(request.host),
            utcnow(),
        )
    except MentionRefused as error:
        return f"{error}\n", 400, TEXT
    return "Accepted: the source will be checked for a link to the post.\n", 202, TEXT


@mentions_blueprint.get("/webmention")
def webmention_help() -> Any:
    """What a person who opens the endpoint in a browser is told."""
    return (
        "This is the blog's Webmention endpoint: POST source and target "
        "(application/x-www-form-urlencoded).\n",
        200,
        TEXT,
    )


@csrf.exempt
@mentions_blueprint.post("/xmlrpc", endpoint="pingback")
@limiter.limit(_rate_limit)
def pingback_view() -> Any:
    """Pingback's XML-RPC call, received as a mention."""
    try:
        call = pingback.parse_call(request.get_data(cache=False))
        receive_mention(
            call.source, call.target, own_hosts(request.host), utcnow(), MentionProtocol.PINGBACK
        )
    except pingback.PingbackFault as error:
        return pingback.fault(error), 200, XML
    except MentionRefused as error:
        refusal = pingback.PingbackFault(pingback.TARGET_NOT_USABLE, str(error))
        return pingback.fault(refusal), 200, XML
    return pingback.answer("Pingback received; the source will be checked."), 200, XML


@mentions_blueprint.get("/manage/mentions")
@login_required
def mentions() -> str:
    """Mentions of the author's posts (every post's, for admins), newest first."""
    moderator = None if current_user.is_admin else current_user.id
    return render_template(
        "manage/mentions.html",
        mentions=mentions_for(moderator),
        form=MentionActionForm(),
        settings=current_settings(),
    )


@mentions_blueprint.post("/manage/mentions/<int:mention_id>")
@login_required
def moderate_mention(mention_id: int) -> Any:
    """Approve or delete one mention (and a reply's comment)."""
    form = MentionActionForm()
    if not form.validate_on_submit():
        abort(400, description="The form had expired: please try again.")
    mention = db.get_or_404(Webmention, mention_id)
    if not current_user.is_admin and mention.post.author_id != current_user.id:
        abort(403)
    status = CommentStatus.PUBLISHED if form.action.data == "approve" else CommentStatus.DELETED
    set_mention_status(mention, status, utcnow())
    flash("Mention approved." if status == CommentStatus.PUBLISHED else "Mention deleted.")
    return redirect(url_for("webmention.mentions"), 303)
