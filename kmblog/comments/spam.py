"""The blog's comment rules: what makes a comment spam, held for a moderator or published.

One set of rules for every way a comment arrives (typed in the form, edited by its
commenter, and later from the fediverse or a Webmention). The rules are the settings'
(WordPress's discussion settings): a policy, the age of the post, a number of links,
two word lists and "hold a first comment".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.mail.services import normalise_address
from kmblog.models import (
    Comment,
    CommentPolicy,
    CommentStatus,
    Post,
    Settings,
    Subscriber,
    Subscription,
    User,
)


@dataclass(frozen=True)
class CommentRules:
    """The blog's settings that decide a new comment's fate."""

    policy: CommentPolicy = CommentPolicy.OPEN
    moderate_after_days: int | None = None
    moderation_links: int = 2
    moderation_words: tuple[str, ...] = ()
    blocked_words: tuple[str, ...] = ()
    hold_first_comment: bool = False
    # Replies nest this many levels at most (Settings.thread_depth).
    thread_depth: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> CommentRules:
        return cls(
            policy=settings.comment_policy,
            moderate_after_days=settings.moderate_after_days,
            moderation_links=settings.moderation_links,
            moderation_words=word_list(settings.moderation_words),
            blocked_words=word_list(settings.blocked_words),
            hold_first_comment=settings.hold_first_comment,
            thread_depth=settings.thread_depth,
        )


@dataclass(frozen=True)
class Commenter:
    """Who a comment says it is from: what the form asked (name, web address and e-mail
    address, all optional) and the signed-in author, if any."""

    name: str = ""
    url: str = ""
    user: User | None = None
    email: str = ""


def word_list(text: str) -> tuple[str, ...]:
    """One word or phrase a line, compared without regard to case."""
    return tuple(line.strip().casefold() for line in text.splitlines() if line.strip())


# A link in a comment's rendered HTML: kmblog.rendering writes each link the commenter
# made, however they typed it (a bare address, <a href>), as exactly one <a> element,
# and writes everything else they typed as text, its "<" escaped.
_RENDERED_LINK = re.compile(r"<a\s", re.IGNORECASE)


def count_links(body_html: str) -> int:
    """How many links a comment holds, counted once each, from its rendered HTML."""
    return len(_RENDERED_LINK.findall(body_html))


def mentions(words: tuple[str, ...], *texts: str) -> bool:
    """Does any of `texts` hold one of `words` (without regard to case)?"""
    text = " ".join(texts).casefold()
    return any(word in text for word in words)


def is_known_commenter(commenter: Commenter) -> bool:
    """Has this commenter had a comment approved before, by something a returning reader
    really has: a signed-in author is known; a reader is known by a confirmed e-mail
    address that came with an earlier published comment of theirs, or by their name (in
    any case) AND web address together, with an earlier published comment under both.

    An anonymous reader who gives neither a confirmed address nor a name and web
    address can never be recognised, so with "hold a first comment" on their every
    comment is held (the settings page says so).
    """
    if commenter.user is not None:
        return True
    if commenter.email and _confirmed_with_a_published_comment(commenter.email):
        return True
    if not commenter.name or not commenter.url:
        return False
    # Compared in Python: SQLite's lower() folds ASCII letters only.
    names = db.session.scalars(
        select(Comment.author_name)
        .where(
            Comment.status == CommentStatus.PUBLISHED,
            Comment.author_url == commenter.url,
            func.length(Comment.author_name) == len(commenter.name),
        )
        .distinct()
        .limit(500)
    )
    wanted = commenter.name.casefold()
    return any(name.casefold() == wanted for name in names)


def _confirmed_with_a_published_comment(email: str) -> bool:
    """The address was confirmed (double opt-in) and came with a comment now published."""
    found = db.session.scalar(
        select(Subscription.id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(Comment, Comment.id == Subscription.comment_id)
        .where(
            Subscriber.email == normalise_address(email),
            Subscriber.confirmed_at.is_not(None),
            Comment.status == CommentStatus.PUBLISHED,
        )
        .limit(1)
    )
    return found is not None


def is_blocked(rules: CommentRules, body: str, commenter: Commenter) -> bool:
    """A word of the block list, in the text, the name or the web address: spam."""
    return mentions(rules.blocked_words, body, commenter.name, commenter.url)


def held_for_content(rules: CommentRules, body: str, body_html: str, commenter: Commenter) -> bool:
    """The rules on what a comment says: the moderated policy, more links than the
    limit (the limit itself is allowed), a word of the moderation list."""
    return (
        rules.policy == CommentPolicy.MODERATED
        or count_links(body_html) > rules.moderation_links
        or mentions(rules.moderation_words, body, commenter.name, commenter.url)
    )


def decide_status(
    post: Post,
    body: str,
    body_html: str,
    commenter: Commenter,
    rules: CommentRules,
    now: datetime,
    bot_suspected: bool = False,
) -> CommentStatus:
    """A new comment: spam, held for a moderator, or published at once."""
    if bot_suspected or is_blocked(rules, body, commenter):
        return CommentStatus.SPAM
    held = (
        held_for_content(rules, body, body_html, commenter)
        or (
            rules.moderate_after_days is not None
            and post.published_at is not None
            and post.published_at < now - timedelta(days=rules.moderate_after_days)
        )
        or (rules.hold_first_comment and not is_known_commenter(commenter))
    )
    return CommentStatus.PENDING if held else CommentStatus.PUBLISHED


def decide_edited_status(
    current: CommentStatus, body: str, body_html: str, commenter: Commenter, rules: CommentRules
) -> CommentStatus:
    """A comment its commenter has just edited: the rules on what it says apply again
    (a word of the block list makes it spam; one that now trips a rule goes to the
    moderation queue); who wrote it and when were judged when it was posted. A held
    comment stays held until a moderator approves it."""
    if is_blocked(rules, body, commenter):
        return CommentStatus.SPAM
    if held_for_content(rules, body, body_html, commenter):
        return CommentStatus.PENDING
    return current
