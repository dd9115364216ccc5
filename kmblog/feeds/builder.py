"""Atom (and RSS 2.0) feeds with feedgen: the only module that builds a feed.

It takes plain data (posts, comments, absolute URLs) and returns bytes; the views
decide what goes in. Content is the sanitised HTML stored at save time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from kmblog.models import Comment, Post, Settings
from kmblog.rendering import absolute_fragments, absolute_media, html_excerpt, post_description

GENERATOR = "kmblog"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
# RFC 4685, Atom Threading Extensions: a reply names the comment it answers.
THR = "http://purl.org/syndication/thread/1.0"
# The totals Blogger's feeds carried, in the namespace they used (OpenSearch 1.0's RSS
# one, and with its prefix).
OPENSEARCH = "http://a9.com/-/spec/opensearchrss/1.0/"


@dataclass(frozen=True)
class FeedPage:
    """Where a feed's entries sit among all of its entries, as Blogger's feeds told it:
    openSearch totals and the addresses of the pages before and after."""

    total: int
    start_index: int  # 1 = the newest entry
    items_per_page: int
    next_url: str | None
    previous_url: str | None


class PagingExtension(BaseExtension):  # type: ignore[misc]  # feedgen is untyped: Any
    """openSearch:totalResults/startIndex/itemsPerPage and the rel="next"/"previous"
    links, in Atom and in RSS (where feedgen writes no link but the self one)."""

    def __init__(self) -> None:
        self.page: FeedPage | None = None
        self.link_type = ATOM_TYPE

    def extend_ns(self) -> dict[str, str]:
        return {"openSearch": OPENSEARCH}

    def _extend(self, parent: Any, link_tag: str) -> None:
        if self.page is None:
            return
        page = self.page
        for name, value in (
            ("totalResults", page.total),
            ("startIndex", page.start_index),
            ("itemsPerPage", page.items_per_page),
        ):
            xml_elem(f"{{{OPENSEARCH}}}{name}", parent).text = str(value)
        for rel, href in (("next", page.next_url), ("previous", page.previous_url)):
            if href is not None:
                xml_elem(link_tag, parent, rel=rel, type=self.link_type, href=href)

    def extend_atom(self, feed: Any) -> Any:
        self._extend(feed, "link")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        self._extend(feed[0], f"{{{ATOM_NS}}}link")  # <rss><channel>
        return feed


class ThreadExtension(BaseExtension):  # type: ignore[misc]  # feedgen is untyped: Any
    """Declares the thr: prefix on the feed (feedgen's extension interface)."""

    def extend_ns(self) -> dict[str, str]:
        return {"thr": THR}


class ThreadEntryExtension(BaseEntryExtension):  # type: ignore[misc]  # as above
    """An entry's <thr:in-reply-to ref=... href=... type="text/html"/>, when it has one."""

    def __init__(self) -> None:
        self.reply_to: tuple[str, str] | None = None

    def in_reply_to(self, ref: str, href: str) -> None:
        """This entry answers the entry with Atom id `ref`, shown at `href`."""
        self.reply_to = (ref, href)

    def extend_atom(self, entry: Any) -> Any:
        if self.reply_to is not None:
            ref, href = self.reply_to
            xml_elem(f"{{{THR}}}in-reply-to", entry, ref=ref, href=href, type="text/html")
        return entry


@dataclass(frozen=True)
class FeedInfo:
    """A feed's own identity and links."""

    atom_id: str
    title: str
    subtitle: str
    self_url: str
    page_url: str
    # The time to show when the feed has no entries yet.
    fallback_updated: datetime
    # The WebSub hub that is told when this feed changes (rel="hub"), if any.
    hub_url: str | None = None


def _site(page_url: str) -> str:
    """The scheme and host of an absolute address."""
    parts = urlsplit(page_url)
    return f"{parts.scheme}://{parts.netloc}"


def post_atom_id(blog_atom_id: str, post: Post) -> str:
    """An imported post's id as it came (Blogger's); a post written here gets one made
    from the blog's own stable prefix (Settings.atom_id), never from anything that an
    import or a change of settings could move."""
    return post.atom_id or f"{blog_atom_id}.post-{post.id}"


def comment_atom_id(blog_atom_id: str, comment: Comment) -> str:
    """As post_atom_id, for a comment."""
    return comment.atom_id or f"{blog_atom_id}.comment-{comment.id}"


# The feeds of a blog imported from Blogger keep the ids Blogger gave them: the posts
# feed tag:blogger.com,1999:blog-N, the comments feed ...blog-N.comments, and one
# post's comments ...blog-N.postM..comments (sic: Blogger's own form, as its feeds and
# Google's gdata test data show). Feeds Blogger did not have keep ids of our own.
BLOGGER_TAG = "tag:blogger.com,1999:blog-"


def own_blogger_number(atom_id: str) -> str:
    """The Blogger-style blog number a kmblog export gives a blog that never came from
    Blogger (Blogger's format wants digits), made from its own Atom id."""
    return str(int(hashlib.sha256(atom_id.encode()).hexdigest()[:15], 16))


def blog_feed_atom_id(settings: Settings) -> str:
    """The id of the blog's posts feed: Blogger's for a blog imported from Blogger, else
    the blog's own (also when its Blogger number is the one our exports made for it)."""
    number = settings.blogger_blog_id
    if number and number != own_blogger_number(settings.atom_id):
        return f"{BLOGGER_TAG}{number}"
    return settings.atom_id


def comments_feed_atom_id(settings: Settings) -> str:
    """The id of the blog's comments feed."""
    return f"{blog_feed_atom_id(settings)}.comments"


def post_comments_feed_atom_id(settings: Settings, post: Post) -> str:
    """The id of one post's comments feed: Blogger's form for a post from Blogger,
    else the post's own id with `.comments`."""
    if post.atom_id and post.atom_id.startswith(BLOGGER_TAG) and ".post-" in post.atom_id:
        blog, _, number = post.atom_id.rpartition(".post-")
        return f"{blog}.post{number}..comments"
    return f"{post_atom_id(settings.atom_id, post)}.comments"


def _new_feed(info: FeedInfo, updated: datetime, rss: bool, page: FeedPage | None) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(info.atom_id)
    # Text constructs (titles, subtitle, names) go out as type="text": what was typed,
    # escaped once by the XML writer, never read as markup.
    feed.title(info.title)
    if info.subtitle or rss:
        # RSS requires a channel description; Atom's subtitle is optional.
        feed.subtitle(info.subtitle or info.title)
    feed.link(href=info.self_url, rel="self", type=RSS_TYPE if rss else ATOM_TYPE)
    if info.hub_url:
        feed.link(href=info.hub_url, rel="hub")
    # Last: feedgen makes the last link added the RSS channel's <link>, which must be
    # the blog's page, not the feed itself.
    feed.link(href=info.page_url, rel="alternate", type="text/html")
    feed.updated(updated)
    feed.generator(GENERATOR)
    feed.register_extension("paging", PagingExtension, atom=True, rss=True)
    feed.paging.page = page
    feed.paging.link_type = RSS_TYPE if rss else ATOM_TYPE
    if rss:
        # RSS's <author> wants an e-mail address, which no feed shows: the name goes in
        # dc:creator, as RSS readers expect.
        feed.load_extension("dc", atom=False, rss=True)
    return feed


def _author(entry: Any, name: str, rss: bool) -> None:
    entry.author(name=name)
    if rss:
        entry.dc.dc_creator(name)


def _post_updated(post: Post) -> datetime:
    """An entry changes when it is edited, and is new when it is published."""
    return max(post.updated_at, post.published_at or post.updated_at)


def build_posts_feed(
    info: FeedInfo,
    blog_atom_id: str,
    posts: list[Post],
    post_url: Callable[[Post], str],
    label_url: Callable[[str], str],
    rss: bool = False,
    summary: bool = False,
    page: FeedPage | None = None,
) -> bytes:
    """Atom (or RSS 2.0, Blogger's alt=rss) for a list of posts, newest first: each
    post's whole content, or with `summary` its description only (Blogger's summary
    feeds)."""
    updated = max((_post_updated(post) for post in posts), default=info.fallback_updated)
    feed = _new_feed(info, updated, rss, page)
    for post in posts:
        entry = feed.add_entry(order="append")
        entry.id(post_atom_id(blog_atom_id, post))
        entry.title(post.title)
        entry.link(href=post_url(post), rel="alternate", type="text/html")
        entry.published(post.published_at)
        entry.updated(_post_updated(post))
        _author(entry, post.author.display_name, rss)
        for label in post.labels:
            entry.category(term=label.name, scheme=label_url(label.name), label=label.name)
        if summary:
            entry.summary(post_description(post.summary, post.body_html) or post.title)
        else:
            # Uploaded images and the post's footnotes and contents by absolute address:
            # a feed reader has no page to resolve "/media/..." or "#p42-fn:1" against.
            content = absolute_media(post.body_html, _site(info.page_url))
            entry.content(absolute_fragments(content, post_url(post)), type="html")
    return _serialise(feed, rss)


def build_comments_feed(
    info: FeedInfo,
    blog_atom_id: str,
    comments: list[Comment],
    comment_url: Callable[[Comment], str],
    rss: bool = False,
    page: FeedPage | None = None,
) -> bytes:
    """Atom (or RSS 2.0) for a list of comments, newest first. A reply's Atom entry names
    the comment it answers (thr:in-reply-to, RFC 4685): its `parent` must be loaded."""
    updated = max(
        (_comment_updated(comment) for comment in comments), default=info.fallback_updated
    )
    feed = _new_feed(info, updated, rss, page)
    feed.register_extension("thr", ThreadExtension, ThreadEntryExtension, atom=True, rss=False)
    for comment in comments:
        entry = feed.add_entry(order="append")
        entry.id(comment_atom_id(blog_atom_id, comment))
        # The title is the text readers see on the page (the rendered comment), not its
        # source: a commenter's <b>word</b> is "word" there, as on the page.
        entry.title(html_excerpt(comment.body_html) or f"Comment on {comment.post.title}")
        entry.link(href=comment_url(comment), rel="alternate", type="text/html")
        if comment.parent is not None:
            # Its parent is on the same post: its link reuses the post's address.
            entry.thr.in_reply_to(
                comment_atom_id(blog_atom_id, comment.parent), comment_url(comment.parent)
            )
        entry.published(comment.created_at)
        entry.updated(_comment_updated(comment))
        _author(entry, comment.display_name, rss)
        entry.content(comment.body_html, type="html")
    return _serialise(feed, rss)


def _comment_updated(comment: Comment) -> datetime:
    """A comment's entry changes when its commenter edits it."""
    return comment.edited_at or comment.created_at


def _serialise(feed: FeedGenerator, rss: bool) -> bytes:
    data: bytes = feed.rss_str(pretty=True) if rss else feed.atom_str(pretty=True)
    return data
