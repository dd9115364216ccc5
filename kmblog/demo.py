"""Loading the demo blog through the same services authors and readers use."""

from __future__ import annotations

from datetime import datetime

from kmblog import demo_content
from kmblog.auth.services import create_user
from kmblog.comments.services import CommentRules, NewComment, add_comment
from kmblog.extensions import db
from kmblog.manage.services import (
    PostAction,
    PostDraft,
    create_post,
    pair_companions,
    save_post,
)
from kmblog.models import PostKind, Role
from kmblog.series.services import SeriesChoice, SeriesDraft, create_series, place_post
from kmblog.settings import get_settings
from kmblog.timefmt import blog_zone

DEMO_TIMEZONE = "America/New_York"


def load_demo(now: datetime) -> int:
    """Create the demo authors, articles, labels and comments; returns the post count."""
    settings = get_settings()
    settings.title = demo_content.BLOG_TITLE
    settings.description = demo_content.BLOG_DESCRIPTION
    settings.about = demo_content.ABOUT
    settings.timezone = DEMO_TIMEZONE
    db.session.commit()
    zone = blog_zone(DEMO_TIMEZONE)

    def local(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=zone)

    authors = {
        spec["username"]: create_user(
            spec["username"],
            None,
            Role(spec["role"]),
            now,
            display_name=spec["display_name"],
            bio=spec["bio"],
        )
        for spec in demo_content.AUTHORS
    }
    posts = {}
    for spec in demo_content.ARTICLES:
        published = local(spec["published"])
        post = create_post(
            authors[spec["author"]],
            PostDraft(
                title=spec["title"],
                body=spec["body"],
                labels=tuple(spec["labels"]),
                kind=PostKind(spec["kind"]),
            ),
            now=published,
            publish_at=published,
        )
        posts[spec["title"]] = post
        added: list[int] = []
        for comment in spec["comments"]:
            answered = comment.get("reply_to")
            stored = add_comment(
                post,
                NewComment(body=comment["body"], name=comment["name"], url=comment["url"]),
                CommentRules(),
                local(comment["at"]),
                parent_id=added[answered] if answered is not None else None,
            )
            added.append(stored.id)
        body = spec["body"]
        for update in spec.get("updates", []):
            for old, new in update["replace"]:
                body = body.replace(old, new)
            save_post(
                post,
                PostDraft(
                    title=spec["title"],
                    body=body,
                    labels=tuple(spec["labels"]),
                    kind=PostKind(spec["kind"]),
                    change_note=update["note"],
                ),
                PostAction.SAVE,
                local(update["at"]),
            )
    for spec in demo_content.ARTICLES:
        companion = spec.get("companion")
        if companion and spec["kind"] == PostKind.PLAN:
            pair_companions(posts[spec["title"]], posts[companion])
    for spec in demo_content.SERIES:
        series = create_series(
            authors[spec["author"]],
            SeriesDraft(title=spec["title"], description=spec["description"]),
            now,
        )
        for title in spec["posts"]:
            place_post(posts[title], SeriesChoice(series.id), now)
        db.session.commit()
    return len(posts)
