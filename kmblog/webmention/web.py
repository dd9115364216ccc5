"""The request side shared with other blueprints: the headers a post page sends to
advertise where mentions go, and the outgoing work a post's change calls for (the
editor's views, in another blueprint, may not import this one's views)."""

from __future__ import annotations

from flask import url_for

from kmblog.models import Post, utcnow
from kmblog.webmention import sending, websub


def endpoint_headers() -> dict[str, str]:
    """Link (Webmention) and X-Pingback: absolute, so a page copied anywhere still
    names them; the same for every reader (the page cache keeps them with the page)."""
    webmention = url_for("webmention.webmention", _external=True)
    return {
        "Link": f'<{webmention}>; rel="webmention"',
        "X-Pingback": url_for("webmention.pingback", _external=True),
    }


def post_changed(post: Post, gone: bool = False) -> None:
    """After a post was saved (or before it is deleted, with `gone`): write down the
    Webmentions its change calls for and queue them, and ping the WebSub hub with the
    feeds it appears in. Never fails the author's request."""
    now = utcnow()
    rows = sending.queue_for_post(post, now, gone=gone)
    due = None if gone or post.published_at is None else post.published_at
    sending.send_later(rows, at=due)
    if not gone and post.is_visible(now):
        websub.ping_later(feed_topics(post))


def ping_later(topics: list[str]) -> None:
    """Queue the hub's pings for these feeds (after the commit that made them change)."""
    websub.ping_later(topics)


def feed_topics(post: Post) -> list[str]:
    """The plain addresses of the feeds a post appears in (those that name the hub)."""
    topics = [url_for(name, _external=True) for name in ("feeds.posts", "feeds.summary_posts")]
    for label in post.labels:
        for name in ("feeds.label_posts", "feeds.summary_label_posts"):
            topics.append(url_for(name, name=label.name, _external=True))
    if post.kind.value in {"plan", "strategy"}:
        kinds = "plans" if post.kind.value == "plan" else "strategies"
        topics.append(url_for("feeds.kind_posts", kinds=kinds, _external=True))
    # Blogger's .../full addresses are the same feeds, and subscribers hold them too.
    full = [t.replace("/feeds/posts/default", "/feeds/posts/full", 1) for t in topics]
    return list(dict.fromkeys([*topics, *full]))
