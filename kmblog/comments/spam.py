"""The blog's comment rules: what makes a comment spam, held for a moderator or published.

One set of rules for every way a comment arrives (typed in the form, edited by its
commenter, and later from the fediverse or a Webmention). The rules are the settings'
(WordPress's discussion settings): a policy, the age of the post, a number of links,
two word lists and "hold a first comment".
"""

from __future__ import annotations

import enum
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


def first_mention(words: tuple[str, ...], commenter: Commenter, body: str) -> str:
    """Where the first of `words` found is, for a moderator: "'casino' in its text"
    (its name, its web address); a phrase that only `mentions` finds, across two of
    them, is named without a place."""
    for place, text in (("text", body), ("name", commenter.name), ("web address", commenter.url)):
        folded = text.casefold()
        for word in words:
            if word in folded:
                return f"“{word}” in its {place}"
    joined = " ".join((body, commenter.name, commenter.url)).casefold()
    return next((f"“{word}”" for word in words if word in joined), "")


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


class Rule(enum.StrEnum):
    """Which of the rules decided a comment's fate (shown in the audit trail)."""

    FORM_TIMER = "form-timer"
    BLOCKED_WORD = "blocked-word"
    MODERATED = "moderated-policy"
    LINKS = "links"
    MODERATION_WORD = "moderation-word"
    OLD_POST = "old-post"
    FIRST_COMMENT = "first-comment"


@dataclass(frozen=True)
class Decision:
    """A comment's fate and, when a rule held it or made it spam, which rule and why
    ("3 links, the limit is 2"), for the moderators and the audit trail."""

    status: CommentStatus
    rule: Rule | None = None
    reason: str = ""


PUBLISH = Decision(CommentStatus.PUBLISHED)


def is_blocked(rules: CommentRules, body: str, commenter: Commenter) -> bool:
    """A word of the block list, in the text, the name or the web address: spam."""
    return mentions(rules.blocked_words, body, commenter.name, commenter.url)


def _blocked(rules: CommentRules, body: str, commenter: Commenter) -> Decision | None:
    if not is_blocked(rules, body, commenter):
        return None
    where = first_mention(rules.blocked_words, commenter, body)
    return Decision(CommentStatus.SPAM, Rule.BLOCKED_WORD, f"a blocked word, {where}")


def held_for_content(rules: CommentRules, body: str, body_html: str, commenter: Commenter) -> bool:
    """The rules on what a comment says: the moderated policy, more links than the
    limit (the limit itself is allowed), a word of the moderation list."""
    return _held_for_content(rules, body, body_html, commenter) is not None


def _held_for_content(
    rules: CommentRules, body: str, body_html: str, commenter: Commenter
) -> Decision | None:
    if rules.policy == CommentPolicy.MODERATED:
        return Decision(
            CommentStatus.PENDING, Rule.MODERATED, "every comment waits for a moderator"
        )
    links = count_links(body_html)
    if links > rules.moderation_links:
        return Decision(
            CommentStatus.PENDING,
            Rule.LINKS,
            f"{links} links, the limit is {rules.moderation_links}",
        )
    if mentions(rules.moderation_words, body, commenter.name, commenter.url):
        where = first_mention(rules.moderation_words, commenter, body)
        return Decision(CommentStatus.PENDING, Rule.MODERATION_WORD, f"a moderation word, {where}")
    return None


def judge(
    post: Post,
    body: str,
    body_html: str,
    commenter: Commenter,
    rules: CommentRules,
    now: datetime,
    bot_suspected: bool = False,
) -> Decision:
    """A new comment: spam, held for a moderator, or published at once; with the rule
    that decided, and why, when it is not published."""
    if bot_suspected:
        return Decision(
            CommentStatus.SPAM,
            Rule.FORM_TIMER,
            "sent sooner than a person could write it, or with the hidden field filled",
        )
    decided = _blocked(rules, body, commenter) or _held_for_content(
        rules, body, body_html, commenter
    )
    if decided is not None:
        return decided
    days = rules.moderate_after_days
    if (
        days is not None
        and post.published_at is not None
        and post.published_at < now - timedelta(days=days)
    ):
        plural = "" if days == 1 else "s"
        return Decision(
            CommentStatus.PENDING, Rule.OLD_POST, f"the post is older than {days} day{plural}"
        )
    if rules.hold_first_comment and not is_known_commenter(commenter):
        return Decision(
            CommentStatus.PENDING, Rule.FIRST_COMMENT, "the first comment of this commenter"
        )
    return PUBLISH


def judge_edit(
    current: CommentStatus, body: str, body_html: str, commenter: Commenter, rules: CommentRules
) -> Decision:
    """A comment its commenter has just edited: the rules on what it says apply again
    (a word of the block list makes it spam; one that now trips a rule goes to the
    moderation queue); who wrote it and when were judged when it was posted. A held
    comment stays held until a moderator approves it. The decision names a rule only
    when the edit changed the comment's status."""
    decided = _blocked(rules, body, commenter) or _held_for_content(
        rules, body, body_html, commenter
    )
    if decided is None or decided.status == current:
        return Decision(current)
    return decided
