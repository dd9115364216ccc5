"""`flask backup OUT` and `flask restore ARCHIVE`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kmblog.audit.services import COMMAND_LINE
from kmblog.backup.archive import BackupError, backup_name, restore, write_backup
from kmblog.backup.recording import record_backup, record_restore
from kmblog.media.services import media_dir
from kmblog.models import utcnow


def _media_folder() -> Path:
    return media_dir(current_app.config.get("MEDIA_DIR"), current_app.instance_path)


@click.command("backup")
@click.argument("out", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(out: Path) -> None:
    """Write a backup archive to OUT (a folder gets a dated file name) while the blog
    serves: the database as one consistent copy, the images, the secret key."""
    now = utcnow()
    if out.is_dir():
        out = out / backup_name(now)
    try:
        manifest = write_backup(out, _media_folder(), Path(current_app.instance_path), now)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    rows = sum(manifest.tables.values())
    images = sum(1 for name in manifest.members if name.startswith("media/"))
    record_backup(out, manifest, COMMAND_LINE)
    click.echo(
        f"Backed up {rows} rows in {len(manifest.tables)} tables and {images} image files to {out}."
    )
    if manifest.missing_media:
        missing = ", ".join(manifest.missing_media)
        click.echo(f"Warning: these images had no files to copy: {missing}", err=True)


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Throw away what this instance holds first.")
@with_appcontext
def restore_command(archive: Path, replace: bool) -> None:
    """Restore a backup archive into this (empty) instance, after checking every
    checksum in it; nothing is written if one fails."""
    try:
        manifest = restore(archive, _media_folder(), Path(current_app.instance_path), replace)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    record_restore(archive, manifest, COMMAND_LINE)
    click.echo(
        f"Restored {sum(manifest.tables.values())} rows from a {manifest.dialect} backup of"
        f" {manifest.created_at} (migration {manifest.revision})."
    )
