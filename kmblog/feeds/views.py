"""Atom feeds at Blogger's addresses, read through the same queries as the pages.

Blogger's query parameters keep working in old subscriptions: max-results,
start-index (1 = the newest) and alt=rss (RSS 2.0 instead of Atom).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from kmblog.blog.services import (
    PostFilter,
    find_visible_post,
    find_visible_post_by_blogger_id,
    label_filter,
    latest_comments,
    list_posts,
)
from kmblog.context import current_settings, current_sidebar
from kmblog.feeds.builder import (
    FeedInfo,
    blog_feed_atom_id,
    build_comments_feed,
    build_posts_feed,
    comments_feed_atom_id,
    post_comments_feed_atom_id,
)
from kmblog.models import MAX_ID, Comment, PostKind, Settings, utcnow
from kmblog.urls import comment_link, label_url, post_url

feeds = Blueprint("feeds", __name__)

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
# Blogger's start-index beyond this is refused rather than scanned.
MAX_START_INDEX = 100_000


def _feed_size(settings: Settings) -> int:
    """Blogger's max-results, within reason; the blog's setting otherwise."""
    wanted: int | None = request.args.get("max-results", type=int)
    if wanted is None or wanted < 1:
        wanted = settings.items_per_feed
    most: int = current_app.config["MAX_RESULTS_LIMIT"]
    return min(wanted, most)


def _wants_rss() -> bool:
    return request.args.get("alt") == "rss"


def _offset() -> int:
    """Blogger's start-index (1-based) as a number of newest items to skip."""
    start = request.args.get("start-index", type=int)
    if start is None or start < 1:
        return 0
    if start > MAX_START_INDEX:
        abort(400, description=f"start-index may be at most {MAX_START_INDEX}.")
    return start - 1


def _atom(body: bytes) -> Response:
    return Response(body, content_type=RSS if _wants_rss() else ATOM)


def _external_post_url(post: Any) -> str:
    return post_url(post, external=True)


def _external_label_url(name: str) -> str:
    # A feed names the same few labels again and again (51 links to about 20 labels in
    # a feed of 25 posts), and url_for costs 17 us: each one once a request.
    known: dict[str, str] = g.setdefault("label_urls", {})
    if name not in known:
        known[name] = label_url(name, external=True)
    return known[name]


def _comment_url(comment: Comment) -> str:
    # The page of comments that starts with this one: not the post's own page once the
    # post has more comments than a page shows. One post's feed links one post 25 times.
    known: dict[int, str] = g.setdefault("post_urls", {})
    if comment.post_id not in known:
        known[comment.post_id] = post_url(comment.post, external=True)
    return comment_link(known[comment.post_id], comment.created_at, comment.id)


def _posts_feed(settings: Settings, post_filter: PostFilter, info: FeedInfo) -> Response:
    listing = list_posts(
        utcnow(), post_filter, _feed_size(settings), offset=_offset(), with_counts=False
    )
    return _atom(
        build_posts_feed(
            info,
            settings.atom_id,
            listing.posts,
            _external_post_url,
            _external_label_url,
            rss=_wants_rss(),
        )
    )


# Blogger's ".../full" addresses are the same feeds as ".../default"; url_for gives the
# address registered first, the one nearest each view.
@feeds.get("/feeds/posts/full")
@feeds.get("/feeds/posts/summary")
@feeds.get("/feeds/posts/default")  # the first registered: url_for's choice
def posts() -> Response:
    """Atom: the newest posts."""
    settings = current_settings()
    info = FeedInfo(
        atom_id=blog_feed_atom_id(settings),
        title=settings.title,
        subtitle=settings.description,
        self_url=url_for("feeds.posts", _external=True),
        page_url=url_for("blog.index", _external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, PostFilter(), info)


@feeds.get("/feeds/posts/full/-/<path:name>")
@feeds.get("/feeds/posts/default/-/<path:name>")
def label_posts(name: str) -> Any:
    """Atom: the newest posts with one label."""
    settings = current_settings()
    sidebar = current_sidebar(utcnow())
    found = sidebar.find_label(name)
    if found is None:
        abort(404, description=f"No post has the label “{name}”.")
    if found.name != name:
        return redirect(url_for("feeds.label_posts", name=found.name), 301)
    info = FeedInfo(
        atom_id=f"{settings.atom_id}.label-{found.id}",
        title=f"{settings.title}: {found.name}",
        subtitle=settings.description,
        self_url=url_for("feeds.label_posts", name=found.name, _external=True),
        page_url=label_url(found.name, external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, label_filter(sidebar, found), info)


@feeds.get("/feeds/<any(plans, strategies):kinds>/default")
def kind_posts(kinds: str) -> Response:
    """Atom: the newest KM plans, or KM strategies."""
    settings = current_settings()
    kind = PostKind.PLAN if kinds == "plans" else PostKind.STRATEGY
    info = FeedInfo(
        atom_id=f"{settings.atom_id}.{kinds}",
        title=f"{settings.title}: KM {kinds.capitalize()}",
        subtitle=settings.description,
        self_url=url_for("feeds.kind_posts", kinds=kinds, _external=True),
        page_url=url_for("blog.by_kind", kinds=kinds, _external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, PostFilter(kind=kind), info)


@feeds.get("/feeds/comments/full")
@feeds.get("/feeds/comments/default")
def comments() -> Response:
    """Atom: the newest comments on the whole blog."""
    settings = current_settings()
    info = FeedInfo(
        atom_id=comments_feed_atom_id(settings),
        title=f"{settings.title}: Comments",
        subtitle=settings.description,
        self_url=url_for("feeds.comments", _external=True),
        page_url=url_for("blog.index", _external=True),
        fallback_updated=utcnow(),
    )
    found = latest_comments(utcnow(), _feed_size(settings), offset=_offset())
    return _atom(build_comments_feed(info, settings.atom_id, found, _comment_url, rss=_wants_rss()))


@feeds.get("/feeds/<int:post_id>/comments/full")
@feeds.get("/feeds/<int:post_id>/comments/default")
def post_comments(post_id: int) -> Response:
    """Atom: the comments on one post."""
    settings = current_settings()
    now = utcnow()
    # Ids beyond ours are Blogger's, in the addresses of an imported blog's old feeds.
    if post_id <= MAX_ID:
        post = find_visible_post(post_id, now)
    else:
        post = find_visible_post_by_blogger_id(str(post_id), now)
    if post is None:
        abort(404, description="There is no post with that number.")
    info = FeedInfo(
        atom_id=post_comments_feed_atom_id(settings, post),
        title=f"{settings.title}: Comments on {post.title}",
        subtitle="",
        self_url=url_for("feeds.post_comments", post_id=post.id, _external=True),
        page_url=post_url(post, external=True),
        fallback_updated=post.published_at or now,
    )
    found = latest_comments(now, _feed_size(settings), post_id=post.id, offset=_offset())
    return _atom(build_comments_feed(info, settings.atom_id, found, _comment_url, rss=_wants_rss()))


@feeds.get("/atom.xml")
@feeds.get("/rss.xml")
def classic_feed() -> WerkzeugResponse:
    """Blogger's first feed addresses lead to the posts feed."""
    rss = request.path == "/rss.xml"
    return redirect(url_for("feeds.posts", alt="rss" if rss else None), 301)
