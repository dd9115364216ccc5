"""The Atom feeds: posts, posts with a label, all comments, one post's comments."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urljoin
from xml.etree import ElementTree

import feedparser
import pytest

from kmblog.extensions import db
from kmblog.manage.services import PostDraft, create_post
from kmblog.models import CommentStatus, User, utcnow
from kmblog.rendering import post_description
from tests.factories import BASE_TIME, BlogBuilder, CommentRef, PostRef
from tests.feed_checks import check_feed
from tests.html_tree import parse_html

SITE = "http://blog.test"
LABEL = "KM Strategy"
POSTS_FEED = "/feeds/posts/default"
LABEL_FEED = f"/feeds/posts/default/-/{quote(LABEL)}"
COMMENTS_FEED = "/feeds/comments/default"
FEEDS = ("posts", "label", "comments", "post comments")
POST_LINK = re.compile(r"^http://blog\.test/\d{4}/\d{2}/[a-z0-9-]+\.html$")
ATOM_NS = {"atom": "http://www.w3.org/2005/Atom"}
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


# --- helpers ---------------------------------------------------------------------------


def post_comments_feed(post: PostRef) -> str:
    return f"/feeds/{post.id}/comments/default"


def feed_url(kind: str, post: PostRef) -> str:
    """The address of feed `kind`; `post` is the one whose comments the per-post feed shows."""
    return {
        "posts": POSTS_FEED,
        "label": LABEL_FEED,
        "comments": COMMENTS_FEED,
        "post comments": post_comments_feed(post),
    }[kind]


def post_link(post: PostRef) -> str:
    return SITE + post.url


def comment_link(post: PostRef, comment: CommentRef) -> str:
    return f"{SITE}{post.url}?showComment={comment.millis}#c{comment.id}"


def fetch_feed(client, url: str) -> feedparser.FeedParserDict:  # type: ignore[no-untyped-def]
    """GET a feed and check that it is well-formed Atom 1.0."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def links(feed: feedparser.FeedParserDict) -> list[str]:
    return [entry.link for entry in feed.entries]


def entry_ids(feed: feedparser.FeedParserDict) -> dict[str, str]:
    """Entry id by alternate link."""
    return {entry.link: entry.id for entry in feed.entries}


def self_link(feed: feedparser.FeedParserDict) -> str:
    return next(link.href for link in feed.feed.links if link.rel == "self")


def raw_contents(data: bytes) -> list[str]:
    """The text of each entry's <content>, read from the XML itself, not via feedparser."""
    root = ElementTree.fromstring(data)  # noqa: S314 - the app's own feed, in a test
    return [
        entry.findtext("atom:content", "", ATOM_NS)
        for entry in root.iterfind("atom:entry", ATOM_NS)
    ]


def scrambled(n: int) -> list[int]:
    """0..n-1 in an order that is neither oldest nor newest first (ids differ from times)."""
    return sorted(range(n), key=lambda i: (i % 2, i))


@dataclass
class Sample:
    """A feed with some entries, their links newest first, and how to add a newer one."""

    url: str
    links: list[str]
    add_newer: Callable[[], str]


def sample(blog: BlogBuilder, kind: str, n: int = 3) -> Sample:
    """`n` visible entries for feed `kind`, created out of time order."""
    if kind in ("posts", "label"):
        made = {
            i: blog.post(title=f"Entry {i}", labels=(LABEL,), published=BASE_TIME + i * DAY)
            for i in scrambled(n)
        }

        def add_post() -> str:
            newest = blog.post(title="Newest", labels=(LABEL,), published=BASE_TIME + 100 * DAY)
            return post_link(newest)

        url = POSTS_FEED if kind == "posts" else LABEL_FEED
        return Sample(url, [post_link(made[i]) for i in reversed(range(n))], add_post)

    post = blog.post(title="Commented post", labels=(LABEL,))
    made_comments = {
        i: blog.comment(post, body=f"Comment {i}", at=BASE_TIME + DAY + i * HOUR)
        for i in scrambled(n)
    }

    def add_comment() -> str:
        return comment_link(post, blog.comment(post, body="Newest", at=BASE_TIME + 100 * DAY))

    return Sample(
        feed_url(kind, post),
        [comment_link(post, made_comments[i]) for i in reversed(range(n))],
        add_comment,
    )


def unpublished_post(blog: BlogBuilder, state: str, **kwargs) -> PostRef:  # type: ignore[no-untyped-def]
    if state == "draft":
        return blog.post(draft=True, **kwargs)
    return blog.post(published=utcnow() + 30 * DAY, **kwargs)


def head_feed_links(page: str) -> list[str]:
    """The hrefs of <link rel="alternate" type="application/atom+xml"> in <head>."""
    head = next(node for node in parse_html(page).iter() if node.tag == "head")
    return [
        node.get("href", "")
        for node in head.iter()
        if node.tag == "link"
        and "alternate" in node.get("rel", "").lower().split()
        and node.get("type") == "application/atom+xml"
    ]


# --- every feed -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_is_atom_with_its_entries(client, blog, kind):
    """Each feed answers valid Atom 1.0 with its own id, self link and entries."""
    wanted = sample(blog, kind)

    feed = fetch_feed(client, wanted.url)

    assert feed.feed.id.startswith("tag:")
    assert feed.feed.get("updated_parsed") is not None
    assert self_link(feed) == SITE + wanted.url
    assert links(feed) == wanted.links


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_holds_at_most_items_per_feed(client, blog, kind):
    """A feed holds the newest Settings.items_per_feed entries, no more."""
    blog.settings(items_per_feed=3)
    wanted = sample(blog, kind, n=5)

    feed = fetch_feed(client, wanted.url)

    assert links(feed) == wanted.links[:3]


@pytest.mark.parametrize("kind", FEEDS)
@pytest.mark.parametrize("max_results", [1, 2])
def test_max_results_caps_the_feed(client, blog, kind, max_results):
    """?max-results=N gives the N newest entries."""
    wanted = sample(blog, kind, n=4)

    feed = fetch_feed(client, f"{wanted.url}?max-results={max_results}")

    assert links(feed) == wanted.links[:max_results]


@pytest.mark.parametrize("kind", FEEDS)
def test_entry_ids_are_stable_tag_uris(client, blog, kind):
    """Entry ids are unique tag: URIs that stay the same across fetches and new entries."""
    wanted = sample(blog, kind)

    first = fetch_feed(client, wanted.url)
    again = fetch_feed(client, wanted.url)
    newest_link = wanted.add_newer()
    later = fetch_feed(client, wanted.url)

    ids = entry_ids(first)
    assert all(entry_id.startswith("tag:") for entry_id in ids.values())
    assert len(set(ids.values())) == len(ids) == len(wanted.links)
    assert entry_ids(again) == ids
    assert later.feed.id == first.feed.id
    later_ids = entry_ids(later)
    assert {link: later_ids[link] for link in ids} == ids
    assert later_ids[newest_link].startswith("tag:")
    assert later_ids[newest_link] not in ids.values()


@pytest.mark.parametrize("kind", FEEDS)
def test_every_entry_has_updated_published_and_author(client, blog, kind):
    """Every entry says when it was updated and published, and who wrote it."""
    feed = fetch_feed(client, sample(blog, kind).url)

    assert feed.entries
    for entry in feed.entries:
        assert entry.get("updated_parsed") is not None
        assert entry.get("published_parsed") is not None
        assert entry.get("author")


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_updated_is_not_before_its_newest_entry(app, client, blog, kind):
    """The feed's own updated time is at least its newest entry's (a scheduled post too)."""
    author_id = blog.author()
    with app.app_context():
        # Written on one day, scheduled for five days later: the way scheduling is used.
        written_early = create_post(
            db.session.get(User, author_id),
            PostDraft(title="Written early", body="Scheduled.", labels=(LABEL,)),
            now=BASE_TIME,
            publish_at=BASE_TIME + 5 * DAY,
        )
        post = PostRef(written_early.id, written_early.title, "", written_early.published_at)
    blog.comment(post, body="Right after it appeared.")

    feed = fetch_feed(client, feed_url(kind, post))

    newest_entry = max(calendar.timegm(entry.updated_parsed) for entry in feed.entries)
    feed_updated = calendar.timegm(feed.feed.updated_parsed)
    assert feed_updated >= newest_entry, (feed.feed.updated, [e.updated for e in feed.entries])


# --- posts and label feeds ---------------------------------------------------------------


def test_posts_feed_lists_visible_posts_newest_first(client, blog):
    """The posts feed has each published post, newest first, linked, titled and authored."""
    jane = blog.author(display_name="Jane Writer")
    omar = blog.author(display_name="Omar Editor")
    middle = blog.post(title="Middle post", published=BASE_TIME + DAY, author_id=omar)
    oldest = blog.post(title="Oldest post", published=BASE_TIME, author_id=jane)
    newest = blog.post(title="Newest post", published=BASE_TIME + 2 * DAY, author_id=jane)

    feed = fetch_feed(client, POSTS_FEED)

    assert [(e.title, e.link, e.author) for e in feed.entries] == [
        ("Newest post", post_link(newest), "Jane Writer"),
        ("Middle post", post_link(middle), "Omar Editor"),
        ("Oldest post", post_link(oldest), "Jane Writer"),
    ]
    for entry in feed.entries:
        assert POST_LINK.match(entry.link)
        page = client.get(entry.link)
        assert page.status_code == 200
        assert entry.title in page.text


def test_label_feed_only_has_posts_with_that_label(client, blog):
    """The label feed has the label's posts, newest first, and no other posts."""
    first = blog.post(title="Strategy one", labels=(LABEL, "Tools"), published=BASE_TIME)
    blog.post(title="Tools only", labels=("Tools",), published=BASE_TIME + DAY)
    blog.post(title="Strategy-ish", labels=("KM Strategy Extra",), published=BASE_TIME + DAY)
    blog.post(title="No labels", published=BASE_TIME + 2 * DAY)
    second = blog.post(title="Strategy two", labels=("km strategy",), published=BASE_TIME + DAY)

    feed = fetch_feed(client, LABEL_FEED)

    assert [(e.title, e.link) for e in feed.entries] == [
        ("Strategy two", post_link(second)),
        ("Strategy one", post_link(first)),
    ]
    assert feed.feed.title.endswith(LABEL)
    for entry in feed.entries:
        assert LABEL in [tag.term for tag in entry.tags]


@pytest.mark.parametrize("kind", ["posts", "label"])
@pytest.mark.parametrize("state", ["draft", "scheduled"])
def test_unpublished_posts_never_appear(client, blog, kind, state):
    """Drafts and posts scheduled for later are in neither posts feed."""
    shown = blog.post(title="Shown post", labels=(LABEL,))
    unpublished_post(blog, state, title="Hidden post", labels=(LABEL,))

    feed = fetch_feed(client, feed_url(kind, shown))

    assert [e.title for e in feed.entries] == ["Shown post"]


@pytest.mark.parametrize("name", ["No Such Label", "Draft Label", "Scheduled Label"])
def test_unknown_label_feed_404s(client, blog, name):
    """A label with no visible post has no feed."""
    blog.post(title="Visible", labels=(LABEL,))
    blog.post(draft=True, labels=("Draft Label",))
    blog.post(published=utcnow() + 30 * DAY, labels=("Scheduled Label",))

    response = client.get(f"/feeds/posts/default/-/{quote(name)}")

    assert response.status_code == 404


def test_label_feed_under_another_spelling_redirects(client, blog):
    """The label feed named in other letter case redirects to the label's own spelling."""
    blog.post(labels=(LABEL,))

    response = client.get("/feeds/posts/default/-/km%20strategy")

    assert response.status_code == 301
    assert response.headers["Location"].endswith(LABEL_FEED)


# --- comment feeds --------------------------------------------------------------------------


def test_comments_feed_lists_published_comments_newest_first(client, blog):
    """The blog's comments feed has every post's comments, newest first, named and linked."""
    early = blog.post(title="Early post", published=BASE_TIME)
    late = blog.post(title="Late post", published=BASE_TIME + DAY)
    second = blog.comment(early, body="Second", name="Mary", at=BASE_TIME + 3 * HOUR)
    third = blog.comment(late, body="Third", at=BASE_TIME + 30 * HOUR)
    first = blog.comment(late, body="First", name="Ravi", at=BASE_TIME + 2 * HOUR)

    feed = fetch_feed(client, COMMENTS_FEED)

    assert [(e.title, e.link, e.author) for e in feed.entries] == [
        ("Third", comment_link(late, third), "Anonymous"),
        ("Second", comment_link(early, second), "Mary"),
        ("First", comment_link(late, first), "Ravi"),
    ]


def test_post_comments_feed_lists_only_that_posts_comments(client, blog):
    """A post's comments feed has its own comments, newest first, and no other post's."""
    post = blog.post(title="Discussed", published=BASE_TIME)
    other = blog.post(title="Elsewhere", published=BASE_TIME + DAY)
    later = blog.comment(post, body="Later", at=BASE_TIME + 5 * HOUR)
    blog.comment(other, body="Not here", name="Ravi", at=BASE_TIME + 30 * HOUR)
    earlier = blog.comment(post, body="Earlier", name="Mary", at=BASE_TIME + 2 * HOUR)

    feed = fetch_feed(client, post_comments_feed(post))

    assert [(e.title, e.link, e.author) for e in feed.entries] == [
        ("Later", comment_link(post, later), "Anonymous"),
        ("Earlier", comment_link(post, earlier), "Mary"),
    ]
    assert feed.feed.link == post_link(post)


@pytest.mark.parametrize("kind", ["comments", "post comments"])
@pytest.mark.parametrize(
    "status", [CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.DELETED]
)
def test_unpublished_comments_never_appear(client, blog, kind, status):
    """Pending, spam and deleted comments are in no comments feed."""
    post = blog.post()
    shown = blog.comment(post, body="Shown", at=BASE_TIME + HOUR)
    blog.comment(post, body="Hidden", at=BASE_TIME + 2 * HOUR, status=status)

    feed = fetch_feed(client, feed_url(kind, post))

    assert links(feed) == [comment_link(post, shown)]


@pytest.mark.parametrize("state", ["draft", "scheduled"])
def test_comments_on_unpublished_posts_never_appear(client, blog, state):
    """The blog's comments feed leaves out comments on drafts and scheduled posts."""
    post = blog.post()
    shown = blog.comment(post, body="Shown")
    hidden_post = unpublished_post(blog, state)
    blog.comment(hidden_post, body="Hidden", at=BASE_TIME + 2 * HOUR)

    feed = fetch_feed(client, COMMENTS_FEED)

    assert links(feed) == [comment_link(post, shown)]


@pytest.mark.parametrize("state", ["draft", "scheduled", "missing"])
def test_post_comments_feed_404s_unless_the_post_is_visible(client, blog, state):
    """A draft's, a scheduled post's or a missing post's comments feed is not found."""
    blog.post()
    if state == "missing":
        post_id = 999_999
    else:
        hidden = unpublished_post(blog, state)
        blog.comment(hidden, body="Not yet")
        post_id = hidden.id

    response = client.get(f"/feeds/{post_id}/comments/default")

    assert response.status_code == 404


# --- content ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed"),
    [
        ("posts", "Some **bold** words.\n\n<script>alert(1)</script>"),
        ("label", "Some **bold** words.\n\n<script>alert(1)</script>"),
        ("comments", "Some <strong>bold</strong> words. <script>alert(1)</script>"),
        ("post comments", "Some <strong>bold</strong> words. <script>alert(1)</script>"),
    ],
)
def test_entry_content_is_the_sanitised_html(client, blog, kind, typed):
    """Entry content is the stored, sanitised HTML: formatting kept, scripts gone."""
    if kind in ("posts", "label"):
        post = blog.post(body=typed, labels=(LABEL,))
    else:
        post = blog.post()
        blog.comment(post, body=typed)
    url = feed_url(kind, post)

    feed = fetch_feed(client, url)
    (raw,) = raw_contents(client.get(url).data)

    (entry,) = feed.entries
    assert entry.content[0].type == "text/html"
    for html in (entry.content[0].value, raw):
        tags = {node.tag: node.text() for node in parse_html(html).iter()}
        assert tags.get("strong") == "bold"
        assert "script" not in tags


# --- discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["home", "label", "post"])
def test_pages_advertise_their_feeds(client, blog, page):
    """Each page's <head> links the blog's feeds and its own, and each link answers Atom."""
    post = blog.post(title="Advertised", labels=(LABEL,))
    blog.comment(post)
    page_url, own = {
        "home": ("/", []),
        "label": (f"/search/label/{quote(LABEL)}", [LABEL_FEED]),
        "post": (post.url, [post_comments_feed(post)]),
    }[page]

    response = client.get(page_url)

    assert response.status_code == 200
    hrefs = [urljoin(SITE + page_url, href) for href in head_feed_links(response.text)]
    assert sorted(hrefs) == sorted(SITE + path for path in [POSTS_FEED, COMMENTS_FEED, *own])
    for href in hrefs:
        feed = fetch_feed(client, href)
        assert self_link(feed) == href
        assert feed.entries


# --- cost -------------------------------------------------------------------------------------


def _feed_queries(client, count_queries, url: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(SQL statements, entries) for one fetch of `url`, after a warm-up fetch."""
    client.get(url)
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), len(feedparser.parse(response.data).entries)


@pytest.mark.parametrize("kind", FEEDS)
def test_feed_queries_do_not_grow_with_the_blog(client, blog, count_queries, kind):
    """A feed costs the same few queries with 2 posts as with 30 posts and many comments."""
    authors = [blog.author(display_name=f"Writer {i}") for i in range(3)]
    first = blog.post(labels=(LABEL, "Tools"), published=BASE_TIME, author_id=authors[0])
    blog.post(labels=(LABEL,), published=BASE_TIME + DAY, author_id=authors[1])
    blog.comment(first, name="Reader")
    url = feed_url(kind, first)
    small_queries, small_entries = _feed_queries(client, count_queries, url)

    for i in range(28):
        post = blog.post(
            labels=(LABEL, f"Topic {i % 5}"),
            published=BASE_TIME + (i + 2) * DAY,
            author_id=authors[i % 3],
        )
        blog.comment(post, name=f"Reader {i}")
    for i in range(30):
        blog.comment(first, name=f"Regular {i % 4}", at=BASE_TIME + (i + 2) * HOUR)
    large_queries, large_entries = _feed_queries(client, count_queries, url)

    assert large_entries == 25 > small_entries
    assert large_queries == small_queries
    assert large_queries <= 6


def test_bloggers_full_feed_addresses_are_the_default_feeds(client, blog):
    """Blogger serves each feed at .../full as at .../default; subscribers of either
    get the same entries."""
    post = blog.post(title="Full and default", labels=("Tools",))
    blog.comment(post, body="Either address.")
    for default in (
        "/feeds/posts/default",
        "/feeds/posts/default/-/Tools",
        "/feeds/comments/default",
        f"/feeds/{post.id}/comments/default",
    ):
        full = default.replace("/default", "/full")
        assert entry_ids(fetch_feed(client, full)) == entry_ids(fetch_feed(client, default))
        assert fetch_feed(client, full).entries, full


# --- plain-text titles -------------------------------------------------------------------------


def comment_text(html: str) -> str:
    """What a reader sees of a comment's HTML, as one line (a real HTML parser's reading)."""
    return " ".join(parse_html(html).text().split())


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("Some <b>bold</b> words.", "Some bold words."),
        (
            "An <em>emphatic</em>, <i>italic</i> <strong>point</strong>.",
            "An emphatic, italic point.",
        ),
        # Comments are not Markdown, and entities typed are shown as typed.
        ("Fish &amp; chips &lt;b&gt; **stars**", "Fish &amp; chips &lt;b&gt; **stars**"),
        ('A <a href="https://example.org/">link</a> here.', "A link here."),
        ("<blockquote>Quoted</blockquote>And my answer.", "Quoted And my answer."),
        ("<script>alert(1)</script> typed", "<script>alert(1)</script> typed"),
    ],
)
@pytest.mark.parametrize("kind", ["comments", "post comments"])
def test_comment_titles_are_the_text_readers_see(client, blog, kind, typed, title):
    """A comment entry's title is the comment's text as the page shows it, in plain
    text (type text): the commenter's allowed markup read as markup, never shown raw."""
    post = blog.post()
    blog.comment(post, body=typed)
    url = feed_url(kind, post)

    response = client.get(url)
    (entry,) = feedparser.parse(response.data).entries
    root = ElementTree.fromstring(response.data)  # noqa: S314 - the app's own feed, in a test
    raw_title = root.find("atom:entry/atom:title", ATOM_NS)

    assert raw_title is not None and raw_title.get("type", "text") == "text"
    assert raw_title.text == title
    assert entry.title_detail.type == "text/plain"
    assert entry.title == title
    # The page shows the same words (a parser's reading of the entry's HTML).
    assert entry.title.replace(" ", "") == comment_text(entry.content[0].value).replace(" ", "")
    assert check_feed(response.data, SITE + url) == []


# --- RSS ------------------------------------------------------------------------------------------


def rss_items(data: bytes) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(data)  # noqa: S314 - the app's own feed, in a test
    return root.findall("channel/item")


@pytest.mark.parametrize("kind", FEEDS)
def test_rss_links_the_blog_page_and_itself(client, blog, kind):
    """With alt=rss the channel <link> is the page the feed follows, atom:link self is
    the RSS address itself (its query too) with the RSS type, and every item has its
    author (dc:creator), guid and pubDate."""
    wanted = sample(blog, kind)
    post_id = wanted.url.split("/")[2] if kind == "post comments" else ""
    page = {
        "posts": SITE + "/",
        "label": f"{SITE}/search/label/{quote(LABEL)}",
        "comments": SITE + "/",
        "post comments": None,
    }[kind]
    url = f"{wanted.url}?alt=rss&max-results=2"

    response = client.get(url)

    assert response.status_code == 200
    assert response.mimetype == "application/rss+xml"
    assert check_feed(response.data, SITE + url, page) == []
    parsed = feedparser.parse(response.data)
    assert parsed.version == "rss20"
    channel_link = ElementTree.fromstring(response.data).findtext("channel/link")  # noqa: S314
    if kind == "post comments":
        assert post_id and channel_link and channel_link.endswith(".html")
        assert channel_link == wanted.links[0].split("?")[0]
    assert [entry.link for entry in parsed.entries] == wanted.links[:2]
    for entry in parsed.entries:
        assert entry.author
        assert entry.id.startswith("tag:")
        assert entry.get("published_parsed") is not None
    for item in rss_items(response.data):
        assert item.find("guid").get("isPermaLink") == "false"


# --- summaries ------------------------------------------------------------------------------------


SUMMARY_FEEDS = ["/feeds/posts/summary", f"/feeds/posts/summary/-/{quote(LABEL)}"]
FULL_FEEDS = [POSTS_FEED, "/feeds/posts/full", LABEL_FEED, f"/feeds/posts/full/-/{quote(LABEL)}"]


def summary_posts(app, blog) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Two posts, one with a summary its author wrote: description and body by link."""
    author_id = blog.author()
    made = {}
    with app.app_context():
        for title, summary, body in [
            ("With a summary", "What this post argues, in one line.", "First **part**.\n\nMore."),
            ("Without one", "", "Its *first* paragraph & its point.\n\nSecond paragraph."),
        ]:
            post = create_post(
                db.session.get(User, author_id),
                PostDraft(title=title, body=body, labels=(LABEL,), summary=summary),
                now=BASE_TIME,
                publish_at=BASE_TIME,
            )
            link = f"{SITE}/{post.year:04d}/{post.month:02d}/{post.slug}.html"
            made[link] = (post_description(post.summary, post.body_html), post.body_html)
    return made


@pytest.mark.parametrize("url", SUMMARY_FEEDS)
def test_summary_feeds_carry_descriptions_not_content(app, client, blog, url):
    """Blogger's summary feeds give each post's description (its summary, else its
    first paragraph) as plain text, and no content."""
    made = summary_posts(app, blog)

    feed = fetch_feed(client, url)

    assert {entry.link for entry in feed.entries} == set(made)
    for entry in feed.entries:
        assert "content" not in entry
        assert entry.summary_detail.type == "text/plain"
        assert entry.summary == made[entry.link][0]
    assert [e.summary for e in feed.entries if e.title == "Without one"] == [
        "Its first paragraph & its point."
    ]
    assert check_feed(client.get(url).data, SITE + url) == []


@pytest.mark.parametrize("url", FULL_FEEDS)
def test_default_and_full_feeds_keep_the_whole_content(app, client, blog, url):
    """The default and full feeds carry each post's whole HTML, as before."""
    made = summary_posts(app, blog)

    feed = fetch_feed(client, url)

    for entry in feed.entries:
        assert entry.content[0].value == made[entry.link][1]
        assert "summary" not in entry or entry.summary == entry.content[0].value


# --- paging -------------------------------------------------------------------------------------


OS_NS = {"os": "http://a9.com/-/spec/opensearchrss/1.0/", **ATOM_NS}


def paging(data: bytes, rss: bool = False) -> dict[str, object]:
    """The openSearch totals and the next / previous addresses of a feed."""
    root = ElementTree.fromstring(data)  # noqa: S314 - the app's own feed, in a test
    where = root.find("channel") if rss else root
    assert where is not None
    links = {link.get("rel"): link.get("href") for link in where.findall("atom:link", ATOM_NS)}
    return {
        "total": int(where.findtext("os:totalResults", "-1", OS_NS)),
        "start": int(where.findtext("os:startIndex", "-1", OS_NS)),
        "per_page": int(where.findtext("os:itemsPerPage", "-1", OS_NS)),
        "next": links.get("next"),
        "previous": links.get("previous"),
    }


@pytest.mark.parametrize("kind", FEEDS)
@pytest.mark.parametrize("alt", ["", "alt=rss&"])
def test_next_links_walk_the_whole_feed(client, blog, kind, alt):
    """rel="next" and openSearch page a feed as Blogger's did: following next from the
    first page meets every entry once, newest first, and previous leads back."""
    wanted = sample(blog, kind, n=5)
    url: str | None = f"{SITE}{wanted.url}?{alt}max-results=2"
    seen: list[str] = []
    pages = []
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, url
        assert check_feed(response.data, url) == [], url
        pages.append((url, paging(response.data, rss=bool(alt))))
        seen += [entry.link for entry in feedparser.parse(response.data).entries]
        url = pages[-1][1]["next"]  # type: ignore[assignment]

    assert seen == wanted.links
    base = SITE + wanted.url
    assert [page for _, page in pages] == [
        {"total": 5, "start": 1, "per_page": 2, "next": f"{base}?{alt}start-index=3&max-results=2",
         "previous": None},
        {"total": 5, "start": 3, "per_page": 2, "next": f"{base}?{alt}start-index=5&max-results=2",
         "previous": f"{base}?{alt}start-index=1&max-results=2"},
        {"total": 5, "start": 5, "per_page": 2, "next": None,
         "previous": f"{base}?{alt}start-index=3&max-results=2"},
    ]  # fmt: skip


@pytest.mark.parametrize("kind", FEEDS)
def test_start_index_beyond_the_last_entry_is_an_empty_feed(client, blog, kind):
    """A start-index past the end is a valid feed with no entries, and the total."""
    wanted = sample(blog, kind, n=3)
    url = f"{wanted.url}?start-index=50"

    response = client.get(url)

    assert response.status_code == 200
    assert check_feed(response.data, SITE + url) == []
    assert feedparser.parse(response.data).entries == []
    found = paging(response.data)
    assert (found["total"], found["start"], found["next"]) == (3, 50, None)


def test_max_results_beyond_the_limit_gives_the_limit(make_app, blog):
    """Old Blogger widgets ask for max-results=999: like Blogger, the feed gives its most
    (KMBLOG_MAX_RESULTS_LIMIT) and a next link to the rest, not an error."""
    client = make_app(MAX_RESULTS_LIMIT=3).test_client()
    wanted = sample(blog, "posts", n=5)

    response = client.get(f"{wanted.url}?max-results=999")

    assert response.status_code == 200
    assert [e.link for e in feedparser.parse(response.data).entries] == wanted.links[:3]
    assert paging(response.data)["per_page"] == 3
    assert paging(response.data)["next"] == f"{SITE}{wanted.url}?start-index=4&max-results=3"


# --- parameters that cannot be served ---------------------------------------------------------


BAD_QUERIES = {
    "alt-unknown": "alt=xml",
    "alt-empty": "alt=",
    "alt-html": "alt=%3Cb%3E",
    "start-index-zero": "start-index=0",
    "start-index-negative": "start-index=-1",
    "start-index-word": "start-index=first",
    "start-index-fraction": "start-index=1.5",
    "start-index-too-far": "start-index=100001",
    "start-index-huge": "start-index=" + "9" * 40,
    "start-index-spaced": "start-index=%202",
    "start-index-arabic-digits": "start-index=%D9%A2",
    "max-results-zero": "max-results=0",
    "max-results-negative": "max-results=-5",
    "max-results-word": "max-results=all",
    "max-results-empty": "max-results=",
    # Quoted back in the message, these must still leave a readable XML document.
    "start-index-nul": "start-index=1%00",
    "alt-control-characters": "alt=rss%0d%0a%1b%00",
    "max-results-long": "max-results=" + "x" * 5000,
    "alt-markup": "alt=%3C%2Ferrors%3E%26amp%3B",
}


@pytest.mark.parametrize("query", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
@pytest.mark.parametrize("kind", FEEDS)
def test_bad_parameters_get_a_400_in_xml(client, blog, kind, query):
    """A parameter the feeds cannot serve gets a 400 whose body is an XML document that
    says what is wrong (GData's error shape), never a page or a 500."""
    wanted = sample(blog, kind, n=1)

    response = client.get(f"{wanted.url}?{query}")

    assert response.status_code == 400
    assert response.mimetype == "application/xml"
    root = ElementTree.fromstring(response.data)  # noqa: S314 - the app's own answer
    gd = {"gd": "http://schemas.google.com/g/2005"}
    reason = root.findtext("gd:error/gd:internalReason", "", gd)
    assert reason.split()[0] in {"alt", "start-index", "max-results"}, reason
    assert len(reason) < 200


@pytest.mark.parametrize("kind", FEEDS)
def test_json_feed_gets_a_400_in_json(client, blog, kind):
    """Blogger's alt=json is not served: a 400 in JSON, which the client asked for,
    that names the formats there are."""
    wanted = sample(blog, kind, n=1)

    response = client.get(f"{wanted.url}?alt=json")

    assert response.status_code == 400
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]["message"]
    assert "alt=rss" in message and "alt=json" in message


@pytest.mark.parametrize("alt", ["atom", "ATOM", "rss", "Rss"])
def test_alt_atom_and_rss_are_served(client, blog, alt):
    """alt=atom is the default, alt=rss is RSS, in any letter case."""
    wanted = sample(blog, "posts", n=2)
    url = f"{wanted.url}?alt={alt}"

    response = client.get(url)

    assert response.status_code == 200
    rss = alt.lower() == "rss"
    assert response.mimetype == ("application/rss+xml" if rss else "application/atom+xml")
    assert check_feed(response.data, SITE + url) == []


# --- the page cache ----------------------------------------------------------------------------


VARIANTS = [
    "",
    "?alt=rss",
    "?max-results=1",
    "?alt=rss&max-results=1",
    "?start-index=2",
    "?start-index=2&max-results=1",
    "?max-results=1&start-index=2",
]


@pytest.mark.parametrize("kind", FEEDS)
def test_cached_feed_variants_keep_their_own_query(make_app, blog, kind):
    """The page cache keeps each query's feed apart: fetched twice (the second time from
    the cache), every variant still has its own format, entries and self link."""
    client = make_app(PAGE_VERSION_RECHECK_SECONDS=3600).test_client()
    wanted = sample(blog, kind, n=3)
    first = {}
    for _round in range(2):
        for variant in VARIANTS:
            url = SITE + wanted.url + variant
            response = client.get(url)
            assert response.status_code == 200, url
            rss = "alt=rss" in variant
            assert response.mimetype == ("application/rss+xml" if rss else "application/atom+xml")
            assert check_feed(response.data, url) == [], url
            first.setdefault(variant, response.data)
            assert response.data == first[variant], url
    size = {variant: len(feedparser.parse(first[variant]).entries) for variant in VARIANTS}
    assert size == {
        "": 3,
        "?alt=rss": 3,
        "?max-results=1": 1,
        "?alt=rss&max-results=1": 1,
        "?start-index=2": 2,
        "?start-index=2&max-results=1": 1,
        "?max-results=1&start-index=2": 1,
    }
