"""The blog's one way out to the network, for its jobs: other sites' pages (Webmention,
Pingback, WebSub) and other servers' actors and inboxes (ActivityPub), bounded in size
and time, and never to a private address.

Every address a host name resolves to must be a public one (not loopback, private,
link-local, shared, multicast or reserved), checked before each request and each
redirect; requests-hardened (a hardened requests session, Saleor's) then connects to
an address it checked itself, so a name that resolves differently a moment later
(DNS rebinding) cannot reach inside either. FETCH_ALLOW_LOOPBACK (its old ActivityPub
name FEDERATION_ALLOW_LOOPBACK still read) lets tests on one machine talk to servers on
127.0.0.1; nothing relaxes the rest.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests_hardened import Config, Manager
from requests_hardened.ip_filter import InvalidIPAddress

USER_AGENT = "kmblog"
MAX_REDIRECTS = 5
CHUNK = 16 * 1024


class FetchRefused(Exception):
    """The address may not be fetched (a private address, a scheme other than http(s)),
    or what came back was too large or too slow. The message says which."""


@dataclass(frozen=True)
class Limits:
    """How much, how long, and whether loopback addresses may be fetched (tests)."""

    max_bytes: int = 1024 * 1024
    seconds: float = 10.0
    allow_loopback: bool = False
    user_agent: str = USER_AGENT


def loopback_allowed(config: Mapping[str, Any]) -> bool:
    """The tests' allowance, by its name or its old ActivityPub one."""
    return bool(config.get("FETCH_ALLOW_LOOPBACK") or config.get("FEDERATION_ALLOW_LOOPBACK"))


@dataclass(frozen=True)
class Fetched:
    """An answer: the address it finally came from (after redirects), its status,
    headers and (bounded) body."""

    url: str
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _refused_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, loopback: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if loopback and ip.is_loopback:
        return False
    return not ip.is_global or ip.is_multicast or ip.is_reserved


def check_address(url: str, allow_loopback: bool = False) -> None:
    """Refuse `url` unless it is http(s) and every address its host resolves to is public
    (loopback too, with `allow_loopback`)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise FetchRefused(f"not a web address: {error}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchRefused("only http and https addresses are fetched")
    if "@" in parts.netloc:
        raise FetchRefused("an address with a user name is not fetched")
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchRefused(f"the host name does not resolve: {error}") from None
    for _family, _type, _proto, _name, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if _refused_address(ip, allow_loopback):
            raise FetchRefused(f"{parts.hostname} resolves to a private address ({ip})")


def _session(limits: Limits) -> requests.Session:
    manager = Manager(
        Config(
            default_timeout=(min(5.0, limits.seconds), limits.seconds),
            never_redirect=True,  # followed here, each hop checked
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=limits.allow_loopback,
            user_agent_override=limits.user_agent,
        )
    )
    session: requests.Session = manager.get_session()
    # No proxies or .netrc from the environment: what is fetched is decided here.
    session.trust_env = False
    return session


def fetch(
    url: str,
    limits: Limits,
    method: str = "GET",
    data: dict[str, str] | bytes | None = None,
    headers: dict[str, str] | None = None,
    follow: bool = True,
    read: bool = True,
) -> Fetched:
    """GET (or POST) `url`, following up to MAX_REDIRECTS redirects when `follow`, each
    one checked; the body is cut off past limits.max_bytes (FetchRefused) and the whole
    exchange past limits.seconds (without `read`, the body is not read at all: an
    inbox's answer to a delivery). Network errors come through as requests'
    exceptions."""
    deadline = time.monotonic() + limits.seconds
    with _session(limits) as session:
        for _hop in range(MAX_REDIRECTS + 1):
            check_address(url, limits.allow_loopback)
            try:
                response = session.request(
                    method, url, data=data, headers=headers, stream=True, allow_redirects=False
                )
            except InvalidIPAddress as error:
                raise FetchRefused(f"refused address: {error}") from None
            with response:
                location = response.headers.get("Location")
                if follow and response.is_redirect and location:
                    url = urljoin(url, location)
                    if response.status_code in {301, 302, 303} and method == "POST":
                        method, data = "GET", None
                    continue
                body = _read(response, limits, deadline) if read else b""
                return Fetched(url, response.status_code, response.headers, body)
    raise FetchRefused("too many redirects")


def _read(response: requests.Response, limits: Limits, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchRefused(f"larger than {limits.max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK):
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchRefused(f"larger than {limits.max_bytes} bytes")
        if time.monotonic() > deadline:
            raise FetchRefused(f"slower than {limits.seconds} seconds")
        chunks.append(chunk)
    return b"".join(chunks)
