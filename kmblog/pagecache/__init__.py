"""The page cache for anonymous readers, and conditional GETs for everyone.

- version.py: the page version (settings row + newest visible post) and its memo;
- entries.py: what the cache keeps (a page's bytes, once in each encoding);
- compression.py: brotli and gzip, and which one a client takes;
- front.py: the WSGI front that serves cached pages before Flask builds a request;
- hooks.py: the same inside Flask, storing and compressing pages, and the version the
  views read.

Readers carry nothing: a reader's page sets no cookie and holds no token, so one copy
of it serves everyone (here, in nginx, in any cache on the way).

The content version itself is raised by every write a reader could see, in the data
layer (kmblog.content_version), not here.
"""

from __future__ import annotations

from flask import Flask

from kmblog.pagecache.front import CachedPageFront
from kmblog.pagecache.hooks import (
    current_content_version,
    register_hooks,
    version_memo,
)

__all__ = ["current_content_version", "register", "version_memo"]


def register(app: Flask) -> None:
    """Put the front before the app and the hooks inside it."""
    # Flask documents wrapping wsgi_app so; mypy sees a method assigned.
    app.wsgi_app = CachedPageFront(app, app.wsgi_app)  # type: ignore[method-assign]
    register_hooks(app)
