"""What a reader's page says about itself in its <head>, for search engines, link cards
and feed readers: the canonical address, the description, OpenGraph and Twitter/X card
properties, the fediverse:creator credit, and schema.org data as JSON-LD.

Plain functions of plain data (strings, aware datetimes, the small records below), giving
plain data (a Head of pairs and dicts): no request, no query, no markup. The view layer
gathers the facts (kmblog/blog/heads.py); one macro prints a Head
(templates/_macros/metadata.html), escaping every value: attributes by Jinja, JSON-LD by
the `tojson` filter, which writes <, > and & as \\u003c, \\u003e and \\u0026 so no text
can close the <script> that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCHEMA = "https://schema.org"

JsonObject = dict[str, Any]


def iso(moment: datetime) -> str:
    """ISO 8601 to the second with the moment's own offset (2009-06-29T08:07:00-07:00):
    what OpenGraph's article times and schema.org's dates expect."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: metadata dates carry their time zone")
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Site:
    """The blog: its title, its home page's absolute address, its description."""

    name: str
    url: str
    description: str


@dataclass(frozen=True)
class Person:
    """An author: display name, the absolute address of their profile, and the fediverse
    handle they gave (@name@host), if any."""

    name: str
    url: str
    fediverse: str | None = None


@dataclass(frozen=True)
class CommentFacts:
    """A published comment as its post's page shows it, in plain text."""

    author: str
    author_url: str | None  # the commenter's own site, when it is one the page links
    created: datetime
    text: str
    url: str  # the comment's permalink


@dataclass(frozen=True)
class PostFacts:
    """A post as its page shows it; addresses absolute, times aware."""

    title: str
    url: str
    description: str
    published: datetime
    modified: datetime
    author: Person
    labels: tuple[str, ...] = ()
    image: str | None = None
    comment_count: int = 0
    comments: tuple[CommentFacts, ...] = ()


@dataclass(frozen=True)
class PostLink:
    """A post listed on the home page: enough for the Blog's blogPost entries."""

    title: str
    url: str
    published: datetime
    author: Person


@dataclass(frozen=True)
class Head:
    """Everything a page's <head> says about it besides its <title>."""

    canonical: str
    description: str
    # (property, content) pairs, in the order printed: og:* and article:*.
    open_graph: tuple[tuple[str, str], ...]
    # (name, content) pairs: twitter:*.
    twitter: tuple[tuple[str, str], ...]
    json_ld: tuple[JsonObject, ...] = ()
    fediverse_creator: str | None = None


def _person(person: Person) -> JsonObject:
    return {"@type": "Person", "name": person.name, "url": person.url}


def _publisher(site: Site) -> JsonObject:
    # A blog speaks for itself: the publisher is the blog, by its name and address.
    return {"@type": "Organization", "name": site.name, "url": site.url}


def _website_tags(
    site: Site, title: str, description: str, canonical: str
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """OpenGraph and Twitter/X card pairs of a page that is not an article."""
    open_graph = (
        ("og:type", "website"),
        ("og:site_name", site.name),
        ("og:title", title),
        ("og:url", canonical),
        ("og:description", description),
    )
    twitter = (
        ("twitter:card", "summary"),
        ("twitter:title", title),
        ("twitter:description", description),
    )
    return open_graph, twitter


def comment_data(comment: CommentFacts) -> JsonObject:
    """schema.org Comment: who said it, when, and what."""
    author: JsonObject = {"@type": "Person", "name": comment.author}
    if comment.author_url:
        author["url"] = comment.author_url
    return {
        "@type": "Comment",
        "author": author,
        "dateCreated": iso(comment.created),
        "text": comment.text,
        "url": comment.url,
    }


def blog_posting(site: Site, post: PostFacts) -> JsonObject:
    """schema.org BlogPosting of a post's page, with the comments that page shows."""
    data: JsonObject = {
        "@context": SCHEMA,
        "@type": "BlogPosting",
        "headline": post.title,
        "description": post.description,
        "url": post.url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": post.url},
        "datePublished": iso(post.published),
        "dateModified": iso(post.modified),
        "author": _person(post.author),
        "publisher": _publisher(site),
        "isPartOf": {"@type": "Blog", "name": site.name, "url": site.url},
        "commentCount": post.comment_count,
    }
    if post.image:
        data["image"] = post.image
    if post.labels:
        data["keywords"] = list(post.labels)
    if post.comments:
        data["comment"] = [comment_data(comment) for comment in post.comments]
    return data


def post_head(site: Site, post: PostFacts) -> Head:
    """A post's page: an article card (large when the post has a picture), its
    BlogPosting, and its author's fediverse credit."""
    times = (
        ("article:published_time", iso(post.published)),
        ("article:modified_time", iso(post.modified)),
        ("article:author", post.author.url),
    )
    image = (("og:image", post.image),) if post.image else ()
    open_graph = (
        ("og:type", "article"),
        ("og:site_name", site.name),
        ("og:title", post.title),
        ("og:url", post.url),
        ("og:description", post.description),
        *image,
        *times,
        *(("article:tag", label) for label in post.labels),
    )
    twitter = (
        ("twitter:card", "summary_large_image" if post.image else "summary"),
        ("twitter:title", post.title),
        ("twitter:description", post.description),
        *((("twitter:image", post.image),) if post.image else ()),
    )
    return Head(
        canonical=post.url,
        description=post.description,
        open_graph=open_graph,
        twitter=twitter,
        json_ld=(blog_posting(site, post),),
        fediverse_creator=post.author.fediverse,
    )


def home_description(site: Site) -> str:
    """The blog's own description; a blog without one is described by its title."""
    return site.description or f"The newest posts of {site.name}."


def home_head(site: Site, posts: Sequence[PostLink] = ()) -> Head:
    """The home page (and its older pages, which name it as their canonical address):
    the blog as a schema.org Blog, with the posts it lists."""
    description = home_description(site)
    open_graph, twitter = _website_tags(site, site.name, description, site.url)
    blog: JsonObject = {
        "@context": SCHEMA,
        "@type": "Blog",
        "name": site.name,
        "url": site.url,
        "description": description,
        "publisher": _publisher(site),
    }
    if posts:
        blog["blogPost"] = [
            {
                "@type": "BlogPosting",
                "headline": post.title,
                "url": post.url,
                "datePublished": iso(post.published),
                "author": _person(post.author),
            }
            for post in posts
        ]
    return Head(site.url, description, open_graph, twitter, (blog,))


def breadcrumb_list(crumbs: Sequence[tuple[str, str]]) -> JsonObject:
    """schema.org BreadcrumbList from (name, absolute address) pairs, home first."""
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": number, "name": name, "item": url}
            for number, (name, url) in enumerate(crumbs, start=1)
        ],
    }


def listing_head(
    site: Site,
    title: str,
    description: str,
    canonical: str,
    crumbs: Sequence[tuple[str, str]] = (),
) -> Head:
    """Any other page (a label's, an archive's, search, a profile, a standalone page):
    a website card; a BreadcrumbList when the page sits below others (`crumbs` from the
    home page down to this page)."""
    open_graph, twitter = _website_tags(site, title, description, canonical)
    json_ld = (breadcrumb_list(crumbs),) if crumbs else ()
    return Head(canonical, description, open_graph, twitter, json_ld)


def _posts(count: int) -> str:
    return f"{count} post" if count == 1 else f"{count} posts"


def label_description(site: Site, label: str, count: int) -> str:
    return f"{_posts(count)} labelled “{label}” on {site.name}, newest first."


def archive_description(site: Site, period: str, count: int) -> str:
    """`period`: "2009", or "July 2009"."""
    return f"{_posts(count)} published on {site.name} in {period}, newest first."


def search_description(site: Site, query: str) -> str:
    return f"Posts on {site.name} matching the search for “{query}”."


def labels_description(site: Site, count: int) -> str:
    what = "label" if count == 1 else "labels"
    return f"All {count} {what} of {site.name}, each with its number of posts."


def profile_description(site: Site, name: str, bio: str) -> str:
    """The author's own words when they wrote a bio (cut by the caller), else a line
    of ours."""
    return bio or f"Posts by {name} on {site.name}."


def series_description(site: Site, title: str, count: int) -> str:
    """A series without a description of its author's."""
    return f"{_posts(count)} in the series “{title}” on {site.name}, in reading order."


def kind_description(site: Site, kinds: str) -> str:
    """`kinds`: "KM Plans" or "KM Strategies"."""
    return f"All {kinds} on {site.name}, newest first."
