"""No page runs more SQL as the blog grows: counts on a small and a bigger blog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import feedparser
import pytest

from kmblog.change_signal import change_signal
from kmblog.extensions import db
from kmblog.manage.services import PostAction, PostDraft, save_post
from kmblog.models import Page, Post, User
from tests.factories import BASE_TIME, CommentRef, PostRef

MAX_QUERIES = 6
# A post's public history: see test_a_history_costs_the_same_whatever_its_number_of_revisions.
HISTORY_QUERIES = 4

PAGES = [
    "/",
    "{post}",
    # Pages of a post's comments (the uncached app shows two a page).
    "{post}?comments-before={last}",
    "{post}?comments-after={first}",
    "{post}?showComment={millis}",
    "/search?updated-max=2009-07-04T00:00:00%2B00:00&max-results=3",
    "/search/label/Tools",
    "/2009/",
    "/2009/07/",
    "/search?q=series",
    "/profile/writer",
    "/labels/",
    "/p/about.html",
    "/feeds/posts/default",
    "/feeds/posts/default/-/Tools",
    "/feeds/comments/default",
    "/feeds/{post_id}/comments/default",
    # The post's public history (issue 18) and a comparison of two revisions.
    "{history}",
    "{history}?from=1&to=1",
]


@dataclass(frozen=True)
class Grown:
    """The post whose pages are counted, and its first and last comments."""

    post: PostRef
    first: CommentRef
    last: CommentRef


def grow(blog, posts: int, comments_each: int, labels: int) -> Grown:  # type: ignore[no-untyped-def]
    # Standalone pages, one a grown blog gets more of: the sidebar lists them all with
    # the archive and the labels, in the same query.
    if blog.count(Page) == 0:
        blog.page("About")
    blog.page(f"Contact {blog.count(Page)}")
    made = []
    for i in range(posts):
        post = blog.post(
            title=f"Series post {i}",
            labels=("Tools", *(f"Label {j}" for j in range(i % labels + 1))),
            published=BASE_TIME + timedelta(days=i),
        )
        comments = [blog.comment(post, name="Dave") for _ in range(comments_each)]
        made.append(Grown(post, comments[0], comments[-1]))
    return made[len(made) // 2]


def measure(client, count_queries, grown, touch=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Queries per page; with `touch`, a write first, so nothing built for the blog's
    last version (the sidebar) is reused: the worst case, the first page after a change."""
    counts = {}
    for page in PAGES:
        post = grown.post
        url = page.format(
            post=post.url,
            history=post.url.removesuffix(".html") + "/history",
            post_id=post.id,
            first=grown.first.id,
            last=grown.last.id,
            millis=grown.last.millis,
        )
        client.get(url)  # a first request may set up the session
        if touch is not None:
            touch()
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[page] = len(queries)
    return counts


@pytest.fixture
def writer(blog):  # type: ignore[no-untyped-def]
    return blog.author("writer")


@pytest.fixture
def uncached_client(make_app):  # type: ignore[no-untyped-def]
    """A client of an app with the page cache off: every request renders its page. It
    reads the page version on every page too, so that each count holds whatever the
    clock does (test_an_unchanged_blog_costs_no_query_to_date counts what trusting the
    last version read saves)."""
    return make_app(
        PAGE_CACHE=False, COMMENTS_PER_PAGE=2, PAGE_VERSION_RECHECK_SECONDS=0
    ).test_client()


def test_query_counts_do_not_grow_with_posts_labels_and_comments(
    uncached_client, blog, count_queries, writer
):
    """Rendering a page costs the same few queries on a small and on a bigger blog."""
    small = measure(uncached_client, count_queries, grow(blog, 3, comments_each=2, labels=1))
    big = measure(uncached_client, count_queries, grow(blog, 40, comments_each=6, labels=8))
    assert big == small
    for page, count in big.items():
        assert count <= MAX_QUERIES, f"{page}: {count} queries"


def test_the_first_page_after_a_change_stays_within_the_limit(
    uncached_client, blog, count_queries, writer
):
    """After a write every process counts the sidebar again: still the same few queries,
    and the pages after it are cheaper for reusing it."""
    grown = grow(blog, 40, comments_each=6, labels=8)
    touch = lambda: blog.comment(grown.post)  # noqa: E731
    cold = measure(uncached_client, count_queries, grown, touch=touch)
    warm = measure(uncached_client, count_queries, grown)
    for page, count in cold.items():
        assert count <= MAX_QUERIES, f"{page}: {count} queries"
    # Every HTML page shows the sidebar: the counting query it no longer needs.
    for page in PAGES:
        if not page.startswith("/feeds/"):
            assert warm[page] == cold[page] - 1, page


def test_a_cached_page_costs_one_query(make_app, blog, count_queries, writer):
    """Served from the cache, any page or feed costs at most the one query that dates
    the blog (here read on every page)."""
    client = make_app(PAGE_VERSION_RECHECK_SECONDS=0).test_client()
    counts = measure(client, count_queries, grow(blog, 40, comments_each=6, labels=8))
    assert set(counts.values()) == {1}, counts


THREAD_PAGES = [
    "{post}",
    "{post}?showComment={millis}",
    "{post}?comments-before={last}",
    "{post}?reply={reply}",
    "/feeds/comments/default",
    "/feeds/{post_id}/comments/default",
]


def measure_thread(client, count_queries, post: PostRef, top: CommentRef, reply: CommentRef):  # type: ignore[no-untyped-def]
    counts = {}
    for page in THREAD_PAGES:
        url = page.format(
            post=post.url, post_id=post.id, millis=reply.millis, last=top.id, reply=reply.id
        )
        client.get(url)
        with count_queries() as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[page] = len(queries)
    return counts


def test_threads_cost_no_more_queries_than_flat_comments(
    uncached_client, blog, count_queries, writer
):
    """A post page loads its top-level comments and every reply of their threads in one
    query: the same count for flat comments, a few replies, and long deep threads."""

    def talk(title: str, replies_each: int) -> tuple[PostRef, CommentRef, CommentRef]:
        post = blog.post(title=title)
        tops = []
        reply = None
        for i in range(4):
            top = blog.comment(post, name="Dave", at=BASE_TIME + timedelta(hours=i + 1))
            tops.append(top)
            answered = top
            for j in range(replies_each):
                # Each answers the one before: threads deeper than the depth limit.
                at = BASE_TIME + timedelta(days=1, hours=i, minutes=j)
                answered = blog.comment(post, name="Eve", reply_to=answered, at=at)
                reply = answered
        return post, tops[-1], reply or tops[0]

    flat = measure_thread(uncached_client, count_queries, *talk("Flat", 0))
    threaded = measure_thread(uncached_client, count_queries, *talk("Threaded", 2))
    deep = measure_thread(uncached_client, count_queries, *talk("Deep", 12))
    assert flat == threaded == deep
    for page, count in deep.items():
        assert count <= MAX_QUERIES, f"{page}: {count} queries"


def test_an_unchanged_blog_costs_no_query_to_date(make_app, blog, count_queries, writer):
    """On SQLite, a process trusts the version it read last until a write raises the
    change signal: a cached page then costs no query at all; after any write, from
    another app (another worker), the one query again. A server database has no
    signal: one query, always."""
    grown = grow(blog, 40, comments_each=6, labels=8)
    client = make_app(PAGE_VERSION_RECHECK_SECONDS=3600).test_client()
    with client.application.app_context():
        signalled = change_signal(db.engine) is not None
    unchanged = measure(client, count_queries, grown)
    assert set(unchanged.values()) == ({0} if signalled else {1}), unchanged
    # A write made through the other app: every page reads the version again (and is
    # built again, since the version names its cache entry); then none is read.
    after_write = measure(client, count_queries, grown, touch=lambda: blog.comment(grown.post))
    assert all(count >= 1 for count in after_write.values()), after_write
    assert measure(client, count_queries, grown) == unchanged


# What each feed costs, uncached: the settings row (which dates the page too); the
# listing (posts: their rows with authors, then their labels; comments: one query; one
# post's comments find that post first); and, on the first request after a change, one
# query more than before issue 17, the count behind the openSearch totalResults that
# Blogger's feeds carried and rel="next" needs (kept for the page version, as the
# sidebar is: the blog's comment count read every comment). (A label feed finds its
# label in the sidebar, counted already, warm here.)
FEED_QUERIES = {
    "/feeds/posts/default": 3,
    "/feeds/posts/default/-/Tools": 3,
    "/feeds/comments/default": 2,
    "/feeds/{post_id}/comments/default": 3,
}


def test_each_feed_costs_its_listing_and_one_count_per_change(
    uncached_client, blog, count_queries, writer
):
    """A feed's queries, exactly: the page's own, plus one that counts its entries once
    after each change."""
    grown = grow(blog, 40, comments_each=6, labels=8)
    warm = measure(uncached_client, count_queries, grown)
    assert {page: warm[page] for page in FEED_QUERIES} == FEED_QUERIES
    cold = measure(uncached_client, count_queries, grown, touch=lambda: blog.comment(grown.post))
    # After a change: the count, and the label feed's sidebar (which it finds its label
    # in) is counted again.
    assert {page: cold[page] for page in FEED_QUERIES} == {
        "/feeds/posts/default": 4,
        "/feeds/posts/default/-/Tools": 5,
        "/feeds/comments/default": 3,
        "/feeds/{post_id}/comments/default": 4,
    }


def test_a_feeds_total_counts_what_a_change_added(client, blog, writer):
    """The kept total moves with the blog: a new comment shows in the next feed's count."""
    grown = grow(blog, 3, comments_each=2, labels=1)
    url = f"/feeds/{grown.post.id}/comments/default"
    before = feedparser.parse(client.get(url).data)
    blog.comment(grown.post)
    after = feedparser.parse(client.get(url).data)
    assert int(after.feed.opensearch_totalresults) == int(before.feed.opensearch_totalresults) + 1
    everything = feedparser.parse(client.get("/feeds/comments/default").data)
    blog.comment(grown.post)
    more = feedparser.parse(client.get("/feeds/comments/default").data)
    total = int(everything.feed.opensearch_totalresults)
    assert int(more.feed.opensearch_totalresults) == total + 1


def test_a_history_costs_the_same_whatever_its_number_of_revisions(
    uncached_client, app, blog, count_queries, writer
):
    """The history page lists every revision and compares two: two queries for them, a
    post with one revision or with twenty."""
    counts = []
    for edits in (1, 20):
        made = blog.post(title=f"Edited {edits} times", body="Version 0.")
        with app.app_context():
            post = db.session.get(Post, made.id)
            author = db.session.get(User, writer)
            assert post is not None and author is not None
            for n in range(1, edits + 1):
                draft = PostDraft(title=post.title, body=f"Version {n}.", change_note=f"Note {n}")
                save_post(post, draft, PostAction.SAVE, BASE_TIME + timedelta(days=n), by=author)
        url = made.url.removesuffix(".html") + "/history"
        for query in ("", "?from=1&to=2"):
            uncached_client.get(url + query)
            with count_queries() as queries:
                response = uncached_client.get(url + query)
            assert response.status_code == 200
            assert f"Revision {edits + 1}" in response.text
            counts.append(len(queries))
    # The settings with the page version, the post with its author, the revisions
    # listed, the two compared (the sidebar is the blog version's, built before).
    assert counts == [HISTORY_QUERIES] * 4
