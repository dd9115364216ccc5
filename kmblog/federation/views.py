"""The blog's fediverse addresses: WebFinger, NodeInfo, the actor and its inbox, outbox
and followers, and each post as an Article (also at the post's own address, for a
client that asks for ActivityStreams: see kmblog.blog.views.post)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import login_required

from kmblog.context import current_settings
from kmblog.extensions import csrf, limiter
from kmblog.federation import inbox, services
from kmblog.federation.responses import JRD, article_response, as_json
from kmblog.models import MAX_ID, utcnow

federation = Blueprint("federation", __name__)
csrf.exempt(federation)  # servers post here, signed with HTTP Signatures, not forms

NODEINFO_PROFILE = "http://nodeinfo.diaspora.software/ns/schema/2.1"


@federation.get("/manage/fediverse")
@login_required
def manage() -> str:
    """The authoring area's view of the fediverse: the handle, followers, deliveries."""
    return render_template(
        "federation/manage.html", overview=services.overview(), settings=current_settings()
    )


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
