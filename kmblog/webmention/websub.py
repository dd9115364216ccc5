"""WebSub (W3C): with a hub configured (WEBSUB_HUB), the feeds name it (rel="hub",
beside rel="self") and each publish tells it which feeds changed, from a job, so that
subscribed readers get new posts pushed instead of polling."""

from __future__ import annotations

from flask import current_app

from kmblog import jobs
from kmblog.outbound import fetch
from kmblog.webmention.services import fetch_limits

PING = "websub.ping"


def hub_url() -> str | None:
    """The hub the feeds name, if one is configured."""
    hub = current_app.config.get("WEBSUB_HUB")
    return str(hub) if hub else None


def ping_later(topics: list[str]) -> None:
    """Queue a publish ping for each changed feed (nothing without a hub)."""
    if hub_url() is None:
        return
    for topic in topics:
        jobs.enqueue(PING, topic)


def ping_hub(topic: str) -> None:
    """Tell the hub that `topic` (a feed's address) changed: hub.mode=publish. A hub
    that fails raises, and the job is tried again."""
    hub = hub_url()
    if hub is None:
        return
    answer = fetch(
        hub,
        fetch_limits(),
        method="POST",
        data={"hub.mode": "publish", "hub.url": topic},
        follow=False,
    )
    if not 200 <= answer.status < 300:
        raise RuntimeError(f"the WebSub hub answered {answer.status} for {topic}")
