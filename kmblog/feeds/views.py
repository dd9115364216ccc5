"""Atom feeds at Blogger's addresses, read through the same queries as the pages.

Blogger's query parameters keep working in old subscriptions: max-results,
start-index (1 = the newest) and alt=rss (RSS 2.0 instead of Atom); a value the feeds
cannot serve gets a 400 in the feed's own terms (README, "Feed parameters").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as WerkzeugResponse

from kmblog.blog.services import (
    PostFilter,
    count_comments,
    count_posts,
    find_visible_post,
    find_visible_post_by_blogger_id,
    label_filter,
    latest_comments,
    list_posts,
)
from kmblog.context import current_settings, current_sidebar, per_version
from kmblog.feeds.builder import (
    FeedInfo,
    FeedPage,
    blog_feed_atom_id,
    build_comments_feed,
    build_posts_feed,
    comments_feed_atom_id,
    post_comments_feed_atom_id,
)
from kmblog.models import MAX_ID, Comment, PostKind, Settings, utcnow
from kmblog.rendering import clean_line, post_description
from kmblog.series.services import find_public_series
from kmblog.urls import comment_link, label_url, post_url, series_url

feeds = Blueprint("feeds", __name__)

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
# Blogger's start-index beyond this is refused rather than scanned.
MAX_START_INDEX = 100_000
# The namespace of the error document Blogger's (GData) feeds answered a bad query with.
GDATA = "http://schemas.google.com/g/2005"


class FeedQueryError(BadRequest):
    """A feed query parameter that cannot be served: a 400 in the feed's own terms, an
    XML document (JSON for alt=json, which asked for JSON)."""

    def __init__(self, message: str, as_json: bool = False) -> None:
        super().__init__(description=message)
        self.as_json = as_json


@feeds.errorhandler(FeedQueryError)
def feed_query_error(error: FeedQueryError) -> Response:
    message = error.description or "This feed request cannot be served."
    if error.as_json:
        body = json.dumps({"error": {"code": 400, "message": message}})
        return Response(body, status=400, content_type="application/json; charset=utf-8")
    # The shape of GData's <errors> document, which Blogger's feed clients know.
    errors = ElementTree.Element("errors", xmlns=GDATA)
    item = ElementTree.SubElement(errors, "error")
    ElementTree.SubElement(item, "domain").text = "GData"
    ElementTree.SubElement(item, "code").text = "invalidRequestUriException"
    ElementTree.SubElement(item, "internalReason").text = message
    data = ElementTree.tostring(errors, encoding="utf-8", xml_declaration=True)
    return Response(data, status=400, content_type="application/xml; charset=utf-8")


@dataclass(frozen=True)
class FeedQuery:
    """A feed request's parameters, checked."""

    rss: bool
    start_index: int  # 1 = the newest entry
    size: int


def _shown(raw: str) -> str:
    """A parameter's value quoted back in an error: one line, no control characters
    (a NUL would make the XML answer unreadable), at most 40 characters."""
    text = clean_line(raw)
    return text if len(text) <= 40 else text[:39] + "…"


def _whole_number(name: str, lowest: int, highest: int | None) -> int | None:
    """Query parameter `name` as a whole number from `lowest` (to `highest`), or None
    when it is absent; FeedQueryError when it is something else."""
    raw = request.args.get(name)
    if raw is None:
        return None
    within = f"from {lowest} to {highest}" if highest is not None else f"of {lowest} or more"
    # ASCII digits only: int() would also take " 5", "+5", "5_000" and Arabic-Indic digits.
    if not (raw.isascii() and raw.isdigit()):
        raise FeedQueryError(f"{name} must be a whole number {within}, not “{_shown(raw)}”.")
    value = int(raw) if len(raw) <= 12 else 10**12
    if value < lowest or (highest is not None and value > highest):
        raise FeedQueryError(f"{name} must be a whole number {within}, not {raw[:14]}.")
    return value


def _feed_query(settings: Settings) -> FeedQuery:
    """alt, start-index and max-results as Blogger read them, or FeedQueryError."""
    alt = request.args.get("alt")
    wanted = None if alt is None else alt.lower()
    if wanted == "json":
        raise FeedQueryError(
            "This blog's feeds are Atom (alt=atom, the default) or RSS (alt=rss); "
            "Blogger's JSON feed (alt=json) is not served.",
            as_json=True,
        )
    if wanted not in (None, "atom", "rss"):
        raise FeedQueryError(f"alt may be atom (the default) or rss, not “{_shown(alt or '')}”.")
    start = _whole_number("start-index", 1, MAX_START_INDEX)
    size = _whole_number("max-results", 1, None)
    most: int = current_app.config["MAX_RESULTS_LIMIT"]
    # Beyond the limit Blogger gave its most (500) rather than refuse, and old feed
    # widgets ask for max-results=999: they get the limit, and rel="next" for the rest.
    return FeedQuery(
        rss=wanted == "rss",
        start_index=start or 1,
        size=min(size or settings.items_per_feed, most),
    )


def _query() -> FeedQuery:
    """This request's checked parameters."""
    found: FeedQuery | None = g.get("feed_query")
    if found is None:
        found = g.feed_query = _feed_query(current_settings())
    return found


def _paged_url(start_index: int, size: int) -> str:
    """This feed's address at another start-index: its other parameters (alt...) kept,
    then start-index and max-results, as in Blogger's links."""
    kept = [
        (key, value)
        for key, value in request.args.items(multi=True)
        if key not in {"start-index", "max-results"}
    ]
    kept += [("start-index", str(start_index)), ("max-results", str(size))]
    return f"{_address()}?{urlencode(kept)}"


def _feed_page(total: int, shown: int) -> FeedPage:
    query = _query()
    start, size = query.start_index, query.size
    return FeedPage(
        total=total,
        start_index=start,
        items_per_page=size,
        next_url=_paged_url(start + size, size) if start - 1 + shown < total else None,
        previous_url=_paged_url(max(1, start - size), size) if start > 1 else None,
    )


def _address() -> str:
    """The address fetched, without its query, as a URI written the way url_for writes
    it (and so the pages' feed links): request.base_url would give an IRI, é unencoded.
    Built from the rule that matched, so that .../full stays .../full."""
    rule = request.url_rule
    built = None if rule is None else rule.build(request.view_args or {}, append_unknown=False)
    path = request.path if built is None else built[1]  # the first only if rules change
    return request.host_url.rstrip("/") + request.script_root + path


def _self_url() -> str:
    """The address fetched, query and all: a feed's self link names what was asked for
    (the feed validators' rule), as the page cache keys its copy. The query is the one
    sent, percent-encoded where it was not."""
    query = quote(request.query_string, safe="!$&'()*+,/:;=?@%~-._")
    return _address() + (f"?{query}" if query else "")


def _atom(body: bytes) -> Response:
    return Response(body, content_type=RSS if _query().rss else ATOM)


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


def _posts_feed(
    settings: Settings, post_filter: PostFilter, info: FeedInfo, summary: bool = False
) -> Response:
    query = _query()
    now = utcnow()
    listing = list_posts(
        now, post_filter, query.size, offset=query.start_index - 1, with_counts=False
    )
    # The total that Blogger's openSearch elements gave: one query more than the
    # listing, once per page version (it counts every visible post).
    total = per_version(now, f"feed total {post_filter!r}", lambda: count_posts(now, post_filter))
    hub = current_app.config.get("WEBSUB_HUB")
    # WebSub: the hub is pinged with the feeds' plain addresses (kmblog/webmention), so
    # only those name it; a page or another format of a feed is never pushed.
    if hub and not request.query_string:
        info = replace(info, hub_url=str(hub))
    response = _atom(
        build_posts_feed(
            info,
            settings.atom_id,
            listing.posts,
            _external_post_url,
            _external_label_url,
            rss=query.rss,
            summary=summary,
            page=_feed_page(total, len(listing.posts)),
        )
    )
    if info.hub_url:
        response.headers["Link"] = f'<{info.hub_url}>; rel="hub", <{info.self_url}>; rel="self"'
    return response


def _comments_feed(settings: Settings, info: FeedInfo, post_id: int | None = None) -> Response:
    query = _query()
    now = utcnow()
    found = latest_comments(now, query.size, post_id=post_id, offset=query.start_index - 1)
    # The openSearch total: one query more than the listing, once per page version (the
    # blog's counts every published comment: 10 ms of SQLite on 200,000 of them).
    total = per_version(
        now, f"comment total {post_id}", lambda: count_comments(now, post_id=post_id)
    )
    return _atom(
        build_comments_feed(
            info,
            settings.atom_id,
            found,
            _comment_url,
            rss=query.rss,
            page=_feed_page(total, len(found)),
        )
    )


def _blog_info(settings: Settings) -> FeedInfo:
    return FeedInfo(
        atom_id=blog_feed_atom_id(settings),
        title=settings.title,
        subtitle=settings.description,
        self_url=_self_url(),
        page_url=url_for("blog.index", _external=True),
        fallback_updated=utcnow(),
    )


# Blogger's ".../full" addresses are the same feeds as ".../default"; url_for gives the
# address registered first, the one nearest each view.
@feeds.get("/feeds/posts/full")
@feeds.get("/feeds/posts/default")  # the first registered: url_for's choice
def posts() -> Response:
    """Atom: the newest posts."""
    settings = current_settings()
    _query()
    return _posts_feed(settings, PostFilter(), _blog_info(settings))


@feeds.get("/feeds/posts/summary")
def summary_posts() -> Response:
    """Atom: the newest posts, each as its description rather than its whole text."""
    settings = current_settings()
    _query()
    return _posts_feed(settings, PostFilter(), _blog_info(settings), summary=True)


def _label_feed(name: str, endpoint: str, summary: bool) -> Any:
    settings = current_settings()
    _query()
    sidebar = current_sidebar(utcnow())
    found = sidebar.find_label(name)
    if found is None:
        abort(404, description=f"No post has the label “{name}”.")
    if found.name != name:
        # Its parameters (alt, paging) go along; never through url_for, which would read
        # a parameter named like its own (_external, _scheme) as an instruction.
        query = urlencode(list(request.args.items(multi=True)))
        return redirect(url_for(endpoint, name=found.name) + (f"?{query}" if query else ""), 301)
    info = FeedInfo(
        atom_id=f"{settings.atom_id}.label-{found.id}",
        title=f"{settings.title}: {found.name}",
        subtitle=settings.description,
        self_url=_self_url(),
        page_url=label_url(found.name, external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, label_filter(sidebar, found), info, summary=summary)


@feeds.get("/feeds/posts/full/-/<path:name>")
@feeds.get("/feeds/posts/default/-/<path:name>")
def label_posts(name: str) -> Any:
    """Atom: the newest posts with one label."""
    return _label_feed(name, "feeds.label_posts", summary=False)


@feeds.get("/feeds/posts/summary/-/<path:name>")
def summary_label_posts(name: str) -> Any:
    """Atom: the newest posts with one label, as descriptions."""
    return _label_feed(name, "feeds.summary_label_posts", summary=True)


@feeds.get("/feeds/<any(plans, strategies):kinds>/default")
def kind_posts(kinds: str) -> Response:
    """Atom: the newest KM plans, or KM strategies."""
    settings = current_settings()
    _query()
    kind = PostKind.PLAN if kinds == "plans" else PostKind.STRATEGY
    info = FeedInfo(
        atom_id=f"{settings.atom_id}.{kinds}",
        title=f"{settings.title}: KM {kinds.capitalize()}",
        subtitle=settings.description,
        self_url=_self_url(),
        page_url=url_for("blog.by_kind", kinds=kinds, _external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, PostFilter(kind=kind), info)


@feeds.get("/feeds/series/<slug>/default")
def series_posts(slug: str) -> Response:
    """Atom: the newest posts of one series (a subscriber hears of each new part)."""
    settings = current_settings()
    _query()
    found = find_public_series(slug, utcnow())
    if found is None:
        abort(404, description="There is no series at this address.")
    info = FeedInfo(
        atom_id=f"{settings.atom_id}.series-{found.id}",
        title=f"{settings.title}: {found.title}",
        # Its author's words about it, as plain text, else the blog's.
        subtitle=post_description("", found.description_html) or settings.description,
        self_url=_self_url(),
        page_url=series_url(found.slug, external=True),
        fallback_updated=utcnow(),
    )
    return _posts_feed(settings, PostFilter(series_id=found.id), info)


@feeds.get("/feeds/comments/full")
@feeds.get("/feeds/comments/default")
def comments() -> Response:
    """Atom: the newest comments on the whole blog."""
    settings = current_settings()
    _query()
    info = FeedInfo(
        atom_id=comments_feed_atom_id(settings),
        title=f"{settings.title}: Comments",
        subtitle=settings.description,
        self_url=_self_url(),
        page_url=url_for("blog.index", _external=True),
        fallback_updated=utcnow(),
    )
    return _comments_feed(settings, info)


@feeds.get("/feeds/<int:post_id>/comments/full")
@feeds.get("/feeds/<int:post_id>/comments/default")
def post_comments(post_id: int) -> Response:
    """Atom: the comments on one post."""
    settings = current_settings()
    _query()
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
        self_url=_self_url(),
        page_url=post_url(post, external=True),
        fallback_updated=post.published_at or now,
    )
    return _comments_feed(settings, info, post_id=post.id)


@feeds.get("/atom.xml")
@feeds.get("/rss.xml")
def classic_feed() -> WerkzeugResponse:
    """Blogger's first feed addresses lead to the posts feed."""
    rss = request.path == "/rss.xml"
    return redirect(url_for("feeds.posts", alt="rss" if rss else None), 301)
