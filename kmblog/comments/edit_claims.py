"""The browser's proof that it posted a comment: signed claims in a cookie, as Isso
does (isso/views/comments.py signs [id, hash of the text] into a cookie named after the
comment; we keep one cookie listing a browser's recent comments, so that the page cache
and nginx can pass such a browser through by one name).

A claim is "comment N, made at this moment" (whole microseconds since 1970), signed with
the blog's secret: a browser cannot make one for a comment it did not post, nor keep one
for a number SQLite gave again to someone else's comment. Whether the claim still allows
an edit (the window, a reply) is the service's question (kmblog.comments.services).

Readers carry nothing: the cookie is set only on the answer to a comment sent, lasts as
long as the edit window, and is gone (or emptied) when its last comment is.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from kmblog.comments.services import comment_moment
from kmblog.models import MAX_ID

# The cookie's name. The page cache (kmblog.pagecache) and nginx (bench/nginx.conf) pass
# a browser that carries it to the app, so that it sees its own Edit and Delete links.
EDIT_COOKIE = "kmblog_edit"
# Claims a cookie keeps at most: the newest ones (a browser edits what it just posted).
MAX_CLAIMS = 20


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="comment-edit-claims")


def read_claims(value: str | None) -> dict[int, int]:
    """{comment id: its moment} from the cookie; empty when missing, forged or garbled."""
    if not value:
        return {}
    try:
        loaded = _serializer().loads(value)
    except BadSignature:
        return {}
    if not isinstance(loaded, list):
        return {}
    claims: dict[int, int] = {}
    for item in loaded:
        if (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(part, int) and not isinstance(part, bool) for part in item)
            and 0 < item[0] <= MAX_ID
        ):
            claims[item[0]] = item[1]
    return claims


def with_claim(
    claims: dict[int, int], comment_id: int, moment: int, now: datetime, window: timedelta
) -> dict[int, int]:
    """`claims` with one more, and without those whose window has passed."""
    oldest = comment_moment(now - window)
    kept = {number: made for number, made in claims.items() if made >= oldest}
    kept[comment_id] = moment
    newest = sorted(kept.items(), key=lambda claim: claim[1])[-MAX_CLAIMS:]
    return dict(newest)


def store_claims(
    response: Response, claims: dict[int, int], now: datetime, window: timedelta
) -> None:
    """Set the cookie to `claims` until the newest one's window ends, or clear it."""
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    remaining = (max(claims.values(), default=0) - comment_moment(now)) // 1_000_000 + int(
        window.total_seconds()
    )
    if remaining <= 0:
        response.delete_cookie(EDIT_COOKIE, httponly=True, samesite="Lax", secure=secure)
        return
    response.set_cookie(
        EDIT_COOKIE,
        _serializer().dumps([[number, made] for number, made in claims.items()]),
        max_age=remaining,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )
