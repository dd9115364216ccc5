"""Export the whole blog: Blogger's Atom format (to move to Blogger or back here) and
a plain JSON document (to move anywhere else). Both are written as a stream of text
pieces, a page of rows at a time, so a large blog needs little memory.

Every post and comment is written with the Atom id the blog's feeds serve for it (an
imported one's Blogger id, else one of ours), so importing the file elsewhere keeps what
feed subscribers have. Exporting, importing into an empty blog and exporting again gives
the same file but for the export's own time. The file is valid Atom (RFC 4287): a self
link, and an author on the feed and on every entry.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload

from kmblog.blogger import (
    APP,
    ATOM,
    KIND_PREFIX,
    KIND_SCHEME,
    LABEL_SCHEME,
    OWN_ATOM_ID,
    THR,
)
from kmblog.extensions import db
from kmblog.feeds.builder import comment_atom_id, own_blogger_number, post_atom_id
from kmblog.media.services import stored_files
from kmblog.models import (
    Comment,
    CommentPolicy,
    CommentStatus,
    Label,
    Media,
    Page,
    Post,
    PostRevision,
    PostStatus,
    Role,
    Series,
    Settings,
    User,
)
from kmblog.rendering import absolute_media, html_excerpt, videos_as_players
from kmblog.settings import get_settings
from kmblog.timefmt import blog_zone
from kmblog.urls import comment_link

ROWS_PER_QUERY = 500
BLOGGER_FEEDS = "https://www.blogger.com/feeds"
GENERATOR = "kmblog"
# Where the admin's page serves the export (kmblog/blogger/views.py): its self link.
EXPORT_PATH = "/manage/transfer/export/blogger.xml"


def blogger_blog_id(settings: Settings) -> str:
    """The Blogger blog id this blog was imported from, or a stable one made from its
    own Atom id."""
    if settings.blogger_blog_id:
        return settings.blogger_blog_id
    return own_blogger_number(settings.atom_id)


class _Writer:
    def __init__(self, settings: Settings, base_url: str) -> None:
        self.settings = settings
        self.base = base_url.rstrip("/")
        self.zone = blog_zone(settings.timezone)
        self.tag = f"tag:blogger.com,1999:blog-{blogger_blog_id(settings)}"

    def post_id(self, post: Post) -> str:
        return post_atom_id(self.settings.atom_id, post)

    def comment_id(self, comment: Comment) -> str:
        return comment_atom_id(self.settings.atom_id, comment)

    def time(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).isoformat(timespec="milliseconds")

    def post_url(self, post: Post) -> str:
        year, month, slug = post.path_parts
        return f"{self.base}/{year}/{month:02d}/{slug}.html"

    def comment_feed_url(self, post: Post, comment: Comment) -> str:
        """A comment's address in Blogger's API, as a reply's "related" link names it."""
        return (
            f"{BLOGGER_FEEDS}/{blogger_blog_id(self.settings)}/{_item_id(post)}"
            f"/comments/default/{_item_id(comment)}"
        )

    @staticmethod
    def kind(name: str) -> str:
        return f"<category scheme={quoteattr(KIND_SCHEME)} term={quoteattr(KIND_PREFIX + name)}/>"

    @staticmethod
    def author(user: User | None, name: str = "", uri: str = "") -> str:
        parts = [f"<name>{escape(user.display_name if user else name or 'Anonymous')}</name>"]
        if uri:
            parts.append(f"<uri>{escape(uri)}</uri>")
        if user is not None and user.email:
            parts.append(f"<email>{escape(user.email)}</email>")
        return "<author>" + "".join(parts) + "</author>"


def _settings_values(settings: Settings) -> list[tuple[str, str]]:
    if settings.comment_policy == CommentPolicy.MODERATED:
        moderation = "ALWAYS"
    elif settings.moderate_after_days is not None:
        moderation = "OLDER"
    else:
        moderation = "DISABLED"
    values = [
        ("BLOG_NAME", settings.title),
        ("BLOG_DESCRIPTION", settings.description),
        ("BLOG_TIME_ZONE", settings.timezone),
        ("BLOG_COMMENTS_ALLOWED", str(settings.comment_policy != CommentPolicy.CLOSED).lower()),
        ("BLOG_COMMENT_MODERATION", moderation),
        ("BLOG_MAX_NUM", str(settings.posts_per_page)),
        ("BLOG_MAX_UNIT", "POSTS"),
        (OWN_ATOM_ID, settings.atom_id),
    ]
    if settings.moderate_after_days is not None:
        values.append(("BLOG_COMMENT_MODERATION_DELAY", str(settings.moderate_after_days)))
    return values


def _in_pages(query: Select[Any], key: InstrumentedAttribute[Any]) -> Iterator[Any]:
    """Rows of `query` ordered by `key`, ROWS_PER_QUERY at a time (keyset paging), so
    the session never holds the whole blog."""
    last = None
    while True:
        page_query = query.order_by(key).limit(ROWS_PER_QUERY)
        if last is not None:
            page_query = page_query.where(key > last)
        rows = list(db.session.scalars(page_query).unique())
        if not rows:
            return
        yield from rows
        # The session's identity map holds rows weakly: pages already written go.
        last = getattr(rows[-1], key.key)


def _owner() -> User | None:
    """The blog's first administrator: the author of the blog's own entries (its
    settings), as Blogger names the blog's owner there."""
    return db.session.scalars(
        select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
    ).first()


def blogger_export(now: datetime, base_url: str, self_url: str | None = None) -> Iterator[str]:
    """The blog in Blogger's export format (Atom), as pieces of text; `self_url` is
    where the file is served (the admin's download address on `base_url` by default)."""
    settings = get_settings()
    writer = _Writer(settings, base_url)
    stamp = writer.time(now)
    tag = writer.tag
    owner = _owner()
    # Without an administrator the blog speaks for itself.
    blog_author = writer.author(owner, settings.title)
    self_link = self_url or writer.base + EXPORT_PATH
    yield "<?xml version='1.0' encoding='UTF-8'?>\n"
    yield (
        f"<feed xmlns={quoteattr(ATOM)} xmlns:app={quoteattr(APP)} xmlns:thr={quoteattr(THR)}>\n"
        f"<id>{tag}.archive</id>\n<updated>{stamp}</updated>\n"
        f'<title type="text">{escape(settings.title)}</title>\n'
        f'<link rel="self" type="application/atom+xml" href={quoteattr(self_link)}/>\n'
        f'<link rel="alternate" type="text/html" href={quoteattr(writer.base + "/")}/>\n'
        f"{blog_author}\n"
        f"<generator>{GENERATOR}</generator>\n"
    )
    for name, value in _settings_values(settings):
        yield (
            f"<entry><id>{tag}.settings.{name}</id>"
            f"<published>{stamp}</published><updated>{stamp}</updated>"
            f'{writer.kind("settings")}<title type="text">{name}</title>'
            f'<content type="text">{escape(value)}</content>{blog_author}</entry>\n'
        )
    posts = select(Post).options(joinedload(Post.author), selectinload(Post.labels))
    for post in _in_pages(posts, Post.id):
        yield _post_entry(writer, post)
    for page in _in_pages(select(Page).options(joinedload(Page.author)), Page.id):
        yield _page_entry(writer, page)
    comments = (
        select(Comment)
        .where(Comment.status == CommentStatus.PUBLISHED)
        .options(joinedload(Comment.post), joinedload(Comment.parent))
    )
    for comment in _in_pages(comments, Comment.id):
        yield _comment_entry(writer, comment)
    yield "</feed>\n"


def _item_id(item: Post | Page | Comment) -> str:
    return item.blogger_id or str(item.id)


def _draft(published: bool) -> str:
    return "" if published else "<app:control><app:draft>yes</app:draft></app:control>"


def _post_entry(writer: _Writer, post: Post) -> str:
    return _article_entry(
        writer, post, writer.post_id(post), "post", post.labels, lambda: writer.post_url(post)
    )


def _page_entry(writer: _Writer, page: Page) -> str:
    return _article_entry(
        writer,
        page,
        page.atom_id or f"{writer.tag}.page-{page.id}",
        "page",
        [],
        lambda: f"{writer.base}/p/{page.slug}.html",
    )


def _article_entry(
    writer: _Writer,
    item: Post | Page,
    atom_id: str,
    kind: str,
    labels: list[Label],
    url: Callable[[], str],
) -> str:
    """A post or a page: the same entry but for its id, kind, labels and address (asked
    for only when published: a draft has none)."""
    published = item.status == PostStatus.PUBLISHED and item.published_at is not None
    parts = [
        f"<entry><id>{escape(atom_id)}</id>",
        f"<published>{writer.time(item.published_at or item.created_at)}</published>",
        f"<updated>{writer.time(item.updated_at)}</updated>",
        _draft(published),
        writer.kind(kind),
        *(
            f"<category scheme={quoteattr(LABEL_SCHEME)} term={quoteattr(label.name)}/>"
            for label in labels
        ),
        f'<title type="text">{escape(item.title)}</title>',
        f'<content type="html">{escape(_exported_body(item.body_html, writer.base))}</content>',
    ]
    if published:
        parts.append(
            f'<link rel="alternate" type="text/html" href={quoteattr(url())} '
            f"title={quoteattr(item.title)}/>"
        )
    parts.append(writer.author(item.author))
    parts.append("</entry>\n")
    return "".join(parts)


def _comment_entry(writer: _Writer, comment: Comment) -> str:
    post = comment.post
    comment_id = _item_id(comment)
    parts = [
        f"<entry><id>{escape(writer.comment_id(comment))}</id>",
        f"<published>{writer.time(comment.created_at)}</published>",
        f"<updated>{writer.time(comment.created_at)}</updated>",
        writer.kind("comment"),
        f'<title type="text">{escape(html_excerpt(comment.body_html))}</title>',
        f'<content type="html">{escape(comment.body_html)}</content>',
    ]
    post_url = ""
    if post.year is not None and post.month is not None:
        post_url = writer.post_url(post)
        url = comment_link(post_url, comment.created_at, comment_id)
        parts.append(f'<link rel="alternate" type="text/html" href={quoteattr(url)}/>')
    parent = comment.parent
    if parent is not None and parent.status == CommentStatus.PUBLISHED:
        # A threaded reply, as Blogger marks one: a link to the comment it answers (the
        # comment's address in Blogger's API), beside thr:in-reply-to for the post.
        parts.append(
            f'<link rel="related" type="application/atom+xml" '
            f"href={quoteattr(writer.comment_feed_url(post, parent))}/>"
        )
    parts.append(writer.author(None, comment.author_name, comment.author_url))
    reply = f"<thr:in-reply-to ref={quoteattr(writer.post_id(post))}"
    if post_url:
        reply += f" href={quoteattr(post_url)}"
    parts.append(reply + ' type="text/html"/>')
    parts.append("</entry>\n")
    return "".join(parts)


# --- JSON ---------------------------------------------------------------------------

JSON_FORMAT = "kmblog-export"
JSON_VERSION = 1
# The archive (archive_export): the JSON document, then each image file under media/.
ARCHIVE_JSON = "kmblog.json"
MEDIA_PREFIX = "media/"
_CHUNK = 64 * 1024


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def json_export(now: datetime, media_folder: Path) -> Iterator[str]:
    """Everything in the blog as one JSON document (described in the README). The
    images are described, with the files kept for each (`media_folder` says which are
    there); archive_export carries the files themselves."""
    settings = get_settings()
    yield "{\n"
    yield f'"format": "{JSON_FORMAT}",\n"version": {JSON_VERSION},\n'
    yield f'"exported_at": {json.dumps(_iso(now))},\n'
    blog = {
        "title": settings.title,
        "description": settings.description,
        "about": settings.about,
        "timezone": settings.timezone,
        "posts_per_page": settings.posts_per_page,
        "items_per_feed": settings.items_per_feed,
        "comment_policy": settings.comment_policy.value,
        "moderate_after_days": settings.moderate_after_days,
        "moderation_links": settings.moderation_links,
        "moderation_words": settings.moderation_words,
        "blocked_words": settings.blocked_words,
        "hold_first_comment": settings.hold_first_comment,
        "thread_depth": settings.thread_depth,
        "edit_window_minutes": settings.edit_window_minutes,
        "atom_id": settings.atom_id,
        "blogger_blog_id": settings.blogger_blog_id,
    }
    yield f'"settings": {json.dumps(blog, ensure_ascii=False)},\n'

    def media_json(media: Media) -> dict[str, object]:
        return _media_json(media, media_folder)

    sections: tuple[_Section, ...] = (
        ("authors", select(User), User.id, _user_json),
        ("labels", select(Label), Label.id, _label_json),
        ("posts", select(Post).options(selectinload(Post.labels)), Post.id, _post_json),
        ("revisions", select(PostRevision), PostRevision.id, _revision_json),
        ("pages", select(Page), Page.id, _page_json),
        ("comments", select(Comment), Comment.id, _comment_json),
        ("series", select(Series).options(selectinload(Series.entries)), Series.id, _series_json),
        ("media", select(Media), Media.id, media_json),
    )
    for number, (name, query, key, convert) in enumerate(sections):
        yield f'"{name}": ['
        first = True
        for row in _in_pages(query, key):
            yield ("\n" if first else ",\n") + json.dumps(convert(row), ensure_ascii=False)
            first = False
        yield "\n]" + (",\n" if number < len(sections) - 1 else "\n")
    yield "}\n"


_Section = tuple[str, Select[Any], InstrumentedAttribute[Any], Callable[[Any], dict[str, object]]]


class _Spool:
    """Where the archive is written: bytes kept until the generator hands them on. It
    has no tell() or seek(), so zipfile writes a stream (each file's sizes after its
    data) and never goes back: the archive is sent while it is being made."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered beyond what take() hands on."""

    def take(self) -> bytes:
        data = b"".join(self.pieces)
        self.pieces.clear()
        return data


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """A ZIP member's time: ZIP keeps no zone (UTC is written) and nothing before 1980."""
    utc = moment.astimezone(UTC)
    if utc.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)


def _member(name: str, moment: datetime, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _zip_time(moment))
    info.compress_type = compression
    info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked (zipfile leaves none)
    return info


def archive_export(now: datetime, media_folder: Path) -> Iterator[bytes]:
    """The JSON export and the image files, as a ZIP archive made piece by piece:
    kmblog.json (as json_export writes it), then media/NAME for every file it lists,
    byte for byte as stored (not compressed again: images are compressed already)."""
    spool = _Spool()
    with zipfile.ZipFile(cast(BinaryIO, spool), "w") as archive:
        info = _member(ARCHIVE_JSON, now, zipfile.ZIP_DEFLATED)
        with archive.open(info, "w", force_zip64=True) as member:
            for piece in json_export(now, media_folder):
                member.write(piece.encode())
                yield spool.take()
        for media in _in_pages(select(Media), Media.id):
            for stored in stored_files(media):
                try:
                    source = (media_folder / stored.name).open("rb")
                except FileNotFoundError:
                    continue  # kmblog.json lists it under missing_files
                with source:
                    info = _member(MEDIA_PREFIX + stored.name, media.created_at, zipfile.ZIP_STORED)
                    with archive.open(info, "w", force_zip64=True) as member:
                        while chunk := source.read(_CHUNK):
                            member.write(chunk)
                            yield spool.take()
    yield spool.take()


def _user_json(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role.value,
        "bio": user.bio,
        "active": user.active,
        "created_at": _iso(user.created_at),
        "comment_mail": user.comment_mail.value,
        "fediverse_creator": user.fediverse_creator,
    }


def _label_json(label: Label) -> dict[str, object]:
    return {"id": label.id, "name": label.name, "slug": label.slug}


def _post_json(post: Post) -> dict[str, object]:
    return {
        "id": post.id,
        "blogger_id": post.blogger_id,
        "atom_id": post.atom_id,
        "title": post.title,
        "slug": post.slug,
        "path": f"/{post.year}/{post.month:02d}/{post.slug}.html"
        if post.year is not None and post.month is not None
        else None,
        "status": post.status.value,
        "kind": post.kind.value,
        "author_id": post.author_id,
        "labels": [label.name for label in post.labels],
        "body_source": post.body_source,
        "source_format": post.source_format.value,
        "body_html": post.body_html,
        "summary": post.summary,
        "change_note": post.change_note,
        "published_at": _iso(post.published_at),
        "created_at": _iso(post.created_at),
        "updated_at": _iso(post.updated_at),
        "comments_open": post.comments_open,
        # A strategy's plan (null for every other post; a plan may serve several).
        "companion_id": post.companion_id,
        "revised_at": _iso(post.revised_at),
    }


def _revision_json(revision: PostRevision) -> dict[str, object]:
    return {
        "id": revision.id,
        "post_id": revision.post_id,
        "number": revision.number,
        "title": revision.title,
        "body_source": revision.body_source,
        "body_html": revision.body_html,
        "summary": revision.summary,
        "note": revision.note,
        "typo": revision.typo,
        "author_id": revision.author_id,
        "created_at": _iso(revision.created_at),
    }


def _page_json(page: Page) -> dict[str, object]:
    return {
        "id": page.id,
        "blogger_id": page.blogger_id,
        "atom_id": page.atom_id,
        "title": page.title,
        "slug": page.slug,
        "path": f"/p/{page.slug}.html",
        "status": page.status.value,
        "author_id": page.author_id,
        "body_source": page.body_source,
        "source_format": page.source_format.value,
        "body_html": page.body_html,
        "position": page.position,
        "published_at": _iso(page.published_at),
        "created_at": _iso(page.created_at),
        "updated_at": _iso(page.updated_at),
    }


def _comment_json(comment: Comment) -> dict[str, object]:
    return {
        "id": comment.id,
        "blogger_id": comment.blogger_id,
        "atom_id": comment.atom_id,
        "post_id": comment.post_id,
        "author_name": comment.author_name,
        "author_url": comment.author_url,
        "user_id": comment.user_id,
        "parent_id": comment.parent_id,
        "status": comment.status.value,
        "body_source": comment.body_source,
        "body_html": comment.body_html,
        "created_at": _iso(comment.created_at),
        "edited_at": _iso(comment.edited_at),
    }


def _media_json(media: Media, folder: Path) -> dict[str, object]:
    """An uploaded image: what it is, and each file kept for it with its size (or, when
    the file is not in the folder, its name under missing_files)."""
    files: list[dict[str, object]] = []
    missing: list[str] = []
    for stored in stored_files(media):
        try:
            size, digest = _file_facts(folder / stored.name)
        except FileNotFoundError:
            missing.append(stored.name)
            continue
        files.append(
            {
                "name": stored.name,
                "width": stored.width,
                "content_type": stored.content_type,
                "bytes": size,
                # What an import checks the archive's copy against.
                "sha256": digest,
            }
        )
    return {
        "id": media.id,
        "sha256": media.sha256,
        "url": media.url,
        "content_type": media.content_type,
        "original_name": media.original_name,
        "alt": media.alt,
        "width": media.width,
        "height": media.height,
        "byte_size": media.byte_size,
        "widths": media.width_list,
        "uploader_id": media.uploader_id,
        "created_at": _iso(media.created_at),
        "files": files,
        "missing_files": missing,
    }


def _file_facts(path: Path) -> tuple[int, str]:
    """A stored file's size and SHA-256 (FileNotFoundError when it is not there)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _series_json(series: Series) -> dict[str, object]:
    return {
        "id": series.id,
        "title": series.title,
        "slug": series.slug,
        "path": f"/series/{series.slug}.html",
        "description_source": series.description_source,
        "description_html": series.description_html,
        "author_id": series.author_id,
        "created_at": _iso(series.created_at),
        "updated_at": _iso(series.updated_at),
        # Its posts in reading order, drafts too: "Part n" counts the visible ones.
        "post_ids": [entry.post_id for entry in series.entries],
    }


def _exported_body(stored: str, base_url: str) -> str:
    """Stored HTML as another blog reads it: videos as players again (Blogger has no
    click-to-load script of ours), uploaded images by absolute address (the blog it
    goes to links them here)."""
    return absolute_media(videos_as_players(stored), base_url)
