"""The blog's fediverse addresses: WebFinger, NodeInfo, the actor and its inbox, outbox
and followers, and each post as an Article (also at the post's own address, for a
client that asks for ActivityStreams: see kmblog.blog.views.post)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from kmblog.context import current_settings
from kmblog.extensions import csrf, limiter
from kmblog.federation import blocks, inbox, services
from kmblog.federation.forms import BlockForm, UnblockForm
from kmblog.federation.responses import JRD, article_response, as_json
from kmblog.models import MAX_ID, BlockKind, User, utcnow

federation = Blueprint("federation", __name__)
csrf.exempt(federation)  # servers post here, signed with HTTP Signatures, not forms

NODEINFO_PROFILE = "http://nodeinfo.diaspora.software/ns/schema/2.1"


@federation.get("/manage/fediverse")
@login_required
def manage() -> Any:
    """The authoring area's view of the fediverse: the handle, followers, deliveries."""
    return _manage_page(BlockForm())


def _manage_page(form: BlockForm, status: int = 200) -> Any:
    admin = current_user.is_admin
    return (
        render_template(
            "federation/manage.html",
            overview=services.overview(current_user._get_current_object()),
            settings=current_settings(),
            block_form=form if admin else None,
            blocks=blocks.all_blocks() if admin else [],
        ),
        status,
    )


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403, description="Only an administrator may block or unblock.")


@federation.post("/manage/fediverse/blocks")
@login_required
def block() -> Any:
    """Block a server or an account: its activities refused, its follows and comments
    gone from here, nothing more sent to it."""
    _admin_only()
    form = BlockForm()
    if not form.validate_on_submit():
        return _manage_page(form, 400)
    try:
        done = blocks.block(
            BlockKind(form.kind.data),
            form.value.data or "",
            utcnow(),
            by=current_user._get_current_object(),
        )
    except blocks.BlockRefusal as refusal:
        form.value.errors = [str(refusal)]
        return _manage_page(form, 400)
    flash(
        f"Blocked {done.block.value}. Follows removed: {done.followers_removed}; "
        f"comments hidden: {done.comments_hidden}; deliveries dropped: "
        f"{done.deliveries_dropped}."
    )
    return redirect(url_for("federation.manage"), 303)


@federation.post("/manage/fediverse/blocks/<int:block_id>/delete")
@login_required
def unblock(block_id: int) -> BaseResponse:
    """Hear from a server or an account again."""
    _admin_only()
    if not UnblockForm().validate_on_submit():
        abort(400, description="The form expired; please try again.")
    by = current_user._get_current_object()
    found = blocks.unblock(block_id, by=by) if block_id <= MAX_ID else None
    if found is None:
        abort(404, description="There is no such block.")
    flash(f"Unblocked {found.value}.")
    return redirect(url_for("federation.manage"), 303)


@federation.get("/.well-known/webfinger")
def webfinger() -> Response:
    """acct:handle@host to the blog's actor."""
    resource = request.args.get("resource", "")
    if not resource:
        abort(400, description="Ask for a resource, e.g. acct:blog@this-host.")
    found = services.webfinger(resource)
    if found is None:
        abort(404, description="There is no such account here.")
    return as_json(found, JRD)


@federation.get("/.well-known/nodeinfo")
def nodeinfo_links() -> Response:
    """Where the NodeInfo document is."""
    return as_json(
        {
            "links": [
                {
                    "rel": NODEINFO_PROFILE,
                    "href": services.absolute(url_for("federation.nodeinfo")),
                }
            ]
        },
        "application/json",
    )


@federation.get("/nodeinfo/2.1")
def nodeinfo() -> Response:
    """NodeInfo 2.1: the software, the protocol, how many posts."""
    return as_json(
        services.nodeinfo_document(utcnow()),
        f'application/json; profile="{NODEINFO_PROFILE}#"',
    )


@federation.get("/ap/actor")
def actor() -> Response:
    """The blog as an ActivityPub actor."""
    return as_json(services.actor_document())


@federation.get("/ap/actor/outbox")
def outbox() -> Response:
    """The blog's public posts as Create activities, newest first."""
    before = request.args.get("before", type=int)
    if before is not None and not 0 <= before <= MAX_ID:
        abort(404)
    return as_json(services.outbox(before, utcnow()))


@federation.get("/ap/actor/followers")
def followers() -> Response:
    """How many follow the blog."""
    return as_json(services.followers_document())


def _acting_author(user_id: int) -> User:
    """An author whose own actor is on; 404 for anyone else (theirs is off by default)."""
    author = services.acting_author(user_id) if user_id <= MAX_ID else None
    if author is None:
        abort(404, description="There is no such account here.")
    return author


@federation.get("/ap/users/<int:user_id>")
def author(user_id: int) -> Response:
    """An author's own actor, when they turned it on."""
    return as_json(services.author_document(_acting_author(user_id)))


@federation.get("/ap/users/<int:user_id>/outbox")
def author_outbox(user_id: int) -> Response:
    """An author's public posts as Create activities, newest first."""
    found = _acting_author(user_id)
    before = request.args.get("before", type=int)
    if before is not None and not 0 <= before <= MAX_ID:
        abort(404)
    return as_json(services.outbox(before, utcnow(), author=found))


@federation.get("/ap/users/<int:user_id>/followers")
def author_followers(user_id: int) -> Response:
    """How many follow an author's own actor."""
    return as_json(services.followers_document(_acting_author(user_id)))


@federation.post("/ap/users/<int:user_id>/inbox")
@limiter.exempt
def author_inbox(user_id: int) -> Response:
    """Activities from other servers for an author's own actor, signed."""
    _acting_author(user_id)
    return _receive()


@federation.get("/ap/posts/<int:post_id>")
def article(post_id: int) -> Response:
    """A published post as an Article."""
    post = services.find_visible_post(post_id, utcnow()) if post_id <= MAX_ID else None
    if post is None:
        abort(404, description="There is no post with this number.")
    return article_response(post)


def _receive() -> Response:
    length = request.content_length
    if length is not None and length > inbox.MAX_BODY:
        return _refused(413, "the activity is too large")
    body = request.stream.read(inbox.MAX_BODY + 1)
    path = request.full_path if request.query_string else request.path
    try:
        status = inbox.receive(
            inbox.Inbound(request.method, path, request.url, dict(request.headers), body),
            utcnow(),
        )
    except inbox.InboxRefusal as refusal:
        return _refused(refusal.status, refusal.reason)
    return Response(status=status)


def _refused(status: int, reason: str) -> Response:
    return Response(json.dumps({"error": reason}), status=status, content_type="application/json")


@federation.post("/ap/inbox")
@limiter.exempt  # signed server traffic: a forged signature costs its sender a 401
def shared_inbox() -> Response:
    """Activities from other servers for anyone here (the blog), signed."""
    return _receive()


@federation.post("/ap/actor/inbox")
@limiter.exempt
def actor_inbox() -> Response:
    """Activities from other servers for the blog, signed."""
    return _receive()
