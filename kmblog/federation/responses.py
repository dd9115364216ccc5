"""ActivityStreams answers, shared by the federation addresses and a post's own address
(kmblog.blog.views.post answers a fediverse server with the Article)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

from kmblog.federation import services
from kmblog.federation.client import ACTIVITY_JSON
from kmblog.models import Post

JRD = "application/jrd+json"


def as_json(document: dict[str, Any], content_type: str = ACTIVITY_JSON) -> Response:
    response = Response(
        json.dumps(document, ensure_ascii=False), content_type=f"{content_type}; charset=utf-8"
    )
    # Public documents any page may read (Mastodon's web client fetches some).
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def article_response(post: Post) -> Response:
    """A visible post as an Article (here, and at the post's address)."""
    return as_json(services.article_document(post))
