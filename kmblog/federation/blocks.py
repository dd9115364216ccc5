"""Blocked servers and actors: an admin's list of who the blog will not hear from or
send to.

A domain blocks that server and its subdomains; an actor blocks one account (by its id).
Blocking takes effect at once and everywhere: the inbox refuses their activities (403,
nothing changed), their follows are removed, deliveries still waiting for them are given
up, and their comments leave the pages (marked spam, as a moderator would; unblocking
does not bring them back: they can be approved one by one in the moderation list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, exists, or_, select

from kmblog.audit.services import Actor, record
from kmblog.extensions import db
from kmblog.models import (
    BlockKind,
    Comment,
    CommentStatus,
    Delivery,
    DeliveryStatus,
    FederationBlock,
    FediverseComment,
    Follower,
    RemoteActor,
)

MAX_VALUE = 2000
_DOMAIN = re.compile(
    r"^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*(:[0-9]{1,5})?$"
)
BLOCKED_ERROR = "blocked by the blog's administrator"


class BlockRefusal(ValueError):
    """What an admin typed is no domain or actor address (the reason, for the form)."""


def normal_domain(text: str) -> str:
    """A server's domain from what an admin typed: a domain (with a port, for a test
    server), a web address on it, or a handle (@name@domain)."""
    value = text.strip().lower()
    if "://" in value:
        value = urlsplit(value).netloc
    value = value.rsplit("@", 1)[-1].rstrip(".").strip()
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise BlockRefusal("That is not a domain name.") from error
    if not _DOMAIN.match(value):
        raise BlockRefusal("That is not a domain name.")
    return value


def normal_actor(text: str) -> str:
    """An actor's id: its address, as its server gives it (http or https)."""
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(value) > MAX_VALUE:
        raise BlockRefusal(
            "An actor is blocked by its address, e.g. https://example.social/users/name."
        )
    if any(character.isspace() for character in value):
        raise BlockRefusal("An address has no spaces.")
    return value


def _domains_of(address: str) -> list[str]:
    """The domain values that would block an address: host:port, host, and each
    parent domain of the host."""
    parts = urlsplit(address)
    netloc = parts.netloc.rsplit("@", 1)[-1].lower()
    hostname = (parts.hostname or "").lower().rstrip(".")
    if not hostname:
        return []
    labels = hostname.split(".")
    return [netloc, *(".".join(labels[start:]) for start in range(len(labels)))]


def is_blocked(*addresses: str) -> bool:
    """Whether any of these addresses (an actor's id, a key's, an inbox) is blocked: by
    itself, or by its server's domain. One query."""
    wanted = [address for address in addresses if address]
    if not wanted:
        return False
    domains = sorted({domain for address in wanted for domain in _domains_of(address)})
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    or_(
                        (FederationBlock.kind == BlockKind.ACTOR)
                        & FederationBlock.value.in_(wanted),
                        (FederationBlock.kind == BlockKind.DOMAIN)
                        & FederationBlock.value.in_(domains),
                    )
                )
            )
        )
    )


def _matches(block: FederationBlock, address: str) -> bool:
    if block.kind == BlockKind.ACTOR:
        return address == block.value
    return block.value in _domains_of(address)


def _actors_of(block: FederationBlock) -> list[RemoteActor]:
    """The remote actors a block covers (the database narrows by text, the domain rule
    decides)."""
    if block.kind == BlockKind.ACTOR:
        query = select(RemoteActor).where(RemoteActor.uri == block.value)
    else:
        query = select(RemoteActor).where(RemoteActor.uri.contains(block.value, autoescape=True))
    return [actor for actor in db.session.scalars(query) if _matches(block, actor.uri)]


@dataclass(frozen=True)
class Blocked:
    """What a new block did."""

    block: FederationBlock
    followers_removed: int
    comments_hidden: int
    deliveries_dropped: int


def block(kind: BlockKind, text: str, now: datetime, by: Actor = None) -> Blocked:
    """Block a domain or an actor (again: nothing new) and undo what they had here;
    recorded in the audit trail as done `by`."""
    value = normal_domain(text) if kind == BlockKind.DOMAIN else normal_actor(text)
    found = db.session.scalar(
        select(FederationBlock).where(FederationBlock.kind == kind, FederationBlock.value == value)
    )
    if found is None:
        found = FederationBlock(kind=kind, value=value, created_at=now)
        db.session.add(found)
        db.session.flush()
    actors = _actors_of(found)
    actor_ids = [actor.id for actor in actors]
    removed = 0
    hidden = 0
    if actor_ids:
        removed = db.session.execute(  # type: ignore[attr-defined]
            delete(Follower).where(Follower.actor_id.in_(actor_ids))
        ).rowcount
        comments = db.session.scalars(
            select(Comment)
            .join(FediverseComment, FediverseComment.comment_id == Comment.id)
            .where(
                FediverseComment.actor_id.in_(actor_ids),
                Comment.status.in_([CommentStatus.PUBLISHED, CommentStatus.PENDING]),
            )
        ).all()
        for comment in comments:  # one by one: the ORM raises the content version
            comment.status = CommentStatus.SPAM
        hidden = len(comments)
    pending = select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
    if found.kind == BlockKind.DOMAIN:
        pending = pending.where(Delivery.inbox.contains(found.value, autoescape=True))
    else:  # the actor's own inbox; its server's shared one serves others too
        pending = pending.where(Delivery.inbox.in_([actor.inbox for actor in actors]))
    dropped = 0
    for delivery in db.session.scalars(pending):
        if found.kind == BlockKind.ACTOR or _matches(found, delivery.inbox):
            _drop(delivery, now)
            dropped += 1
    record(
        "federation.blocked",
        f"Blocked the {found.kind.value} {found.value}",
        actor=by,
        subject=("federation_block", found.id),
        detail={
            "kind": found.kind.value,
            "value": found.value,
            "followers_removed": removed,
            "comments_hidden": hidden,
            "deliveries_dropped": dropped,
        },
        now=now,
    )
    db.session.commit()
    return Blocked(found, removed, hidden, dropped)


def _drop(delivery: Delivery, now: datetime) -> None:
    delivery.status = DeliveryStatus.FAILED
    delivery.last_error = BLOCKED_ERROR
    delivery.finished_at = now


def unblock(block_id: int, by: Actor = None) -> FederationBlock | None:
    """Hear from them again (what was removed stays removed: they may follow anew)."""
    found = db.session.get(FederationBlock, block_id)
    if found is not None:
        record(
            "federation.unblocked",
            f"Unblocked the {found.kind.value} {found.value}",
            actor=by,
            subject=("federation_block", found.id),
            detail={"kind": found.kind.value, "value": found.value},
        )
        db.session.delete(found)
        db.session.commit()
    return found


def all_blocks() -> list[FederationBlock]:
    return list(
        db.session.scalars(
            select(FederationBlock).order_by(FederationBlock.kind, FederationBlock.value)
        )
    )
