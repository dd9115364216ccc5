"""Mentions received from other sites (W3C Webmention, and Pingback, its older form).

A mention is stored at once (the request that brings it is answered 202) and verified
by a job: the source page is fetched (kmblog.outbound: bounded, no private
addresses), must link to the post, and is read as microformats2 (mf2py, and mf2util's
reading of a received comment, the IndieWeb's own libraries) into a reply, a like, a
repost or a plain mention. A reply becomes a comment in the post's thread, decided by
the same rules as any comment (kmblog.comments.spam) and sanitised by the same
allowlist (kmblog.rendering); likes and reposts are counted; mentions are listed as
"Links to this post". A source sent again is read again; one that is gone (404, 410)
or no longer links takes its mention away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import mf2py
import mf2util
import requests
from bs4 import BeautifulSoup
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from kmblog import jobs
from kmblog.audit.services import record_rule_decision
from kmblog.blog.services import find_moved_post, find_post
from kmblog.comments.services import comment_at, place_reply
from kmblog.comments.spam import (
    Commenter,
    CommentRules,
    judge,
    judge_edit,
)
from kmblog.extensions import db
from kmblog.mail.services import base_url, event_for, fan_out_later, record_event
from kmblog.models import (
    Comment,
    CommentEvent,
    CommentOrigin,
    CommentPolicy,
    CommentStatus,
    MentionKind,
    MentionProtocol,
    MentionState,
    Post,
    Webmention,
)
from kmblog.outbound import Fetched, FetchRefused, Limits, fetch, loopback_allowed
from kmblog.rendering import clean_line, clean_text, html_text, render_imported_comment
from kmblog.settings import get_settings
from kmblog.urls import post_url

VERIFY = "webmention.verify"
SWEEP = "webmention.sweep"
USER_AGENT = "kmblog (Webmention; +https://www.w3.org/TR/webmention/)"
MAX_URL_LENGTH = 1000
EXCERPT_LENGTH = 280
# A mention still unverified this long after it came (its job lost, or its source not
# answering through the job's retries) gets one last try from the sweep.
SWEEP_AFTER = timedelta(minutes=15)

_POST_PATH = re.compile(r"^/(\d{4})/(\d{2})/([^/]+)\.html$")


class MentionRefused(ValueError):
    """The request names no post of ours, or a source that cannot be one; the message
    says which, for the sender."""


def fetch_limits() -> Limits:
    """The bounds on fetching other sites, from the settings."""
    config = current_app.config
    return Limits(
        max_bytes=int(config["FETCH_MAX_BYTES"]),
        seconds=float(config["FETCH_TIMEOUT_SECONDS"]),
        allow_loopback=loopback_allowed(config),
        user_agent=USER_AGENT,
    )


def own_hosts(request_host: str | None = None) -> set[str]:
    """The host names (with port) this blog answers to: its address, and the request's."""
    hosts = {urlsplit(base_url()).netloc.lower()}
    if request_host:
        hosts.add(request_host.lower())
    return hosts


def find_target_post(target: str, hosts: set[str], now: datetime) -> Post | None:
    """The visible post that `target` names (its address now or an old one), if any."""
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or parts.netloc.lower() not in hosts:
        return None
    match = _POST_PATH.match(parts.path)
    if match is None:
        return None
    year, month, slug = int(match[1]), int(match[2]), match[3]
    return find_post(year, month, slug, now) or find_moved_post(year, month, slug, now)


def _checked_source(source: str, target: str) -> str:
    source = source.strip()
    if not source or len(source) > MAX_URL_LENGTH:
        raise MentionRefused("The source must be a web address (at most 1000 characters).")
    try:
        parts = urlsplit(source)
    except ValueError:
        raise MentionRefused("The source is not a web address.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname or "@" in parts.netloc:
        raise MentionRefused("The source must be an http or https address.")
    if urldefrag(source)[0] == urldefrag(target.strip())[0]:
        raise MentionRefused("The source and the target are the same address.")
    return source


def receive_mention(
    source: str,
    target: str,
    hosts: set[str],
    now: datetime,
    protocol: MentionProtocol = MentionProtocol.WEBMENTION,
) -> Webmention:
    """Store a mention for verification (a new one, or one sent again); the job that
    verifies it is queued after the commit. Raises MentionRefused for a target that is
    no public post of ours, or a source that is no web address."""
    source = _checked_source(source, target)
    target = target.strip()
    if len(target) > MAX_URL_LENGTH:
        raise MentionRefused("The target is not an address on this blog.")
    post = find_target_post(target, hosts, now)
    if post is None:
        raise MentionRefused("The target is not a published post of this blog.")
    mention = db.session.scalars(
        select(Webmention).where(Webmention.post_id == post.id, Webmention.source == source)
    ).one_or_none()
    if mention is None:
        mention = Webmention(
            post=post, source=source, created_at=now, protocol=protocol, kind=MentionKind.MENTION
        )
        db.session.add(mention)
    mention.target = target
    mention.updated_at = now
    if mention.state != MentionState.VERIFIED:
        # Shown as it was until the job reads the source again.
        mention.state = MentionState.RECEIVED
    db.session.commit()
    jobs.enqueue(VERIFY, mention.id)
    return mention


# --- verification (a job) ----------------------------------------------------------------


@dataclass
class Reading:
    """What a source says about the post."""

    kind: MentionKind = MentionKind.MENTION
    title: str = ""
    excerpt: str = ""
    content_html: str = ""  # a reply's text as the source wrote it (sanitised later)
    url: str = ""  # the reply's own address, when it gives one
    # The addresses of the post it answers (in-reply-to), a comment's among them.
    in_reply_to: tuple[str, ...] = ()
    author: dict[str, str] = field(default_factory=dict)


def _without_fragment(url: str) -> str:
    return urldefrag(url)[0]


def links_to(document: BeautifulSoup, base: str, targets: set[str]) -> bool:
    """Does the page link to one of `targets` (an href or src, relative ones resolved)?"""
    wanted = {_without_fragment(target) for target in targets}
    for element in document.find_all(href=True):
        if _without_fragment(urljoin(base, str(element.get("href")))) in wanted:
            return True
    for element in document.find_all(src=True):
        if _without_fragment(urljoin(base, str(element.get("src")))) in wanted:
            return True
    return False


def _first(value: Any) -> str:
    """A microformats2 value as text: mf2py gives photos as {"value", "alt"}."""
    if isinstance(value, dict):
        value = value.get("value") or value.get("url") or ""
    return value if isinstance(value, str) else ""


def read_source(fetched: Fetched, targets: set[str]) -> Reading | None:
    """The source's mention of the post, or None when it does not link to it."""
    if fetched.content_type == "text/plain":
        text = fetched.body.decode("utf-8", "replace")
        if not any(target in text for target in targets):
            return None
        return Reading(excerpt=_excerpt(text))
    if fetched.content_type not in {"text/html", "application/xhtml+xml"}:
        return None
    document = BeautifulSoup(fetched.body, "html5lib")
    if not links_to(document, fetched.url, targets):
        return None
    parsed = mf2py.parse(doc=document, url=fetched.url)
    found = mf2util.interpret_comment(parsed, fetched.url, list(targets)) or {}
    types = found.get("comment_type") or []
    answered = _answered(parsed, targets)
    if answered and "reply" not in types:
        types = [*types, "reply"]  # an answer to a comment on the post
    kind = (
        MentionKind.REPLY
        if "reply" in types
        else MentionKind.LIKE
        if "like" in types
        else MentionKind.REPOST
        if "repost" in types
        else MentionKind.MENTION
    )
    author = found.get("author") or {}
    page_title = document.title.get_text() if document.title else ""
    plain = found.get("content-plain") or ""
    return Reading(
        kind=kind,
        title=clean_line(_first(found.get("name")) or page_title)[:300],
        excerpt=_excerpt(plain),
        content_html=found.get("content") or "",
        url=_first(found.get("url")),
        in_reply_to=answered,
        author={
            key: clean_line(_first(author.get(key)))[:2000] for key in ("name", "url", "photo")
        },
    )


def _answered(parsed: dict[str, Any], targets: set[str]) -> tuple[str, ...]:
    """The h-entry's in-reply-to addresses that are the post's, whatever their anchor
    or query (a comment's address is its post's with #c<number>): mf2util matches
    only the post's address itself."""
    entry = mf2util.find_first_entry(parsed, ["h-entry"]) or {}
    posts = {_bare(target) for target in targets}
    found = []
    for value in (entry.get("properties") or {}).get("in-reply-to", []):
        address = _first(value)
        if not address and isinstance(value, dict):  # an h-cite without a plain value
            address = _first((value.get("properties", {}).get("url") or [""])[0])
        if address and len(address) <= MAX_URL_LENGTH and _bare(address) in posts:
            found.append(address)
    return tuple(found)


def _bare(address: str) -> str:
    """An address without its query and fragment."""
    try:
        parts = urlsplit(address)
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}"


def _excerpt(text: str) -> str:
    text = " ".join(clean_text(text).split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


def verify_mention(mention_id: int, limits: Limits, now: datetime, last_try: bool = False) -> None:
    """Fetch a mention's source and bring the mention up to date with what it says.
    Raises requests' errors when the source could not be reached (the job is tried
    again), but on the `last_try`, which refuses the mention instead."""
    mention = db.session.get(Webmention, mention_id)
    if mention is None or mention.state not in {MentionState.RECEIVED, MentionState.VERIFIED}:
        return
    source = mention.source
    db.session.rollback()  # no transaction held open while the network answers
    try:
        fetched = fetch(source, limits, headers={"Accept": "text/html, text/plain;q=0.5"})
    except FetchRefused as error:
        _refuse(mention_id, f"The source was not fetched: {error}.", now)
        return
    except requests.RequestException as error:
        if last_try:
            _refuse(mention_id, f"The source could not be reached: {error}.", now)
            return
        raise
    mention = db.session.get(Webmention, mention_id)
    if mention is None:
        return
    if fetched.status in {404, 410}:
        _take_away(mention, MentionState.GONE, "The source is gone.", now)
        db.session.commit()
        return
    if not 200 <= fetched.status < 300:
        _take_away(mention, MentionState.REFUSED, f"The source answered {fetched.status}.", now)
        db.session.commit()
        return
    post = mention.post
    targets = {mention.target, _post_address(post)}
    reading = read_source(fetched, targets)
    if reading is None:
        _take_away(mention, MentionState.REFUSED, "The source does not link to the post.", now)
        db.session.commit()
        return
    _apply(mention, reading, now)


def _post_address(post: Post) -> str:
    base = urlsplit(base_url())
    with current_app.test_request_context("/", base_url=f"{base.scheme}://{base.netloc}"):
        return post_url(post, external=True)


def _refuse(mention_id: int, reason: str, now: datetime) -> None:
    mention = db.session.get(Webmention, mention_id)
    if mention is not None:
        _take_away(mention, MentionState.REFUSED, reason, now)
        db.session.commit()


def _take_away(mention: Webmention, state: MentionState, reason: str, now: datetime) -> None:
    """The source is gone or no longer links: the mention (and its comment) goes."""
    mention.state = state
    mention.last_error = reason
    mention.updated_at = now
    if mention.comment is not None and mention.comment.status != CommentStatus.DELETED:
        mention.comment.status = CommentStatus.DELETED


def _apply(mention: Webmention, reading: Reading, now: datetime) -> None:
    """A verified mention, as its source now reads; commits."""
    post = mention.post
    settings = get_settings()
    rules = CommentRules.from_settings(settings)
    first_time = mention.verified_at is None
    author = reading.author
    commenter = Commenter(author.get("name", "")[:100], author.get("url", ""))
    kind = reading.kind
    comments_closed = not post.comments_open or rules.policy == CommentPolicy.CLOSED
    if kind == MentionKind.REPLY and comments_closed and mention.comment is None:
        kind = MentionKind.MENTION  # listed as a link: the thread takes no new comments
    mention.kind = kind
    mention.state = MentionState.VERIFIED
    mention.title = reading.title
    mention.excerpt = reading.excerpt
    mention.author_name = commenter.name
    mention.author_url = author.get("url", "")
    mention.author_photo = author.get("photo", "")
    mention.last_error = ""
    mention.updated_at = now
    mention.verified_at = now
    event_ids: list[int] = []
    if kind == MentionKind.REPLY:
        body_source = clean_text(reading.content_html or reading.excerpt).strip()
        body_html = render_imported_comment(body_source)[0]
        comment = mention.comment
        if comment is None or comment.status == CommentStatus.DELETED:
            decision = judge(post, html_text(body_html), body_html, commenter, rules, now)
            status = decision.status
            comment = Comment(
                post=post,
                author_name=commenter.name,
                author_url=commenter.url,
                body_source=body_source,
                body_html=body_html,
                created_at=now,
                status=status,
                origin=CommentOrigin.WEBMENTION,
                origin_url=reading.url or mention.source,
            )
            parents = (comment_at(post, address) for address in reading.in_reply_to)
            place_reply(
                comment, next((p for p in parents if p is not None), None), rules.thread_depth
            )
            db.session.add(comment)
            mention.comment = comment
            db.session.flush()
            record_rule_decision(comment, decision)
            event = event_for(status)
            if event is not None:
                recorded = record_event(comment, event, now)
                db.session.flush()  # its id: before the flush it has none
                event_ids.append(recorded.id)
        elif comment.body_source != body_source:
            edit = judge_edit(comment.status, html_text(body_html), body_html, commenter, rules)
            record_rule_decision(comment, edit, edited=True)
            comment.status = edit.status
            comment.body_source, comment.body_html = body_source, body_html
            comment.author_name, comment.author_url = commenter.name, commenter.url
            comment.edited_at = now
        mention.status = comment.status
    else:
        if mention.comment is not None:
            mention.comment.status = CommentStatus.DELETED
            mention.comment = None
        text = f"{reading.title} {reading.excerpt}"
        if first_time or mention.status == CommentStatus.DELETED:
            mention.status = judge(post, text, "", commenter, rules, now).status
        else:
            mention.status = judge_edit(mention.status, text, "", commenter, rules).status
    db.session.commit()
    fan_out_later(event_ids)


def unverified_mentions(older_than: datetime, limit: int = 20) -> list[int]:
    """Mentions still waiting for their job (the queue was down, or the source did not
    answer): the sweep's work."""
    return list(
        db.session.scalars(
            select(Webmention.id)
            .where(Webmention.state == MentionState.RECEIVED, Webmention.updated_at < older_than)
            .order_by(Webmention.updated_at)
            .limit(limit)
        )
    )


# --- what a post page shows ----------------------------------------------------------------


MAX_LINKS_SHOWN = 100


def linking_pages(post_id: int) -> list[Webmention]:
    """The pages that link to a post ("Links to this post"), verified and published,
    oldest first: one query (the post page counts them first, with its neighbours,
    and asks only when there are some)."""
    return list(
        db.session.scalars(
            select(Webmention)
            .where(
                Webmention.post_id == post_id,
                Webmention.state == MentionState.VERIFIED,
                Webmention.status == CommentStatus.PUBLISHED,
                Webmention.kind == MentionKind.MENTION,
            )
            .order_by(Webmention.verified_at, Webmention.id)
            .limit(MAX_LINKS_SHOWN)
        )
    )


# --- the authors' list -------------------------------------------------------------------


def mentions_for(moderator_id: int | None, limit: int = 200) -> list[Webmention]:
    """Mentions received, newest first: an author's posts' (None: every post, for admins),
    each with its post, in one query."""
    query = (
        select(Webmention)
        .join(Post, Post.id == Webmention.post_id)
        .options(contains_eager(Webmention.post))
    )
    if moderator_id is not None:
        query = query.where(Post.author_id == moderator_id)
    return list(
        db.session.scalars(
            query.order_by(Webmention.updated_at.desc(), Webmention.id.desc()).limit(limit)
        )
    )


def set_mention_status(mention: Webmention, status: CommentStatus, now: datetime) -> None:
    """Approve or delete a mention (a reply's comment with it). Commits. A held reply
    approved now causes the mail an approved comment causes (kmblog/mail: to those who
    asked for replies to the comment it answers, or for the post's comments), written
    in the same transaction."""
    mention.status = status
    event_ids = []
    comment = mention.comment
    if comment is not None:
        if status == CommentStatus.PUBLISHED and comment.status == CommentStatus.PENDING:
            event = record_event(comment, CommentEvent.APPROVED, now)
            db.session.flush()
            event_ids.append(event.id)
        comment.status = status
    db.session.commit()
    fan_out_later(event_ids)
