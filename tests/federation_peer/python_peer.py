"""A small fediverse server of the tests' own on loopback: one actor with its own RSA
key, an inbox that keeps what it is sent (and answers with a chosen status), and signed
requests from that actor to the blog.

It stands in for a follower's server in the tests that need many cases quickly; the
third-party peer (Fedify, tests/federation_peer/follower.mjs) shows the same against
code that is not ours.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from kmblog.federation import signatures
from kmblog.models import utcnow


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Peer:
    """The peer's address, its actor and what it received."""

    base: str
    name: str = "Ada Remote"
    username: str = "ada"
    shared_inbox: bool = True
    inbox_status: int = 202
    received: list[Received] = field(default_factory=list)
    fetches: list[str] = field(default_factory=list)
    keys: tuple[str, str] = field(default_factory=signatures.generate_keypair)
    # More accounts on the same server (they share its inbox and, here, its key).
    others: tuple[str, ...] = ()

    @property
    def actor_id(self) -> str:
        return f"{self.base}/users/{self.username}"

    @property
    def key_id(self) -> str:
        return f"{self.actor_id}#main-key"

    def as_user(self, username: str) -> Peer:
        """Another account of this server (the same inbox records what it is sent)."""
        if username == self.username:
            return self
        return Peer(
            self.base, username.title(), username, self.shared_inbox, self.inbox_status,
            self.received, self.fetches, self.keys,
        )  # fmt: skip

    def actor(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Person",
            "preferredUsername": self.username,
            "name": self.name,
            "url": f"{self.base}/@{self.username}",
            "inbox": f"{self.actor_id}/inbox",
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor_id,
                "publicKeyPem": self.keys[1],
            },
        }
        if self.shared_inbox:
            document["endpoints"] = {"sharedInbox": f"{self.base}/inbox"}
        return document

    def signed(
        self,
        activity: dict[str, Any],
        path: str = "/ap/inbox",
        host: str = "blog.test",
        now: datetime | None = None,
        private_key: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a POST of `activity` to the blog, signed by this actor."""
        body = json.dumps(activity).encode()
        headers = signatures.sign_request(
            "POST",
            f"http://{host}{path}",
            body,
            self.key_id,
            private_key or self.keys[0],
            now or utcnow(),
        )
        headers["Content-Type"] = "application/activity+json"
        return body, headers

    def signed_rfc9421(
        self,
        activity: dict[str, Any],
        path: str = "/ap/inbox",
        host: str = "blog.test",
        created: datetime | None = None,
        with_digest: bool = True,
    ) -> tuple[bytes, dict[str, str]]:
        """The same, signed as RFC 9421 says (by pyauth's http-message-signatures, as
        Fedify 1.6+ and recent Mastodons do): method, address, authority and the
        body's Content-Digest."""
        body = json.dumps(activity).encode()
        request = requests.Request(
            "POST",
            f"http://{host}{path}",
            data=body,
            headers={"Content-Type": "application/activity+json"},
        ).prepare()
        private_key = serialization.load_pem_private_key(self.keys[0].encode(), password=None)

        class Keys(HTTPSignatureKeyResolver):
            def resolve_private_key(self, key_id: str) -> Any:
                return private_key

        HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=Keys()).sign(
            request,
            key_id=self.key_id,
            created=created or utcnow(),
            covered_component_ids=("@method", "@target-uri", "@authority"),
            body=body if with_digest else None,
        )
        return body, dict(request.headers)


@contextmanager
def running_peer(**options: Any) -> Iterator[Peer]:
    """Serve a peer on 127.0.0.1 until the block ends."""
    peer_box: list[Peer] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            peer = peer_box[0]
            peer.fetches.append(self.path)
            name = self.path.removeprefix("/users/")
            if name == peer.username or name in peer.others:
                body = json.dumps(peer.as_user(name).actor()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            peer = peer_box[0]
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            peer.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(peer.inbox_status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer_box.append(Peer(base=f"http://127.0.0.1:{server.server_port}", **options))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer_box[0]
    finally:
        server.shutdown()
        server.server_close()
