"""E-mail notifications: building and sending mail, subscriptions, unsubscribe.

init_app registers the mail jobs on the app's queue (kmblog.jobs)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from kmblog import jobs
from kmblog.mail import services
from kmblog.models import utcnow


def fan_out_job(event_id: int) -> None:
    """A comment event becomes notifications; then send them when they are due."""
    for due in sorted(services.fan_out(event_id, utcnow())):
        jobs.enqueue(services.SEND_DUE, at=due)


def send_due_job() -> None:
    """Send what is due; after a failure, come back when the next try is due."""
    retry_at = services.send_due()
    if retry_at is not None:
        jobs.enqueue(services.SEND_DUE, at=retry_at)


def sweep_job() -> None:
    """Once a minute, on every worker: events whose job was lost (the queue was down
    when the comment came), then whatever mail is due. Both are claimed in the
    database, so several workers sweeping at once do each thing once."""
    now = utcnow()
    for event_id in services.unprocessed_events(older_than=now - timedelta(seconds=10)):
        fan_out_job(event_id)
    send_due_job()


def init_app(app: Flask) -> None:
    queue = jobs.queue_of(app)
    queue.register(services.FAN_OUT, fan_out_job)
    queue.register(services.SEND_DUE, send_due_job)
    queue.register(services.SWEEP, sweep_job, every_minute=True)
