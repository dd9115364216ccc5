"""Replies from the fediverse: a Note answering a post (or a comment that came from the
fediverse) becomes a comment in its thread, judged by the same spam and moderation rules
as the comment form's and sanitised by the same allowlist (kmblog.rendering); its Update
edits it and its Delete removes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from kmblog.audit.services import record_rule_decision
from kmblog.blog.services import find_post
from kmblog.comments.services import comment_at, comments_open, place_reply
from kmblog.comments.spam import Commenter, CommentRules, judge, judge_edit
from kmblog.extensions import db
from kmblog.federation import services
from kmblog.mail.services import event_for, fan_out_later, record_event
from kmblog.models import (
    MAX_ID,
    Comment,
    CommentStatus,
    FediverseComment,
    Post,
    RemoteActor,
)
from kmblog.rendering import clean_line, clean_text, is_safe_url, render_imported_comment
from kmblog.settings import get_settings

AfterCommit = list[Callable[[], None]]
MAX_NOTE_CHARS = 20_000


class ReplyRefusal(Exception):
    """The reply cannot be taken: `status` (4xx) and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def post_named(address: str, now: datetime) -> Post | None:
    """The visible post an address names: its ActivityPub id or its page's address."""
    parts = urlsplit(address)
    if parts.netloc.lower() != services.host().lower():
        return None
    try:
        endpoint, values = current_app.url_map.bind(parts.netloc).match(parts.path, method="GET")
    except HTTPException:
        return None
    if endpoint == "federation.article":
        post_id = int(values["post_id"])
        return services.find_visible_post(post_id, now) if post_id <= MAX_ID else None
    if endpoint == "blog.post":
        return find_post(values["year"], values["month"], values["slug"], now)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id_of(value: Any) -> str:
    return _text(value.get("id")) if isinstance(value, dict) else _text(value)


def _content(note: dict[str, Any]) -> tuple[str, str]:
    """The Note's HTML as received (cleaned of control characters) and sanitised."""
    source = clean_text(_text(note.get("content")))[:MAX_NOTE_CHARS].strip()
    if not source:
        raise ReplyRefusal(400, "the note is empty")
    html, _dropped = render_imported_comment(source)
    return source, html


def _commenter(actor: RemoteActor) -> Commenter:
    name = clean_line(actor.name or actor.username or "")[:100]
    profile = actor.url or actor.uri
    return Commenter(name, profile if is_safe_url(profile) else "")


def create_reply(note: Any, actor: RemoteActor, now: datetime, after: AfterCommit) -> None:
    """A Create of a Note: a comment on the post it answers (a Create of anything
    else, or of a Note answering nothing here, is refused)."""
    if not isinstance(note, dict) or note.get("type") != "Note":
        return
    note_id = _id_of(note)
    if not note_id or len(note_id) > 2000:
        raise ReplyRefusal(400, "the note has no id")
    if _id_of(note.get("attributedTo")) != actor.uri:
        raise ReplyRefusal(401, "the note is not its sender's")
    if db.session.scalar(select(FediverseComment).where(FediverseComment.note_uri == note_id)):
        return  # already here
    answered = _id_of(note.get("inReplyTo"))
    parent: Comment | None = None
    post = post_named(answered, now) if answered else None
    if post is not None:
        # An answer to a comment here, by its address on the post's page.
        parent = comment_at(post, answered)
    elif answered:
        known = db.session.scalar(
            select(FediverseComment).where(FediverseComment.note_uri == answered)
        )
        if known is not None:
            parent = db.session.get(Comment, known.comment_id)
            post = parent.post if parent is not None else None
    if post is None or not post.is_visible(now):
        raise ReplyRefusal(404, "the note answers no post here")
    settings = get_settings()
    rules = CommentRules.from_settings(settings)
    if not comments_open(post, rules.policy):
        raise ReplyRefusal(403, "comments are closed on this post")
    if parent is not None and parent.status != CommentStatus.PUBLISHED:
        parent = None  # an answer to a held or removed comment answers the post
    source, html = _content(note)
    commenter = _commenter(actor)
    decision = judge(post, source, html, commenter, rules, now)
    comment = Comment(
        post=post,
        author_name=commenter.name,
        author_url=commenter.url,
        body_source=source,
        body_html=html,
        created_at=now,
        status=decision.status,
    )
    place_reply(comment, parent, rules.thread_depth)
    db.session.add(comment)
    db.session.flush()
    db.session.add(FediverseComment(comment_id=comment.id, note_uri=note_id, actor_id=actor.id))
    record_rule_decision(comment, decision)
    event = event_for(comment.status)
    if event is not None:
        recorded = record_event(comment, event, now)
        db.session.flush()
        event_id = recorded.id
        after.append(lambda: fan_out_later([event_id]))


def _own_comment(note_id: str, actor: RemoteActor) -> Comment | None:
    found = db.session.scalar(select(FediverseComment).where(FediverseComment.note_uri == note_id))
    if found is None:
        return None
    if found.actor_id != actor.id:
        raise ReplyRefusal(403, "only its writer may change a note")
    return db.session.get(Comment, found.comment_id)


def update_reply(note: dict[str, Any], actor: RemoteActor, now: datetime) -> None:
    """An Update of a Note that is a comment here: its new text, judged again."""
    comment = _own_comment(_id_of(note), actor)
    if comment is None or comment.status == CommentStatus.DELETED:
        return
    source, html = _content(note)
    rules = CommentRules.from_settings(get_settings())
    comment.body_source, comment.body_html = source, html
    commenter = Commenter(comment.author_name, comment.author_url)
    decision = judge_edit(comment.status, source, html, commenter, rules)
    record_rule_decision(comment, decision, edited=True)
    comment.status = decision.status
    comment.edited_at = now


def delete_reply(note_id: str, actor: RemoteActor) -> None:
    """A Delete of a Note that is a comment here: removed (as a moderator would: a
    placeholder stays where replies hang from it)."""
    comment = _own_comment(note_id, actor)
    if comment is not None:
        comment.status = CommentStatus.DELETED
