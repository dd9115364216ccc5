"""A service's unit of work: everything it changed is committed together, or nothing is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from kmblog.extensions import db


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit at the end; on any error roll back all of it, then let the error go on,
    so that a caller (a view, the CLI, an import) never has to clean up after us."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


class StaleVersion(Exception):
    """The row was saved by someone else since the version the caller holds."""


class Versioned(Protocol):
    id: Any
    version: Any


def claim_version(model: type[Versioned], row: Versioned, expected: int) -> None:
    """Raise `row`'s version from `expected`, first thing in a save's unit of work, or
    StaleVersion when it is not `expected` any more. The row is then locked (PostgreSQL)
    or the database is (SQLite) until the commit, so that a second save of the same
    version waits for this one and then finds nothing to claim: of two saves made at
    once, or from two editors opened at the same version, one is kept, never both."""
    claimed = db.session.execute(
        update(model)
        .where(model.id == row.id, model.version == expected)
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleVersion
    if row.version != expected:
        # Loaded before a save the caller already knew of: read what that save stored.
        db.session.refresh(row)
    set_committed_value(row, "version", expected + 1)
