"""Another site on loopback for the social-web tests: it serves the pages a test gives
it (status, headers, body), records every request it gets, and can answer as a
Webmention endpoint or a WebSub hub. A tripwire refuses (and records) any connection
the process tries to make outside loopback, so that a test of the private-address
guard can never send a packet anywhere if the guard fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Page:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    form: dict[str, list[str]]


class WebPeer:
    """A site at http://127.0.0.1:PORT: `peer.page("/a", Page(...))`, `peer.url("/a")`."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.received: list[Received] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                peer.received.append(Received(self.command, self.path, parse_qs(data)))
                page = peer.pages.get(self.path) or peer.pages.get(urlsplit(self.path).path)
                if page is None:
                    page = Page(404, body="not here")
                body = page.body.encode()
                self.send_response(page.status)
                for name, value in page.headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def page(self, path: str, page: Page) -> str:
        self.pages[path] = page
        return self.url(path)

    def posts_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.method == "POST" and r.path.startswith(path)]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def web_peer() -> Iterator[WebPeer]:
    peer = WebPeer()
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else ""
    return host in {"127.0.0.1", "::1", "localhost"} or str(host).startswith("127.")


@pytest.fixture
def outside_connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connection attempted outside loopback during the test (each refused)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError(f"tests never connect outside loopback: {address}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return attempts
