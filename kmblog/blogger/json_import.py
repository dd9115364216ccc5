"""Import the blog's own JSON export (exporter.json_export, or its ZIP archive with the
images' files) into an empty blog, as one transaction.

The file is untrusted: every field is checked for its type and size, every text that
readers see is rendered again here by kmblog.rendering as saving it would (the HTML in
the file is never stored as it is), and any fault is a JsonImportError with a message
for the operator and nothing written. Ids are kept, so that a second export gives the
same document and feed readers keep their entries; an author whose id or name is taken
by an account already here (the admin who imports) is mapped onto it consistently.
Authors come without passwords: the export holds none.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from kmblog.audit.services import Actor, record
from kmblog.auth.services import UserError, add_user
from kmblog.blogger.exporter import ARCHIVE_JSON, JSON_FORMAT, JSON_VERSION, MEDIA_PREFIX
from kmblog.extensions import db
from kmblog.manage.services import render_post_body
from kmblog.media.services import CONTENT_TYPES, image_variants, stored_files
from kmblog.models import (
    Comment,
    CommentMail,
    CommentPolicy,
    CommentStatus,
    Label,
    Media,
    Page,
    Post,
    PostKind,
    PostRevision,
    PostStatus,
    Role,
    Series,
    SeriesPost,
    Settings,
    SourceFormat,
    User,
)
from kmblog.rendering import (
    PAGE_ANCHORS,
    clean_line,
    clean_text,
    is_safe_url,
    render_body,
    render_comment,
    render_imported_comment,
)
from kmblog.series.services import render_description
from kmblog.settings import get_settings
from kmblog.transaction import unit_of_work

# The JSON document may be large (a blog's every post), but not without end.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
_COPY_CHUNK = 64 * 1024
_POST_PATH = re.compile(r"/([0-9]{4})/([0-9]{2})/([^/]+)\.html")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Tables that make a blog "not empty" for this import (authors alone do not: the admin
# who imports is one).
_CONTENT = (Post, Page, Comment, Label, Series, Media)
# Tables whose ids the import sets, for PostgreSQL's sequences.
_KEYED = (User, Label, Post, PostRevision, Page, Comment, Series, Media)

E = TypeVar("E", bound=enum.Enum)
# What reading a damaged, encrypted or oddly compressed archive may raise.
_ZIP_FAULTS = (
    zipfile.BadZipFile,
    OSError,
    ValueError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    zlib.error,
)


class JsonImportError(Exception):
    """A file that cannot be imported; the message says why. Nothing was written."""


class BlogNotEmpty(JsonImportError):
    """The blog already holds content: the import fills an empty blog only."""


@dataclass
class JsonImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    without_password: list[str] = field(default_factory=list)
    mapped_authors: list[str] = field(default_factory=list)
    media_files: int = 0
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        done = ", ".join(f"{number} {name}" for name, number in self.counts.items())
        lines = [f"Imported {done}; {self.media_files} image files written."]
        lines.extend(self.mapped_authors)
        if self.without_password:
            lines.append(
                "These authors have no password and cannot sign in until one is set "
                "(flask users password NAME): " + ", ".join(self.without_password) + "."
            )
        lines.extend(f"Warning: {warning}" for warning in self.warnings)
        return lines


class _Row:
    """One object of the document, read field by field with its place named in errors."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise JsonImportError(f"{where} is not a JSON object.")
        self.data: dict[str, Any] = data
        self.where = where

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise JsonImportError(f"{self.where} has no field {key!r}.")
        return self.data[key]

    def fault(self, key: str, what: str) -> JsonImportError:
        return JsonImportError(f"{self.where}: {key!r} {what}.")

    def text(self, key: str, limit: int | None = None) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self.fault(key, "is not text")
        if "\x00" in value:
            raise self.fault(key, "holds a NUL character")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise self.fault(key, "is not valid Unicode text") from None
        if limit is not None and len(value) > limit:
            raise self.fault(key, f"is longer than {limit} characters")
        return value

    def optional_text(self, key: str, limit: int | None = None) -> str | None:
        return None if self._get(key) is None else self.text(key, limit)

    def integer(self, key: str, low: int = 0, high: int = 2**31 - 1) -> int:
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fault(key, f"is not a whole number from {low} to {high}")
        return value

    def optional_integer(self, key: str, low: int = 0) -> int | None:
        return None if self._get(key) is None else self.integer(key, low)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise self.fault(key, "is not true or false")
        return value

    def time(self, key: str) -> datetime:
        value = self.text(key, 64)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.fault(key, "is not a date and time (ISO 8601)") from None
        if moment.tzinfo is None:
            raise self.fault(key, "has no time zone")
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise self.fault(key, "is out of range") from None

    def optional_time(self, key: str) -> datetime | None:
        return None if self._get(key) is None else self.time(key)

    def choice(self, key: str, kind: type[E]) -> E:
        value = self.text(key, 32)
        try:
            return kind(value)
        except ValueError:
            names = ", ".join(str(member.value) for member in kind)
            raise self.fault(key, f"is none of {names}") from None

    def id_list(self, key: str) -> list[int]:
        value = self._get(key)
        if not isinstance(value, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        ):
            raise self.fault(key, "is not a list of ids")
        return value

    def text_list(self, key: str) -> list[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fault(key, "is not a list of names")
        return value

    def rows(self, key: str) -> Iterator[_Row]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self.fault(key, "is not a list")
        for number, item in enumerate(value):
            yield _Row(item, f"{key}[{number}]")


def _length(column: Any) -> int | None:
    return getattr(column.type, "length", None)


@dataclass
class _Source:
    """The document and, from an archive, its image files by name."""

    document: bytes
    archive: zipfile.ZipFile | None
    members: dict[str, zipfile.ZipInfo]


def _read_source(stream: IO[bytes]) -> _Source:
    start = stream.read(4)
    stream.seek(0)
    if start != b"PK\x03\x04":
        document = stream.read(MAX_DOCUMENT_BYTES + 1)
        if len(document) > MAX_DOCUMENT_BYTES:
            raise JsonImportError("The JSON document is larger than this import takes.")
        return _Source(document, None, {})
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except _ZIP_FAULTS as error:
        raise JsonImportError(f"The file is not a readable ZIP archive ({error}).") from None
    members = {info.filename: info for info in infos}
    if ARCHIVE_JSON not in members:
        raise JsonImportError(f"The archive has no {ARCHIVE_JSON}: it is not a kmblog export.")
    images = {}
    for name, info in members.items():
        if name == ARCHIVE_JSON:
            continue
        file_name = name.removeprefix(MEDIA_PREFIX)
        if not name.startswith(MEDIA_PREFIX) or "/" in file_name or not file_name:
            raise JsonImportError(f"The archive holds {name!r}, which a kmblog export never has.")
        images[file_name] = info
    info = members[ARCHIVE_JSON]
    if info.file_size > MAX_DOCUMENT_BYTES:
        raise JsonImportError("The JSON document is larger than this import takes.")
    try:
        with archive.open(info) as member:
            document = member.read(MAX_DOCUMENT_BYTES + 1)
    except _ZIP_FAULTS as error:
        raise JsonImportError(
            f"{ARCHIVE_JSON} cannot be read from the archive ({error})."
        ) from None
    if len(document) > MAX_DOCUMENT_BYTES:
        raise JsonImportError("The JSON document is larger than this import takes.")
    return _Source(document, archive, images)


def _parse(document: bytes) -> _Row:
    try:
        data = json.loads(document)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise JsonImportError(f"The file is not valid JSON ({error}).") from None
    root = _Row(data, "The document")
    if data.get("format") != JSON_FORMAT:
        raise JsonImportError(
            f"This is not a kmblog JSON export (its format is not {JSON_FORMAT!r})."
        )
    if data.get("version") != JSON_VERSION:
        raise JsonImportError(
            f"This export is of version {data.get('version')!r}; this blog reads version "
            f"{JSON_VERSION} only."
        )
    return root


def _refuse_unless_empty() -> None:
    found = []
    for model in _CONTENT:
        number = db.session.scalar(select(func.count()).select_from(model)) or 0
        if number:
            found.append(f"{number} {model.__tablename__}")
    if found:
        raise BlogNotEmpty(
            "This blog is not empty (it has " + ", ".join(found) + "). A JSON export is "
            "imported only into an empty blog, so that nothing here is overwritten or "
            "mixed with it. Nothing was imported."
        )


class _Importer:
    def __init__(self, root: _Row, source: _Source, folder: Path) -> None:
        self.root = root
        self.source = source
        self.folder = folder
        self.report = JsonImportReport()
        self.users: dict[int, int] = {}
        self.posts: dict[int, Post] = {}
        self.labels: dict[str, Label] = {}
        self.files: dict[str, tuple[zipfile.ZipInfo, str]] = {}
        self.written: list[Path] = []

    def user(self, row: _Row, key: str) -> int | None:
        found = row.optional_integer(key)
        if found is None:
            return None
        if found not in self.users:
            raise row.fault(key, f"names author {found}, who is not in the file")
        return self.users[found]

    def post(self, row: _Row, key: str) -> Post:
        found = row.integer(key)
        if found not in self.posts:
            raise row.fault(key, f"names post {found}, which is not in the file")
        return self.posts[found]

    def run(self) -> JsonImportReport:
        counts = self.report.counts
        self.settings(_Row(self.root._get("settings"), "settings"))
        counts["authors"] = self.authors()
        counts["labels"] = self.add_labels()
        counts["images"] = self.media()
        db.session.flush()  # images first: a post's rendering reads their sizes
        counts["posts"] = self.add_posts()
        counts["revisions"] = self.revisions()
        counts["pages"] = self.pages()
        counts["comments"] = self.comments()
        counts["series"] = self.series()
        db.session.flush()
        _move_sequences()
        self.write_files()
        return self.report

    def settings(self, row: _Row) -> None:
        settings: Settings = get_settings()
        columns = Settings.__table__.c
        timezone = row.text("timezone", _length(columns.timezone))
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise row.fault("timezone", "is not a time zone this server knows") from None
        settings.title = clean_line(row.text("title", _length(columns.title)))
        settings.description = clean_line(row.text("description", _length(columns.description)))
        settings.about = clean_text(row.text("about")).strip()
        settings.timezone = timezone
        settings.posts_per_page = row.integer("posts_per_page", 1, 500)
        settings.items_per_feed = row.integer("items_per_feed", 1, 500)
        settings.comment_policy = row.choice("comment_policy", CommentPolicy)
        settings.moderate_after_days = row.optional_integer("moderate_after_days")
        settings.moderation_links = row.integer("moderation_links", 0, 1000)
        settings.moderation_words = clean_text(row.text("moderation_words")).strip()
        settings.blocked_words = clean_text(row.text("blocked_words")).strip()
        settings.hold_first_comment = row.flag("hold_first_comment")
        settings.thread_depth = row.integer("thread_depth", 1, 100)
        settings.edit_window_minutes = row.integer("edit_window_minutes", 0, 10**6)
        settings.atom_id = row.text("atom_id", _length(columns.atom_id))
        settings.blogger_blog_id = row.optional_text(
            "blogger_blog_id", _length(columns.blogger_blog_id)
        )

    def authors(self) -> int:
        columns = User.__table__.c
        number = 0
        for row in self.root.rows("authors"):
            exported = row.integer("id", 1)
            username = row.text("username", _length(columns.username))
            with db.session.no_autoflush:
                here = db.session.scalars(select(User).where(User.username == username)).first()
            if here is not None:
                # The admin who imports (or an author made before): theirs is kept.
                self.users[exported] = here.id
                self.report.mapped_authors.append(
                    f"The author {username} was already here; the file's posts by "
                    f"{username} are theirs, and their account is unchanged."
                )
                continue
            try:
                user = add_user(
                    username,
                    None,
                    row.choice("role", Role),
                    row.time("created_at"),
                    display_name=row.text("display_name", _length(columns.display_name)),
                    email=row.optional_text("email", _length(columns.email)),
                    bio=clean_text(row.text("bio")).strip(),
                    active=row.flag("active"),
                )
            except UserError as error:
                raise JsonImportError(f"{row.where}: {error}.") from None
            user.comment_mail = row.choice("comment_mail", CommentMail)
            user.fediverse_creator = row.optional_text(
                "fediverse_creator", _length(columns.fediverse_creator)
            )
            with db.session.no_autoflush:
                taken = db.session.get(User, exported) is not None
            if not taken:
                user.id = exported
            db.session.flush()
            self.users[exported] = user.id
            self.report.without_password.append(user.username)
            number += 1
        return number

    def add_labels(self) -> int:
        columns = Label.__table__.c
        for row in self.root.rows("labels"):
            label = Label(
                id=row.integer("id", 1),
                name=clean_line(row.text("name", _length(columns.name))),
                slug=row.text("slug", _length(columns.slug)),
            )
            if not label.name or label.name in self.labels:
                raise row.fault("name", "is empty or another label's")
            self.labels[label.name] = label
            db.session.add(label)
        return len(self.labels)

    def media(self) -> int:
        columns = Media.__table__.c
        number = 0
        for row in self.root.rows("media"):
            sha = row.text("sha256", 64)
            if not _SHA256.fullmatch(sha):
                raise row.fault("sha256", "is not a SHA-256 in hexadecimal")
            url = row.text("url", 200)
            extension = url.rpartition(".")[2]
            if url != f"/media/{sha}.{extension}" or extension not in CONTENT_TYPES:
                raise row.fault("url", "is not an image address of this blog")
            widths = row.id_list("widths")
            media = Media(
                id=row.integer("id", 1),
                sha256=sha,
                extension=extension,
                content_type=CONTENT_TYPES[extension],
                original_name=clean_line(row.text("original_name", _length(columns.original_name))),
                byte_size=row.integer("byte_size"),
                width=row.integer("width", 1, 100_000),
                height=row.integer("height", 1, 100_000),
                widths=",".join(str(width) for width in widths),
                alt=clean_line(row.text("alt")),
                uploader_id=self.user(row, "uploader_id"),
                created_at=row.time("created_at"),
            )
            if any(not 0 < width <= 100_000 for width in widths):
                raise row.fault("widths", "holds a width that no image has")
            if row.text("content_type", 32) != media.content_type:
                raise row.fault("content_type", "does not match the image's address")
            self.media_files(row, media)
            db.session.add(media)
            number += 1
        return number

    def media_files(self, row: _Row, media: Media) -> None:
        """The files the archive carries for an image: each one of those the blog keeps
        for it, of the size and SHA-256 the document lists."""
        expected = {stored.name for stored in stored_files(media)}
        for item in row.rows("files"):
            name = item.text("name", 100)
            if name not in expected:
                raise item.fault("name", f"is not a file kept for the image {media.sha256}")
            size = item.integer("bytes")
            digest = item.text("sha256", 64)
            if self.source.archive is None:
                continue  # a document alone: the files are put in the folder by hand
            info = self.source.members.get(name)
            if info is None:
                raise JsonImportError(f"The archive lacks the image file {name} it lists.")
            if info.file_size != size:
                raise JsonImportError(f"The image file {name} is not of the size listed.")
            if _digest(self.source.archive, info) != digest:
                raise JsonImportError(
                    f"The image file {name} is not the one listed: its SHA-256 differs "
                    "(the archive is damaged or was changed)."
                )
            self.files[name] = (info, digest)
        for missing in row.text_list("missing_files"):
            if missing not in expected:
                raise row.fault("missing_files", f"names {missing!r}, no file of this image")

    def add_posts(self) -> int:
        columns = Post.__table__.c
        companions: list[tuple[_Row, Post]] = []
        for row in self.root.rows("posts"):
            post_id = row.integer("id", 1)
            post = Post(
                id=post_id,
                title=clean_line(row.text("title", _length(columns.title))),
                slug=row.text("slug", _length(columns.slug)),
                status=row.choice("status", PostStatus),
                kind=row.choice("kind", PostKind),
                author_id=self.user(row, "author_id"),
                body_source=row.text("body_source"),
                source_format=row.choice("source_format", SourceFormat),
                summary=clean_text(row.text("summary")).strip(),
                change_note=row.text("change_note"),
                published_at=row.optional_time("published_at"),
                created_at=row.time("created_at"),
                updated_at=row.time("updated_at"),
                comments_open=row.flag("comments_open"),
                blogger_id=row.optional_text("blogger_id", _length(columns.blogger_id)),
                atom_id=row.optional_text("atom_id", _length(columns.atom_id)),
                revised_at=row.optional_time("revised_at"),
            )
            if post.author_id is None:
                raise row.fault("author_id", "is empty")
            path = row.optional_text("path", 300)
            if path is not None:
                found = _POST_PATH.fullmatch(path)
                if found is None or found[3] != post.slug or not 1 <= int(found[2]) <= 12:
                    raise row.fault("path", "is not /YYYY/MM/slug.html with the post's slug")
                post.year, post.month = int(found[1]), int(found[2])
            if post.status == PostStatus.PUBLISHED and (post.published_at is None or path is None):
                raise row.fault("status", "is published, without a publication time or path")
            post.body_html = render_post_body(post.body_source, post.source_format, post_id)
            names = row.text_list("labels")
            missing = [name for name in names if name not in self.labels]
            if missing:
                raise row.fault("labels", f"names {missing[0]!r}, not in the file's labels")
            post.labels = [self.labels[name] for name in names]
            if post_id in self.posts:
                raise row.fault("id", "is another post's")
            self.posts[post_id] = post
            db.session.add(post)
            companions.append((row, post))
        db.session.flush()
        for row, post in companions:
            if row._get("companion_id") is not None:
                post.companion_id = self.post(row, "companion_id").id
        return len(self.posts)

    def revisions(self) -> int:
        number = 0
        for row in self.root.rows("revisions"):
            post = self.post(row, "post_id")
            source = row.text("body_source")
            db.session.add(
                PostRevision(
                    id=row.integer("id", 1),
                    post_id=post.id,
                    number=row.integer("number", 1),
                    title=clean_line(row.text("title", _length(PostRevision.__table__.c.title))),
                    body_source=source,
                    body_html=render_post_body(source, post.source_format, post.id),
                    summary=clean_text(row.text("summary")).strip(),
                    note=row.text("note"),
                    typo=row.flag("typo"),
                    author_id=self.user(row, "author_id"),
                    created_at=row.time("created_at"),
                )
            )
            number += 1
        return number

    def pages(self) -> int:
        columns = Page.__table__.c
        number = 0
        for row in self.root.rows("pages"):
            source = row.text("body_source")
            source_format = row.choice("source_format", SourceFormat)
            author_id = self.user(row, "author_id")
            if author_id is None:
                raise row.fault("author_id", "is empty")
            status = row.choice("status", PostStatus)
            published_at = row.optional_time("published_at")
            if status == PostStatus.PUBLISHED and published_at is None:
                raise row.fault("status", "is published, without a publication time")
            db.session.add(
                Page(
                    id=row.integer("id", 1),
                    title=clean_line(row.text("title", _length(columns.title))),
                    slug=row.text("slug", _length(columns.slug)),
                    body_source=source,
                    source_format=source_format,
                    body_html=render_body(
                        source, source_format, image_variants(source), anchors=PAGE_ANCHORS
                    ),
                    position=row.integer("position"),
                    status=status,
                    published_at=published_at,
                    created_at=row.time("created_at"),
                    updated_at=row.time("updated_at"),
                    author_id=author_id,
                    blogger_id=row.optional_text("blogger_id", _length(columns.blogger_id)),
                    atom_id=row.optional_text("atom_id", _length(columns.atom_id)),
                )
            )
            number += 1
        return number

    def comments(self) -> int:
        columns = Comment.__table__.c
        thread_depth = get_settings().thread_depth
        comments: dict[int, Comment] = {}
        parents: dict[int, int] = {}
        where: dict[int, _Row] = {}
        for row in self.root.rows("comments"):
            comment_id = row.integer("id", 1)
            if comment_id in comments:
                raise row.fault("id", "is another comment's")
            source = row.text("body_source")
            blogger_id = row.optional_text("blogger_id", _length(columns.blogger_id))
            url = clean_line(row.text("author_url", _length(columns.author_url)))
            if url and not is_safe_url(url):
                self.report.warnings.append(
                    f"{row.where}: the commenter's link {url[:80]!r} is not a web address; "
                    "it was left out"
                )
                url = ""
            comment = Comment(
                id=comment_id,
                post_id=self.post(row, "post_id").id,
                author_name=clean_line(row.text("author_name", _length(columns.author_name))),
                author_url=url,
                user_id=self.user(row, "user_id"),
                status=row.choice("status", CommentStatus),
                body_source=source,
                body_html=_comment_html(source, blogger_id, row.text("body_html")),
                created_at=row.time("created_at"),
                edited_at=row.optional_time("edited_at"),
                blogger_id=blogger_id,
                atom_id=row.optional_text("atom_id", _length(columns.atom_id)),
                root_id=None,
                depth=0,
            )
            parent = row.optional_integer("parent_id", 1)
            if parent is not None:
                parents[comment_id] = parent
            comments[comment_id] = comment
            where[comment_id] = row
            db.session.add(comment)
        db.session.flush()
        placed: set[int] = set()
        for start in sorted(comments):
            # Up the thread to a comment already placed (or a top one), then down again:
            # a parent is placed before its replies, however deep the thread.
            chain: list[int] = []
            current: int | None = start
            while current is not None and current not in placed:
                if current in chain:
                    raise where[current].fault("parent_id", "makes a thread a circle")
                chain.append(current)
                current = parents.get(current)
                if current is not None and current not in comments:
                    raise where[chain[-1]].fault(
                        "parent_id", f"names comment {current}, which is not in the file"
                    )
            for comment_id in reversed(chain):
                self.place(comments, comment_id, parents.get(comment_id), where, thread_depth)
                placed.add(comment_id)
        return len(comments)

    @staticmethod
    def place(
        comments: dict[int, Comment],
        comment_id: int,
        parent_id: int | None,
        where: dict[int, _Row],
        thread_depth: int,
    ) -> None:
        """A reply in its parent's thread, as comments.services.place_reply puts one."""
        if parent_id is None:
            return
        comment, parent = comments[comment_id], comments[parent_id]
        if parent.post_id != comment.post_id:
            raise where[comment_id].fault("parent_id", "names a comment on another post")
        comment.parent_id = parent_id
        comment.root_id = parent.root_id if parent.root_id is not None else parent_id
        comment.depth = max(1, min(parent.depth + 1, thread_depth))
        parent.replied = True

    def series(self) -> int:
        columns = Series.__table__.c
        number = 0
        in_series: set[int] = set()
        for row in self.root.rows("series"):
            series_id = row.integer("id", 1)
            description = clean_text(row.text("description_source")).strip()
            db.session.add(
                Series(
                    id=series_id,
                    title=clean_line(row.text("title", _length(columns.title))),
                    slug=row.text("slug", _length(columns.slug)),
                    description_source=description,
                    description_html=render_description(description),
                    author_id=self.user(row, "author_id"),
                    created_at=row.time("created_at"),
                    updated_at=row.time("updated_at"),
                )
            )
            for position, post_id in enumerate(row.id_list("post_ids")):
                if post_id not in self.posts or post_id in in_series:
                    raise row.fault("post_ids", f"names post {post_id}, unknown or in a series")
                in_series.add(post_id)
                db.session.add(SeriesPost(post_id=post_id, series_id=series_id, position=position))
            number += 1
        return number

    def write_files(self) -> None:
        """The image files into the media folder, each under a temporary name renamed
        once whole; on a failure those written here are taken away again."""
        archive = self.source.archive
        if archive is None:
            return
        written = self.written
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for name, (info, digest) in sorted(self.files.items()):
                target = self.folder / name
                if target.exists() and _file_digest(target) == digest:
                    continue
                partial = target.with_name(name + ".part")
                with archive.open(info) as source, partial.open("wb") as out:
                    while chunk := source.read(_COPY_CHUNK):
                        out.write(chunk)
                partial.replace(target)
                written.append(target)
        except _ZIP_FAULTS as error:
            for path in written:
                path.unlink(missing_ok=True)
            raise JsonImportError(
                f"The image files could not be written to the media folder ({error})."
            ) from None
        self.report.media_files = len(self.files)


def _comment_html(source: str, blogger_id: str | None, exported: str) -> str:
    """A comment rendered as it was when it came: typed here (render_comment), or from
    another blog or the fediverse (render_imported_comment). The export does not say
    which; the one whose output is the exported HTML is it. Either way it is our
    rendering of the source that is stored, never the file's HTML."""
    typed: Callable[[str], str] = render_comment
    imported: Callable[[str], str] = lambda text: render_imported_comment(text)[0]  # noqa: E731
    ways = (imported, typed) if blogger_id else (typed, imported)
    rendered = [way(source) for way in ways]
    return next((html for html in rendered if html == exported), rendered[0])


def _digest(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    try:
        with archive.open(info) as member:
            while chunk := member.read(_COPY_CHUNK):
                digest.update(chunk)
    except _ZIP_FAULTS as error:
        raise JsonImportError(f"The image file {info.filename} cannot be read ({error}).") from None
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _move_sequences() -> None:
    """PostgreSQL hands out ids from sequences the explicit ids did not move: move each
    past the largest id imported, so the next post or comment gets a fresh one."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in _KEYED:
        table = model.__tablename__
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our table names
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )


def import_json(stream: IO[bytes], media_folder: Path, by: Actor = None) -> JsonImportReport:
    """Import a kmblog JSON export (the document, or the ZIP archive with the images'
    files) into this empty blog, as one transaction (the audit trail's record of it, as
    done `by`, too). JsonImportError (BlogNotEmpty for a blog with content), with nothing
    written, when it cannot be imported."""
    written: list[Path] = []
    try:
        source = _read_source(stream)
        importer = _Importer(_parse(source.document), source, media_folder)
        written = importer.written
        with unit_of_work():
            _refuse_unless_empty()
            report = importer.run()
            done = ", ".join(f"{number} {name}" for name, number in report.counts.items())
            record(
                "import.json",
                f"Imported a kmblog JSON export: {done}",
                actor=by,
                detail={"counts": report.counts, "media_files": report.media_files},
            )
            return report
    except SQLAlchemyError as error:
        _remove(written)
        raise JsonImportError(
            "The file contradicts itself or this blog (two rows share what must be "
            f"unique, or a value does not fit): {type(error).__name__}. Nothing was imported."
        ) from None
    except JsonImportError as error:
        _remove(written)
        if "Nothing was imported" in str(error):
            raise
        raise type(error)(f"{error} Nothing was imported.") from None


def _remove(written: list[Path]) -> None:
    """Image files this import wrote, when it did not go through."""
    for path in written:
        path.unlink(missing_ok=True)
