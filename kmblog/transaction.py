"""A service's unit of work: everything it changed is committed together, or nothing is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
