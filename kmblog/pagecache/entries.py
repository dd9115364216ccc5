"""What the page cache keeps: a page's key, and its bytes as sent, once in each encoding,
the same for every reader (a reader's page carries nothing of their own)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask.wrappers import Response
from werkzeug.http import parse_date, parse_etags

from kmblog.federation.negotiation import wants_activity
from kmblog.pagecache.compression import stored_variants
from kmblog.pagecache.version import PageVersion
from kmblog.security import HEADERS as SECURITY_HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class CachedPage:
    """A page's bytes, its compressed copies and the headers it was first sent with (no
    cookie, no length, no encoding)."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    encoded: dict[str, bytes] = field(default_factory=dict)  # "br", "gzip"

    def validators(self) -> Headers:
        """What a 304 repeats of the page's headers."""
        return [(name, value) for name, value in self.headers if name != "Content-Type"]

    def answer(self, encoding: str | None) -> tuple[bytes, Headers]:
        """The bytes and headers for a client that takes `encoding` (None: as is)."""
        data = self.encoded.get(encoding) if encoding else None
        headers = list(self.headers)
        if data is None:
            data = self.body
        else:
            headers.append(("Content-Encoding", str(encoding)))
        headers.append(("Content-Length", str(len(data))))
        return data, headers


def cached_page(response: Response) -> CachedPage:
    """The entry to keep for a page just rendered for a reader."""
    body = response.get_data()
    # The headers every reader gets: the security headers are added after the hook that
    # stores the page.
    headers = [
        (name, value)
        for name, value in response.headers.items()
        if name not in {"Set-Cookie", "Content-Length", "Content-Encoding"}
    ]
    present = {name for name, _ in headers}
    headers += [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
    return CachedPage(body, tuple(headers), stored_variants(body, response.content_type or ""))


def page_key(environ: WSGIEnvironment, version: PageVersion) -> str:
    """The cache key of a page: its version and the address exactly as asked (scheme and
    host too: feeds carry absolute links)."""
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    where = "{}://{}{}?{}".format(
        environ.get("wsgi.url_scheme", "http"),
        host,
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
    )
    if wants_activity(environ.get("HTTP_ACCEPT")):
        # A post's address answers ActivityStreams JSON to fediverse servers (Vary:
        # Accept): a copy of its own, never a reader's page.
        where += "#activity"
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()
    return f"page:{version.etag}:{digest}"


def not_modified(environ: WSGIEnvironment, version: PageVersion) -> bool:
    """The reader already holds this version of the page (If-None-Match, or failing
    that If-Modified-Since)."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        return parse_etags(if_none_match).contains_weak(version.etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and since >= version.last_modified
