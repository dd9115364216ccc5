"""What the page cache keeps: a page's key, and its bytes split where each reader's own
form token and form timer go, so that one copy serves every reader."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask.wrappers import Response
from werkzeug.http import parse_date, parse_etags

from kmblog.pagecache.version import PageVersion
from kmblog.security import HEADERS as SECURITY_HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

TOKEN_PLACEHOLDER = "\x00kmblog-csrf\x00"  # noqa: S105 - a marker, not a secret
TIMER_PLACEHOLDER = "\x00kmblog-timer\x00"
_PLACEHOLDERS = re.compile(f"({re.escape(TOKEN_PLACEHOLDER)}|{re.escape(TIMER_PLACEHOLDER)})")


@dataclass(frozen=True)
class CachedPage:
    """A page's bytes, split where each reader's own form token and timer go, and the
    headers it was first sent with (no cookie, no length)."""

    parts: tuple[bytes, ...]
    slots: tuple[tuple[int, str], ...]  # (index in parts, placeholder it stands for)
    headers: tuple[tuple[str, str], ...]

    def validators(self) -> list[tuple[str, str]]:
        """What a 304 repeats of the page's headers."""
        return [(name, value) for name, value in self.headers if name != "Content-Type"]

    def filled(self, token: bytes, timer: bytes) -> bytes:
        """The page with one reader's own form token and timer in their places."""
        fill = {TOKEN_PLACEHOLDER: token, TIMER_PLACEHOLDER: timer}
        parts = list(self.parts)
        for place, slot in self.slots:
            parts[place] = fill[slot]
        return b"".join(parts)


def cached_page(response: Response, token: str | None, timer: str | None) -> CachedPage:
    """The entry to keep for a page just rendered with this reader's `token` and `timer`."""
    body = response.get_data(as_text=True)
    if token:
        body = body.replace(token, TOKEN_PLACEHOLDER)
    if timer:
        body = body.replace(timer, TIMER_PLACEHOLDER)
    pieces = _PLACEHOLDERS.split(body)
    slots = tuple((n, piece) for n, piece in enumerate(pieces) if n % 2)
    # The headers every reader gets: the security headers are added after the hook that
    # stores the page.
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name not in {"Set-Cookie", "Content-Length"}
    ]
    present = {name for name, _ in headers}
    headers += [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
    return CachedPage(tuple(piece.encode() for piece in pieces), slots, tuple(headers))


def page_key(environ: WSGIEnvironment, version: PageVersion, shared: bool) -> str:
    """The cache key of a page: its version, whether it is the copy without any reader's
    own form token, and the address exactly as asked (scheme and host too: feeds carry
    absolute links)."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    where = "{}://{}{}?{}".format(
        environ.get("wsgi.url_scheme", "http"),
        host,
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()
    return f"page:{version.etag}:{'shared' if shared else 'own'}:{digest}"


def not_modified(environ: WSGIEnvironment, version: PageVersion) -> bool:
    """The reader already holds this version of the page (If-None-Match, or failing
    that If-Modified-Since)."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return parse_etags(if_none_match).contains_weak(version.etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and since >= version.last_modified
