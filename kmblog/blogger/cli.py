"""`flask import blogger FILE`, `flask import json FILE`, `flask export blogger FILE`,
`flask export json FILE`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from kmblog.audit.services import COMMAND_LINE, record_now
from kmblog.blogger.exporter import archive_export, blogger_export, json_export
from kmblog.blogger.importer import BloggerImportError, import_blogger
from kmblog.blogger.json_import import JsonImportError, import_json
from kmblog.media.web import folder
from kmblog.models import utcnow


@click.group("import", cls=AppGroup)
def import_cli() -> None:
    """Bring a blog in from elsewhere."""


@import_cli.command("blogger")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--merge",
    is_flag=True,
    help="Add the export of another Blogger blog than this blog's, keeping this blog's "
    "settings and feed ids (without it, such a file is refused).",
)
def import_blogger_command(export: Path, merge: bool) -> None:
    """Import a Blogger export (Atom XML): settings, posts, pages, drafts, comments."""
    size = export.stat().st_size
    with (
        export.open("rb") as stream,
        click.progressbar(length=size, label="Importing", show_pos=True, width=30) as bar,
    ):
        try:
            report = import_blogger(
                stream, utcnow(), progress=bar.update, merge=merge, by=COMMAND_LINE
            )
        except BloggerImportError as error:
            raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)


@import_cli.command("json")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_json_command(export: Path) -> None:
    """Fill this empty blog from a kmblog JSON export: the .zip archive (with the images'
    files, checked and put in the media folder) or the .json document alone. Authors
    come without passwords: set one for each with `flask users password NAME`."""
    with export.open("rb") as stream:
        try:
            report = import_json(stream, folder(), by=COMMAND_LINE)
        except JsonImportError as error:
            raise click.ClickException(str(error)) from error
    for line in report.lines():
        click.echo(line)


@click.group("export", cls=AppGroup)
def export_cli() -> None:
    """Take everything out of the blog."""


def _write(pieces: Iterator[str], out: Path) -> None:
    with out.open("w", encoding="utf-8") as stream:
        for piece in pieces:
            stream.write(piece)


def _exported(action: str, summary: str) -> None:
    """The audit trail's record of an export written (after it was whole)."""
    record_now(action, summary, actor=COMMAND_LINE)


def _base_url(base_url: str | None) -> str:
    if base_url:
        return base_url
    server = current_app.config.get("SERVER_NAME")
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{server}" if server else "http://localhost"


@export_cli.command("blogger")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--base-url", help="The blog's address, for links (default: SERVER_NAME).")
def export_blogger_command(out: Path, base_url: str | None) -> None:
    """Write the whole blog as a Blogger export (Atom XML)."""
    _write(blogger_export(utcnow(), _base_url(base_url)), out)
    _exported("export.blogger", f"Wrote the Blogger export to {out}")
    click.echo(f"Wrote the Blogger export to {out}.")


@export_cli.command("json")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_json_command(out: Path) -> None:
    """Write everything in the blog as JSON (format in the README). OUT ending in .zip:
    an archive of kmblog.json and the uploaded images' files (media/); any other name:
    the JSON document alone, which describes the images but holds no file."""
    now = utcnow()
    if out.suffix.lower() == ".zip":
        with out.open("wb") as stream:
            for piece in archive_export(now, folder()):
                stream.write(piece)
        _exported("export.json", f"Wrote the JSON export with the images' files to {out}")
        click.echo(f"Wrote the JSON export with the images' files to {out}.")
        return
    _write(json_export(now, folder()), out)
    _exported("export.json", f"Wrote the JSON export to {out}")
    click.echo(f"Wrote the JSON export to {out}.")
    click.echo("The images' files are not in it: name the file .zip to include them.")
