"""A change signal beside a SQLite database: eight bytes that every process on the
machine maps, raised after each commit that changed what readers see.

A cached page is worth no more than the check that it is still current. That check was
a query on every hit (the content version), and SQLAlchemy's handling of it cost more
than all the rest of a hit together. A SQLite blog lives on one machine, so its
processes can share a counter in memory instead: a reader compares the counter with the
one it saw when it last read the version, and reads the version again only when the
counter moved (kmblog.pagecache.version.VersionWatch). Reading the counter is reading
memory; raising it takes a file lock, once per write.

A server database (PostgreSQL) may be written from other machines, where no counter of
ours is seen: it has no signal, and the version is read on every hit as before.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import threading
from pathlib import Path

from sqlalchemy import Engine

log = logging.getLogger(__name__)

_COUNTER = struct.Struct("<Q")


class ChangeSignal:
    """A counter in a small file, mapped into memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _COUNTER.size:
                os.ftruncate(fd, _COUNTER.size)
            self._map = mmap.mmap(fd, _COUNTER.size)
        finally:
            os.close(fd)

    def value(self) -> int:
        return int(_COUNTER.unpack_from(self._map)[0])

    def raise_(self) -> None:
        """Move the counter on: every process re-reads the version on its next page."""
        with self.path.open("rb+") as file:
            # Two writers at once must not both write the same next value.
            fcntl.flock(file, fcntl.LOCK_EX)
            _COUNTER.pack_into(self._map, 0, (self.value() + 1) % 2**64)


_signals: dict[Path, ChangeSignal | None] = {}
_lock = threading.Lock()


def change_signal(engine: Engine) -> ChangeSignal | None:
    """The signal of the SQLite database file `engine` writes, or None (another
    database, an in-memory one, or a folder this process may not write in)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None
    path = Path(os.path.abspath(url.database + ".version"))
    with _lock:
        if path not in _signals:
            try:
                _signals[path] = ChangeSignal(path)
            except OSError:
                log.warning("no change signal at %s: the page version is read on every page", path)
                _signals[path] = None
        return _signals[path]
