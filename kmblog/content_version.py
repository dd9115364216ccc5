"""The content version: raised by every write a reader could see.

Settings.content_version (with changed_at) names the state of everything a reader sees;
the page cache keys pages and makes ETags from it (kmblog.pagecache). It is a data rule,
so it lives with the data: a flush that adds, changes or removes a post, a page, a
label, a series or a post's place in one, an author, the settings, or a comment readers
see (or saw) raises the version in the same transaction, so no service can forget it.
On SQLite, the commit then raises the database's change signal (kmblog.change_signal),
which tells the other processes' page caches to read the version again.

The listeners attach to the app's own session class, not to every SQLAlchemy Session in
the process (a bench script's or another library's sessions are not ours to watch).
"""

from __future__ import annotations

from typing import Any, cast

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Table, event, inspect, update
from sqlalchemy.orm import Session

from kmblog.change_signal import change_signal
from kmblog.models import (
    Comment,
    CommentStatus,
    Label,
    MentionState,
    Page,
    PageRedirect,
    Post,
    PostRedirect,
    Series,
    SeriesPost,
    Settings,
    User,
    Webmention,
    utcnow,
)


class BlogSession(FlaskSession):
    """The session class of `db.session`: Flask-SQLAlchemy's, watched for changes."""


def _changes_pages(session: Session) -> bool:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Comment):
            if obj in session.new:
                if obj.status == CommentStatus.PUBLISHED:
                    return True
            elif (
                obj in session.deleted
                or inspect(obj).attrs.status.history.has_changes()
                # A published comment changed in place (its commenter's edit, a
                # re-render): readers see its new text. A held one's is seen by none.
                or (obj.status == CommentStatus.PUBLISHED and session.is_modified(obj))
            ):
                return True
        elif isinstance(
            obj, Post | Page | PageRedirect | Label | PostRedirect | User | Series | SeriesPost
        ):
            if obj in session.new or obj in session.deleted or session.is_modified(obj):
                return True
        elif (isinstance(obj, Settings) and session.is_modified(obj)) or (
            isinstance(obj, Webmention) and _changes_mentions(session, obj)
        ):
            return True
    return False


def _changes_mentions(session: Session, mention: Webmention) -> bool:
    """A mention readers see (verified) changed, or one they saw stopped being shown;
    one just received, or still waiting, shows nowhere."""
    if mention in session.new:
        return False
    if mention in session.deleted:
        return True
    state = inspect(mention).attrs.state.history
    was_verified = MentionState.VERIFIED in (state.deleted or ())
    return session.is_modified(mention) and (mention.state == MentionState.VERIFIED or was_verified)


@event.listens_for(BlogSession, "before_flush")
def _mark_change(session: Session, flush_context: Any, instances: Any) -> None:
    if _changes_pages(session):
        session.info["content_changed"] = True


@event.listens_for(BlogSession, "after_flush")
def _raise_content_version(session: Session, flush_context: Any) -> None:
    if session.info.pop("content_changed", False):
        table = cast(Table, Settings.__table__)
        # Core, not ORM: inside a flush, and the same transaction as the change itself.
        connection = session.connection()
        connection.execute(
            update(table).values(content_version=table.c.content_version + 1, changed_at=utcnow())
        )
        session.info["signal_on_commit"] = change_signal(connection.engine)


@event.listens_for(BlogSession, "after_commit")
def _signal_change(session: Session) -> None:
    # After the commit, never before: a process that sees the signal move must find
    # the new version when it reads.
    signal = session.info.pop("signal_on_commit", None)
    if signal is not None:
        signal.raise_()


@event.listens_for(BlogSession, "after_rollback")
def _forget_change(session: Session) -> None:
    session.info.pop("signal_on_commit", None)
