"""The audit trail's records of backups taken and restored (kmblog.audit)."""

from __future__ import annotations

from pathlib import Path

from kmblog.audit.services import Actor, record_now
from kmblog.backup.archive import Manifest


def record_backup(out: Path, manifest: Manifest, by: Actor, removed: int = 0) -> None:
    """A whole archive written (recorded after: the archive itself does not hold it)."""
    rows = sum(manifest.tables.values())
    record_now(
        "backup.made",
        f"Backup of {rows} rows written to {out.name}",
        actor=by,
        detail={
            "file": str(out),
            "rows": rows,
            "dialect": manifest.dialect,
            "revision": manifest.revision,
            **({"old_backups_removed": removed} if removed else {}),
        },
    )


def record_restore(archive: Path, manifest: Manifest, by: Actor) -> None:
    """A backup restored: recorded in the restored database, after the trail it brought."""
    record_now(
        "backup.restored",
        f"Restored {archive.name}, a {manifest.dialect} backup of {manifest.created_at}",
        actor=by,
        detail={
            "file": str(archive),
            "rows": sum(manifest.tables.values()),
            "dialect": manifest.dialect,
            "created_at": manifest.created_at,
            "revision": manifest.revision,
        },
    )
