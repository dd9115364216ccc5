"""The blog as an ActivityPub actor: its addresses and key, the documents it serves,
and the deliveries of its posts to followers.

A post's change is written as a FederationEvent in the same transaction as the change
(record_post_change); a job turns it into one Delivery per follower server (fan_out),
and a job per delivery signs and sends it (deliver), retried with backoff by the queue
and given up after FEDERATION_DELIVERY_ATTEMPTS tries.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import current_app, url_for
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from kmblog import jobs, outbound
from kmblog.blog.queries import Cursor, older_than, visible
from kmblog.extensions import db
from kmblog.federation import blocks, client, documents, signatures
from kmblog.federation.documents import Actor
from kmblog.mail.services import base_url
from kmblog.models import (
    Delivery,
    DeliveryStatus,
    FederationEvent,
    FederationEventKind,
    FederationKey,
    Follower,
    Post,
    RemoteActor,
    User,
    utcnow,
)
from kmblog.rendering import absolute_media, shown_images
from kmblog.settings import get_settings
from kmblog.urls import label_url, post_url
from kmblog.webmention import web as social_web

log = logging.getLogger(__name__)

FAN_OUT = "federation.fan_out"
DELIVER = "federation.deliver"
SWEEP = "federation.sweep"
BLOG = "blog"
OUTBOX_PAGE_SIZE = 20


class DeliveryFailed(Exception):
    """This try failed; the queue tries again later (raised for it to see)."""


# -- Addresses -------------------------------------------------------------------------


def handle() -> str:
    return str(current_app.config.get("FEDERATION_HANDLE") or BLOG)


def host() -> str:
    """The host of the blog's fediverse address (@handle@host): BASE_URL's."""
    return urlsplit(base_url()).netloc


def absolute(path: str) -> str:
    return base_url() + path


def blog_actor() -> Actor:
    """The blog's actor. Its addresses never contain the handle, so that changing the
    handle keeps every follower."""
    return Actor(
        id=absolute(url_for("federation.actor")),
        handle=handle(),
        home=absolute(url_for("blog.index")),
        inbox=absolute(url_for("federation.actor_inbox")),
        shared_inbox=absolute(url_for("federation.shared_inbox")),
        outbox=absolute(url_for("federation.outbox")),
        followers=absolute(url_for("federation.followers")),
    )


def author_owner(user_id: int) -> str:
    """The name an author's actor goes by in keys, followers and deliveries."""
    return f"user:{user_id}"


def author_actor(user: User) -> Actor:
    """An author's own actor (whether or not they turned it on): by their number, so
    that a new username keeps its followers."""
    return Actor(
        id=absolute(url_for("federation.author", user_id=user.id)),
        handle=user.username,
        home=absolute(url_for("blog.profile", username=user.username)),
        inbox=absolute(url_for("federation.author_inbox", user_id=user.id)),
        shared_inbox=absolute(url_for("federation.shared_inbox")),
        outbox=absolute(url_for("federation.author_outbox", user_id=user.id)),
        followers=absolute(url_for("federation.author_followers", user_id=user.id)),
    )


def acting_author(user_id: int | None) -> User | None:
    """The author whose own actor is on (None: no such author, or theirs is off)."""
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.fediverse_actor and user.active else None


def local_actor(owner: str) -> Actor | None:
    """The actor an owner name ("blog", "user:<id>") stands for, if it is on."""
    if owner == BLOG:
        return blog_actor()
    kind, _, number = owner.partition(":")
    if kind != "user" or not number.isdigit():
        return None
    user = acting_author(int(number))
    return author_actor(user) if user is not None else None


def article_id(post_id: int) -> str:
    """A post's ActivityPub id: by its number, so it survives a new slug or date."""
    return absolute(url_for("federation.article", post_id=post_id))


@contextmanager
def site_context() -> Iterator[None]:
    """A request context at the blog's address, so that url_for works in a worker."""
    parts = urlsplit(base_url())
    with current_app.test_request_context(
        "/", base_url=f"{parts.scheme}://{parts.netloc}{parts.path}"
    ):
        yield


def limits() -> outbound.Limits:
    config = current_app.config
    return outbound.Limits(
        allow_loopback=outbound.loopback_allowed(config),
        seconds=float(config.get("FEDERATION_TIMEOUT", 10)),
        max_bytes=int(config.get("FEDERATION_MAX_BYTES", 1_000_000)),
        user_agent=client.USER_AGENT,
    )


# -- The key ---------------------------------------------------------------------------


def actor_key(owner: str = BLOG) -> FederationKey:
    """A local actor's keypair (the blog's, or an author's own), made on first use (by
    whichever server or worker comes first: the others read the row it wrote)."""
    key = db.session.scalar(select(FederationKey).where(FederationKey.owner == owner))
    if key is not None:
        return key
    private, public = signatures.generate_keypair()
    try:
        with db.session.begin_nested():
            key = FederationKey(owner=owner, private_key_pem=private, public_key_pem=public)
            db.session.add(key)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        key = db.session.scalars(select(FederationKey).where(FederationKey.owner == owner)).one()
    return key


def blog_key() -> FederationKey:
    return actor_key(BLOG)


def signed_headers(
    method: str, url: str, body: bytes | None, now: datetime, signer: str = BLOG
) -> dict[str, str]:
    """Headers signing a request with `signer`'s key (the blog's when that actor is
    off now: its deliveries still go out, signed by an actor that exists)."""
    actor = local_actor(signer)
    if actor is None:
        signer, actor = BLOG, blog_actor()
    key = actor_key(signer)
    return signatures.sign_request(method, url, body, actor.key_id, key.private_key_pem, now)


# -- Documents -------------------------------------------------------------------------


def actor_document() -> dict[str, Any]:
    settings = get_settings()
    return documents.actor_document(
        blog_actor(), settings.title, settings.description, blog_key().public_key_pem
    )


def author_document(user: User) -> dict[str, Any]:
    """An author's own actor: their name, their bio as its summary, their key."""
    return documents.actor_document(
        author_actor(user),
        user.display_name,
        user.bio,
        actor_key(author_owner(user.id)).public_key_pem,
    )


def _author_named(resource: str) -> User | None:
    """The author (actor on) that acct:username@host or their actor's address names."""
    wanted = resource.lower()
    if wanted.startswith("acct:"):
        name, _, at = wanted[len("acct:") :].lstrip("@").rpartition("@")
        if at != host().lower() or not name:
            return None
        user = db.session.scalar(select(User).where(func.lower(User.username) == name))
    else:
        prefix = absolute("/ap/users/").lower()
        number = wanted[len(prefix) :] if wanted.startswith(prefix) else ""
        user = db.session.get(User, int(number)) if number.isdigit() else None
    return acting_author(user.id) if user is not None else None


def webfinger(resource: str) -> dict[str, Any] | None:
    """The WebFinger answer for acct:handle@host (or the actor's own address), the
    blog's or an author's whose own actor is on."""
    actor = blog_actor()
    wanted = resource.strip()
    accepted = {f"acct:{handle()}@{host()}".lower(), actor.id.lower(), actor.home.lower()}
    subject = f"acct:{handle()}@{host()}"
    if wanted.lower() not in accepted:
        author = _author_named(wanted) if len(wanted) <= 2000 else None
        if author is None:
            return None
        actor, subject = author_actor(author), f"acct:{author.username}@{host()}"
    return {
        "subject": subject,
        "aliases": [actor.id, actor.home],
        "links": [
            {"rel": "self", "type": client.ACTIVITY_JSON, "href": actor.id},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": actor.home,
            },
        ],
    }


def _media_type(address: str) -> str | None:
    """An image's type by its name (an uploaded image's is ours: its format's); None
    when the name does not say."""
    guessed = mimetypes.guess_type(urlsplit(address).path)[0]
    return guessed if guessed and guessed.startswith("image/") else None


def attachments_of(post: Post) -> tuple[documents.Attachment, ...]:
    """The post's images (uploaded or linked), by absolute address, with their alt
    text. No query: the stored HTML has what it takes."""
    found = []
    for image in shown_images(post.body_html):
        address = urljoin(base_url() + "/", image.src)
        if urlsplit(address).scheme not in {"http", "https"}:
            continue
        found.append(
            documents.Attachment(
                address, _media_type(address), image.alt, image.width, image.height
            )
        )
    return tuple(found)


def attributed_actor(post: Post) -> Actor:
    """Whom a post is attributed to: its author's own actor when it is on, else the
    blog."""
    author = post.author
    if author.fediverse_actor and author.active:
        return author_actor(author)
    return blog_actor()


def article_of(post: Post) -> dict[str, Any]:
    """A visible post as an Article."""
    return documents.article(
        post,
        article_id(post.id),
        absolute(post_url(post)),
        attributed_actor(post),
        {label.name: absolute(label_url(label.name)) for label in post.labels},
        content=absolute_media(post.body_html, base_url()),
        attachments=attachments_of(post),
    )


def find_visible_post(post_id: int, now: datetime) -> Post | None:
    return db.session.scalar(select(Post).where(Post.id == post_id, visible(now)))


def article_document(post: Post) -> dict[str, Any]:
    return documents.with_context(article_of(post))


def outbox(before: int | None, now: datetime, author: User | None = None) -> dict[str, Any]:
    """The outbox (the blog's, or with `author` theirs: their posts only): its size and
    first page, or (with `before`, a post id; 0 for the start) a page of Create
    activities, newest first, keyset-paged."""
    actor = blog_actor() if author is None else author_actor(author)
    mine = visible(now) if author is None else visible(now) & (Post.author_id == author.id)

    def page(start: int) -> str:
        if author is None:
            return absolute(url_for("federation.outbox", before=start))
        return absolute(url_for("federation.author_outbox", user_id=author.id, before=start))

    if before is None:
        total = db.session.scalar(select(func.count()).select_from(Post).where(mine)) or 0
        return documents.collection(actor.outbox, total, page(0))
    query = select(Post).options(joinedload(Post.author)).where(mine)
    if before:
        cursor_post = db.session.get(Post, before)
        if cursor_post is not None and cursor_post.published_at is not None:
            query = query.where(older_than(Cursor.of(cursor_post)))
    posts = list(
        db.session.scalars(
            query.order_by(Post.published_at.desc(), Post.id.desc()).limit(OUTBOX_PAGE_SIZE)
        ).unique()
    )
    items = [
        documents.activity("Create", article_id(post.id) + "#create", actor, article_of(post))
        for post in posts
    ]
    for item in items:
        item.pop("@context")
    next_page = page(posts[-1].id) if len(posts) == OUTBOX_PAGE_SIZE else None
    return documents.collection_page(page(before), actor.outbox, items, next_page)


def followers_document(author: User | None = None) -> dict[str, Any]:
    """How many follow the blog, or an author's own actor (who they are is theirs to
    say)."""
    owner = BLOG if author is None else author_owner(author.id)
    total = (
        db.session.scalar(
            select(func.count()).select_from(Follower).where(Follower.local_actor == owner)
        )
        or 0
    )
    actor = blog_actor() if author is None else author_actor(author)
    return documents.collection(actor.followers, total)


@dataclass(frozen=True)
class Overview:
    """What the authoring area shows of the fediverse: who follows, what went out."""

    address: str
    follower_count: int
    followers: list[Follower]
    deliveries: list[Delivery]
    failed: int
    # The viewer's own actor, when they turned it on: its address and its followers.
    own_address: str | None = None
    own_follower_count: int = 0
    # Which actor each follower follows and each delivery comes from ("blog",
    # "user:<id>"), as the page names it ("the blog", "@name").
    actor_names: dict[str, str] = field(default_factory=dict)


def overview(viewer: User, limit: int = 50) -> Overview:
    """The newest followers and deliveries (and how many deliveries failed), in five
    queries: an admin sees every actor's, an author the blog's and their own actor's."""
    own = author_owner(viewer.id)
    owners = None if viewer.is_admin else (BLOG, own)

    def of(query: Any, column: Any) -> Any:
        return query if owners is None else query.where(column.in_(owners))

    followers = list(
        db.session.scalars(
            of(select(Follower), Follower.local_actor)
            .options(joinedload(Follower.actor))
            .order_by(Follower.created_at.desc(), Follower.id.desc())
            .limit(limit)
        )
    )
    deliveries = list(
        db.session.scalars(
            of(select(Delivery), Delivery.signer).order_by(Delivery.id.desc()).limit(limit)
        )
    )
    failed = db.session.scalar(
        of(select(func.count()).select_from(Delivery), Delivery.signer).where(
            Delivery.status == DeliveryStatus.FAILED
        )
    )
    counts = dict(
        db.session.execute(
            select(Follower.local_actor, func.count())
            .where(Follower.local_actor.in_((BLOG, own)))
            .group_by(Follower.local_actor)
        ).all()
    )
    # The authors' handles, for the rows of other authors' actors an admin sees.
    numbers = {
        int(owner.partition(":")[2])
        for owner in {f.local_actor for f in followers} | {d.signer for d in deliveries}
        if owner.startswith("user:") and owner.partition(":")[2].isdigit()
    }
    names = {BLOG: "the blog"}
    if numbers:
        for number, username in db.session.execute(
            select(User.id, User.username).where(User.id.in_(numbers))
        ):
            names[author_owner(number)] = f"@{username}"
    return Overview(
        f"@{handle()}@{host()}",
        counts.get(BLOG, 0),
        followers,
        deliveries,
        failed or 0,
        own_address=f"@{viewer.username}@{host()}" if viewer.fediverse_actor else None,
        own_follower_count=counts.get(own, 0),
        actor_names=names,
    )


def nodeinfo_document(now: datetime) -> dict[str, Any]:
    settings = get_settings()
    posts = db.session.scalar(select(func.count()).select_from(Post).where(visible(now))) or 0
    try:
        version = package_version("kmblog")
    except PackageNotFoundError:
        version = "0"
    return documents.nodeinfo(version, settings.title, settings.description, posts)


# -- Posts going out -------------------------------------------------------------------


def record_post_change(post: Post, kind: FederationEventKind, now: datetime) -> FederationEvent:
    """Note, in the caller's transaction, that a post was published, edited or deleted
    (or unpublished: DELETE). Its deliveries go out when it is due: now, or at a
    scheduled post's time."""
    due = now
    if kind != FederationEventKind.DELETE and post.published_at is not None:
        due = max(now, post.published_at)
    event = FederationEvent(
        post_id=post.id, author_id=post.author_id, kind=kind, due_at=due, created_at=now
    )
    db.session.add(event)
    return event


def fan_out_later(events: list[FederationEvent]) -> None:
    """After the commit: queue each event's fan-out at its time (the sweep catches any
    the queue missed)."""
    for event in events:
        jobs.enqueue(FAN_OUT, event.id, at=event.due_at if event.due_at > utcnow() else None)


def _already_created(post_id: int, this_event: int) -> bool:
    """A Create of this post went out before (so a change now is an Update)."""
    return (
        db.session.scalar(
            select(FederationEvent.id)
            .where(
                FederationEvent.post_id == post_id,
                FederationEvent.id != this_event,
                FederationEvent.kind != FederationEventKind.DELETE,
                FederationEvent.processed_at.is_not(None),
            )
            .limit(1)
        )
        is not None
    )


def follower_inboxes(owner: str = BLOG) -> list[str]:
    """Each server following `owner` once: its shared inbox, or the follower's own
    inbox."""
    rows = db.session.scalars(
        select(func.coalesce(RemoteActor.shared_inbox, RemoteActor.inbox))
        .join(Follower, Follower.actor_id == RemoteActor.id)
        .where(Follower.local_actor == owner)
        .distinct()
    )
    return sorted(set(rows))


def _claim_event(event_id: int, now: datetime) -> FederationEvent | None:
    """Mark the event processed, if it is due and nobody did: the one worker that
    changes the row does the fan-out (in the same transaction)."""
    claimed = db.session.execute(
        update(FederationEvent)
        .where(
            FederationEvent.id == event_id,
            FederationEvent.processed_at.is_(None),
            FederationEvent.due_at <= now,
        )
        .values(processed_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return db.session.get(FederationEvent, event_id)


def _activity_for(
    event: FederationEvent, actor: Actor, suffix: str, now: datetime
) -> dict[str, Any] | None:
    """What the event sends from `actor`: Delete of a post that went out, Create of a
    post seen for the first time, Update of one that went out before; nothing for a post
    not visible (unpublished since, or never sent). `suffix` tells apart the activities
    the blog and an author's own actor send of the same change."""
    object_id = article_id(event.post_id)
    created = _already_created(event.post_id, event.id)
    if event.kind == FederationEventKind.DELETE:
        if not created:
            return None
        return documents.activity(
            "Delete",
            f"{object_id}#delete-{event.id}{suffix}",
            actor,
            documents.tombstone(object_id),
        )
    post = find_visible_post(event.post_id, now)
    if post is None:
        return None
    if created:
        return documents.activity(
            "Update", f"{object_id}#update-{event.id}{suffix}", actor, article_of(post)
        )
    return documents.activity("Create", f"{object_id}#create{suffix}", actor, article_of(post))


def _senders(event: FederationEvent) -> list[tuple[str, Actor, str]]:
    """Who sends an event's activity: the blog, and the post's author when their own
    actor is on (owner, actor, activity id suffix)."""
    senders = [(BLOG, blog_actor(), "")]
    author = acting_author(event.author_id)
    if author is not None:
        senders.append((author_owner(author.id), author_actor(author), f"-user-{author.id}"))
    return senders


def fan_out(event_id: int, now: datetime) -> list[int]:
    """Turn a due event into deliveries: from the blog to each server following it,
    and from the author's own actor (when on) to each server following them, each
    server's shared inbox once per actor; their ids."""
    with site_context():
        event = _claim_event(event_id, now)
        if event is None:
            db.session.rollback()
            return []
        deliveries: list[Delivery] = []
        went_live = False
        for owner, actor, suffix in _senders(event):
            activity = _activity_for(event, actor, suffix, now)
            if activity is None:
                break  # nothing to send, from anyone
            went_live = activity["type"] == "Create" and event.due_at > event.created_at
            inboxes = follower_inboxes(owner)
            deliveries += queue_deliveries(activity, inboxes, now, signer=owner)
        topics = []
        if went_live:
            # A scheduled post's time came: its first Create goes out once (the event
            # is claimed once), and the WebSub hub hears of it then, not when it was
            # saved (its Webmentions are due at the same time: kmblog.webmention).
            post = find_visible_post(event.post_id, now)
            topics = social_web.feed_topics(post) if post is not None else []
        db.session.commit()
        social_web.ping_later(topics)
        return [delivery.id for delivery in deliveries]


def queue_deliveries(
    activity: dict[str, Any], inboxes: list[str], now: datetime, signer: str = BLOG
) -> list[Delivery]:
    """Delivery rows for an activity, signed by `signer` when sent (the caller
    commits, then queues them)."""
    body = json.dumps(activity, ensure_ascii=False, separators=(",", ":"))
    deliveries = [
        Delivery(inbox=inbox, body=body, signer=signer, created_at=now) for inbox in inboxes
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    return deliveries


def deliver_later(delivery_ids: list[int]) -> None:
    """After the commit: a job for each delivery, so that one slow server holds up only
    its own."""
    for delivery_id in delivery_ids:
        jobs.enqueue(DELIVER, delivery_id)


def due_events(now: datetime, limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(FederationEvent.id)
            .where(FederationEvent.processed_at.is_(None), FederationEvent.due_at <= now)
            .order_by(FederationEvent.id)
            .limit(limit)
        )
    )


def _permanent(status: int) -> bool:
    """A 4xx other than timeouts and rate limits: the server refuses this for good."""
    return 400 <= status < 500 and status not in {408, 425, 429}


def deliver(delivery_id: int, now_of: Any = utcnow) -> DeliveryStatus | None:
    """Sign and send one delivery. Raises DeliveryFailed for the queue to try again
    (with backoff) until the last attempt, after which the delivery is failed for good."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None if delivery is None else delivery.status
    if blocks.is_blocked(delivery.inbox):
        delivery.status = DeliveryStatus.FAILED
        delivery.last_error = blocks.BLOCKED_ERROR
        delivery.finished_at = now_of()
        db.session.commit()
        return delivery.status
    body = delivery.body.encode("utf-8")
    now = now_of()
    with site_context():
        headers = signed_headers("POST", delivery.inbox, body, now, delivery.signer)
    error = ""
    try:
        status = client.post_activity(delivery.inbox, body, headers, limits())
    except client.FetchError as failure:
        status, error = 0, str(failure)
    delivery.attempts += 1
    if 200 <= status < 300:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.finished_at = now_of()
        db.session.commit()
        return delivery.status
    delivery.last_error = (error or f"answered {status}")[:2000]
    attempts = int(current_app.config.get("FEDERATION_DELIVERY_ATTEMPTS", 8))
    if _permanent(status) or delivery.attempts >= attempts:
        delivery.status = DeliveryStatus.FAILED
        delivery.finished_at = now_of()
        db.session.commit()
        return delivery.status
    db.session.commit()
    raise DeliveryFailed(f"delivery {delivery_id} to {delivery.inbox[:100]}: {delivery.last_error}")


def forget_delivered(before: datetime) -> None:
    """Deliveries done long ago are history nobody reads."""
    db.session.execute(
        delete(Delivery).where(
            Delivery.status != DeliveryStatus.PENDING, Delivery.finished_at < before
        )
    )
