"""The reader's pages: home, older posts, a post, labels (each, and all of them), series,
archives, search, profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from kmblog import timefmt
from kmblog.auth.services import find_user_by_name
from kmblog.blog import heads
from kmblog.blog.history import HistoryError, find_post_for_history, load_history
from kmblog.blog.pages import page_context, render_post_page
from kmblog.blog.queries import Cursor
from kmblog.blog.search import search_posts
from kmblog.blog.services import (
    PostFilter,
    PostListing,
    Sidebar,
    find_moved_page,
    find_moved_post,
    find_page,
    find_post,
    label_filter,
    list_posts,
)
from kmblog.comments.forms import CommentForm
from kmblog.context import (
    current_settings,
    current_sidebar,
    current_zone,
    to_local,
)
from kmblog.federation.negotiation import wants_activity
from kmblog.federation.responses import article_response
from kmblog.models import MAX_ID, Post, PostKind, utcnow
from kmblog.rendering import text_diff
from kmblog.seo.metadata import Head
from kmblog.series.services import find_series_listing
from kmblog.urls import post_url

blog = Blueprint("blog", __name__)

MAX_SEARCH_WORDS = 10
# Far enough for any reader; past it a search should be narrowed, not paged.
MAX_START_INDEX = 10_000


@blog.before_request
def drop_mobile_switch() -> Any:
    """Blogger's mobile switch (?m=1, ?m=0) in old links: the same page, one address."""
    if "m" not in request.args or request.method not in {"GET", "HEAD"}:
        return None
    args = request.args.copy()
    args.pop("m")
    query = urlencode(list(args.items(multi=True)))
    return redirect(request.path + (f"?{query}" if query else ""), 301)


@dataclass
class Day:
    """Posts published on one local day, under its header."""

    header: str
    posts: list[Post]


@dataclass(frozen=True)
class Paging:
    before: Cursor | None
    after: Cursor | None
    limit: int


def _parse_paging() -> Paging:
    """Blogger's paging parameters: updated-max, max-results, reverse-paginate."""
    settings = current_settings()
    limit = request.args.get("max-results", type=int)
    if limit is None or limit < 1:
        limit = settings.posts_per_page
    limit = min(limit, current_app.config["MAX_RESULTS_LIMIT"])
    raw = request.args.get("updated-max")
    if not raw:
        return Paging(None, None, limit)
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=current_zone())
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        abort(400, description="The updated-max date is not an ISO 8601 date and time.")
    post_id = request.args.get("cursor-id", type=int)
    if post_id is not None and not 0 < post_id <= MAX_ID:
        abort(400, description="The cursor-id is not a post number.")
    cursor = Cursor(moment, post_id)
    if request.args.get("reverse-paginate") == "true":
        return Paging(None, cursor, limit)
    return Paging(cursor, None, limit)


def _cursor_url(cursor: Cursor | None, limit: int, reverse: bool = False) -> str | None:
    if cursor is None:
        return None
    args = dict(request.view_args or {})
    if request.args.get("q"):
        args["q"] = request.args["q"]
    args["updated-max"] = to_local(cursor.published_at).isoformat()
    args["max-results"] = limit
    if cursor.post_id is not None:
        args["cursor-id"] = cursor.post_id
    if reverse:
        args["reverse-paginate"] = "true"
    # The home page's older posts live under /search, as on Blogger.
    endpoint = request.endpoint if request.endpoint != "blog.index" else "blog.search"
    return url_for(endpoint or "blog.search", **args)


def _group_by_day(posts: list[Post]) -> list[Day]:
    days: list[Day] = []
    for post in posts:
        header = timefmt.day_header(to_local(Cursor.of(post).published_at))
        if not days or days[-1].header != header:
            days.append(Day(header, []))
        days[-1].posts.append(post)
    return days


def _render_listing(
    post_filter: PostFilter,
    now: datetime,
    sidebar: Sidebar | None = None,
    head: Head | None = None,
    **extra: Any,
) -> str:
    """A page of posts under their date headers; without `head`, the home page's."""
    paging = _parse_paging()
    listing: PostListing = list_posts(
        now, post_filter, paging.limit, before=paging.before, after=paging.after
    )
    context = page_context(now, sidebar)
    context["feeds"] = context["feeds"] + extra.pop("extra_feeds", [])
    return render_template(
        "blog/index.html",
        days=_group_by_day(listing.posts),
        comment_counts=listing.comment_counts,
        older_url=_cursor_url(listing.older, paging.limit),
        newer_url=_cursor_url(listing.newer, paging.limit, reverse=True),
        paged=paging.before is not None or paging.after is not None,
        head=head or heads.home_head(listing.posts),
        **context,
        **extra,
    )


@blog.get("/")
def index() -> str:
    """Newest posts under their date headers."""
    return _render_listing(PostFilter(), utcnow())


@blog.get("/search")
def search() -> str:
    """Search (q=words), or older posts of the home page (updated-max=...)."""
    query = " ".join(request.args.get("q", "").split())
    if not query:
        return _render_listing(PostFilter(), utcnow())
    words = tuple(query.split()[:MAX_SEARCH_WORDS])
    if "updated-max" in request.args:
        # Date-ordered paging, as Blogger's own search links had it.
        return _render_listing(
            PostFilter(words=words), utcnow(), head=heads.search_head(query), search_query=query
        )
    return _render_search(words, query, utcnow())


def _render_search(words: tuple[str, ...], query: str, now: datetime) -> str:
    """Search results, best match first, paged by Blogger's start-index (1-based)."""
    limit = _parse_paging().limit
    raw = request.args.get("start-index", "1")
    start = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else 0
    if not 1 <= start <= MAX_START_INDEX:
        abort(400, description=f"The start-index is not a number from 1 to {MAX_START_INDEX}.")
    results = search_posts(now, words, limit, start - 1)

    def page_url(first: int) -> str:
        args: dict[str, Any] = {
            "q": request.args.get("q", query),
            "start-index": first,
            "max-results": limit,
        }
        return url_for("blog.search", **args)

    return render_template(
        "blog/index.html",
        days=_group_by_day(results.posts),
        comment_counts=results.comment_counts,
        older_url=page_url(start + limit) if results.more else None,
        newer_url=page_url(max(1, start - limit)) if start > 1 else None,
        paged=start > 1,
        search_query=query,
        ranked=True,
        head=heads.search_head(query),
        **page_context(now),
    )


@blog.get("/search/label/<path:name>")
def label(name: str) -> Any:
    """Posts with one label; the label is named in the URL as it is shown."""
    now = utcnow()
    sidebar = current_sidebar(now)
    found = sidebar.find_label(name)
    if found is None:
        abort(404, description=f"No post has the label “{name}”.")
    if found.name != name:
        query = request.query_string.decode("latin-1")
        target = url_for("blog.label", name=found.name) + (f"?{query}" if query else "")
        return redirect(target, 301)
    label_feed = (
        f"{current_settings().title} - {found.name} - Atom",
        url_for("feeds.label_posts", name=found.name),
    )
    return _render_listing(
        label_filter(sidebar, found),
        now,
        sidebar,
        head=heads.label_head(found),
        label_name=found.name,
        extra_feeds=[label_feed],
    )


@blog.get("/labels/")
def labels() -> str:
    """Every label with its count: the sidebar shows only the most used."""
    now = utcnow()
    sidebar = current_sidebar(now)
    return render_template(
        "blog/labels.html",
        labels=sidebar.labels,
        head=heads.labels_head(len(sidebar.labels)),
        **page_context(now, sidebar),
    )


KIND_PAGES = {"plans": PostKind.PLAN, "strategies": PostKind.STRATEGY}


@blog.get("/<any(plans, strategies):kinds>/")
def by_kind(kinds: str) -> str:
    """All KM plans, or all KM strategies, newest first."""
    kind = KIND_PAGES[kinds]
    title = "KM Plans" if kind == PostKind.PLAN else "KM Strategies"
    feed = (
        f"{current_settings().title} - {kinds.capitalize()} - Atom",
        url_for("feeds.kind_posts", kinds=kinds),
    )
    return _render_listing(
        PostFilter(kind=kind),
        utcnow(),
        head=heads.kind_head(kinds, title),
        kind_title=title,
        extra_feeds=[feed],
    )


@blog.get("/series/<slug>.html")
def series(slug: str) -> Any:
    """A series' visible posts in the authors' order, each with its part number."""
    now = utcnow()
    found = find_series_listing(slug, now)
    if found is None:
        abort(404, description="There is no series at this address.")
    series_feed = (
        f"{current_settings().title} - {found.series.title} - Atom",
        url_for("feeds.series_posts", slug=found.series.slug),
    )
    context = page_context(now)
    context["feeds"] = context["feeds"] + [series_feed]
    return render_template(
        "blog/series.html",
        listing=found,
        head=heads.series_head(found.series, len(found.posts)),
        **context,
    )


@blog.get("/<int(fixed_digits=4):year>/")
def archive_year(year: int) -> str:
    """Posts of one year (by their URL's year), and links to its months: the sidebar's
    Blog Archive lists only the newest year's."""
    now = utcnow()
    sidebar = current_sidebar(now)
    months = next((shown.months for shown in sidebar.archive if shown.year == year), [])
    return _render_listing(
        PostFilter(year=year),
        now,
        sidebar,
        head=heads.archive_head(year, None, sidebar.posts_in(year)),
        archive_title=str(year),
        archive_year=year,
        year_months=months,
    )


@blog.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/")
def archive_month(year: int, month: int) -> str:
    """Posts of one month."""
    if not 1 <= month <= 12:
        abort(404)
    title = f"{timefmt.month_name(month)} {year}"
    now = utcnow()
    sidebar = current_sidebar(now)
    return _render_listing(
        PostFilter(year=year, month=month),
        now,
        sidebar,
        head=heads.archive_head(year, month, sidebar.posts_in(year, month)),
        archive_title=title,
    )


@blog.get("/<int(fixed_digits=4):year>_<int(fixed_digits=2):month>_01_archive.html")
def blogger_archive(year: int, month: int) -> Any:
    """Blogger's old archive file names lead to the month's page."""
    if not 1 <= month <= 12:
        abort(404)
    return redirect(url_for("blog.archive_month", year=year, month=month), 301)


@blog.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<slug>.html")
def post(year: int, month: int, slug: str) -> Any:
    """One post, its comments and the comment form."""
    now = utcnow()
    found = find_post(year, month, slug, now)
    if found is None:
        moved = find_moved_post(year, month, slug, now)
        if moved is None:
            abort(404, description="There is no post at this address.")
        return redirect(post_url(moved), 301)
    if wants_activity(request.headers.get("Accept")):
        # A fediverse server resolving a pasted link: the post as an Article.
        response = article_response(found)
    else:
        # The same bytes for every reader: no session, no token, a page timer (the
        # page's script asks for the reader's own timer when the form comes into view).
        response = make_response(render_post_page(found, CommentForm.for_visitor(), now))
    response.vary.add("Accept")
    return response


# Not /YYYY/MM/slug.html/...: a folder of its own beside Blogger's file names, which
# no slug (letters, digits, hyphens) or archive address can take.
@blog.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<slug>/history")
def post_history(year: int, month: int, slug: str) -> Any:
    """A post's public revisions with their notes, and the changes between two of them
    (`?from=N&to=M`; by default the newest and the one before)."""
    now = utcnow()
    found = find_post_for_history(year, month, slug, now)
    if found is None:
        moved = find_moved_post(year, month, slug, now)
        if moved is None:
            abort(404, description="There is no post at this address.")
        query = request.query_string.decode("latin-1")
        target = url_for("blog.post_history", year=moved.year, month=moved.month, slug=moved.slug)
        return redirect(target + (f"?{query}" if query else ""), 301)
    numbers = []
    for name in ("from", "to"):
        raw = request.args.get(name, "")
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            abort(400, description=f"The {name} value is not a revision number.")
        numbers.append(int(raw) if raw else None)
    try:
        history = load_history(found, now, numbers[0], numbers[1])
    except HistoryError as error:
        abort(400, description=str(error))
    old, new = history.old, history.new
    return render_template(
        "blog/history.html",
        history=history,
        post=found,
        title_diff=text_diff(old.title, new.title) if old and old.title != new.title else None,
        summary_diff=text_diff(old.summary, new.summary)
        if old and old.summary != new.summary
        else None,
        body_diff=text_diff(old.body_source, new.body_source) if old else None,
        head=heads.history_head(found),
        **page_context(now),
    )


@blog.get("/p/<slug>.html")
def page(slug: str) -> Any:
    """A standalone page (Blogger's /p/slug.html), outside the dated posts."""
    now = utcnow()
    found = find_page(slug, now)
    if found is None:
        moved = find_moved_page(slug, now)
        if moved is None:
            abort(404, description="There is no page at this address.")
        return redirect(url_for("blog.page", slug=moved.slug), 301)
    return render_template(
        "blog/page.html", page=found, head=heads.page_head(found), **page_context(now)
    )


@blog.get("/profile/<username>")
def profile(username: str) -> Any:
    """An author's profile and their recent posts."""
    now = utcnow()
    author = find_user_by_name(username)
    if author is None:
        abort(404, description="There is no author by that name.")
    paging = _parse_paging()
    listing = list_posts(
        now,
        PostFilter(author_id=author.id),
        paging.limit,
        paging.before,
        paging.after,
        titles_only=True,
    )
    return render_template(
        "blog/profile.html",
        author=author,
        posts=listing.posts,
        older_url=_cursor_url(listing.older, paging.limit),
        head=heads.profile_head(author),
        **page_context(now),
    )
