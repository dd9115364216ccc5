"""The data model: authors, posts, labels, comments and the blog's settings.

Models hold columns, invariants and small derived properties; queries live in services.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from typing import Annotated

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    query_expression,
    relationship,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored in UTC and always returned timezone-aware.

    SQLite keeps no zone, and feedgen refuses naive datetimes, so every value is
    converted to UTC on the way in and tagged UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware datetimes only")
        value = value.astimezone(UTC)
        # SQLite compares stored text: keep one form, without a zone suffix.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _str_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """A StrEnum stored as VARCHAR plus a CHECK constraint, the same on every database."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    AUTHOR = "author"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class SourceFormat(enum.StrEnum):
    """What an author edits: Markdown written here, or HTML as it came from Blogger
    (edited as HTML and sanitised as it was on import, never read as Markdown)."""

    MARKDOWN = "markdown"
    HTML = "html"


class PostKind(enum.StrEnum):
    ARTICLE = "article"
    PLAN = "plan"
    STRATEGY = "strategy"


class CommentStatus(enum.StrEnum):
    PUBLISHED = "published"
    PENDING = "pending"
    SPAM = "spam"
    DELETED = "deleted"


class CommentOrigin(enum.StrEnum):
    """How a comment reached the blog: one conversation, whatever the channel."""

    FORM = "form"  # typed into the comment form (or imported)
    WEBMENTION = "webmention"  # a reply on another site, sent as a Webmention
    FEDIVERSE = "fediverse"  # a reply from the fediverse (ActivityPub)


class CommentPolicy(enum.StrEnum):
    OPEN = "open"
    MODERATED = "moderated"
    CLOSED = "closed"


class CommentMail(enum.StrEnum):
    """How an author hears of comments on their posts (and comments held for them)."""

    EACH = "each"
    DIGEST = "digest"
    NEVER = "never"


# Ids are 32-bit integers on PostgreSQL; a bigger number from a URL cannot name a row.
MAX_ID = 2**31 - 1

intpk = Annotated[int, mapped_column(primary_key=True)]
timestamp = Annotated[datetime, mapped_column(UTCDateTime())]


class Base(DeclarativeBase):
    # Named constraints let Alembic alter them later, SQLite included (batch mode).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


post_labels = Table(
    "post_labels",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True),
    # The label pages and label counts start from the label.
    Index("ix_post_labels_label_id_post_id", "label_id", "post_id"),
)


class User(UserMixin, Base):
    """An author of the blog."""

    __tablename__ = "users"

    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    # None: the author cannot sign in (for example, imported from another blog).
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(_str_enum(Role, "role"), default=Role.AUTHOR)
    bio: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id kept in session and remember cookies: raising it (sign-out,
    # new password, disabling) makes every cookie issued before worthless.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    # Mail about comments on their posts: each (coalesced), a daily digest, or none.
    comment_mail: Mapped[CommentMail] = mapped_column(
        _str_enum(CommentMail, "comment_mail"), default=CommentMail.EACH
    )
    # Their fediverse account as "@name@host" (None: not given), credited on their posts'
    # pages in <meta name="fediverse:creator"> and shown nowhere else.
    fediverse_creator: Mapped[str | None] = mapped_column(String(320))
    # Two-factor sign-in with an authenticator app (kmblog/auth/twofactor.py): the TOTP
    # secret (base32), kept from the moment enrolment starts; enabled only once a code
    # from it was confirmed. The last time step accepted: no code is taken twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None]
    # Their own ActivityPub actor (@username@host), followed apart from the blog: off
    # until they turn it on in their account page.
    fediverse_actor: Mapped[bool] = mapped_column(default=False)

    posts: Mapped[list[Post]] = relationship(back_populates="author")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the cookies: the id and the session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Label(Base):
    """A label as the author typed it ("KM Strategy"); its URL uses the name itself."""

    __tablename__ = "labels"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)

    posts: Mapped[list[Post]] = relationship(secondary=post_labels, back_populates="labels")


class Post(Base):
    """A dated article. Its URL is /YYYY/MM/slug.html, year and month fixed when published."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("year", "month", "slug", name="uq_posts_year_month_slug"),
        # Newest-first listings and keyset paging walk this index.
        Index("ix_posts_status_published_at_id", "status", "published_at", "id"),
        # Archive pages (a month's, a year's posts, newest first) walk these (0008).
        Index(
            "ix_posts_year_month_status_published_at_id",
            "year",
            "month",
            "status",
            "published_at",
            "id",
        ),
        Index("ix_posts_year_status_published_at_id", "year", "status", "published_at", "id"),
    )

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(200))
    # Local (blog time zone) year and month of first publication: the URL's folders.
    year: Mapped[int | None]
    month: Mapped[int | None]
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    source_format: Mapped[SourceFormat] = mapped_column(
        _str_enum(SourceFormat, "source_format"), default=SourceFormat.MARKDOWN
    )
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PostStatus] = mapped_column(
        _str_enum(PostStatus, "post_status"), default=PostStatus.DRAFT
    )
    kind: Mapped[PostKind] = mapped_column(
        _str_enum(PostKind, "post_kind"), default=PostKind.ARTICLE
    )
    # A time in the future means scheduled: readers see the post from that moment.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[timestamp] = mapped_column(default=utcnow)
    comments_open: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # A strategy's plan; None on every other post. A plan serves any number of
    # strategies (its page lists them all) and names none itself, so pairing a strategy
    # never unpairs another one (0022 moved the old two-way pairs to this).
    companion_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )

    author: Mapped[User] = relationship(back_populates="posts")
    labels: Mapped[list[Label]] = relationship(
        secondary=post_labels, back_populates="posts", order_by=Label.name
    )
    # A short public "what changed" note, shown under a post edited after publication.
    change_note: Mapped[str] = mapped_column(Text, default="")
    # The post's id on Blogger when it was imported from there (issue 7): a second
    # import finds it, and Blogger's old per-post feed address still answers.
    blogger_id: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    # Its Atom id where it came from (a Blogger export), kept verbatim: feeds serve it,
    # so a subscriber who moves with the blog sees no old post as new (issue 17). None
    # for a post written here: its id is made from Settings.atom_id and its own id.
    atom_id: Mapped[str | None] = mapped_column(String(200))
    # When a public revision after the first was made (a typo fix too): the date of the
    # post's "Updated" line. None: not changed since it was first published.
    revised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Raised by every save from the editor: the editor's form carries the number it was
    # opened at, and a save from an older one is refused (kmblog/manage/services.py),
    # so that two authors or two windows never silently overwrite each other.
    version: Mapped[int] = mapped_column(default=1)

    # The plan a strategy follows (see companion_id).
    companion: Mapped[Post | None] = relationship(remote_side="Post.id")
    # Its place in a series ("Part 2 of 5"), if it is in one: at most one series.
    series_entry: Mapped[SeriesPost | None] = relationship(
        back_populates="post", cascade="all, delete-orphan", passive_deletes=True
    )
    # Likes and boosts from the fediverse (Reaction rows), loaded with the post where its
    # page shows them (kmblog.blog.services.find_post, no query of their own); else None.
    fediverse_likes: Mapped[int | None] = query_expression()
    fediverse_boosts: Mapped[int | None] = query_expression()

    @property
    def path_parts(self) -> tuple[int, int, str]:
        """(year, month, slug) of the public URL; only meaningful once published."""
        if self.year is None or self.month is None:
            raise ValueError(f"post {self.id} has no public URL yet")
        return self.year, self.month, self.slug

    def is_visible(self, now: datetime) -> bool:
        """True when readers may see this post at `now`."""
        return (
            self.status == PostStatus.PUBLISHED
            and self.published_at is not None
            and self.published_at <= now
        )


class Series(Base):
    """A named run of posts read in the authors' order ("Part 2 of 5"), with a page of
    its own at /series/slug.html. Only its published, visible posts count for readers."""

    __tablename__ = "series"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(300))
    # Fixed when the series is made: a renamed series keeps its address and its links.
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    # What its author wrote about it, in Markdown, and that rendered and sanitised.
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[timestamp] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
    entries: Mapped[list[SeriesPost]] = relationship(
        back_populates="series",
        order_by="[SeriesPost.position, SeriesPost.post_id]",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class SeriesPost(Base):
    """A post's place in its series: the post's id is the key, so a post is in one
    series at most. Positions order the series, lowest first; ties fall back to the id."""

    __tablename__ = "series_posts"
    __table_args__ = (
        # A series' posts in order: its page, its posts' "Part n of m", its feed.
        Index("ix_series_posts_series_id_position", "series_id", "position"),
    )

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)

    series: Mapped[Series] = relationship(back_populates="entries")
    post: Mapped[Post] = relationship(back_populates="series_entry")


class PostRedirect(Base):
    """An address a post had before its slug or date changed: it keeps answering (301)."""

    __tablename__ = "post_redirects"
    __table_args__ = (UniqueConstraint("year", "month", "slug", name="uq_post_redirects_path"),)

    id: Mapped[intpk]
    year: Mapped[int]
    month: Mapped[int]
    slug: Mapped[str] = mapped_column(String(200))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)


class PostRevision(Base):
    """A post as readers saw it from one published change on: its public history.

    Kept as stored (the sanitised HTML too), written in the same unit of work as the
    change; drafts' saves are never kept. A typo fix is kept but carries no note.
    """

    __tablename__ = "post_revisions"
    __table_args__ = (
        UniqueConstraint("post_id", "number", name="uq_post_revisions_post_id_number"),
    )

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1 is the first publication
    title: Mapped[str] = mapped_column(String(300))
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    # The author's public note for this change; always empty for a typo fix.
    note: Mapped[str] = mapped_column(Text, default="")
    typo: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # From when readers saw it (a scheduled post's first revision: its publish time).
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship()
    author: Mapped[User | None] = relationship()


class PostAutosave(Base):
    """What an author had typed in the editor and not saved, sent every few seconds by
    static/js/autosave.js: one per author and post (post_id None: a new post not saved
    yet). Kept apart from the post: readers, feeds and the history never see it, and
    saving the post from the editor removes it."""

    __tablename__ = "post_autosaves"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_post_autosaves_user_id_post_id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[str] = mapped_column(Text, default="")
    # The post's version the editor was opened at: restored and saved, text written
    # before someone else's save is refused like any stale save, never put over theirs.
    base_version: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[timestamp] = mapped_column(default=utcnow)


class Comment(Base):
    """A reader's comment under a post, anonymous or named."""

    __tablename__ = "comments"
    __table_args__ = (
        # A post's thread and the per-post counts.
        Index("ix_comments_post_id_status_created_at", "post_id", "status", "created_at"),
        # The blog-wide comments feed.
        Index("ix_comments_status_created_at", "status", "created_at"),
        # The few removed top-level comments that still head a thread (0011).
        Index(
            "ix_comments_post_id_replied_status_created_at",
            "post_id",
            "replied",
            "status",
            "created_at",
        ),
    )

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # Empty means "Anonymous".
    author_name: Mapped[str] = mapped_column(String(100), default="")
    author_url: Mapped[str] = mapped_column(String(2000), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    status: Mapped[CommentStatus] = mapped_column(
        _str_enum(CommentStatus, "comment_status"), default=CommentStatus.PUBLISHED
    )
    # The poster's address only as a salted hash: enough to spot floods, not to identify.
    ip_hash: Mapped[str] = mapped_column(String(64), default="")
    # Blogger's comment id when imported: its old anchor #c<id> stays on the page.
    blogger_id: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    # Its Atom id where it came from, verbatim (see Post.atom_id).
    atom_id: Mapped[str | None] = mapped_column(String(200))
    # Threads. The comment this one answers (None: it answers the post), the top-level
    # comment its thread starts from (None for a top-level comment; a page of threads
    # loads with one query: its top-level ids, and root_id among them), and its depth
    # (0 at the top).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True
    )
    root_id: Mapped[int | None] = mapped_column(index=True)
    depth: Mapped[int] = mapped_column(default=0)
    # When its commenter last changed its text (None: as first posted); shown as "edited".
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a reply answers it, never unset: a top-level comment removed after being
    # answered still heads its thread on the post page, as a placeholder for its replies.
    replied: Mapped[bool] = mapped_column(default=False)
    # Where it came from (kmblog/webmention): the form, or a reply on another site,
    # whose address origin_url keeps (shown as "via Webmention", linked).
    origin: Mapped[CommentOrigin] = mapped_column(
        _str_enum(CommentOrigin, "comment_origin"), default=CommentOrigin.FORM
    )
    origin_url: Mapped[str | None] = mapped_column(String(2000))

    post: Mapped[Post] = relationship()
    user: Mapped[User | None] = relationship()
    # The comment this one answers (feeds, the Blogger export and the moderation queue
    # name it); loaded on purpose where it is shown, never by a template.
    parent: Mapped[Comment | None] = relationship(remote_side="Comment.id")

    @property
    def display_name(self) -> str:
        return self.author_name or "Anonymous"


class Settings(Base):
    """The blog's settings: exactly one row, id 1, created by the first migration."""

    __tablename__ = "settings"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    about: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    posts_per_page: Mapped[int] = mapped_column(default=5)
    items_per_feed: Mapped[int] = mapped_column(default=25)
    comment_policy: Mapped[CommentPolicy] = mapped_column(
        _str_enum(CommentPolicy, "comment_policy"), default=CommentPolicy.OPEN
    )
    # Hold comments on posts older than this many days for moderation (Blogger's
    # option); None: never.
    moderate_after_days: Mapped[int | None]
    # Spam rules (WordPress's discussion settings): hold a comment with more links than
    # this, or with a word of the moderation list; a word of the block list makes it
    # spam. Lists hold one word or phrase a line.
    moderation_links: Mapped[int] = mapped_column(default=2)
    moderation_words: Mapped[str] = mapped_column(Text, default="")
    blocked_words: Mapped[str] = mapped_column(Text, default="")
    # Hold the first comment of a commenter (name and web address) never approved before.
    hold_first_comment: Mapped[bool] = mapped_column(default=False)
    # Replies nest this many levels at most; deeper ones attach to the deepest level.
    thread_depth: Mapped[int] = mapped_column(default=4)
    # For this many minutes after posting, and until someone replies, the browser that
    # posted a comment may edit or delete it; 0: never.
    edit_window_minutes: Mapped[int] = mapped_column(default=15)
    # Raised (with changed_at) in the same transaction as any write that changes what a
    # reader sees: page caches and ETags are keyed by it, so no stale page outlives it.
    content_version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stable prefix of every Atom id (RFC 4151 tag URI); never changes once set, but for
    # an empty blog that takes the one of the kmblog it is moved from (a Blogger export
    # of ours carries it), so that its subscribers' ids stay what they were.
    atom_id: Mapped[str] = mapped_column(String(200))
    # The Blogger blog this one was imported from; a Blogger export reuses it.
    blogger_blog_id: Mapped[str | None] = mapped_column(String(32))
    # Every author must use a second factor: one without is sent to enrol one.
    require_second_factor: Mapped[bool] = mapped_column(default=False)


class Page(Base):
    """A standalone page (Blogger's /p/slug.html): never in listings, feeds or archives."""

    __tablename__ = "pages"

    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    # Markdown written here, or HTML as it came (imported pages): see source_format;
    # body_html is its sanitised rendering.
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    source_format: Mapped[SourceFormat] = mapped_column(
        _str_enum(SourceFormat, "source_format"), default=SourceFormat.MARKDOWN
    )
    # Its place in the sidebar's Pages widget, lowest first (the authors' order).
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[PostStatus] = mapped_column(
        _str_enum(PostStatus, "page_status"), default=PostStatus.DRAFT
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[timestamp] = mapped_column(default=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    blogger_id: Mapped[str | None] = mapped_column(String(32), index=True, unique=True)
    # Its Atom id where it came from, verbatim (see Post.atom_id).
    atom_id: Mapped[str | None] = mapped_column(String(200))

    # Raised by every save from the page editor, as Post.version.
    version: Mapped[int] = mapped_column(default=1)

    author: Mapped[User] = relationship()

    def is_visible(self, now: datetime) -> bool:
        return (
            self.status == PostStatus.PUBLISHED
            and self.published_at is not None
            and self.published_at <= now
        )


class PageAutosave(Base):
    """An author's unsaved text of a page (page_id None: a new page), as PostAutosave."""

    __tablename__ = "page_autosaves"
    __table_args__ = (
        UniqueConstraint("user_id", "page_id", name="uq_page_autosaves_user_id_page_id"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    page_id: Mapped[int | None] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    base_version: Mapped[int] = mapped_column(default=0)
    saved_at: Mapped[timestamp] = mapped_column(default=utcnow)


class PageRedirect(Base):
    """An address a page had before its slug changed: it keeps answering (301)."""

    __tablename__ = "page_redirects"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)


class Media(Base):
    """An uploaded image (kmblog/media). Its files are named by the SHA-256 of the bytes
    uploaded, so the same image uploaded twice is one row and one set of files; the
    original is never kept, only re-encoded variants without its metadata."""

    __tablename__ = "media"

    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The classic format stored beside WebP: "jpg" or "png".
    extension: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    # Bytes uploaded, and the size of the largest variant (orientation applied).
    byte_size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    # The widths stored, ascending, as "480,960,1200".
    widths: Mapped[str] = mapped_column(String(100))
    alt: Mapped[str] = mapped_column(Text, default="")
    uploader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    uploader: Mapped[User | None] = relationship()

    @property
    def width_list(self) -> list[int]:
        return [int(width) for width in self.widths.split(",") if width]

    @property
    def name(self) -> str:
        """The file that Markdown names: the largest variant in the classic format."""
        return f"{self.sha256}.{self.extension}"

    @property
    def url(self) -> str:
        return f"/media/{self.name}"


# E-mail notifications (kmblog/mail). A commenter's address lives only here, never on
# the comment: pages, feeds and exports read comments and cannot show it.


class SubscriptionKind(enum.StrEnum):
    REPLIES = "replies"  # replies to the comment the subscription was made with
    POST = "post"  # every new comment on the post


class NotificationKind(enum.StrEnum):
    CONFIRM = "confirm"  # double opt-in: the one mail an unconfirmed address gets
    SUBSCRIBER = "subscriber"  # new comments for a commenter who subscribed
    AUTHOR = "author"  # new (or held) comments on an author's post
    DIGEST = "digest"  # an author's day of comments


class CommentEvent(enum.StrEnum):
    PUBLISHED = "published"  # posted and published at once
    APPROVED = "approved"  # a held comment a moderator published
    HELD = "held"  # posted and held for moderation


class Subscriber(Base):
    """An e-mail address given on the comment form; it receives nothing but the
    confirmation request until it is confirmed (double opt-in)."""

    __tablename__ = "subscribers"

    id: Mapped[intpk]
    # Stored as given but for the domain, lowercased: one row per mailbox.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class Subscription(Base):
    """A subscriber's wish, made with a comment: replies to it, or all new comments on
    its post. It counts only while that comment is published."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_post_id_kind", "post_id", "kind"),)

    id: Mapped[intpk]
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SubscriptionKind] = mapped_column(_str_enum(SubscriptionKind, "subscription_kind"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    subscriber: Mapped[Subscriber] = relationship()
    post: Mapped[Post] = relationship()


class MailEvent(Base):
    """A comment published, approved or held, written in the same transaction: the job
    that turns it into notifications may run late, or twice, but never loses it."""

    __tablename__ = "mail_events"

    id: Mapped[intpk]
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[CommentEvent] = mapped_column(_str_enum(CommentEvent, "comment_event"))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    # Set, in the transaction that writes its notifications, by the one job that did.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class Notification(Base):
    """One mail to send: its key names the recipient and the coalescing window, so two
    workers that fan out at once fill the same row; a worker claims it before sending
    and marks it sent after the mail server accepted it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_sent_at_due_at", "sent_at", "due_at"),)

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[NotificationKind] = mapped_column(_str_enum(NotificationKind, "notification_kind"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    # Not before: the end of its coalescing window, or the next try after a failure.
    due_at: Mapped[timestamp]
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The mail server refused it for good (5xx: no such mailbox...): never tried again.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class NotificationItem(Base):
    """A comment a notification tells of."""

    __tablename__ = "notification_items"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Webmention and Pingback (kmblog/webmention): what other sites said about a post, and
# what this blog told the sites its posts link to.


class MentionKind(enum.StrEnum):
    REPLY = "reply"  # becomes a comment in the post's thread
    LIKE = "like"  # counted on the post
    REPOST = "repost"  # counted on the post
    MENTION = "mention"  # listed under the post as "Links to this post"


class MentionProtocol(enum.StrEnum):
    WEBMENTION = "webmention"
    PINGBACK = "pingback"


class MentionState(enum.StrEnum):
    """Where a received mention stands in its verification (a job, never the request)."""

    RECEIVED = "received"  # stored, waiting for its job to fetch the source
    VERIFIED = "verified"  # the source links to the post: shown, as moderation decides
    REFUSED = "refused"  # the source does not link to the post, or could not be read
    GONE = "gone"  # the source answered 404 or 410: removed


class Webmention(Base):
    """A page on another site that links to one of our posts (a Webmention or a
    Pingback), as its last verification found it. One row per source and post: a
    mention sent again updates it."""

    __tablename__ = "webmentions"
    __table_args__ = (
        UniqueConstraint("post_id", "source", name="uq_webmentions_post_id_source"),
        # A post page's likes, reposts and links; the authors' list, newest first.
        Index("ix_webmentions_post_id_state_status", "post_id", "state", "status"),
        Index("ix_webmentions_state_updated_at", "state", "updated_at"),
    )

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(1000))
    target: Mapped[str] = mapped_column(String(1000))
    protocol: Mapped[MentionProtocol] = mapped_column(
        _str_enum(MentionProtocol, "mention_protocol"), default=MentionProtocol.WEBMENTION
    )
    kind: Mapped[MentionKind] = mapped_column(
        _str_enum(MentionKind, "mention_kind"), default=MentionKind.MENTION
    )
    state: Mapped[MentionState] = mapped_column(
        _str_enum(MentionState, "mention_state"), default=MentionState.RECEIVED
    )
    # Moderation, by the comment rules: published, held (pending), spam or deleted. A
    # reply's own fate is its comment's.
    status: Mapped[CommentStatus] = mapped_column(
        _str_enum(CommentStatus, "mention_status"), default=CommentStatus.PENDING
    )
    # From the source's microformats2 (h-entry, its author's h-card): plain text.
    title: Mapped[str] = mapped_column(String(300), default="")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    author_name: Mapped[str] = mapped_column(String(100), default="")
    author_url: Mapped[str] = mapped_column(String(2000), default="")
    author_photo: Mapped[str] = mapped_column(String(2000), default="")
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    updated_at: Mapped[timestamp] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it was refused, for the authors' list.
    last_error: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[Post] = relationship()
    comment: Mapped[Comment | None] = relationship()

    @property
    def display_name(self) -> str:
        return self.author_name or self.source


class OutgoingWebmention(Base):
    """A Webmention to send: one of our posts (its address, `source`) links, or linked,
    to `target`. Written with the change that calls for it (publish, edit, delete), so
    that a lost job is caught up by the sweep; sent when due, tried again later."""

    __tablename__ = "outgoing_webmentions"
    __table_args__ = (
        UniqueConstraint("source", "target", name="uq_outgoing_webmentions_source_target"),
        Index("ix_outgoing_webmentions_sent_at_due_at", "sent_at", "due_at"),
    )

    id: Mapped[intpk]
    # None once the post is deleted: the row still tells the target it is gone.
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(1000))
    target: Mapped[str] = mapped_column(String(1000))
    due_at: Mapped[timestamp]
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    # The endpoint found (empty: the target advertises none) and what it answered.
    endpoint: Mapped[str] = mapped_column(String(2000), default="")
    last_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")


# ActivityPub (kmblog/federation). The blog is one actor; remote actors are cached here
# as fetched (untrusted: every text from them is sanitised before a page shows it).


class FederationKey(Base):
    """A local actor's RSA keypair, made once on first use and kept: followers hold its
    public key, so it must outlive restarts and be the same on every app server."""

    __tablename__ = "federation_keys"

    id: Mapped[intpk]
    # Which local actor: "blog", or "user:<id>" for an author's own actor.
    owner: Mapped[str] = mapped_column(String(64), unique=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    public_key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class RemoteActor(Base):
    """A fediverse account that followed, replied or reacted, as its server described it."""

    __tablename__ = "remote_actors"

    id: Mapped[intpk]
    uri: Mapped[str] = mapped_column(String(2000), unique=True)
    inbox: Mapped[str] = mapped_column(String(2000))
    # Its server's shared inbox (None: it has none; deliver to `inbox`).
    shared_inbox: Mapped[str | None] = mapped_column(String(2000))
    key_id: Mapped[str] = mapped_column(String(2000), default="")
    public_key_pem: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str] = mapped_column(String(200), default="")
    # Its profile page for people (may differ from `uri`, the JSON document).
    url: Mapped[str] = mapped_column(String(2000), default="")
    fetched_at: Mapped[timestamp] = mapped_column(default=utcnow)


class Follower(Base):
    """A remote actor following the blog or an author's own actor (an Accept was sent
    to it)."""

    __tablename__ = "followers"
    __table_args__ = (
        UniqueConstraint("actor_id", "local_actor", name="uq_followers_actor_id_local_actor"),
    )

    id: Mapped[intpk]
    actor_id: Mapped[int] = mapped_column(ForeignKey("remote_actors.id", ondelete="CASCADE"))
    # Whom it follows: "blog", or "user:<id>" (an author's own actor).
    local_actor: Mapped[str] = mapped_column(String(64), default="blog")
    # The Follow activity's id: an Undo names it.
    follow_uri: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)

    actor: Mapped[RemoteActor] = relationship()


class FederationEventKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class FederationEvent(Base):
    """A post published, edited or deleted, written in the same transaction as the
    change: the job that turns it into deliveries may run late (a scheduled post: at its
    time) or twice, but never loses it."""

    __tablename__ = "federation_events"
    __table_args__ = (Index("ix_federation_events_processed_at_due_at", "processed_at", "due_at"),)

    id: Mapped[intpk]
    # No foreign key: a deleted post's Delete still goes out after the row is gone.
    post_id: Mapped[int]
    # The post's author when the event was written (no foreign key either): their own
    # actor, if they turned it on, sends the activity too.
    author_id: Mapped[int | None]
    kind: Mapped[FederationEventKind] = mapped_column(
        _str_enum(FederationEventKind, "federation_event_kind")
    )
    due_at: Mapped[timestamp]
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the last attempt


class Delivery(Base):
    """One signed activity to one inbox (a server's shared inbox: each server once)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_created_at", "status", "created_at"),)

    id: Mapped[intpk]
    inbox: Mapped[str] = mapped_column(String(2000))
    # The activity's JSON as it is sent (the same bytes on every try).
    body: Mapped[str] = mapped_column(Text)
    # The local actor whose key signs it: "blog", or "user:<id>".
    signer: Mapped[str] = mapped_column(String(64), default="blog")
    status: Mapped[DeliveryStatus] = mapped_column(
        _str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SeenActivity(Base):
    """An inbound activity (or signature) already taken: the same request again is a
    replay. Kept a little longer than the window a signature's Date is accepted in."""

    __tablename__ = "seen_activities"

    id: Mapped[intpk]
    key: Mapped[str] = mapped_column(String(200), unique=True)
    seen_at: Mapped[timestamp] = mapped_column(default=utcnow, index=True)


class FediverseComment(Base):
    """A comment that came from the fediverse: the Note it is, and who wrote it (its
    Update and Delete must come from the same actor)."""

    __tablename__ = "fediverse_comments"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    note_uri: Mapped[str] = mapped_column(String(2000), unique=True)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("remote_actors.id", ondelete="CASCADE"), index=True
    )

    actor: Mapped[RemoteActor] = relationship()


class BlockKind(enum.StrEnum):
    DOMAIN = "domain"
    ACTOR = "actor"


class FederationBlock(Base):
    """A server (by its domain, and its subdomains) or one actor (by its id) the blog
    will not hear from or send to: an admin's decision."""

    __tablename__ = "federation_blocks"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_federation_blocks_kind_value"),)

    id: Mapped[intpk]
    kind: Mapped[BlockKind] = mapped_column(_str_enum(BlockKind, "block_kind"))
    # A domain in lower case (host[:port]), or an actor's id as its server gives it.
    value: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class ReactionKind(enum.StrEnum):
    LIKE = "like"
    ANNOUNCE = "announce"


class Reaction(Base):
    """A Like or an Announce (boost) of a post from the fediverse, counted on the post."""

    __tablename__ = "reactions"
    __table_args__ = (Index("ix_reactions_post_id_kind", "post_id", "kind"),)

    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    kind: Mapped[ReactionKind] = mapped_column(_str_enum(ReactionKind, "reaction_kind"))
    # The Like's or Announce's id: an Undo names it, and a second copy is the same row.
    activity_uri: Mapped[str] = mapped_column(String(2000), unique=True)
    actor_uri: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """A single-use code that stands in for an author's authenticator app, kept only as
    a salted hash ("salt$sha256 hex"); used_at is set when it signs in."""

    __tablename__ = "recovery_codes"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Passkey(Base):
    """A WebAuthn credential an author registered (a passkey): signing in with it proves
    both what they have and, through the device's own check, who they are."""

    __tablename__ = "passkeys"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The authenticator's id for it (at most 1023 bytes, WebAuthn Level 3).
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    # The COSE public key as the authenticator gave it.
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    # The authenticator's counter (unsigned 32 bits): it must grow, or stay 0 for the
    # synced passkeys that keep none.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # How the browser may reach it ("internal", "usb", "hybrid"...), space-separated.
    transports: Mapped[str] = mapped_column(String(200), default="")
    # The random user id the authenticator keeps with a discoverable passkey, the same
    # for all of one author's passkeys (never the database id: it is no one's business).
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# The audit trail (kmblog/audit): who did what, and which rule decided what, for admins.


class AuditEvent(Base):
    """One thing done to the blog, by a person or by the blog itself (a comment rule, a
    scheduled job), written in the same transaction as the change it tells of.

    Who did it is kept as text too (`actor_name`), so the trail still names an author
    after their account is gone; `actor_id` is None for the blog itself, for the command
    line, and for a failed sign-in (whose name is only what was typed, never looked up).
    `detail` is a small JSON object (a rule and its reason, settings changed from what
    to what), never a password or a secret."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The page and `flask audit list`: newest first, whole or by action, person or
        # subject.
        Index("ix_audit_events_created_at_id", "created_at", "id"),
        Index("ix_audit_events_action_created_at", "action", "created_at"),
        Index("ix_audit_events_actor_name_created_at", "actor_name", "created_at"),
        Index("ix_audit_events_subject_type_subject_id", "subject_type", "subject_id"),
    )

    id: Mapped[intpk]
    created_at: Mapped[timestamp] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A username; "" for the blog itself (a rule, a job); "command line" for flask's.
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    # A short dotted name: comment.held, auth.sign_in_failed, settings.changed ...
    action: Mapped[str] = mapped_column(String(64))
    # What it was done to ("comment" 12, "user" 3, "settings"...); "" for nothing one.
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    # The client's address, for sign-ins ("" elsewhere).
    ip: Mapped[str] = mapped_column(String(45), default="")

    @property
    def details(self) -> dict[str, object]:
        """`detail` read back (an empty dict for anything that is not a JSON object)."""
        try:
            found = json.loads(self.detail or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}
