"""Sending Webmentions: when a post is published, edited, unpublished or deleted, each
site it links to (or linked to before the change) is told, from a job.

The work is written down first (OutgoingWebmention rows, in their own small
transaction right after the change), then queued; the sweep sends whatever a lost job
left, so a queue that was down delays mentions and never loses them. Discovery follows
the specification (an HTTP Link header first, then the first <link> or <a> with
rel="webmention" in document order, relative addresses resolved against the page's
final address), as webmention.rocks's discovery tests check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urldefrag, urljoin, urlsplit

import requests
from bs4 import BeautifulSoup
from flask import current_app
from requests.utils import parse_header_links
from sqlalchemy import select

from kmblog import jobs
from kmblog.extensions import db
from kmblog.mail.services import base_url
from kmblog.models import OutgoingWebmention, Post, utcnow
from kmblog.outbound import Fetched, FetchRefused, Limits, fetch
from kmblog.urls import post_url

SEND = "webmention.send"
MAX_ATTEMPTS = 6
# Taken by a worker this long ago and still not sent: that worker died; try again.
CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_TARGETS = 200


def _has_webmention_rel(rel: object) -> bool:
    values = rel if isinstance(rel, list) else str(rel or "").split()
    return any(str(value).lower() == "webmention" for value in values)


def endpoint_in(page: Fetched) -> str | None:
    """The Webmention endpoint a fetched page advertises (absolute), or None."""
    header = page.headers.get("Link")
    if header:
        for link in parse_header_links(header):
            if _has_webmention_rel(link.get("rel")):
                return urljoin(page.url, link.get("url", "").strip())
    if page.content_type not in {"text/html", "application/xhtml+xml"}:
        return None
    document = BeautifulSoup(page.body, "html5lib")
    for element in document.find_all(["link", "a"]):
        if element.has_attr("href") and _has_webmention_rel(element.get("rel")):
            return urljoin(page.url, str(element["href"]))
    return None


def discover_endpoint(target: str, limits: Limits) -> str | None:
    """Fetch `target` and find its Webmention endpoint."""
    page = fetch(target, limits, headers={"Accept": "text/html, */*;q=0.5"})
    if not 200 <= page.status < 300:
        return None
    return endpoint_in(page)


def links_in(body_html: str, base: str) -> list[str]:
    """The http(s) addresses a post's HTML links to, in order, each once (without
    fragments), leaving out the blog's own addresses."""
    own = urlsplit(base).netloc.lower()
    found: dict[str, None] = {}
    for element in BeautifulSoup(body_html, "html5lib").find_all("a", href=True):
        address = urldefrag(urljoin(base + "/", str(element["href"]).strip()))[0]
        parts = urlsplit(address)
        external = parts.scheme in {"http", "https"} and parts.netloc.lower() not in {"", own}
        if external and len(address) <= 1000:
            found[address] = None
    return list(found)[:MAX_TARGETS]


def external_post_url(post: Post) -> str:
    """The post's address, absolute, from a job (no request to take the host from)."""
    base = urlsplit(base_url())
    with current_app.test_request_context("/", base_url=f"{base.scheme}://{base.netloc}"):
        return post_url(post, external=True)


def queue_for_post(post: Post, now: datetime, gone: bool = False) -> list[int]:
    """Write down the mentions a change to `post` calls for: every site it links to,
    and every site told about it before (a link taken out, or the post `gone`), due
    when the post is visible (a scheduled post: at its time). Commits; returns the
    rows to queue. Nothing for a post never published."""
    if post.year is None or post.published_at is None:
        return []
    source = external_post_url(post)
    earlier = {
        row.target: row
        for row in db.session.scalars(
            select(OutgoingWebmention).where(OutgoingWebmention.source == source)
        )
    }
    targets = [] if gone else links_in(post.body_html, base_url())
    due = now if gone else max(now, post.published_at)
    rows = []
    for target in dict.fromkeys([*targets, *earlier]):
        row = earlier.get(target)
        if row is None:
            row = OutgoingWebmention(post_id=post.id, source=source, target=target, due_at=due)
            db.session.add(row)
        row.due_at, row.sent_at, row.claimed_at, row.attempts = due, None, None, 0
        rows.append(row)
    db.session.commit()
    return [row.id for row in rows]


def send_later(row_ids: list[int], at: datetime | None = None) -> None:
    """Queue the sending of these rows (after the commit that wrote them)."""
    now = utcnow()
    for row_id in row_ids:
        jobs.enqueue(SEND, row_id, at=at if at is not None and at > now else None)


@dataclass(frozen=True)
class Claimed:
    source: str
    target: str


def _claim(row_id: int, now: datetime) -> Claimed | None:
    row = db.session.get(OutgoingWebmention, row_id)
    if row is None or row.sent_at is not None or row.due_at > now:
        return None
    if row.claimed_at is not None and now - row.claimed_at < CLAIM_TIMEOUT:
        return None
    row.claimed_at = now
    row.attempts += 1
    claimed = Claimed(row.source, row.target)
    db.session.commit()
    return claimed


def send_one(row_id: int, limits: Limits, now: datetime) -> datetime | None:
    """Send one due mention: discover the target's endpoint, POST source and target.
    Returns when to try again after a failure that may pass (None: done)."""
    claimed = _claim(row_id, now)
    if claimed is None:
        return None
    endpoint, status, error = "", None, ""
    retry = False
    try:
        endpoint = discover_endpoint(claimed.target, limits) or ""
        if endpoint:
            answer = fetch(
                endpoint,
                limits,
                method="POST",
                data={"source": claimed.source, "target": claimed.target},
                follow=False,
            )
            status = answer.status
            retry = status >= 500 or status == 429
            if not 200 <= status < 300:
                error = f"The endpoint answered {status}."
    except FetchRefused as refusal:
        error = f"Not sent: {refusal}."
    except requests.RequestException as failure:
        error = f"Could not reach the site: {failure}."
        retry = True
    row = db.session.get(OutgoingWebmention, row_id)
    if row is None:
        return None
    row.endpoint, row.last_status, row.last_error = endpoint[:2000], status, error
    row.claimed_at = None
    again: datetime | None = None
    if retry and row.attempts < MAX_ATTEMPTS:
        again = now + timedelta(minutes=2**row.attempts)
        row.due_at = again
    else:
        row.sent_at = now
    db.session.commit()
    return again


def due_rows(now: datetime, limit: int = 200) -> list[int]:
    """Mentions due and not sent (nor taken by a live worker): the sweep's work."""
    return list(
        db.session.scalars(
            select(OutgoingWebmention.id)
            .where(
                OutgoingWebmention.sent_at.is_(None),
                OutgoingWebmention.due_at <= now,
                (OutgoingWebmention.claimed_at.is_(None))
                | (OutgoingWebmention.claimed_at < now - CLAIM_TIMEOUT),
            )
            .order_by(OutgoingWebmention.due_at)
            .limit(limit)
        )
    )
