"""The ActivityStreams documents the blog serves and sends, as plain dictionaries: the
actor, an Article for a post, the activities that carry it, collections, NodeInfo.

Addresses come in as arguments (see services.Site): these functions query nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from kmblog.models import Post

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Terms outside ActivityStreams that Mastodon reads: hashtags, and that the blog may be
# found in its directory and search.
EXTENSIONS = {
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
}
CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, EXTENSIONS]
_NOT_IN_A_HASHTAG = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class Actor:
    """The blog's actor addresses."""

    id: str
    handle: str
    home: str
    inbox: str
    shared_inbox: str
    outbox: str
    followers: str

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def actor_document(
    actor: Actor, name: str, description: str, public_key_pem: str
) -> dict[str, Any]:
    """The blog as a Person: what a server shows as the account to follow."""
    return {
        "@context": CONTEXT,
        "id": actor.id,
        "type": "Person",
        "preferredUsername": actor.handle,
        "name": name,
        # ActivityStreams summaries are HTML: the description is plain text.
        "summary": f"<p>{escape(description)}</p>" if description else "",
        "url": actor.home,
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "endpoints": {"sharedInbox": actor.shared_inbox},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": True,
        "publicKey": {"id": actor.key_id, "owner": actor.id, "publicKeyPem": public_key_pem},
    }


def hashtag_name(label: str) -> str:
    """A label as a hashtag: "KM Strategy" is #KMStrategy (hashtags have no spaces)."""
    return "#" + _NOT_IN_A_HASHTAG.sub("", label)


@dataclass(frozen=True)
class Attachment:
    """An image of a post, for servers that show images beside the text (Mastodon
    keeps no <img> of the content): its absolute address, type (when known), alt text
    and size (when known)."""

    url: str
    media_type: str | None
    name: str
    width: int | None = None
    height: int | None = None

    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "Image", "url": self.url, "name": self.name}
        if self.media_type:
            found["mediaType"] = self.media_type
        if self.width and self.height:
            found["width"], found["height"] = self.width, self.height
        return found


def article(
    post: Post,
    article_id: str,
    url: str,
    actor: Actor,
    label_urls: dict[str, str],
    content: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> dict[str, Any]:
    """A post as an Article: its stored, sanitised HTML is the content (`content`: that
    HTML with its addresses made absolute), its images the attachments."""
    published = post.published_at or post.created_at
    document: dict[str, Any] = {
        "id": article_id,
        "type": "Article",
        "attributedTo": actor.id,
        "name": post.title,
        "content": post.body_html if content is None else content,
        "url": url,
        "published": iso(published),
        "to": [PUBLIC],
        "cc": [actor.followers],
        "tag": [
            {"type": "Hashtag", "name": hashtag_name(name), "href": href}
            for name, href in label_urls.items()
            if hashtag_name(name) != "#"
        ],
    }
    if attachments:
        document["attachment"] = [attachment.document() for attachment in attachments]
    if post.summary:
        document["summary"] = f"<p>{escape(post.summary)}</p>"
    if post.revised_at is not None:
        document["updated"] = iso(post.revised_at)
    return document


def with_context(document: dict[str, Any]) -> dict[str, Any]:
    return {"@context": CONTEXT, **document}


def activity(kind: str, activity_id: str, actor: Actor, obj: Any) -> dict[str, Any]:
    """Create, Update or Delete (or Accept) of `obj`, addressed to the public and the
    followers."""
    return {
        "@context": CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor.id,
        "to": [PUBLIC],
        "cc": [actor.followers],
        "object": obj,
    }


def tombstone(article_id: str) -> dict[str, Any]:
    return {"id": article_id, "type": "Tombstone"}


def collection(collection_id: str, total: int, first: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first is not None:
        document["first"] = first
    return document


def collection_page(
    page_id: str, part_of: str, items: list[dict[str, Any]], next_page: str | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next_page is not None:
        document["next"] = next_page
    return document


def nodeinfo(version: str, name: str, description: str, posts: int) -> dict[str, Any]:
    """NodeInfo 2.1: what software this is, that it speaks ActivityPub, how many posts."""
    return {
        "version": "2.1",
        "software": {
            "name": "kmblog",
            "version": version,
        },
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": posts,
        },
        "metadata": {"nodeName": name, "nodeDescription": description},
    }
