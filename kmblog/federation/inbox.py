"""Activities coming in: a signed POST to the blog's inbox is checked (signature, date,
digest, not seen before), then taken: Follow and Undo, replies (Create, Update and
Delete of a Note), Like and Announce.

Nothing is changed unless every check passes; the checks raise InboxRefusal with the
status the server gets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from kmblog.extensions import db
from kmblog.federation import blocks, client, documents, replies, services, signatures
from kmblog.models import (
    Follower,
    Reaction,
    ReactionKind,
    RemoteActor,
    SeenActivity,
)

MAX_BODY = 256 * 1024


class InboxRefusal(Exception):
    """The activity is refused: `status` (4xx) and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Inbound:
    """A POST to an inbox, as the view read it."""

    method: str
    path: str
    url: str
    headers: Mapping[str, str]
    body: bytes


def window() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("FEDERATION_SIGNATURE_WINDOW", 300)))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id_of(value: Any) -> str:
    """An object's id, whether given inline or as its address."""
    if isinstance(value, dict):
        return _text(value.get("id"))
    return _text(value)


def _actor_from(document: dict[str, Any]) -> dict[str, str] | None:
    key = document.get("publicKey")
    if isinstance(key, list):
        key = key[0] if key else None
    if not isinstance(key, dict):
        return None
    endpoints = document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    found = {
        "uri": _text(document.get("id")),
        "inbox": _text(document.get("inbox")),
        "shared_inbox": _text(shared),
        "key_id": _text(key.get("id")),
        "public_key_pem": _text(key.get("publicKeyPem")),
        "name": _text(document.get("name"))[:200],
        "username": _text(document.get("preferredUsername"))[:200],
        "url": _id_of(document.get("url"))[:2000],
    }
    if not (found["uri"] and found["inbox"] and found["key_id"] and found["public_key_pem"]):
        return None
    if any(len(found[name]) > 2000 for name in ("uri", "inbox", "shared_inbox", "key_id")):
        return None  # no address of ours is that long: not an actor we can keep
    if len(found["public_key_pem"]) > 20_000:
        return None
    return found


def fetch_actor(key_id: str, now: datetime) -> RemoteActor:
    """Fetch the actor owning `key_id` (signed: some servers want it) and keep it."""
    address = urldefrag(key_id).url
    with services.site_context():
        headers = services.signed_headers("GET", address, None, now)
    try:
        document = client.fetch_json(address, headers, services.limits())
        found = _actor_from(document)
        if found is None and isinstance(document.get("owner"), str):
            # A key document of its own: its owner is the actor.
            owner = document["owner"]
            with services.site_context():
                headers = services.signed_headers("GET", owner, None, now)
            found = _actor_from(client.fetch_json(owner, headers, services.limits()))
    except client.FetchError as error:
        raise InboxRefusal(401, f"the signing key could not be fetched: {error}") from error
    if found is None or found["key_id"] != key_id:
        raise InboxRefusal(401, "the signing key is not its actor's")
    for field in ("uri", "inbox", "shared_inbox", "url"):
        if found[field] and not found[field].lower().startswith(("https://", "http://")):
            raise InboxRefusal(400, "the actor's addresses are not web addresses")
    actor = db.session.scalar(select(RemoteActor).where(RemoteActor.uri == found["uri"]))
    if actor is None:
        actor = RemoteActor(uri=found["uri"])
        db.session.add(actor)
    actor.inbox = found["inbox"]
    actor.shared_inbox = found["shared_inbox"] or None
    actor.key_id = found["key_id"]
    actor.public_key_pem = found["public_key_pem"]
    actor.name = found["name"]
    actor.username = found["username"]
    actor.url = found["url"]
    actor.fetched_at = now
    db.session.flush()
    return actor


def _rfc9421_actor(inbound: Inbound, now: datetime) -> tuple[RemoteActor, str]:
    """The actor whose key made the request's RFC 9421 signature (its key fetched
    afresh when the one we hold does not verify it: keys are rotated)."""
    signer: list[RemoteActor] = []
    for fresh in (False, True):

        def public_key(key_id: str, fresh: bool = fresh) -> str:
            actor = None
            if not fresh:
                actor = db.session.scalar(select(RemoteActor).where(RemoteActor.key_id == key_id))
            if actor is None:
                actor = fetch_actor(key_id, now)
            signer.append(actor)
            return actor.public_key_pem

        try:
            raw = signatures.verify_rfc9421(
                inbound.method, inbound.url, inbound.headers, inbound.body, public_key, window()
            )
        except signatures.SignatureError as error:
            if fresh or not signer:
                raise InboxRefusal(401, str(error)) from error
            signer.clear()
            continue
        return signer[-1], raw
    raise InboxRefusal(401, "the signature does not match")


def _verified_actor(inbound: Inbound, now: datetime) -> tuple[RemoteActor, str]:
    """The actor whose key signed the request (RFC 9421 or draft-cavage), and its
    signature; refused when it is not signed right."""
    if signatures.is_rfc9421(inbound.headers):
        return _rfc9421_actor(inbound, now)
    lowered = {name.lower(): value for name, value in inbound.headers.items()}
    try:
        signature = signatures.parse_signature(
            lowered.get("signature") or lowered.get("authorization")
        )
    except signatures.SignatureError as error:
        raise InboxRefusal(401, str(error)) from error
    known = db.session.scalar(select(RemoteActor).where(RemoteActor.key_id == signature.key_id))
    tries: list[RemoteActor | None] = [known] if known is not None else []
    tries.append(None)  # fetched afresh: a new key, or an actor we have not met
    last = "the signature does not match"
    for actor in tries:
        if actor is None:
            actor = fetch_actor(signature.key_id, now)
        try:
            signatures.verify_request(
                inbound.method,
                inbound.path,
                lowered,
                inbound.body,
                signature,
                actor.public_key_pem,
                now,
                window(),
            )
        except signatures.SignatureError as error:
            last = str(error)
            if "Date" in last or "Digest" in last or "leaves out" in last:
                break  # a fresh key would not change these
            continue
        return actor, signature.raw
    raise InboxRefusal(401, last)


def _remember(key: str, now: datetime) -> bool:
    """Record a signature or activity as seen; False when it was seen before."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    try:
        with db.session.begin_nested():
            db.session.add(SeenActivity(key=digest, seen_at=now))
    except IntegrityError:
        return False
    return True


def forget_seen(before: datetime) -> None:
    """Seen signatures older than twice the window can no longer be replayed (their Date
    is refused by then)."""
    db.session.execute(delete(SeenActivity).where(SeenActivity.seen_at < before))


def receive(inbound: Inbound, now: datetime) -> int:
    """Check and take an inbound activity; the status to answer (202, or 200 for one
    already taken). Raises InboxRefusal (nothing changed)."""
    if len(inbound.body) > MAX_BODY:
        raise InboxRefusal(413, "the activity is too large")
    try:
        activity = json.loads(inbound.body)
    except (ValueError, RecursionError) as error:
        raise InboxRefusal(400, "the body is not JSON") from error
    if not isinstance(activity, dict) or not _text(activity.get("type")):
        raise InboxRefusal(400, "the body is not an activity")
    with services.site_context():
        try:
            if blocks.is_blocked(_id_of(activity.get("actor"))):
                # Before any fetch: a blocked server is not even asked for its key.
                raise InboxRefusal(403, blocks.BLOCKED_ERROR)
            actor, signature = _verified_actor(inbound, now)
            if _id_of(activity.get("actor")) != actor.uri:
                raise InboxRefusal(401, "the activity's actor did not sign it")
            if blocks.is_blocked(actor.uri, actor.key_id, actor.inbox, actor.shared_inbox or ""):
                raise InboxRefusal(403, blocks.BLOCKED_ERROR)
            if not _remember("sig:" + signature, now):
                raise InboxRefusal(401, "this signed request was received before")
            activity_id = _id_of(activity.get("id"))
            if activity_id and not _remember("id:" + activity_id, now):
                db.session.commit()  # a retry of one taken: the signature is remembered
                return 200
            after: replies.AfterCommit = []
            try:
                _take(activity, actor, now, after)
            except replies.ReplyRefusal as refusal:
                raise InboxRefusal(refusal.status, str(refusal)) from refusal
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    for job in after:
        job()
    return 202


def _take(
    activity: dict[str, Any], actor: RemoteActor, now: datetime, after: replies.AfterCommit
) -> None:
    kind = _text(activity.get("type"))
    obj = activity.get("object")
    if kind == "Follow":
        _follow(activity, actor, now, after)
    elif kind == "Undo":
        _undo(obj, actor)
    elif kind in {"Like", "Announce"}:
        _react(activity, actor, now)
    elif kind == "Create":
        replies.create_reply(obj, actor, now, after)
    elif kind == "Update":
        if isinstance(obj, dict) and obj.get("type") == "Note":
            replies.update_reply(obj, actor, now)
    elif kind == "Delete":
        _delete(obj, actor)
    # Anything else (Accept, Reject, Move, ...) is nothing for a blog to do.


def _followed(address: str) -> tuple[str, documents.Actor] | None:
    """The local actor an address names: the blog, or an author whose own actor is on
    (its owner name and addresses)."""
    blog = services.blog_actor()
    if address == blog.id:
        return services.BLOG, blog
    prefix = services.absolute("/ap/users/")
    number = address[len(prefix) :] if address.startswith(prefix) else ""
    author = services.acting_author(int(number)) if number.isdigit() and len(number) < 10 else None
    if author is None:
        return None
    return services.author_owner(author.id), services.author_actor(author)


def _follow(
    activity: dict[str, Any], actor: RemoteActor, now: datetime, after: replies.AfterCommit
) -> None:
    followed = _followed(_id_of(activity.get("object")))
    if followed is None:
        raise InboxRefusal(404, "no such account here to follow")
    owner, blog = followed
    follower = db.session.scalar(
        select(Follower).where(Follower.actor_id == actor.id, Follower.local_actor == owner)
    )
    if follower is None:
        follower = Follower(actor_id=actor.id, local_actor=owner, created_at=now)
        db.session.add(follower)
    follower.follow_uri = _id_of(activity.get("id"))[:2000]
    follow = {
        "id": _id_of(activity.get("id")),
        "type": "Follow",
        "actor": actor.uri,
        "object": blog.id,
    }
    accept = {
        "@context": documents.CONTEXT,
        "id": f"{blog.id}#accept-{hashlib.sha256(follow['id'].encode()).hexdigest()[:16]}",
        "type": "Accept",
        "actor": blog.id,
        "object": follow,
    }
    ids = [
        delivery.id
        for delivery in services.queue_deliveries(accept, [actor.inbox], now, signer=owner)
    ]
    after.append(lambda: services.deliver_later(ids))


def _undo(obj: Any, actor: RemoteActor) -> None:
    """Undo of a Follow (the follower leaves the blog or the author it followed), a Like
    or an Announce (uncounted)."""
    undone = _id_of(obj)
    kind = _text(obj.get("type")) if isinstance(obj, dict) else ""
    follows = list(db.session.scalars(select(Follower).where(Follower.actor_id == actor.id)))
    named = [follower for follower in follows if undone and undone == follower.follow_uri]
    if not named and kind == "Follow" and isinstance(obj, dict):
        # The Follow by what it followed (its id may not be the one stored).
        followed = _followed(_id_of(obj.get("object")))
        owners = {followed[0]} if followed is not None else set()
        named = [f for f in follows if f.local_actor in owners or len(follows) == 1]
    for follower in named:
        db.session.delete(follower)
    if undone:
        db.session.execute(
            delete(Reaction).where(Reaction.activity_uri == undone, Reaction.actor_uri == actor.uri)
        )


def _react(activity: dict[str, Any], actor: RemoteActor, now: datetime) -> None:
    post = replies.post_named(_id_of(activity.get("object")), now)
    if post is None:
        raise InboxRefusal(404, "no such post here")
    activity_id = _id_of(activity.get("id"))
    if not activity_id:
        raise InboxRefusal(400, "the activity has no id")
    kind = ReactionKind.LIKE if activity.get("type") == "Like" else ReactionKind.ANNOUNCE
    db.session.add(
        Reaction(
            post_id=post.id,
            kind=kind,
            activity_uri=activity_id[:2000],
            actor_uri=actor.uri,
            created_at=now,
        )
    )


def _delete(obj: Any, actor: RemoteActor) -> None:
    gone = _id_of(obj)
    if gone == actor.uri:
        # The account itself is gone: it follows nothing any more.
        db.session.execute(delete(Follower).where(Follower.actor_id == actor.id))
        return
    replies.delete_reply(gone, actor)
