"""The facts each reader's page gives kmblog/seo/metadata.py, gathered from what the
page has already loaded (no query of their own): absolute addresses, times in the
blog's time zone, plain-text descriptions.

A page's canonical address is built from what names the page (its endpoint and path),
never from its query string or the visitor's cookies: every reader gets the same bytes,
and a comment page, a reply link, an older page or a tracking parameter all name the
one address of the page they belong to.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urljoin

from flask import url_for

from kmblog import timefmt
from kmblog.blog.services import LabelCount, PostPage, ShownComment
from kmblog.context import current_settings, to_local
from kmblog.models import Page, Post, Series, User
from kmblog.rendering import clean_line, first_image, html_excerpt, is_safe_url, post_description
from kmblog.seo import metadata
from kmblog.seo.metadata import CommentFacts, Head, Person, PostFacts, PostLink, Site
from kmblog.seo.services import changed_at
from kmblog.urls import comment_link, label_url, post_url, series_url

# A comment's text in the JSON-LD is the whole of what the page shows, up to this much.
COMMENT_TEXT_LENGTH = 5000


def site() -> Site:
    """The blog, as every page's metadata names it."""
    settings = current_settings()
    return Site(
        name=settings.title,
        url=url_for("blog.index", _external=True),
        description=clean_line(settings.description),
    )


def person(author: User) -> Person:
    return Person(
        name=author.display_name,
        url=url_for("blog.profile", username=author.username, _external=True),
        fediverse=author.fediverse_creator,
    )


def image_address(body_html: str, base: str) -> str | None:
    """The post's first picture as an absolute http(s) address (link cards need one)."""
    src = first_image(body_html)
    if src is None:
        return None
    address = urljoin(base, src.strip())
    return address if is_safe_url(address) else None


def _comment(post_address: str, row: ShownComment) -> CommentFacts:
    return CommentFacts(
        author=row.author_name or "Anonymous",
        author_url=row.author_url if row.author_url and is_safe_url(row.author_url) else None,
        created=to_local(row.created_at),
        text=html_excerpt(row.body_html, COMMENT_TEXT_LENGTH),
        url=comment_link(post_address, row.created_at, row.id),
    )


def describe_post(post: Post) -> str:
    """A post's description: its author's summary, else its first paragraph, else (a
    post of pictures alone) its title."""
    return post_description(post.summary, post.body_html) or post.title


def post_head(page: PostPage) -> Head:
    """A post's page with the comments it shows (a page of them: the page's own)."""
    post = page.post
    address = post_url(post, external=True)
    published = post.published_at or post.updated_at
    shown = sorted(page.shown.values(), key=lambda row: (row.created_at, row.id))
    facts = PostFacts(
        title=post.title,
        url=address,
        description=describe_post(post),
        published=to_local(published),
        modified=to_local(changed_at(post)),
        author=person(post.author),
        labels=tuple(label.name for label in post.labels),
        image=image_address(post.body_html, address),
        comment_count=page.comment_count,
        comments=tuple(_comment(address, row) for row in shown),
    )
    return metadata.post_head(site(), facts)


def home_head(posts: Sequence[Post]) -> Head:
    """The home page and its older pages, with the posts listed."""
    links = [
        PostLink(
            title=post.title,
            url=post_url(post, external=True),
            published=to_local(post.published_at or post.updated_at),
            author=person(post.author),
        )
        for post in posts
    ]
    return metadata.home_head(site(), links)


def _home_crumb(blog: Site) -> tuple[str, str]:
    return (blog.name, blog.url)


def label_head(label: LabelCount) -> Head:
    blog = site()
    address = label_url(label.name, external=True)
    labels = ("Labels", url_for("blog.labels", _external=True))
    return metadata.listing_head(
        blog,
        f"{blog.name}: {label.name}",
        metadata.label_description(blog, label.name, label.count),
        address,
        crumbs=(_home_crumb(blog), labels, (label.name, address)),
    )


def series_head(series: Series, count: int) -> Head:
    """A series' page (`count`: its visible posts): described by its author's words,
    else by a line of ours."""
    blog = site()
    address = series_url(series.slug, external=True)
    description = post_description("", series.description_html) or metadata.series_description(
        blog, series.title, count
    )
    return metadata.listing_head(
        blog,
        f"{blog.name}: {series.title}",
        description,
        address,
        crumbs=(_home_crumb(blog), (series.title, address)),
    )


def archive_head(year: int, month: int | None, count: int) -> Head:
    """A year's archive, or with `month` a month's; `count`: its visible posts."""
    blog = site()
    year_address = url_for("blog.archive_year", year=year, _external=True)
    crumbs = [_home_crumb(blog), (str(year), year_address)]
    period, address = str(year), year_address
    if month is not None:
        period = f"{timefmt.month_name(month)} {year}"
        address = url_for("blog.archive_month", year=year, month=month, _external=True)
        crumbs.append((period, address))
    return metadata.listing_head(
        blog,
        f"{blog.name}: {period}",
        metadata.archive_description(blog, period, count),
        address,
        crumbs=crumbs,
    )


def kind_head(kinds: str, title: str) -> Head:
    """/plans/ or /strategies/ (`kinds`), shown as `title`."""
    blog = site()
    return metadata.listing_head(
        blog,
        f"{blog.name}: {title}",
        metadata.kind_description(blog, title),
        url_for("blog.by_kind", kinds=kinds, _external=True),
    )


def search_head(query: str) -> Head:
    """Search results: the query's first page is their one address (the words as typed,
    spaces tidied; no paging)."""
    blog = site()
    return metadata.listing_head(
        blog,
        f"{blog.name}: Search results for {query}",
        metadata.search_description(blog, query),
        url_for("blog.search", q=query, _external=True),
    )


def labels_head(count: int) -> Head:
    blog = site()
    return metadata.listing_head(
        blog,
        f"{blog.name}: All labels",
        metadata.labels_description(blog, count),
        url_for("blog.labels", _external=True),
    )


def profile_head(author: User) -> Head:
    blog = site()
    return metadata.listing_head(
        blog,
        f"{blog.name}: {author.display_name}",
        metadata.profile_description(blog, author.display_name, post_description(author.bio, "")),
        url_for("blog.profile", username=author.username, _external=True),
    )


def history_head(post: Post) -> Head:
    """A post's public history: below its post, which it names."""
    blog = site()
    address = url_for(
        "blog.post_history", year=post.year, month=post.month, slug=post.slug, _external=True
    )
    return metadata.listing_head(
        blog,
        f"{blog.name}: History of {post.title}",
        f"Every published change to “{post.title}”, with its author's notes.",
        address,
        crumbs=(
            (blog.name, blog.url),
            (post.title, post_url(post, external=True)),
            ("History", address),
        ),
    )


def page_head(page: Page) -> Head:
    """A standalone page (/p/slug.html)."""
    blog = site()
    return metadata.listing_head(
        blog,
        f"{blog.name}: {page.title}",
        post_description("", page.body_html) or page.title,
        url_for("blog.page", slug=page.slug, _external=True),
    )
