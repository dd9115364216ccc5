"""The audit trail (issue 20): every moderation decision, by a rule (which rule, with
its reason) or by a person, every sign-in, change of an author or of the settings,
import, export and backup, shown to admins at /manage/audit and by `flask audit list`,
kept for AUDIT_KEEP_DAYS (0: for ever) by a job on the queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app

from kmblog.audit.services import forget_before
from kmblog.jobs import queue_of
from kmblog.models import utcnow

log = logging.getLogger(__name__)
RETENTION = "audit.retention"


def init_app(app: Flask) -> None:
    # Each minute, as the other sweeps: it costs one indexed look when nothing is due.
    queue_of(app).register(RETENTION, retention_job, retries=2, every_minute=True)


def retention_job() -> None:
    """Forget the events older than AUDIT_KEEP_DAYS (none when it is 0)."""
    days = int(current_app.config.get("AUDIT_KEEP_DAYS") or 0)
    if days <= 0:
        return
    gone = forget_before(utcnow() - timedelta(days=days))
    if gone:
        log.info("audit trail: %d events older than %d days forgotten", gone, days)
