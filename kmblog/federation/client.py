"""Talking to other servers: fetching actors and posting activities, bounded in size and
time, never to a private or loopback address (unless the tests allow loopback), never
following a redirect.

requests-hardened does the address filtering where it matters: on the address actually
connected to, after DNS (so a name that resolves to 10.0.0.1 or 127.0.0.1 is refused too,
and a second lookup cannot swap the address between the check and the connection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests
from requests_hardened import (
    Config,
    HTTPSession,
)

ACTIVITY_JSON = "application/activity+json"
ACCEPT = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
USER_AGENT = "kmblog (ActivityPub)"


class FetchError(Exception):
    """A remote document could not be had: refused address, timeout, error, too big,
    not JSON."""


@dataclass(frozen=True)
class Limits:
    allow_loopback: bool
    timeout: float
    max_bytes: int


def _session(limits: Limits) -> HTTPSession:
    return HTTPSession(
        Config(
            ip_filter_enable=True,
            ip_filter_allow_loopback_ips=limits.allow_loopback,
            never_redirect=True,
            default_timeout=(min(limits.timeout, 5.0), limits.timeout),
            user_agent_override=USER_AGENT,
        )
    )


def _http_url(url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        raise FetchError(f"not a web address: {url[:100]}")


def fetch_json(url: str, headers: dict[str, str], limits: Limits) -> dict[str, Any]:
    """GET an ActivityStreams document (signed by the caller's `headers`)."""
    _http_url(url)
    try:
        with (
            _session(limits) as session,
            session.get(url, headers={"Accept": ACCEPT, **headers}, stream=True) as response,
        ):
            if response.status_code != 200:
                raise FetchError(f"{url[:100]} answered {response.status_code}")
            body = b""
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > limits.max_bytes:
                    raise FetchError(f"{url[:100]} is larger than {limits.max_bytes} bytes")
    except requests.RequestException as error:
        raise FetchError(f"{url[:100]}: {error}") from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise FetchError(f"{url[:100]} is not JSON") from error
    if not isinstance(document, dict):
        raise FetchError(f"{url[:100]} is not a JSON object")
    return document


def post_activity(url: str, body: bytes, headers: dict[str, str], limits: Limits) -> int:
    """POST an activity to an inbox; the status code (raises FetchError when no answer
    came: refused address, timeout, connection error)."""
    _http_url(url)
    try:
        with _session(limits) as session:
            response = session.post(
                url,
                data=body,
                headers={"Content-Type": ACTIVITY_JSON, "Accept": ACCEPT, **headers},
                stream=True,
            )
            response.close()
            return int(response.status_code)
    except requests.RequestException as error:
        raise FetchError(f"{url[:100]}: {error}") from error
