"""Every feed address passes the feed validators' rules (tests/feed_checks.py: RFC 4287's
RELAX NG schema with lxml, feedparser, and the W3C validator's rules one by one), on a
blog with threaded, edited and hostile comments, and on both imported Blogger samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import feedparser
import pytest
from sqlalchemy import select

from kmblog.comments.services import CommentRules, edit_comment
from kmblog.extensions import db
from kmblog.manage.services import PostDraft, create_post
from kmblog.models import Comment, CommentStatus, Post, PostKind, User
from tests.blogger_files import SAMPLES, sample
from tests.factories import BASE_TIME, BlogBuilder, PostRef
from tests.feed_checks import check_feed
from tests.security.payloads import PAYLOADS

SITE = "http://blog.test"
LABEL = "KM Strategy"
OTHER_LABEL = "Tools & Tips"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Each feed with Blogger's parameters: the formats, a page, the next page, and both.
VARIANTS = [
    "",
    "?alt=rss",
    "?alt=atom",
    "?max-results=5",
    "?start-index=3&max-results=5",
    "?alt=rss&start-index=3&max-results=5",
    "?max-results=100",
    "?alt=rss&max-results=100",
    "?start-index=1000",
]


@dataclass(frozen=True)
class Feed:
    path: str
    page: str  # the page its alternate (RSS: channel) link must name


def feeds_of(post: PostRef, post_ids: list[int | str]) -> list[Feed]:
    home = SITE + "/"
    label_page = f"{SITE}/search/label/{quote(LABEL)}"
    found = [
        Feed("/feeds/posts/default", home),
        Feed("/feeds/posts/full", home),
        Feed("/feeds/posts/summary", home),
        Feed(f"/feeds/posts/default/-/{quote(LABEL)}", label_page),
        Feed(f"/feeds/posts/full/-/{quote(LABEL)}", label_page),
        Feed(f"/feeds/posts/summary/-/{quote(LABEL)}", label_page),
        Feed(
            f"/feeds/posts/default/-/{quote(OTHER_LABEL, safe='&')}",
            f"{SITE}/search/label/{quote(OTHER_LABEL, safe='&')}",
        ),
        Feed(f"/feeds/series/{SERIES_SLUG}/default", f"{SITE}/series/{SERIES_SLUG}.html"),
        Feed("/feeds/plans/default", f"{SITE}/plans/"),
        Feed("/feeds/strategies/default", f"{SITE}/strategies/"),
        Feed("/feeds/comments/default", home),
        Feed("/feeds/comments/full", home),
    ]
    for post_id in post_ids:
        found += [
            Feed(f"/feeds/{post_id}/comments/default", SITE + post.url),
            Feed(f"/feeds/{post_id}/comments/full", SITE + post.url),
        ]
    return found


# The series of the busy blog's essays (its title has markup-like characters too).
SERIES_TITLE = "Essays & <Drafts>, in order"
SERIES_SLUG = "essays-drafts-in-order"


def kind_post(app, blog: BlogBuilder, kind: PostKind, title: str) -> None:  # type: ignore[no-untyped-def]
    author_id = blog.author()
    with app.app_context():
        create_post(
            db.session.get(User, author_id),
            PostDraft(title=title, body=f"What {title} says.", labels=(LABEL,), kind=kind),
            now=BASE_TIME + 3 * DAY,
            publish_at=BASE_TIME + 3 * DAY,
        )


def edit(app, comment_id: int, body: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        assert comment is not None
        edit_comment(comment, body, CommentRules(), BASE_TIME + 20 * DAY)


@pytest.fixture
def busy_blog(app, blog: BlogBuilder) -> PostRef:  # type: ignore[no-untyped-def]
    """Posts with labels (one with markup-like characters in its title), the essays as a
    series, a plan and a strategy, and on one post: threads, edited comments and every
    hostile payload as a comment's text and as a commenter's name."""
    blog.settings(title="KM & <Depot>", description="Plans, strategies & “tools”")
    essays = [
        blog.post(
            title=f"Essay {i}",
            body=f"Paragraph **{i}** of the essay.\n\nMore.",
            labels=(LABEL, OTHER_LABEL) if i % 2 else (LABEL,),
            published=BASE_TIME + i * HOUR,
        )
        for i in range(6)
    ]
    series = blog.series(
        SERIES_TITLE, (*essays[::-1], blog.post(title="Unfinished", draft=True)), "Read *all*."
    )
    assert series.slug == SERIES_SLUG
    post = blog.post(
        title="Why <b>tags</b> & entities &amp; stay text",
        body="A post with *many* comments.",
        labels=(LABEL,),
        published=BASE_TIME + DAY,
    )
    kind_post(app, blog, PostKind.PLAN, "A KM plan")
    kind_post(app, blog, PostKind.STRATEGY, "A KM strategy")
    at = BASE_TIME + DAY
    top = blog.comment(post, body="A <b>first</b> thought.", name="Mary", at=at + HOUR)
    reply = blog.comment(post, body="A reply.", name="Ravi", at=at + 2 * HOUR, reply_to=top)
    blog.comment(post, body="A reply to the reply.", at=at + 3 * HOUR, reply_to=reply)
    edited = blog.comment(post, body="Before the edit.", name="Omar", at=at + 4 * HOUR)
    edit(app, edited.id, "After the edit, with <i>emphasis</i> & more.")
    for i, (_id, payload) in enumerate(PAYLOADS):
        # A name is at most 100 characters (the form's limit, and PostgreSQL's column).
        name = PAYLOADS[(i + 1) % len(PAYLOADS)][1][:100]
        blog.comment(post, body=payload, name=name, at=at + (5 + i) * HOUR)
    blog.comment(post, body="Held back.", at=at + 400 * HOUR, status=CommentStatus.PENDING)
    return post


def test_every_feed_address_passes_the_feed_checks(app, client, busy_blog):
    """Every feed, in Atom and RSS, whole and paged, passes the schema, feedparser and
    the validator's rules (self link = the address fetched, authors, ids, dates, plain
    text constructs, RSS channel and items)."""
    checked = 0
    entries = 0
    for feed in feeds_of(busy_blog, [busy_blog.id]):
        for variant in VARIANTS:
            url = SITE + feed.path + variant
            response = client.get(url)
            assert response.status_code == 200, url
            assert check_feed(response.data, url, feed.page) == [], url
            checked += 1
            entries += len(feedparser.parse(response.data).entries)
    assert checked == 14 * len(VARIANTS)
    assert entries > 1000


@pytest.mark.parametrize("name", SAMPLES)
def test_imported_blogger_feeds_pass_the_feed_checks(app, runner, client, name):
    """The feeds of a blog imported from each real Blogger sample pass the same checks,
    its posts' comment feeds under our ids and under their Blogger ids alike."""
    result = runner.invoke(args=["import", "blogger", str(sample(name))])
    assert result.exit_code == 0, result.output
    with app.app_context():
        posts = list(db.session.scalars(select(Post).where(Post.published_at.is_not(None))))
        addresses = [
            (post.id, post.blogger_id, f"/{post.year:04d}/{post.month:02d}/{post.slug}.html")
            for post in posts
            if post.year is not None
        ]
    assert addresses
    paths = ["/feeds/posts/default", "/feeds/posts/summary", "/feeds/comments/default"]
    for post_id, blogger_id, _url in addresses:
        paths.append(f"/feeds/{post_id}/comments/default")
        if blogger_id:
            paths.append(f"/feeds/{blogger_id}/comments/default")
    for path in paths:
        for variant in ("", "?alt=rss", "?max-results=1&start-index=2"):
            url = SITE + path + variant
            response = client.get(url)
            if response.status_code == 404 and "/comments/" in path:
                continue  # a post not shown (a draft, or later): no feed, rightly
            assert response.status_code == 200, url
            assert check_feed(response.data, url) == [], url


# --- the checks themselves fail when they should ---------------------------------------------

ATOM_BREAKAGES = {
    # what is changed -> (replace this, with that, a problem that must be reported)
    "self link": ("?max-results=5", "", "is not the address"),
    "author": ("author>", "contributor>", "no author"),
    "date": ("<published>20", "<published>Monday 20", "is not RFC 3339"),
    "html title": ("<title>", '<title type="html">', "not plain text"),
    "relative id": ("<id>tag:", "<id>", "not an absolute IRI"),
    "schema": ("generator", "generated", "RELAX NG"),
}
RSS_BREAKAGES = {
    "self link": ("alt=rss&amp;max-results=5", "alt=rss", "is not the address"),
    "channel link": ("<link>http://blog.test/</link>", "<link>http://blog.test/x</link>", "blog"),
    "creator": ("dc:creator>", "dc:contributor>", "no dc:creator"),
    "date": (" +0000</pubDate>", "Z</pubDate>", "not RFC 822"),
    "guid": ("<guid", "<comments", "guid"),
}


@pytest.mark.parametrize("breakage", ATOM_BREAKAGES.values(), ids=ATOM_BREAKAGES.keys())
def test_the_atom_checks_catch_what_validators_catch(client, blog, breakage):
    """Each rule of feed_checks fails a feed that breaks it (a check that never fails
    would prove nothing)."""
    post = blog.post(title="Checked")
    blog.comment(post, body="Checked too.")
    url = f"{SITE}/feeds/posts/default?max-results=5"
    data = client.get(url).data
    assert check_feed(data, url, SITE + "/") == []
    old, new, problem = breakage

    problems = check_feed(data.replace(old.encode(), new.encode()), url, SITE + "/")

    assert any(problem in line for line in problems), problems


@pytest.mark.parametrize("breakage", RSS_BREAKAGES.values(), ids=RSS_BREAKAGES.keys())
def test_the_rss_checks_catch_what_validators_catch(client, blog, breakage):
    """As above, for RSS."""
    blog.post(title="Checked")
    url = f"{SITE}/feeds/posts/default?alt=rss&max-results=5"
    data = client.get(url).data
    assert check_feed(data, url, SITE + "/") == []
    old, new, problem = breakage
    assert old.encode() in data, old

    problems = check_feed(data.replace(old.encode(), new.encode()), url, SITE + "/")

    assert any(problem in line for line in problems), problems
