"""E-mail notifications: subscriptions, the comment events that cause mail, the
notifications they become, and sending them exactly once.

How a comment becomes mail, and why nothing is lost or sent twice:

1. The request that publishes, approves or holds a comment writes a MailEvent in the
   same transaction (record_event), then queues the `mail.fan_out` job. If the queue is
   down, the event waits in the database for the sweep that runs every minute.
2. fan_out claims the event (an UPDATE that only one worker can win) and, in the same
   transaction, adds the comment to one Notification per recipient: the row whose key
   names the recipient, the post and the coalescing window. Two workers that fan out at
   once meet on that unique key and fill the same row.
3. send_due claims a due notification (UPDATE of one unclaimed row: SKIP LOCKED on
   PostgreSQL, SQLite's single writer elsewhere), builds the mail from what is still
   true (comments still published, the subscription still there), sends it and marks it
   sent once the server accepted it. A failed send releases the claim with a later due
   time (doubling waits), so a mail server that is down delays mail, never loses it.
   A fan-out never adds to a claimed or sent notification: it takes the next window.

A worker that dies between the server's "accepted" and "sent" leaves a claim that is
taken again after STALE_CLAIM: that one mail may then go twice (no SMTP server can
tell us otherwise); every other path sends it once.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template, url_for
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from kmblog import jobs
from kmblog.extensions import db
from kmblog.mail.tokens import (
    Unsubscribe,
    confirm_token,
    subscriptions_token,
    unsubscribe_token,
)
from kmblog.mail.transport import MailSettings, send_message
from kmblog.models import (
    Comment,
    CommentEvent,
    CommentMail,
    CommentStatus,
    MailEvent,
    Notification,
    NotificationItem,
    NotificationKind,
    Post,
    Subscriber,
    Subscription,
    SubscriptionKind,
    User,
    utcnow,
)
from kmblog.settings import get_settings
from kmblog.urls import comment_link, post_url

log = logging.getLogger(__name__)

FAN_OUT = "mail.fan_out"
SEND_DUE = "mail.send_due"
SWEEP = "mail.sweep"
# A claim this old belongs to a worker that died: another may take the mail.
STALE_CLAIM = timedelta(minutes=10)
DIGEST_SECONDS = 86400
# An address unconfirmed is asked again at most once in this many seconds.
CONFIRM_EVERY_SECONDS = 86400
# A reply's text in a mail is cut after this many characters (the link has it all).
EXCERPT = 1500


# -- Subscribing and recording (inside the commenting request's unit of work) ---------


def normalise_address(address: str) -> str:
    """One form per mailbox: the domain is case-insensitive (the local part, strictly,
    is not, but providers treat it so and people type it either way)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else address.strip()


def _insert_ignoring_duplicates(model: type[Any], values: dict[str, Any]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: two transactions adding the same row both
    succeed, and the row is there once."""
    dialect = db.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    db.session.execute(module.insert(model).values(**values).on_conflict_do_nothing())


def subscribe(comment: Comment, address: str, kind: SubscriptionKind, now: datetime) -> None:
    """Remember that whoever wrote `comment` wants mail (not committed here: part of the
    comment's own unit of work). Nothing is sent for it before the comment is published."""
    email = normalise_address(address)
    _insert_ignoring_duplicates(Subscriber, {"email": email, "created_at": now})
    subscriber_id = db.session.scalars(select(Subscriber.id).where(Subscriber.email == email)).one()
    db.session.add(
        Subscription(
            subscriber_id=subscriber_id,
            post_id=comment.post_id,
            comment_id=comment.id,
            kind=kind,
            created_at=now,
        )
    )


def record_event(comment: Comment, event: CommentEvent, now: datetime) -> MailEvent:
    """A comment published, approved or held, in the transaction that did it."""
    row = MailEvent(comment_id=comment.id, event=event, created_at=now)
    db.session.add(row)
    return row


def event_for(status: CommentStatus) -> CommentEvent | None:
    """The event of a new comment in this state: spam causes none, ever."""
    return {
        CommentStatus.PUBLISHED: CommentEvent.PUBLISHED,
        CommentStatus.PENDING: CommentEvent.HELD,
    }.get(status)


def fan_out_later(event_ids: Iterable[int]) -> None:
    """After the commit: queue the fan-out of each event. Never fails the request."""
    for event_id in event_ids:
        jobs.enqueue(FAN_OUT, event_id)


# -- Fan-out: an event becomes notifications ------------------------------------------


def _window(now: datetime, seconds: int) -> int:
    return int(now.timestamp() // seconds)


def _add_to_notification(
    key_prefix: str,
    kind: NotificationKind,
    comment_id: int,
    now: datetime,
    window_seconds: int,
    subscriber_id: int | None = None,
    user_id: int | None = None,
    post_id: int | None = None,
    once_per_window: bool = False,
) -> datetime | None:
    """Add the comment to the recipient's open notification of the current window (due
    at the window's end), or of the next one if a worker already claimed this one.
    `once_per_window`: due at once, and nothing more in a window whose mail has gone.
    Returns when it is due (None: not added)."""
    index = _window(now, window_seconds)
    while True:
        key = f"{key_prefix}:{index}"
        due = now if once_per_window else datetime.fromtimestamp((index + 1) * window_seconds, UTC)
        _insert_ignoring_duplicates(
            Notification,
            {
                "key": key,
                "kind": kind,
                "subscriber_id": subscriber_id,
                "user_id": user_id,
                "post_id": post_id,
                "created_at": now,
                "due_at": due,
                "attempts": 0,
                "last_error": "",
            },
        )
        # FOR SHARE on PostgreSQL: a sender's claim (FOR UPDATE) waits for our commit,
        # or we see its claim and move on. SQLite: our insert made us the one writer.
        row = db.session.execute(
            select(
                Notification.id, Notification.claimed_at, Notification.sent_at, Notification.due_at
            )
            .where(Notification.key == key)
            .with_for_update(read=True)
        ).one()
        if row.claimed_at is None and row.sent_at is None:
            break
        if once_per_window:
            return None
        index += 1
    _insert_ignoring_duplicates(
        NotificationItem, {"notification_id": row.id, "comment_id": comment_id}
    )
    due_at: datetime = row.due_at
    return due_at


def _ancestor_ids(comment: Comment) -> list[int]:
    """The comments this one answers, its parent first, up to the top of its thread:
    one query for the links of its whole thread (every reply knows its top comment)."""
    if comment.parent_id is None:
        return []
    top = comment.root_id if comment.root_id is not None else comment.parent_id
    links = db.session.execute(
        select(Comment.id, Comment.parent_id).where(or_(Comment.id == top, Comment.root_id == top))
    )
    parent_of = {row.id: row.parent_id for row in links}
    found: list[int] = []
    parent_id: int | None = comment.parent_id
    while parent_id is not None and parent_id not in found:
        found.append(parent_id)
        parent_id = parent_of.get(parent_id)
    return found


def _subscribers_to_tell(comment: Comment) -> set[int]:
    """Confirmed subscribers who asked for this comment: all comments on its post, or
    replies to a comment of theirs it answers; only subscriptions made with a comment
    that is published count."""
    ancestors = _ancestor_ids(comment)
    origin = db.aliased(Comment)
    kinds = Subscription.kind == SubscriptionKind.POST
    if ancestors:
        kinds = kinds | (
            (Subscription.kind == SubscriptionKind.REPLIES) & Subscription.comment_id.in_(ancestors)
        )
    rows = db.session.scalars(
        select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(origin, origin.id == Subscription.comment_id)
        .where(
            Subscription.post_id == comment.post_id,
            Subscriber.confirmed_at.is_not(None),
            origin.status == CommentStatus.PUBLISHED,
            kinds,
        )
        .distinct()
    )
    return set(rows)


def fan_out(event_id: int, now: datetime) -> set[datetime]:
    """Turn one event into notifications, once: returns when they are due."""
    claimed = db.session.execute(
        update(MailEvent)
        .where(MailEvent.id == event_id, MailEvent.processed_at.is_(None))
        .values(processed_at=now)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
        db.session.rollback()
        return set()
    event = db.session.get(MailEvent, event_id)
    assert event is not None  # noqa: S101 - we have just updated it
    comment = db.session.get(Comment, event.comment_id, options=[joinedload(Comment.post)])
    dues: set[datetime] = set()
    if comment is not None:
        dues = _notifications_for(comment, event.event, now)
    db.session.commit()
    return dues


def _notifications_for(comment: Comment, event: CommentEvent, now: datetime) -> set[datetime]:
    expected = CommentStatus.PENDING if event == CommentEvent.HELD else CommentStatus.PUBLISHED
    if comment.status != expected:
        return set()  # moderated again meanwhile: its own event (if any) tells
    config = current_app.config
    coalesce = int(config["MAIL_COALESCE_SECONDS"])
    post = comment.post
    dues: set[datetime | None] = set()
    own: set[int] = set()
    if event != CommentEvent.HELD:
        own_subscriptions = db.session.scalars(
            select(Subscription)
            .where(Subscription.comment_id == comment.id)
            .options(joinedload(Subscription.subscriber))
        )
        for subscription in own_subscriptions:
            own.add(subscription.subscriber_id)
            if subscription.subscriber.confirmed_at is None:
                # Double opt-in: the one mail an unconfirmed address gets, at most
                # once a day however many comments it is given with.
                dues.add(
                    _add_to_notification(
                        f"confirm:{subscription.subscriber_id}",
                        NotificationKind.CONFIRM,
                        comment.id,
                        now,
                        CONFIRM_EVERY_SECONDS,
                        subscriber_id=subscription.subscriber_id,
                        post_id=post.id,
                        once_per_window=True,
                    )
                )
        for subscriber_id in sorted(_subscribers_to_tell(comment) - own):
            dues.add(
                _add_to_notification(
                    f"subscriber:{subscriber_id}:{post.id}",
                    NotificationKind.SUBSCRIBER,
                    comment.id,
                    now,
                    coalesce,
                    subscriber_id=subscriber_id,
                    post_id=post.id,
                )
            )
    author = post.author
    # The author hears of a new comment, or of one held for them; not of their own,
    # nor again of one they (or another moderator) approved.
    if (
        author.email
        and author.comment_mail != CommentMail.NEVER
        and comment.user_id != author.id
        and event != CommentEvent.APPROVED
    ):
        if author.comment_mail == CommentMail.DIGEST:
            dues.add(
                _add_to_notification(
                    f"digest:{author.id}",
                    NotificationKind.DIGEST,
                    comment.id,
                    now,
                    DIGEST_SECONDS,
                    user_id=author.id,
                )
            )
        else:
            dues.add(
                _add_to_notification(
                    f"author:{author.id}:{post.id}",
                    NotificationKind.AUTHOR,
                    comment.id,
                    now,
                    coalesce,
                    user_id=author.id,
                    post_id=post.id,
                )
            )
    return {due for due in dues if due is not None}


def unprocessed_events(older_than: datetime, limit: int = 500) -> list[int]:
    """Events whose fan-out job never ran (the queue was down, a worker died)."""
    return list(
        db.session.scalars(
            select(MailEvent.id)
            .where(MailEvent.processed_at.is_(None), MailEvent.created_at <= older_than)
            .order_by(MailEvent.id)
            .limit(limit)
        )
    )


# -- Sending ---------------------------------------------------------------------------


def _claim_due(now: datetime) -> int | None:
    """Claim one due notification for this worker; None when there is none."""
    candidate = (
        select(Notification.id)
        .where(
            Notification.sent_at.is_(None),
            Notification.failed_at.is_(None),
            Notification.due_at <= now,
            (Notification.claimed_at.is_(None)) | (Notification.claimed_at < now - STALE_CLAIM),
        )
        .order_by(Notification.due_at, Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    claimed = db.session.execute(
        update(Notification)
        .where(Notification.id == candidate, Notification.sent_at.is_(None))
        .values(claimed_at=now)
        .returning(Notification.id)
    ).scalar()
    db.session.commit()
    return claimed


def send_due(now_of: Any = utcnow, limit: int = 200) -> datetime | None:
    """Send every notification that is due, each exactly once; returns when to try again
    if a send failed."""
    settings = MailSettings.from_config(current_app.config, current_app.instance_path)
    retry_at: datetime | None = None
    for _ in range(limit):
        now = now_of()
        notification_id = _claim_due(now)
        if notification_id is None:
            break
        notification = db.session.get(Notification, notification_id)
        assert notification is not None  # noqa: S101 - just claimed
        try:
            message = build_message(notification)
            if message is not None:
                send_message(message, settings)
        except Exception as error:
            if _refused_for_good(error):
                notification.failed_at = now_of()
                notification.last_error = f"{type(error).__name__}: {error}"[:2000]
                db.session.commit()
                log.warning("mail %s refused for good: %s", notification.key, error)
                continue
            wait = _retry_wait(notification.attempts)
            notification.claimed_at = None
            notification.attempts += 1
            notification.due_at = now_of() + wait
            notification.last_error = f"{type(error).__name__}: {error}"[:2000]
            db.session.commit()
            log.warning("mail %s not sent (%s); next try in %s", notification.key, error, wait)
            retry_at = min(retry_at or notification.due_at, notification.due_at)
            # The server is likely down for the others too: try them later, together.
            break
        notification.sent_at = now_of()
        if message is None:
            notification.last_error = "nothing left to tell"
        db.session.commit()
    return retry_at


def _refused_for_good(error: Exception) -> bool:
    """A 5xx answer about this one mail (no such mailbox, message refused): trying again
    would get the same. Anything else is tried again: no connection, a 4xx, and the
    blog's own settings refused (login, sender), which an operator will fix."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def _retry_wait(attempts: int) -> timedelta:
    config = current_app.config
    first = float(config["MAIL_RETRY_SECONDS"])
    cap = float(config["MAIL_RETRY_MAX_SECONDS"])
    return timedelta(seconds=min(cap, first * 2 ** min(attempts, 30)))


# -- Building a mail -------------------------------------------------------------------


@dataclass
class _Mail:
    to: str
    subject: str
    template: str
    unsubscribe: Unsubscribe
    context: dict[str, Any] = field(default_factory=dict)


def _items(notification: Notification, statuses: set[CommentStatus]) -> list[Comment]:
    return list(
        db.session.scalars(
            select(Comment)
            .join(NotificationItem, NotificationItem.comment_id == Comment.id)
            .where(
                NotificationItem.notification_id == notification.id,
                Comment.status.in_(statuses),
            )
            .options(joinedload(Comment.post))
            .order_by(Comment.created_at, Comment.id)
        )
    )


def build_message(notification: Notification) -> EmailMessage | None:
    """The mail for a notification as things stand now, or None when there is nothing
    left to tell (comments deleted, subscription ended, address confirmed meanwhile)."""
    mail = _compose(notification)
    if mail is None:
        return None
    blog_title = get_settings().title
    with _external_urls():
        unsubscribe_url = url_for(
            "mail.unsubscribe", token=unsubscribe_token(mail.unsubscribe), _external=True
        )
        body = render_template(
            f"mail/{mail.template}.txt",
            blog_title=blog_title,
            unsubscribe_url=unsubscribe_url,
            **mail.context,
        )
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.to
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(config["MAIL_SENDER"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    # RFC 8058 one-click unsubscribe, and RFC 3834: no vacation replies to us.
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Kmblog-Notification"] = notification.key
    message.set_content(body)
    return message


def _compose(notification: Notification) -> _Mail | None:
    if notification.kind == NotificationKind.CONFIRM:
        return _confirmation(notification)
    if notification.kind == NotificationKind.SUBSCRIBER:
        return _subscriber_mail(notification)
    return _author_mail(notification)


def _confirmation(notification: Notification) -> _Mail | None:
    subscriber = db.session.get(Subscriber, notification.subscriber_id)
    if subscriber is None or subscriber.confirmed_at is not None:
        return None
    comments = _items(notification, {CommentStatus.PUBLISHED})
    if not comments:
        return None
    post = comments[0].post
    with _external_urls():
        confirm_url = url_for(
            "mail.confirm", token=confirm_token(subscriber.id, subscriber.email), _external=True
        )
        address = post_url(post, external=True)
    return _Mail(
        to=subscriber.email,
        subject=f"Please confirm: comment mail for \u201c{post.title}\u201d",
        template="confirm",
        unsubscribe=Unsubscribe(subscriber_id=subscriber.id, email=subscriber.email),
        context={"post": post, "post_address": address, "confirm_url": confirm_url},
    )


def _subscriber_mail(notification: Notification) -> _Mail | None:
    subscriber = db.session.get(Subscriber, notification.subscriber_id)
    post = db.session.get(Post, notification.post_id)
    if subscriber is None or post is None or subscriber.confirmed_at is None:
        return None
    still = db.session.scalar(
        select(Subscription.id)
        .where(Subscription.subscriber_id == subscriber.id, Subscription.post_id == post.id)
        .limit(1)
    )
    comments = _items(notification, {CommentStatus.PUBLISHED})
    if still is None or not comments:
        return None
    count = len(comments)
    with _external_urls():
        entries = _entries(post, comments)
        manage_url = url_for(
            "mail.subscriptions",
            token=subscriptions_token(subscriber.id, subscriber.email),
            _external=True,
        )
        address = post_url(post, external=True)
    subject = (
        f"New comment on \u201c{post.title}\u201d"
        if count == 1
        else f"{count} new comments on \u201c{post.title}\u201d"
    )
    return _Mail(
        to=subscriber.email,
        subject=subject,
        template="comments",
        unsubscribe=Unsubscribe(
            subscriber_id=subscriber.id, email=subscriber.email, post_id=post.id
        ),
        context={
            "post": post,
            "post_address": address,
            "entries": entries,
            "manage_url": manage_url,
        },
    )


def _author_mail(notification: Notification) -> _Mail | None:
    author = db.session.get(User, notification.user_id)
    if author is None or not author.email or author.comment_mail == CommentMail.NEVER:
        return None
    comments = _items(notification, {CommentStatus.PUBLISHED, CommentStatus.PENDING})
    if not comments:
        return None
    published = [c for c in comments if c.status == CommentStatus.PUBLISHED]
    held = [c for c in comments if c.status == CommentStatus.PENDING]
    with _external_urls():
        entries = _entries(None, published)
        held_entries = _entries(None, held)
        queue_url = url_for("manage.comments", _external=True)
        settings_url = url_for("manage.account", _external=True)
    digest = notification.kind == NotificationKind.DIGEST
    if digest:
        subject = f"Your day of comments: {len(published)} new, {len(held)} held"
    elif held and not published:
        post = held[0].post
        subject = f"A comment awaits your approval on \u201c{post.title}\u201d"
    else:
        post = comments[0].post
        subject = f"New comments on \u201c{post.title}\u201d"
        if len(comments) == 1:
            subject = f"New comment on \u201c{post.title}\u201d"
    return _Mail(
        to=author.email,
        subject=subject,
        template="author",
        unsubscribe=Unsubscribe(user_id=author.id, email=author.email),
        context={
            "author": author,
            "entries": entries,
            "held": held_entries,
            "queue_url": queue_url,
            "settings_url": settings_url,
            "digest": digest,
        },
    )


@dataclass(frozen=True)
class Entry:
    """One comment as a mail lists it."""

    post_title: str
    name: str
    text: str
    link: str


def _entries(post: Post | None, comments: list[Comment]) -> list[Entry]:
    entries = []
    for comment in comments:
        target = post or comment.post
        text = comment.body_source
        if len(text) > EXCERPT:
            text = text[:EXCERPT].rstrip() + " [...]"
        entries.append(
            Entry(
                post_title=target.title,
                name=comment.display_name,
                text=text,
                link=comment_link(post_url(target, external=True), comment.created_at, comment.id),
            )
        )
    return entries


def base_url() -> str:
    """The blog's address for links in mail."""
    config = current_app.config
    if config.get("BASE_URL"):
        return str(config["BASE_URL"]).rstrip("/")
    server = config.get("SERVER_NAME")
    scheme = config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{server}" if server else "http://127.0.0.1:5000"


def _external_urls() -> Any:
    """A request context at the blog's address, so url_for(_external=True) works in a
    worker (which has no request)."""
    base = base_url()
    parts = urlsplit(base)
    return current_app.test_request_context(
        "/", base_url=f"{parts.scheme}://{parts.netloc}{parts.path}"
    )


# -- What a subscriber or an author does with a link -----------------------------------


def confirm_subscriber(subscriber_id: int, email: str, now: datetime) -> Subscriber | None:
    """Confirm an address (double opt-in); None if the link names no such subscriber."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.email != email:
        return None
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now
        db.session.commit()
    return subscriber


def find_subscriber(subscriber_id: int, email: str) -> Subscriber | None:
    subscriber = db.session.get(Subscriber, subscriber_id)
    return subscriber if subscriber is not None and subscriber.email == email else None


def subscriptions_of(subscriber: Subscriber) -> list[Subscription]:
    """A subscriber's subscriptions, newest first, with their posts."""
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.subscriber_id == subscriber.id)
            .options(joinedload(Subscription.post))
            .order_by(Subscription.created_at.desc(), Subscription.id.desc())
        )
    )


def end_subscriptions(
    subscriber: Subscriber, post_id: int | None = None, subscription_id: int | None = None
) -> int:
    """End a subscriber's subscriptions: one, those to one post, or all. Mail already
    gathered for them is not sent (send_due checks again)."""
    query = delete(Subscription).where(Subscription.subscriber_id == subscriber.id)
    if post_id is not None:
        query = query.where(Subscription.post_id == post_id)
    if subscription_id is not None:
        query = query.where(Subscription.id == subscription_id)
    ended: int = db.session.execute(query).rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return ended


def apply_unsubscribe(target: Unsubscribe) -> str | None:
    """Do what an unsubscribe link says; returns what ended, for the page, or None when
    the link names nothing (any more)."""
    if target.user_id is not None:
        author = db.session.get(User, target.user_id)
        if author is None:
            return None
        author.comment_mail = CommentMail.NEVER
        db.session.commit()
        return "mail about comments on your posts"
    if target.subscriber_id is None:
        return None
    subscriber = find_subscriber(target.subscriber_id, target.email)
    if subscriber is None:
        return None
    if target.post_id is None:
        end_subscriptions(subscriber)
        return "all mail from this blog"
    post = db.session.get(Post, target.post_id)
    end_subscriptions(subscriber, post_id=target.post_id)
    return f"mail about comments on \u201c{post.title}\u201d" if post else "that mail"


def set_comment_mail(author: User, choice: CommentMail, email: str | None) -> None:
    """An author's address and choice: each comment (coalesced), a daily digest, never."""
    author.comment_mail = choice
    author.email = email
    db.session.commit()
