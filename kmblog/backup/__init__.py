"""Backups of the whole blog (`flask backup`, `flask restore`) and, when BACKUP_DIR and
BACKUP_EVERY_HOURS are set, scheduled backups on the job queue that keep the newest
BACKUP_KEEP archives."""

from __future__ import annotations

import fcntl
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app

from kmblog.backup.archive import backup_name, prune, write_backup
from kmblog.backup.recording import record_backup
from kmblog.jobs import queue_of
from kmblog.media.services import media_dir
from kmblog.models import utcnow

log = logging.getLogger(__name__)
SCHEDULED = "backup.scheduled"


def register(app: Flask) -> None:
    if app.config.get("BACKUP_DIR") and app.config.get("BACKUP_EVERY_HOURS"):
        # Checked each minute; the newest archive's name says when the last one ran.
        queue_of(app).register(SCHEDULED, scheduled_backup_job, retries=0, every_minute=True)


def scheduled_backup_job() -> None:
    """Take a backup when the newest in BACKUP_DIR is older than BACKUP_EVERY_HOURS, then
    keep only the newest BACKUP_KEEP. A lock file lets one worker at a time do it."""
    config = current_app.config
    folder = Path(config["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    with (folder / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another worker is taking it
        if not _due(folder, now, timedelta(hours=float(config["BACKUP_EVERY_HOURS"]))):
            return
        out = folder / backup_name(now)
        manifest = write_backup(
            out,
            media_dir(config.get("MEDIA_DIR"), current_app.instance_path),
            Path(current_app.instance_path),
            now,
        )
        removed = prune(folder, int(config.get("BACKUP_KEEP") or 7))
        record_backup(out, manifest, None, removed=len(removed))
        log.info("backup written to %s; %d old ones removed", out, len(removed))


def _due(folder: Path, now: datetime, every: timedelta) -> bool:
    newest = max(folder.glob("kmblog-backup-*.tar.gz"), default=None)
    if newest is None:
        return True
    stamp = newest.name.removeprefix("kmblog-backup-").removesuffix(".tar.gz")
    try:
        taken = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return True
    return now - taken >= every
