"""The social web: Webmention and Pingback (received and sent) and WebSub (ActivityPub
comes here too). Everything that reaches another site runs in a job (kmblog.jobs).

init_app registers the jobs on the app's queue."""

from __future__ import annotations

from flask import Flask

from kmblog import jobs
from kmblog.models import utcnow
from kmblog.webmention import sending, services, websub


def verify_job(mention_id: int) -> None:
    """Fetch a received mention's source and verify it."""
    services.verify_mention(mention_id, services.fetch_limits(), utcnow())


def send_job(row_id: int) -> None:
    """Send one Webmention; after a failure that may pass, come back later."""
    again = sending.send_one(row_id, services.fetch_limits(), utcnow())
    if again is not None:
        jobs.enqueue(sending.SEND, row_id, at=again)


def sweep_job() -> None:
    """Once a minute: mentions whose job was lost (or whose source did not answer),
    and Webmentions due to be sent (scheduled posts' among them)."""
    now = utcnow()
    for mention_id in services.unverified_mentions(older_than=now - services.SWEEP_AFTER):
        services.verify_mention(mention_id, services.fetch_limits(), now, last_try=True)
    for row_id in sending.due_rows(now):
        send_job(row_id)


def init_app(app: Flask) -> None:
    queue = jobs.queue_of(app)
    queue.register(services.VERIFY, verify_job, retries=4, retry_delay=30)
    queue.register(sending.SEND, send_job, retries=0)
    queue.register(websub.PING, websub.ping_hub, retries=6, retry_delay=30)
    queue.register(services.SWEEP, sweep_job, every_minute=True)
