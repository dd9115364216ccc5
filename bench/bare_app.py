"""The bare Flask ceiling: kmblog's pages served from memory, no database, no templates.

At start it loads the bytes of every benchmarked address, either from the files the
runner saved (BENCH_PAGES: a folder holding manifest.json) or by fetching them from a
running kmblog (BENCH_SOURCE: its base URL; BENCH_PATHS: the paths, one a line). Each is
then answered at its own path (and query string) with its content type, nothing else.
Serve it with `gunicorn --pythonpath bench "bare_app:create_app()"`.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

from flask import Flask, Response, abort, request

Page = tuple[bytes, str]


def load_saved(folder: Path) -> dict[str, Page]:
    """The pages the runner saved: manifest.json maps a path to a file and its type."""
    manifest = json.loads((folder / "manifest.json").read_text())
    return {
        path: ((folder / entry["file"]).read_bytes(), entry["content_type"])
        for path, entry in manifest.items()
    }


def fetch(base: str, paths: list[str]) -> dict[str, Page]:
    """The pages as a running kmblog serves them now."""
    pages: dict[str, Page] = {}
    for path in paths:
        with urllib.request.urlopen(base.rstrip("/") + path, timeout=60) as reply:  # noqa: S310
            pages[path] = (reply.read(), reply.headers.get("Content-Type", "text/html"))
    return pages


def create_app() -> Flask:
    """The app, with every page in memory."""
    if os.environ.get("BENCH_PAGES"):
        pages = load_saved(Path(os.environ["BENCH_PAGES"]))
    else:
        paths = os.environ.get("BENCH_PATHS", "/").split()
        pages = fetch(os.environ["BENCH_SOURCE"], paths)
    app = Flask(__name__, static_folder=None)

    @app.get("/", defaults={"path": ""})
    @app.get("/<path:path>")
    def serve(path: str) -> Response:
        query = request.query_string.decode("latin-1")
        key = request.environ.get("RAW_URI") or (
            request.environ["PATH_INFO"] + (f"?{query}" if query else "")
        )
        page = pages.get(key)
        if page is None:
            abort(404)
        return Response(page[0], content_type=page[1])

    return app
