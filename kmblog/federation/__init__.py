"""ActivityPub: the blog as an actor others follow from Mastodon and the rest of the
fediverse (WebFinger, actor, outbox, followers, NodeInfo), its posts delivered to them,
their replies as comments.

- signatures.py: HTTP Signatures (draft-cavage, RSA-SHA256, Digest) over `cryptography`;
- client.py: fetching and posting, bounded, never to private addresses;
- documents.py: the ActivityStreams documents;
- services.py: the actor, its key, post events and deliveries;
- inbox.py, replies.py: what comes in;
- views.py: the addresses.

init_app registers the jobs: every outgoing request is a job, never a reader's wait.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from kmblog import jobs
from kmblog.extensions import db
from kmblog.federation import inbox, services
from kmblog.models import utcnow


def fan_out_job(event_id: int) -> None:
    """A post's change becomes one delivery per follower server, each a job."""
    services.deliver_later(services.fan_out(event_id, utcnow()))


def deliver_job(delivery_id: int) -> None:
    """Send one delivery; raises for the queue to retry it later, with backoff."""
    services.deliver(delivery_id)


def sweep_job() -> None:
    """Once a minute: events due (a scheduled post's time came, or the queue was down
    when the post changed), and forgetting what is too old to matter."""
    now = utcnow()
    for event_id in services.due_events(now):
        fan_out_job(event_id)
    inbox.forget_seen(now - 2 * inbox.window())
    services.forget_delivered(now - timedelta(days=30))
    db.session.commit()


def init_app(app: Flask) -> None:
    queue = jobs.queue_of(app)
    queue.register(services.FAN_OUT, fan_out_job)
    queue.register(
        services.DELIVER,
        deliver_job,
        retries=int(app.config.get("FEDERATION_DELIVERY_ATTEMPTS", 8)),
        retry_delay=float(app.config.get("FEDERATION_RETRY_SECONDS", 30)),
    )
    queue.register(services.SWEEP, sweep_job, every_minute=True)
