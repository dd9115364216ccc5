"""Which representation a client asks for at a post's address: the page, or the
ActivityStreams Article (what a fediverse server asks for when someone pastes the link)."""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def wants_activity(accept: str | None) -> bool:
    """True when the Accept header prefers ActivityStreams JSON over HTML: activity+json,
    or ld+json with the ActivityStreams profile (a browser's */* never does)."""
    if not accept or ("activity+json" not in accept and "ld+json" not in accept):
        return False
    html = parse_accept_header(accept, MIMEAccept).quality("text/html")
    best = 0.0
    for value, quality in parse_accept_header(accept, MIMEAccept):
        kind = value.split(";")[0].strip().lower()
        if kind == ACTIVITY_JSON or (kind == LD_JSON and AS_PROFILE in value):
            best = max(best, quality)
    if best == 0.0:
        # ld+json whose profile the parser kept apart: look at the raw header.
        for part in accept.split(","):
            if LD_JSON in part and AS_PROFILE in part:
                best = 1.0
    return best > 0 and best >= html
