"""Write side of standalone pages (About, Contact): save, publish, order, delete.

Every function that changes data is one unit of work and commits once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from kmblog.extensions import db
from kmblog.media.services import image_variants
from kmblog.models import (
    MAX_ID,
    Page,
    PageAutosave,
    PageRedirect,
    PostStatus,
    SourceFormat,
    User,
)
from kmblog.rendering import PAGE_ANCHORS, clean_line, clean_text, render_body
from kmblog.slugs import make_slug
from kmblog.transaction import StaleVersion, claim_version, unit_of_work


class PageError(ValueError):
    """The page cannot be saved as asked; the message says why, for the author."""


class PageConflict(PageError):
    """The page was saved after the editor was opened: nothing of this save was kept."""


class PageAction(enum.StrEnum):
    SAVE = "save"  # keep the current state (a draft stays a draft, a published page stays)
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class PageDraft:
    """What an author wrote in the page editor."""

    title: str
    body: str
    slug: str = ""


def list_pages() -> list[Page]:
    """Every page, drafts too, in the sidebar's order, with their authors."""
    return list(
        db.session.scalars(
            select(Page).options(joinedload(Page.author)).order_by(Page.position, Page.id)
        )
    )


def find_page_by_id(page_id: int) -> Page | None:
    if not 0 < page_id <= MAX_ID:
        return None
    return db.session.scalars(
        select(Page).where(Page.id == page_id).options(joinedload(Page.author))
    ).one_or_none()


def create_page(author: User, draft: PageDraft, now: datetime, publish: bool) -> Page:
    """A new page, written in Markdown, last in the sidebar's order."""
    with unit_of_work():
        last = db.session.scalar(select(func.max(Page.position))) or 0
        page = Page(
            author=author,
            created_at=now,
            updated_at=now,
            source_format=SourceFormat.MARKDOWN,
            position=last + 1,
        )
        db.session.add(page)
        with db.session.no_autoflush:
            _apply(page, draft)
            if publish:
                _publish(page, now)
            _clear_autosave(author, None)
    return page


def save_page(
    page: Page,
    draft: PageDraft,
    action: PageAction,
    now: datetime,
    by: User | None = None,
    expected_version: int | None = None,
) -> Page:
    """Apply the editor's changes, then publish or unpublish as asked; the autosave of
    `by` (the page's author when not given) goes. A page saved since `expected_version`
    (None: the one loaded) is not overwritten: PageConflict, and nothing is kept."""
    editor = by or page.author
    try:
        with unit_of_work(), db.session.no_autoflush:
            claim_version(
                Page, page, page.version if expected_version is None else expected_version
            )
            _apply(page, draft)
            if action == PageAction.PUBLISH:
                _publish(page, now)
            elif action == PageAction.UNPUBLISH:
                page.status = PostStatus.DRAFT
            page.updated_at = now
            _clear_autosave(editor, page)
    except StaleVersion:
        raise PageConflict(
            "This page was saved after you opened the editor (by another author, or in "
            "another window), so your save was not kept."
        ) from None
    return page


# --- Autosaves: what an author typed and has not saved yet (as for posts) ---------------


def _autosave_filter(
    author: User, page: Page | None
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    key = PageAutosave.page_id.is_(None) if page is None else PageAutosave.page_id == page.id
    return (PageAutosave.user_id == author.id, key)


def find_page_autosave(author: User, page: Page | None) -> PageAutosave | None:
    """The author's unsaved text of `page` (None: of a new page), if any."""
    return db.session.scalars(
        select(PageAutosave)
        .where(*_autosave_filter(author, page))
        .order_by(PageAutosave.saved_at.desc())
        .limit(1)
    ).first()


def store_page_autosave(
    author: User, page: Page | None, title: str, body: str, base_version: int, now: datetime
) -> PageAutosave | None:
    """Keep the author's unsaved text of `page`, replacing the one kept before; text the
    page already holds (or, for a new page, nothing) removes it and gives None."""
    try:
        return _store_autosave(author, page, title, body, base_version, now)
    except IntegrityError:
        pass  # the same author's other window inserted the row first: update that one
    try:
        return _store_autosave(author, page, title, body, base_version, now)
    except IntegrityError as error:  # the page was deleted meanwhile
        raise PageError("The page is gone, so its unsaved text could not be kept.") from error


def _store_autosave(
    author: User, page: Page | None, title: str, body: str, base_version: int, now: datetime
) -> PageAutosave | None:
    with unit_of_work():
        unchanged = (
            not (title.strip() or body.strip())
            if page is None
            else (clean_line(title) == page.title and clean_text(body) == page.body_source)
        )
        if unchanged:
            _clear_autosave(author, page)
            return None
        kept = sorted(
            db.session.scalars(select(PageAutosave).where(*_autosave_filter(author, page))),
            key=lambda row: row.saved_at,
            reverse=True,
        )
        for extra in kept[1:]:
            db.session.delete(extra)
        row = kept[0] if kept else None
        if row is None:
            row = PageAutosave(user_id=author.id, page_id=None if page is None else page.id)
            db.session.add(row)
        row.title, row.body = title[:300], body
        row.base_version, row.saved_at = base_version, now
    return row


def discard_page_autosave(author: User, page: Page | None) -> None:
    """Throw away the author's unsaved text of `page` (None: of a new page)."""
    with unit_of_work():
        _clear_autosave(author, page)


def _clear_autosave(author: User, page: Page | None) -> None:
    db.session.execute(
        delete(PageAutosave)
        .where(*_autosave_filter(author, page))
        .execution_options(synchronize_session=False)
    )


def _apply(page: Page, draft: PageDraft) -> None:
    title = clean_line(draft.title)
    if not title:
        raise PageError("A page needs a title.")
    page.title = title[:300]
    page.body_source = clean_text(draft.body)
    # By the page's own format: an imported page stays HTML, sanitised as on import.
    page.body_html = render_body(
        draft.body, page.source_format, image_variants(draft.body), anchors=PAGE_ANCHORS
    )
    if page.slug and draft.slug in ("", page.slug):
        # Kept as it is (an imported address the editor would not make is not re-made).
        return
    wanted = _unique_slug(make_slug(draft.slug or title, fallback="page"), page.id)
    if page.slug and wanted != page.slug and page.published_at is not None:
        _keep_old_address(page, wanted)
    page.slug = wanted


def _keep_old_address(page: Page, new_slug: str) -> None:
    """A page that has been public keeps answering at its old address (301)."""
    stale = db.session.scalars(
        select(PageRedirect).where(PageRedirect.slug == new_slug)
    ).one_or_none()
    if stale is not None:  # the page moves back to an address it had before
        db.session.delete(stale)
    db.session.add(PageRedirect(slug=page.slug, page_id=page.id))


def _unique_slug(wanted: str, exclude_id: int | None) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`...: other pages' addresses, old ones too, are
    taken."""
    taken = set(
        db.session.scalars(
            select(Page.slug).where(
                Page.slug.startswith(wanted, autoescape=True), Page.id != (exclude_id or 0)
            )
        )
    )
    taken.update(
        db.session.scalars(
            select(PageRedirect.slug).where(
                PageRedirect.slug.startswith(wanted, autoescape=True),
                PageRedirect.page_id != (exclude_id or 0),
            )
        )
    )
    slug, n = wanted, 1
    while slug in taken:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


def _publish(page: Page, now: datetime) -> None:
    """Published now; a page published before keeps its first publication time."""
    page.status = PostStatus.PUBLISHED
    if page.published_at is None or page.published_at > now:
        page.published_at = now.replace(microsecond=0)


def move_page(page: Page, direction: Direction) -> bool:
    """Swap a page with its neighbour in the sidebar's order; False at either end.

    The positions are numbered 1, 2, 3... again on the way, so ties (pages imported
    before there was an order) and gaps (deleted pages) never stop a move."""
    with unit_of_work():
        pages = list(db.session.scalars(select(Page).order_by(Page.position, Page.id)))
        at = pages.index(page)
        other = at - 1 if direction == Direction.UP else at + 1
        if not 0 <= other < len(pages):
            return False
        pages[at], pages[other] = pages[other], pages[at]
        for number, each in enumerate(pages, start=1):
            if each.position != number:
                each.position = number
    return True


def delete_page(page: Page) -> None:
    """Delete a page with its old addresses (the database cascades to them)."""
    with unit_of_work():
        db.session.delete(page)
