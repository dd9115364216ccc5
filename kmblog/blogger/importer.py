"""Import a Blogger export: streamed, in one transaction, idempotent by Blogger id.

The file is read entry by entry (iterparse; each entry is cleared once used), so a
blog of any size needs little memory. Every item keeps its Blogger id: an item
already imported is skipped, so importing the same file again changes nothing. Posts
keep their Blogger address /YYYY/MM/slug.html, pages /p/slug.html, and their Atom id
verbatim (feeds serve it: subscribers see no old post as new). Imported HTML goes
through rendering.py like everything else; the report says what it dropped.

A blog holds one Blogger blog: the export of another is refused, unless the caller asks
to merge it, which adds its items (with their own ids) and keeps this blog's settings
and feed ids.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from sqlalchemy import func, select

from kmblog.audit.services import Actor, record
from kmblog.auth.services import UserError, add_user
from kmblog.blogger import (
    APP,
    ATOM,
    KIND_PREFIX,
    KIND_SCHEME,
    KNOWN_PREFIXES,
    LABEL_SCHEME,
    OWN_ATOM_ID,
    THR,
)
from kmblog.comments.services import place_reply
from kmblog.extensions import db
from kmblog.models import (
    Comment,
    CommentPolicy,
    CommentStatus,
    Label,
    Page,
    Post,
    PostKind,
    PostStatus,
    Role,
    Settings,
    SourceFormat,
    User,
)
from kmblog.rendering import (
    clean_line,
    clean_text,
    is_safe_url,
    render_imported_comment,
    render_imported_post,
)
from kmblog.settings import get_settings
from kmblog.slugs import make_slug
from kmblog.timefmt import blog_zone
from kmblog.transaction import unit_of_work

BLOG_ID = re.compile(r"^tag:blogger\.com,1999:blog-(\d+)")
# Blogger names posts and comments `.post-N`, pages `.page-N`; a kmblog export names a
# comment written here `.comment-N`, its id in our feeds.
ITEM_ID = re.compile(r"\.(post|page|comment)-(\d+)$")
# Longer ids are not kept (Blogger's are about 60 characters): the item gets one of ours.
MAX_ATOM_ID = 200
POST_PATH = re.compile(r"/(\d{4})/(\d{2})/([^/?#]+)\.html$")
PAGE_PATH = re.compile(r"/p/([^/?#]+)\.html$")
# A threaded reply's link to the comment it answers: .../comments/default/<comment id>.
PARENT_COMMENT = re.compile(r"/comments/default/(\d+)$")
ANONYMOUS = "Anonymous"
# Blogger puts this address on every author who hides theirs: it names no one.
NO_REPLY = "noreply@blogger.com"
FLUSH_EVERY = 500
MAX_PER_PAGE = 100
# The Blogger settings this blog has a place for; the others are counted as skipped.
USED_SETTINGS = frozenset(
    {
        "BLOG_NAME",
        "BLOG_DESCRIPTION",
        "BLOG_TIME_ZONE",
        "BLOG_COMMENTS_ALLOWED",
        "BLOG_COMMENT_MODERATION",
        "BLOG_COMMENT_MODERATION_DELAY",
        "BLOG_MAX_NUM",
        "BLOG_MAX_UNIT",
        OWN_ATOM_ID,
    }
)


class BloggerImportError(Exception):
    """The file cannot be imported; the message says why, in the user's terms."""


class AnotherBloggerBlog(BloggerImportError):
    """The file is another Blogger blog's than this blog's, and no merge was asked for."""


@dataclass
class ImportReport:
    """What an import did, for the command line and the admin's page."""

    blog_title: str = ""
    settings: list[str] = field(default_factory=list)
    # Set when another Blogger blog was merged into this one: (its id, this blog's id).
    merged: tuple[str, str] | None = None
    # The file's settings this blog kept its own values for (a merge applies none).
    settings_kept: list[str] = field(default_factory=list)
    posts: int = 0
    drafts: int = 0
    pages: int = 0
    page_drafts: int = 0
    labels: int = 0
    comments: int = 0
    authors_created: list[str] = field(default_factory=list)
    authors_matched: list[str] = field(default_factory=list)
    # "comment: its post is not in the file" -> how many.
    skipped: Counter[str] = field(default_factory=Counter)
    # What sanitising removed: "<embed>" -> how many.
    dropped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as lines of plain text."""
        out = [f"Imported from Blogger: {self.blog_title or '(untitled blog)'}"]
        if self.merged is not None:
            other, ours = self.merged
            out += [
                f"Merged: Blogger blog {other} was added to this blog (from Blogger blog "
                f"{ours}); its posts, pages and comments keep their own Blogger ids.",
                "  kept: this blog's settings and feed ids (its subscribers' feeds do not change)",
                "  settings not applied: " + (", ".join(self.settings_kept) or "none"),
            ]
        out += [
            f"  posts published: {self.posts}",
            f"  post drafts: {self.drafts}",
            f"  pages published: {self.pages}",
            f"  page drafts: {self.page_drafts}",
            f"  new labels: {self.labels}",
            f"  comments: {self.comments}",
            "  settings applied: " + (", ".join(self.settings) or "none"),
            "  authors created (disabled, no password): "
            + (", ".join(self.authors_created) or "none"),
            "  authors matched: " + (", ".join(self.authors_matched) or "none"),
        ]
        if self.skipped:
            out.append(f"Skipped ({sum(self.skipped.values())}):")
            out += [f"  {reason}: {n}" for reason, n in sorted(self.skipped.items())]
        if self.dropped:
            out.append("Dropped by sanitising (not allowed on this blog):")
            out += [f"  {what}: {n}" for what, n in sorted(self.dropped.items())]
        out += [f"Warning: {warning}" for warning in self.warnings]
        return out


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


FEED = _q(ATOM, "feed")
ENTRY = _q(ATOM, "entry")
ID = _q(ATOM, "id")


class _RepairingReader:
    """A file-like reader that declares the usual Blogger prefixes on the root element
    when the file uses them undeclared (some real exports do, e.g. `app:`), and counts
    the bytes read for the progress bar."""

    HEAD_LIMIT = 1024 * 1024

    def __init__(self, stream: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self.stream = stream
        self.progress = progress
        self.buffer = b""
        self.head_done = False
        self.declared: dict[str, str] = {}  # prefix -> namespace we declared

    def read(self, size: int = -1) -> bytes:
        if not self.head_done:
            self._read_head()
        if self.buffer:
            data, self.buffer = self.buffer, b""
            return data
        data = self.stream.read(size if size and size > 0 else 64 * 1024)
        if self.progress is not None and data:
            self.progress(len(data))
        return data

    def _read_head(self) -> None:
        self.head_done = True
        head = b""
        root = None
        while len(head) < self.HEAD_LIMIT:
            data = self.stream.read(64 * 1024)
            if self.progress is not None and data:
                self.progress(len(data))
            head += data
            root = re.search(rb"<feed\b[^>]*?(/?)>", head)
            if root or not data:
                break
        if root is not None:
            tag = root.group(0)
            missing = {
                prefix: uri
                for prefix, uri in KNOWN_PREFIXES.items()
                if b"xmlns:" + prefix.encode() + b"=" not in tag
            }
            if missing:
                extra = b"".join(
                    b' xmlns:%s="%s"' % (prefix.encode(), uri.encode())
                    for prefix, uri in missing.items()
                )
                end = root.end() - len(root.group(1)) - 1
                head = head[:end] + extra + head[end:]
                self.declared = missing
        self.buffer = head


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _child_text(element: Element | None, name: str) -> str:
    return _text(element.find(_q(ATOM, name))) if element is not None else ""


def _time(element: Element | None) -> datetime | None:
    raw = _text(element)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class _Entry:
    """The parts of an Atom entry the importer uses, read from the element."""

    kind: str
    atom_id: str
    title: str
    content: str
    published: datetime | None
    updated: datetime | None
    draft: bool
    labels: list[str]
    alternate: str
    author_name: str
    author_email: str
    author_uri: str
    in_reply_to: str
    # A threaded reply: the Blogger id of the comment it answers ("" for none).
    parent_comment: str = ""

    @classmethod
    def read(cls, element: Element) -> _Entry:
        kind = ""
        labels: list[str] = []
        for category in element.iter(_q(ATOM, "category")):
            scheme, term = category.get("scheme", ""), category.get("term", "")
            if scheme == KIND_SCHEME and term.startswith(KIND_PREFIX):
                kind = term[len(KIND_PREFIX) :]
            elif scheme == LABEL_SCHEME and clean_line(term):
                labels.append(clean_line(term))
        alternate = parent_comment = ""
        for link in element.findall(_q(ATOM, "link")):
            if link.get("rel") == "alternate":
                alternate = link.get("href", "").strip()
            elif link.get("rel") == "related":
                found = PARENT_COMMENT.search(link.get("href", "").strip())
                parent_comment = found[1] if found else ""
        author = element.find(_q(ATOM, "author"))
        reply = element.find(_q(THR, "in-reply-to"))
        draft = element.find(f"{_q(APP, 'control')}/{_q(APP, 'draft')}")
        return cls(
            kind=kind,
            atom_id=_text(element.find(ID)),
            title=clean_line(element.findtext(_q(ATOM, "title")) or ""),
            content=element.findtext(_q(ATOM, "content")) or "",
            published=_time(element.find(_q(ATOM, "published"))),
            updated=_time(element.find(_q(ATOM, "updated"))),
            draft=_text(draft).lower() == "yes",
            labels=labels,
            alternate=alternate,
            author_name=clean_line(_child_text(author, "name")),
            author_email=_child_text(author, "email"),
            author_uri=_child_text(author, "uri"),
            in_reply_to=(reply.get("ref", "") if reply is not None else "").strip(),
            parent_comment=parent_comment,
        )


class _Importer:
    """One import's state: what the database already holds, keyed for lookups without
    a query per item, and the report."""

    def __init__(self, now: datetime, merge: bool) -> None:
        self.now = now
        self.merge = merge
        self.report = ImportReport()
        self.settings: Settings = get_settings()
        self.zone = blog_zone(self.settings.timezone)
        self.blog_id = ""
        # True once the file is known to be another Blogger blog, merged on request.
        self.merging = False
        # A blog with nothing in it yet may take the Atom id prefix of the kmblog the
        # file came from: no id it has served can move.
        self.was_empty = (
            db.session.scalar(
                select(Post.id).union_all(select(Comment.id), select(Page.id)).limit(1)
            )
            is None
        )
        # Set when a kmblog's file could not lend this blog its ids (see apply_settings).
        self.kept_own_ids = False
        self.posts: dict[str, Post | int] = {
            blogger_id: post_id
            for blogger_id, post_id in db.session.execute(
                select(Post.blogger_id, Post.id).where(Post.blogger_id.isnot(None))
            )
            if blogger_id is not None
        }
        self.page_ids: set[str] = set(
            db.session.scalars(select(Page.blogger_id).where(Page.blogger_id.isnot(None)))
        )
        self.comment_ids: set[str] = set(
            db.session.scalars(select(Comment.blogger_id).where(Comment.blogger_id.isnot(None)))
        )
        self.paths: set[tuple[int | None, int | None, str]] = {
            (year, month, slug)
            for year, month, slug in db.session.execute(select(Post.year, Post.month, Post.slug))
        }
        self.page_slugs: set[str] = set(db.session.scalars(select(Page.slug)))
        # Imported pages go after the pages already here in the sidebar's order.
        self.last_page_position: int = db.session.scalar(select(func.max(Page.position))) or 0
        self.labels: dict[str, Label] = {
            label.name.casefold(): label for label in db.session.scalars(select(Label))
        }
        self.label_slugs: set[str] = {label.slug for label in self.labels.values()}
        self.users = list(db.session.scalars(select(User)))
        self.usernames = {user.username for user in self.users}
        self.authors: dict[tuple[str, str], User] = {}
        self.deferred: list[_Entry] = []
        # Replies, and the Blogger id of the comment each answers: placed in their
        # threads once every comment is read (Blogger lists the newest first).
        self.replies: list[tuple[Comment, str]] = []
        self.pending = 0
        self.blogger_settings: dict[str, str] = {}

    # --- authors and labels ------------------------------------------------------

    def author(self, entry: _Entry) -> User:
        name = entry.author_name or ANONYMOUS
        email = entry.author_email if entry.author_email.lower() != NO_REPLY else ""
        key = (name, email.lower())
        if key in self.authors:
            return self.authors[key]
        found = None
        if email:
            found = next((u for u in self.users if (u.email or "").lower() == email.lower()), None)
        if found is None:
            found = next((u for u in self.users if u.display_name == name), None)
        if found is not None:
            if found.display_name not in self.report.authors_created:
                self.report.authors_matched.append(found.display_name)
        else:
            username = make_slug(name, fallback="blogger-author")
            base, n = username, 1
            while username in self.usernames:
                n += 1
                username = f"{base}-{n}"
            # Disabled and without a password: an admin lets them sign in.
            try:
                found = add_user(
                    username, None, Role.AUTHOR, self.now, name, email or None, active=False
                )
            except UserError as error:
                raise BloggerImportError(
                    f"The author {name!r} could not be added: {error}. Nothing was imported."
                ) from error
            self.users.append(found)
            self.usernames.add(username)
            self.report.authors_created.append(name)
        self.authors[key] = found
        return found

    def label(self, name: str) -> Label:
        name = name[:200]
        found = self.labels.get(name.casefold())
        if found is None:
            base = make_slug(name)
            slug, n = base, 1
            while slug in self.label_slugs:
                n += 1
                slug = f"{base}-{n}"
            found = Label(name=name, slug=slug)
            db.session.add(found)
            self.labels[name.casefold()] = found
            self.label_slugs.add(slug)
            self.report.labels += 1
        return found

    # --- entries ----------------------------------------------------------------

    def entry(self, element: Element) -> None:
        entry = _Entry.read(element)
        if entry.kind == "settings":
            self.setting(entry)
        elif entry.kind == "post":
            self.post(entry)
        elif entry.kind == "page":
            self.page(entry)
        elif entry.kind == "comment":
            if not self.comment(entry, last_try=False):
                self.deferred.append(entry)
        elif entry.kind in {"template", "layout"}:
            self.report.skipped["template: a Blogger layout is not used here"] += 1
        else:
            self.report.skipped[f"entry of kind '{entry.kind or 'none'}': not known"] += 1
        self.pending += 1
        if self.pending >= FLUSH_EVERY:
            db.session.flush()
            self.pending = 0

    def setting(self, entry: _Entry) -> None:
        name = entry.atom_id.rpartition(".settings.")[2]
        if name not in USED_SETTINGS:
            self.report.skipped["setting: not used here"] += 1
            return
        value = clean_line(entry.content)
        self.blogger_settings[name] = "" if value == "None" else value

    def blog(self, blog_id: str) -> None:
        """The file's Blogger blog: this blog's own, a first one, or another (refused
        unless merging)."""
        ours = self.settings.blogger_blog_id
        self.blog_id = blog_id
        if not ours or ours == blog_id:
            return
        if not self.merge:
            raise AnotherBloggerBlog(
                f"This is the export of another Blogger blog (id {blog_id}) than the one "
                f"this blog was imported from (id {ours}). Nothing was imported: importing "
                "it would replace this blog's settings and feed ids. To add its posts, "
                "pages and comments while keeping this blog's settings and ids, import it "
                "again with the merge option (--merge on the command line, the Merge box "
                "on the Import and export page)."
            )
        self.merging = True
        self.report.merged = (blog_id, ours)

    def apply_settings(self) -> None:
        """The blog's settings from Blogger's, once all are read (their order varies);
        when merging, none: the report names those kept."""
        values = self.blogger_settings
        settings = self.settings

        def apply(label: str, attribute: str, new: Any) -> None:
            if self.merging:
                self.report.settings_kept.append(label)
                return
            if getattr(settings, attribute) != new:
                setattr(settings, attribute, new)
            self.report.settings.append(label)

        if values.get("BLOG_NAME"):
            apply("title", "title", values["BLOG_NAME"][:200])
            self.report.blog_title = values["BLOG_NAME"]
        if "BLOG_DESCRIPTION" in values:
            apply("description", "description", values["BLOG_DESCRIPTION"][:500])
        zone = values.get("BLOG_TIME_ZONE", "")
        if zone:
            try:
                ZoneInfo(zone)
                apply("time zone", "timezone", zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.report.warnings.append(f"time zone {zone!r} is not known; kept ours")
        moderation = values.get("BLOG_COMMENT_MODERATION", "")
        if values.get("BLOG_COMMENTS_ALLOWED") == "false":
            apply("comments closed", "comment_policy", CommentPolicy.CLOSED)
        elif moderation:
            policy = CommentPolicy.MODERATED
            if moderation in {"DISABLED", "OLDER"}:
                policy = CommentPolicy.OPEN
            apply(f"comment moderation ({moderation})", "comment_policy", policy)
        if moderation:
            delay = values.get("BLOG_COMMENT_MODERATION_DELAY", "")
            days = int(delay) if moderation == "OLDER" and delay.isdigit() else None
            apply("moderation of comments on old posts", "moderate_after_days", days)
        own = values.get(OWN_ATOM_ID, "")
        if own and own != settings.atom_id:
            if self.merging or (self.was_empty and len(own) <= MAX_ATOM_ID):
                apply("the Atom ids of the kmblog it came from", "atom_id", own)
            else:
                self.kept_own_ids = True
                self.report.warnings.append(
                    "the file comes from another kmblog; this blog already has posts or "
                    "comments, so it keeps its own Atom ids (its feed ids do not change)"
                )
        per_page = values.get("BLOG_MAX_NUM", "")
        by_posts = values.get("BLOG_MAX_UNIT", "POSTS") == "POSTS"
        if by_posts and per_page.isdigit() and 1 <= int(per_page) <= MAX_PER_PAGE:
            apply("posts per page", "posts_per_page", int(per_page))

    def post(self, entry: _Entry) -> None:
        blogger_id = self._item_id(entry, "post")
        if blogger_id is None:
            return
        if blogger_id in self.posts:
            self.report.skipped["post: already imported"] += 1
            return
        published = entry.published or entry.updated
        if published is None:
            self.report.skipped["post: no publication time"] += 1
            return
        body_html, dropped = render_imported_post(entry.content)
        self.report.dropped.update(dropped)
        post = Post(
            title=entry.title[:300],
            body_source=clean_text(entry.content),
            body_html=body_html,
            source_format=SourceFormat.HTML,
            kind=PostKind.ARTICLE,
            created_at=published,
            updated_at=entry.updated or published,
            author=self.author(entry),
            blogger_id=blogger_id,
            atom_id=self._atom_id(entry),
            labels=[self.label(name) for name in dict.fromkeys(entry.labels)],
        )
        if entry.draft:
            post.status = PostStatus.DRAFT
            post.slug = make_slug(entry.title)
            self.report.drafts += 1
        else:
            path = POST_PATH.search(entry.alternate)
            if path:
                year, month, slug = int(path[1]), int(path[2]), path[3][:200]
            else:
                local = published.astimezone(self.zone)
                year, month, slug = local.year, local.month, make_slug(entry.title)
                self.report.warnings.append(
                    f"post {entry.title!r} had no Blogger address; it is at "
                    f"/{year}/{month:02d}/{slug}.html"
                )
            if (year, month, slug) in self.paths:
                self.report.skipped["post: another post already has its address"] += 1
                return
            self.paths.add((year, month, slug))
            post.year, post.month, post.slug = year, month, slug
            post.status = PostStatus.PUBLISHED
            post.published_at = published
            self.report.posts += 1
        db.session.add(post)
        self.posts[blogger_id] = post

    def page(self, entry: _Entry) -> None:
        blogger_id = self._item_id(entry, "page")
        if blogger_id is None:
            return
        if blogger_id in self.page_ids:
            self.report.skipped["page: already imported"] += 1
            return
        published = entry.published or entry.updated
        if published is None:
            self.report.skipped["page: no publication time"] += 1
            return
        path = PAGE_PATH.search(entry.alternate)
        slug = path[1][:200] if path else make_slug(entry.title)
        if slug in self.page_slugs:
            if not entry.draft and path:
                self.report.skipped["page: another page already has its address"] += 1
                return
            base, n = slug, 1
            while slug in self.page_slugs:
                n += 1
                slug = f"{base}-{n}"
        body_html, dropped = render_imported_post(entry.content)
        self.report.dropped.update(dropped)
        page = Page(
            title=entry.title[:300],
            slug=slug,
            body_source=clean_text(entry.content),
            body_html=body_html,
            source_format=SourceFormat.HTML,
            position=self.last_page_position + 1,
            created_at=published,
            updated_at=entry.updated or published,
            author=self.author(entry),
            blogger_id=blogger_id,
            atom_id=self._atom_id(entry),
        )
        if entry.draft:
            page.status = PostStatus.DRAFT
            self.report.page_drafts += 1
        else:
            page.status = PostStatus.PUBLISHED
            page.published_at = published
            self.report.pages += 1
        db.session.add(page)
        self.last_page_position += 1
        self.page_ids.add(blogger_id)
        self.page_slugs.add(slug)

    def comment(self, entry: _Entry, last_try: bool) -> bool:
        """Adds the comment; False when its post has not been seen yet (try later)."""
        blogger_id = self._item_id(entry, "post", "comment")
        if blogger_id is None:
            return True
        if blogger_id in self.comment_ids:
            self.report.skipped["comment: already imported"] += 1
            return True
        target = ITEM_ID.search(entry.in_reply_to)
        if target is None:
            self.report.skipped["comment: it names no post"] += 1
            return True
        if target[1] == "page":
            self.report.skipped["comment: on a page (pages have no comments here)"] += 1
            return True
        post = self.posts.get(target[2])
        if post is None:
            if last_try:
                self.report.skipped["comment: its post is not in the file"] += 1
            return last_try
        created = entry.published or entry.updated
        if created is None:
            self.report.skipped["comment: no time"] += 1
            return True
        body_html, dropped = render_imported_comment(entry.content)
        self.report.dropped.update(dropped)
        name = entry.author_name if entry.author_name != ANONYMOUS else ""
        comment = Comment(
            author_name=name[:100],
            author_url=entry.author_uri[:2000] if is_safe_url(entry.author_uri) else "",
            body_source=clean_text(entry.content),
            body_html=body_html,
            created_at=created,
            status=CommentStatus.PUBLISHED,
            blogger_id=blogger_id,
            atom_id=self._atom_id(entry),
        )
        if isinstance(post, Post):
            comment.post = post
        else:
            comment.post_id = post
        db.session.add(comment)
        self.comment_ids.add(blogger_id)
        self.report.comments += 1
        if entry.parent_comment:
            self.replies.append((comment, entry.parent_comment))
        return True

    def place_replies(self) -> None:
        """Each reply under the comment it answers, found by Blogger id in the file or
        in an earlier import; a reply whose comment is missing stays on its post."""
        if not self.replies:
            return
        db.session.flush()  # the comments' own ids, for their replies' root_id
        wanted = {parent for _, parent in self.replies}
        parents = {
            comment.blogger_id: comment
            for comment in db.session.scalars(select(Comment).where(Comment.blogger_id.in_(wanted)))
        }
        answers = {reply.blogger_id: parent for reply, parent in self.replies}
        placed: set[str | None] = set()

        def place(reply: Comment, trail: frozenset[str | None]) -> None:
            if reply.blogger_id in placed:
                return
            placed.add(reply.blogger_id)
            parent = parents.get(answers.get(reply.blogger_id, ""))
            if parent is None or parent.post_id != reply.post_id or parent.blogger_id in trail:
                self.report.skipped[
                    "reply: the comment it answers is not on its post in the file; "
                    "kept as a comment on the post"
                ] += 1
                return
            if parent.blogger_id in answers:
                place(parent, trail | {reply.blogger_id})
            place_reply(reply, parent, self.settings.thread_depth)

        for reply, _ in self.replies:
            place(reply, frozenset())

    def _item_id(self, entry: _Entry, *prefixes: str) -> str | None:
        found = ITEM_ID.search(entry.atom_id)
        if found is None or found[1] not in prefixes:
            self.report.skipped[f"{entry.kind}: no Blogger id"] += 1
            return None
        return found[2]

    def _atom_id(self, entry: _Entry) -> str | None:
        """The entry's Atom id, kept as it is: readers compare ids character by
        character (RFC 4287, 4.2.6), so it is neither rebuilt nor normalised."""
        if len(entry.atom_id) > MAX_ATOM_ID:
            self.report.warnings.append(
                f"{entry.kind} {entry.title!r}: its Atom id is too long to keep; it gets "
                "one of this blog's"
            )
            return None
        return entry.atom_id

    def finish(self) -> None:
        for entry in self.deferred:
            self.comment(entry, last_try=True)
        self.place_replies()
        self.apply_settings()
        if self.merging or self.kept_own_ids:
            return
        if self.settings.blogger_blog_id != self.blog_id:
            self.settings.blogger_blog_id = self.blog_id


def _events(reader: _RepairingReader) -> Iterator[tuple[str, Element]]:
    try:
        yield from iterparse(reader, events=("start", "end"), forbid_dtd=True)
    except ParseError as error:
        line, column = error.position
        raise BloggerImportError(
            f"The file is not well-formed XML (line {line}, column {column}): {error}. "
            "Nothing was imported."
        ) from error
    except DefusedXmlException as error:
        raise BloggerImportError(
            f"The file holds XML that is refused for safety ({error}). Nothing was imported."
        ) from error


def import_blogger(
    stream: IO[bytes],
    now: datetime,
    progress: Callable[[int], None] | None = None,
    merge: bool = False,
    by: Actor = None,
) -> ImportReport:
    """Import a Blogger export from a binary stream, as one transaction.

    `progress` is called with the number of bytes read so far at each step. Raises
    BloggerImportError, with nothing written, for a file that is not a Blogger export,
    or that is another Blogger blog's than the one this blog came from, unless `merge`
    asks to add it (keeping this blog's settings and ids). The audit trail records it,
    as done `by`, in the same transaction.
    """
    reader = _RepairingReader(stream, progress)
    importer = _Importer(now, merge)
    declared_ns: dict[str, str] = {}
    seen_ns: set[str] = set()
    depth = 0
    root: Element | None = None
    with unit_of_work():
        for event, element in _events(reader):
            if event == "start":
                depth += 1
                if depth == 1:
                    if element.tag != FEED:
                        raise BloggerImportError(
                            "This is not a Blogger export: it is not an Atom feed (its root "
                            f"element is <{element.tag.rpartition('}')[2]}>). "
                            "Nothing was imported."
                        )
                    root = element
                    declared_ns = {uri: p for p, uri in reader.declared.items()}
                elif declared_ns and element.tag.startswith("{"):
                    namespace = element.tag[1:].partition("}")[0]
                    if namespace in declared_ns:
                        seen_ns.add(namespace)
                continue
            depth -= 1
            if depth == 1 and element.tag == ID:
                found = BLOG_ID.match(_text(element))
                if found is None:
                    raise BloggerImportError(
                        "This is not a Blogger export: the feed's id is not a Blogger "
                        "blog's (tag:blogger.com,1999:blog-…). Nothing was imported."
                    )
                importer.blog(found[1])
            elif depth == 1 and element.tag == ENTRY:
                if not importer.blog_id:
                    raise BloggerImportError(
                        "This is not a Blogger export: the feed has no Blogger blog id "
                        "before its entries. Nothing was imported."
                    )
                importer.entry(element)
                element.clear()
                if root is not None:
                    root.remove(element)
        if root is None or not importer.blog_id:
            raise BloggerImportError(
                "This is not a Blogger export: no Blogger feed was found. Nothing was imported."
            )
        importer.finish()
        for namespace in sorted(seen_ns):
            importer.report.warnings.append(
                f"the file uses the prefix '{declared_ns[namespace]}:' without declaring it "
                f"(not well-formed XML); it was read as {namespace}"
            )
        report = importer.report
        record(
            "import.blogger",
            f"Imported from Blogger: {report.posts} posts, {report.comments} comments"
            + (" (merged)" if report.merged else ""),
            actor=by,
            detail={
                "blog_title": report.blog_title,
                "posts": report.posts,
                "drafts": report.drafts,
                "pages": report.pages,
                "comments": report.comments,
                "merged": report.merged is not None,
            },
            now=now,
        )
    return importer.report
