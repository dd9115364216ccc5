"""Compressed answers: brotli where the client takes it, else gzip, else as is.

A page kept in the cache is compressed once, when it is stored, in each encoding, and
served as is to every reader after that. An answer made anew is compressed as it goes
out, and only for a visitor with no session: a page that holds a signed-in author's
form token and reflects what they typed must not be compressed (BREACH), and readers'
pages hold no secret at all.
"""

from __future__ import annotations

import gzip
from functools import lru_cache

import brotli
from werkzeug.http import parse_accept_header

# Smaller answers gain too little to be worth a header and the work.
MIN_BYTES = 512
COMPRESSIBLE = ("text/", "application/atom+xml", "application/rss+xml", "application/json")
# Stored pages are compressed once per page version: a stronger setting pays there. An
# answer compressed per request takes a fast one (brotli 4 and gzip 6 are close in size
# on these pages, at a fraction of brotli 11's time).
STORED = {"br": 9, "gzip": 9}
LIVE = {"br": 4, "gzip": 6}


def compress(body: bytes, encoding: str, level: int) -> bytes:
    """`body` in `encoding` (br or gzip) at `level`."""
    if encoding == "br":
        return bytes(brotli.compress(body, quality=level))
    # mtime=0: the same bytes each time for the same page (no time stamp in the header).
    return gzip.compress(body, compresslevel=level, mtime=0)


def stored_variants(body: bytes, content_type: str) -> dict[str, bytes]:
    """A page's compressed copies to keep beside it, in each encoding worth having."""
    if not compressible(content_type, len(body)):
        return {}
    variants = {name: compress(body, name, level) for name, level in STORED.items()}
    return {name: data for name, data in variants.items() if len(data) < len(body)}


def compressible(content_type: str, size: int) -> bool:
    """Text, feeds and JSON of some size: not images, not tiny answers."""
    return size >= MIN_BYTES and content_type.startswith(COMPRESSIBLE)


@lru_cache(maxsize=128)
def preferred_encoding(accept_encoding: str | None) -> str | None:
    """br, gzip or None (as is), by the client's Accept-Encoding and its q-values.
    Clients send a handful of different headers: each is parsed once."""
    if not accept_encoding:
        return None
    accepted = parse_accept_header(accept_encoding)
    best = max((accepted.quality(name), name == "br", name) for name in ("br", "gzip"))
    return best[2] if best[0] > 0 else None
