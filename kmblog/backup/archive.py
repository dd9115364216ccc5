"""Backups: one archive holding a consistent copy of the database, the uploaded images and
the instance's secret key, with a manifest of checksums; and the restore that checks
every checksum before it writes anything.

The database goes in as rows, one JSON line each, table by table (a logical copy): the
same archive restores on SQLite and on PostgreSQL, whichever it came from. The rows are
read from one consistent view of the database while the blog keeps serving:

- SQLite: the online backup API copies the file in one step (it holds a read lock for
  the copy, so no commit lands half in it) into a temporary file, which is then read at
  leisure;
- PostgreSQL: one REPEATABLE READ, READ ONLY transaction, which sees every table as it
  was when its first query ran.

So every comment acknowledged before a backup began is in it. Uploaded images are named
by their content and never change; the archive carries those the copied rows name.

Restore fills an empty instance (or, when told to, replaces what is there): it makes the
schema as it was at the backup's migration, inserts the rows, then upgrades to this
code's newest migration, so an older backup restores into newer code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import flask_migrate
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from kmblog.extensions import db
from kmblog.models import Media, Settings

FORMAT = "kmblog-backup/1"
MANIFEST = "manifest.json"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
# Tables whose rows make an instance "not empty": restoring over them needs --replace.
CONTENT_TABLES = ("users", "posts", "pages", "comments", "media")
ROWS_PER_BATCH = 500


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, for the operator."""


@dataclass
class Manifest:
    """What an archive holds: per member its SHA-256 and size, per table its row count."""

    created_at: str
    dialect: str
    revision: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    missing_media: list[str] = field(default_factory=list)
    format: str = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode()


# --- values as JSON ----------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A column's value as JSON; the types JSON lacks are tagged (`{"$datetime": ...}`)."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((tag, raw),) = value.items()
        if tag == "$datetime":
            return datetime.fromisoformat(raw)
        if tag == "$date":
            return date.fromisoformat(raw)
        if tag == "$bytes":
            return base64.b64decode(raw)
    return value


# --- taking a backup ---------------------------------------------------------------


def current_revision(connection: Connection) -> str:
    """The schema's migration, as Alembic recorded it."""
    try:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as error:
        raise BackupError(
            "The database has no migration record: run `flask db upgrade`."
        ) from error
    if not found:
        raise BackupError("The database has no migration record: run `flask db upgrade`.")
    return str(found)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees the whole database at one moment, however long the backup
    reads from it and whatever the blog writes meanwhile."""
    if engine.dialect.name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kmblog-backup-") as folder:
            copy = Path(folder) / "copy.sqlite"
            raw = engine.raw_connection()
            try:
                target = sqlite3.connect(copy)
                try:
                    # pages=-1: the whole file in one step, under one read lock.
                    raw.driver_connection.backup(target, pages=-1)  # type: ignore[union-attr]
                finally:
                    target.close()
            finally:
                raw.close()
            copied = create_engine(f"sqlite:///{copy}")
            try:
                with copied.connect() as connection:
                    yield connection
            finally:
                copied.dispose()
        return
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(text("SET TRANSACTION READ ONLY"))
            yield connection


def _table_rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    ordered = select(table).order_by(*table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=ROWS_PER_BATCH)
    for row in result.execute(ordered).mappings():
        yield {key: _encode(value) for key, value in row.items()}


def _digest(data: IO[bytes]) -> tuple[str, int]:
    """The SHA-256 and size of what is left to read in `data`."""
    digest = hashlib.sha256()
    size = 0
    while chunk := data.read(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _opened(archive: tarfile.TarFile, member: tarfile.TarInfo | str) -> IO[bytes]:
    data = archive.extractfile(member)
    if data is None:
        raise BackupError(f"{member} in the archive is not a file.")
    return data


def _add_member(archive: tarfile.TarFile, manifest: Manifest, name: str, data: IO[bytes]) -> None:
    """Add the file `data` (at its start) to the archive, its checksum to the manifest."""
    sha256, size = _digest(data)
    data.seek(0)
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, data)
    manifest.members[name] = {"sha256": sha256, "size": size}


def write_backup(out: Path, media_folder: Path, instance_path: Path, now: datetime) -> Manifest:
    """Write a backup of the app's database, its images and its secret key to `out` (a
    .tar.gz made readable by its owner only: it holds password hashes and the key)."""
    metadata = db.metadata
    engine = db.engine
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            with _snapshot(engine) as connection:
                manifest = Manifest(
                    created_at=now.astimezone(UTC).isoformat(),
                    dialect=engine.dialect.name,
                    revision=current_revision(connection),
                )
                for table in metadata.sorted_tables:
                    count = 0
                    with tempfile.TemporaryFile() as rows:
                        for row in _table_rows(connection, table):
                            rows.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
                            count += 1
                        rows.seek(0)
                        _add_member(archive, manifest, f"database/{table.name}.jsonl", rows)
                    manifest.tables[table.name] = count
                names = list(connection.execute(select(Media.__table__.c.sha256)).scalars())
            _add_media(archive, manifest, media_folder, names)
            key = instance_path / SECRET_KEY_FILE
            if key.is_file():
                with key.open("rb") as data:
                    _add_member(archive, manifest, SECRET_KEY_FILE, data)
            _add_member(archive, manifest, MANIFEST, io.BytesIO(manifest.to_json()))
            raw.flush()
            os.fsync(raw.fileno())
        # Only a whole archive ever carries the name asked for.
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _add_media(
    archive: tarfile.TarFile, manifest: Manifest, folder: Path, names: list[str]
) -> None:
    """Every stored file of the images the copied rows name (each image is kept as
    several variants, all named after its SHA-256)."""
    for sha in sorted(names):
        files = sorted(folder.glob(f"{sha}*")) if folder.is_dir() else []
        if not files:
            # Deleted between the copy of the rows and now, or lost before: say so.
            manifest.missing_media.append(sha)
        for path in files:
            with suppress(FileNotFoundError), path.open("rb") as data:
                _add_member(archive, manifest, f"media/{path.name}", data)


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups in `folder`; returns those removed."""
    backups = sorted(folder.glob("kmblog-backup-*.tar.gz"))
    gone = backups[: max(len(backups) - keep, 0)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def backup_name(now: datetime) -> str:
    return f"kmblog-backup-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar.gz"


# --- reading one back --------------------------------------------------------------


def verify(path: Path) -> Manifest:
    """Read the whole archive and check every member against the manifest; raises
    BackupError for a truncated, corrupt or incomplete archive. Writes nothing."""
    digests: dict[str, tuple[str, int]] = {}
    manifest_bytes = None
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive:
                data = _opened(archive, member)
                if member.name == MANIFEST:
                    manifest_bytes = data.read()
                    data = io.BytesIO(manifest_bytes)
                digests[member.name] = _digest(data)
    except (OSError, EOFError, tarfile.TarError, ValueError) as error:
        raise BackupError(f"{path.name} is not a whole kmblog backup ({error}).") from error
    if manifest_bytes is None:
        raise BackupError(f"{path.name} has no manifest: not a whole kmblog backup.")
    try:
        fields = json.loads(manifest_bytes)
        manifest = Manifest(**fields)
    except (ValueError, TypeError) as error:
        raise BackupError(f"{path.name}: its manifest cannot be read ({error}).") from error
    if manifest.format != FORMAT:
        raise BackupError(f"{path.name} is a {manifest.format!r} archive; this is {FORMAT}.")
    for name, expected in manifest.members.items():
        if name not in digests:
            raise BackupError(f"{path.name} lacks {name}: the archive is incomplete.")
        if digests[name] != (expected["sha256"], expected["size"]):
            raise BackupError(f"{path.name}: {name} does not match its checksum.")
    extra = set(digests) - set(manifest.members) - {MANIFEST}
    if extra:
        raise BackupError(f"{path.name} holds files its manifest does not name: {sorted(extra)}.")
    return manifest


def _content_rows(engine: Engine) -> int:
    """Rows in the tables that make an instance not empty (0 for a blank database)."""
    existing = MetaData()
    existing.reflect(engine, only=lambda name, _: name in CONTENT_TABLES)
    with engine.connect() as connection:
        return sum(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in existing.tables.values()
        )


def _content_version(engine: Engine) -> int:
    """The content version the instance served before (0 when it had none), so that the
    restored blog's pages never reuse a cached page's key."""
    try:
        with engine.connect() as connection:
            found = connection.execute(select(func.max(Settings.content_version)))
            return int(found.scalar() or 0)
    except SQLAlchemyError:
        return 0


def _drop_everything(engine: Engine) -> None:
    """Every table, so that the migrations can make the schema again from the start."""
    if engine.dialect.name == "sqlite":
        # A full-text index is a virtual table with shadow tables only it may drop.
        with engine.begin() as connection:
            virtual = connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND sql LIKE 'CREATE VIRTUAL TABLE%'"
                )
            ).scalars()
            for name in list(virtual):
                connection.execute(text(f'DROP TABLE "{name}"'))
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)


def restore(path: Path, media_folder: Path, instance_path: Path, replace: bool) -> Manifest:
    """Restore the archive at `path` into the app's database and media folder."""
    manifest = verify(path)
    engine = db.engine
    if not replace and _content_rows(engine):
        raise BackupError(
            "This instance already has authors, posts, pages, comments or images; restore"
            " fills an empty one. Use --replace to throw them away and restore."
        )
    if not replace and media_folder.is_dir() and any(media_folder.iterdir()):
        raise BackupError(f"The media folder {media_folder} is not empty; use --replace.")
    served_version = _content_version(engine)
    # The schema as the backup knew it; its rows; then this code's newest schema.
    db.session.remove()
    _drop_everything(engine)
    flask_migrate.upgrade(revision=manifest.revision)
    with tarfile.open(path, mode="r:gz") as archive:
        _restore_rows(archive, engine, set(manifest.tables))
    flask_migrate.upgrade()
    _restore_files(path, media_folder, instance_path, replace)
    with engine.begin() as connection:
        restored = connection.execute(select(func.max(Settings.content_version))).scalar() or 0
        raised = update(Settings).values(content_version=max(restored, served_version) + 1)
        connection.execute(raised)
    return manifest


def _restore_rows(archive: tarfile.TarFile, engine: Engine, backed_up: set[str]) -> None:
    """Insert every table's rows in one transaction, parents first. A key that points
    at its own table or at one inserted later is filled in once every row is there.
    Only the tables the backup holds are touched: a full-text index follows its table
    by the database's own triggers."""
    schema = MetaData()
    schema.reflect(engine, only=lambda name, _: name in backed_up)
    order = [table.name for table in schema.sorted_tables]
    position = {name: index for index, name in enumerate(order)}
    with engine.begin() as connection:
        for name in reversed(order):
            # Rows the migrations themselves put in (the settings row) make way.
            connection.execute(schema.tables[name].delete())
        for name in order:
            table = _insertable(schema.tables[name])
            later = {
                key.parent.name
                for key in schema.tables[name].foreign_keys
                if position.get(key.column.table.name, -1) >= position[name]
            }
            data = _opened(archive, f"database/{name}.jsonl")
            deferred: list[dict[str, Any]] = []
            batch: list[dict[str, Any]] = []
            for line in data:
                row = {key: _decode(value) for key, value in json.loads(line).items()}
                keys = {column: row[column] for column in later if row.get(column) is not None}
                if keys:
                    deferred.append({**_primary_key(table, row), **keys})
                    row = {**row, **dict.fromkeys(keys)}
                batch.append(row)
                if len(batch) >= ROWS_PER_BATCH:
                    connection.execute(table.insert(), batch)
                    batch = []
            if batch:
                connection.execute(table.insert(), batch)
            primary = _key_names(table)
            for keys in deferred:
                where = [table.c[column] == keys[column] for column in primary]
                values = {k: v for k, v in keys.items() if k not in primary}
                connection.execute(update(table).where(*where).values(values))
        if engine.dialect.name == "postgresql":
            _reset_sequences(connection, schema)


def _insertable(reflected: Table) -> Table:
    """The table as the database has it (the backup's migration), with the models' column
    types where they know the column, so values go in as the app itself writes them."""
    model = db.metadata.tables.get(reflected.name)
    columns = [
        Column(
            column.name,
            model.c[column.name].type
            if model is not None and column.name in model.c
            else column.type,
            primary_key=column.primary_key,
            autoincrement=False,
        )
        for column in reflected.columns
    ]
    return Table(reflected.name, MetaData(), *columns)


def _key_names(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def _primary_key(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _key_names(table)}


def _reset_sequences(connection: Connection, schema: MetaData) -> None:
    """PostgreSQL hands out ids from sequences that the inserts did not move: move each
    past the largest id restored, so the next post or comment gets a fresh one."""
    for table in schema.sorted_tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f"SELECT setval(:sequence, COALESCE((SELECT MAX({column.name})"  # noqa: S608 - names from the schema
                        f" FROM {table.name}), 0) + 1, false)"
                    ),
                    {"sequence": sequence},
                )


def _restore_files(path: Path, media_folder: Path, instance_path: Path, replace: bool) -> None:
    """The images into the media folder, the secret key into the instance folder."""
    if replace and media_folder.is_dir():
        shutil.rmtree(media_folder)
    media_folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            data = _opened(archive, member)
            if member.name.startswith("media/"):
                # Content-addressed names, checked by verify(): no path leaves the folder.
                name = Path(member.name).name
                with (media_folder / name).open("wb") as out:
                    shutil.copyfileobj(data, out)
            elif member.name == SECRET_KEY_FILE:
                # The blog's own key: its mailed unsubscribe links and its sessions stay
                # valid. An empty instance's key, made on its first start, guards nothing.
                key = instance_path / SECRET_KEY_FILE
                instance_path.mkdir(parents=True, exist_ok=True)
                key.write_bytes(data.read())
                key.chmod(0o600)
