"""Talking to other servers: fetching actors and posting activities, through the blog's
one guarded way out (kmblog.outbound: bounded in size and time, never to a private or
loopback address unless the tests allow loopback), never following a redirect.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from kmblog.outbound import FetchRefused, Limits, fetch

ACTIVITY_JSON = "application/activity+json"
ACCEPT = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
USER_AGENT = "kmblog (ActivityPub)"


class FetchError(Exception):
    """A remote document could not be had: refused address, timeout, error, too big,
    not JSON."""


def _http_url(url: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        raise FetchError(f"not a web address: {url[:100]}")


def fetch_json(url: str, headers: dict[str, str], limits: Limits) -> dict[str, Any]:
    """GET an ActivityStreams document (signed by the caller's `headers`)."""
    _http_url(url)
    try:
        answer = fetch(url, limits, headers={"Accept": ACCEPT, **headers}, follow=False)
    except (FetchRefused, requests.RequestException) as error:
        raise FetchError(f"{url[:100]}: {error}") from error
    if answer.status != 200:
        raise FetchError(f"{url[:100]} answered {answer.status}")
    try:
        document = json.loads(answer.body)
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
        answer = fetch(
            url,
            limits,
            method="POST",
            data=body,
            headers={"Content-Type": ACTIVITY_JSON, "Accept": ACCEPT, **headers},
            follow=False,
            read=False,
        )
    except (FetchRefused, requests.RequestException) as error:
        raise FetchError(f"{url[:100]}: {error}") from error
    return answer.status
