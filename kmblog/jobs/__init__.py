"""The job queue: everything slow or outgoing (mail now; webmentions, federation later)
runs here, never in a reader's request.

Huey (a small, maintained queue with retries, delays and periodic tasks) keeps the
queue in SQLite in the instance folder by default, so a fresh machine needs nothing,
and in Redis when REDIS_URL is set, so that several app servers and worker processes
share one queue. Jobs run inside an app context; `flask jobs worker` runs them in
production, and `flask serve` (what `make run` starts) runs them beside the
development server in the same process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from redis import ConnectionPool

log = logging.getLogger(__name__)

EXTENSION = "kmblog.jobs"
Job = Callable[..., None]


class JobQueue:
    """One app's queue and the jobs registered on it (by name, so that a worker in
    another process finds the job a web server enqueued)."""

    def __init__(self, app: Flask, huey: Huey) -> None:
        self.app = app
        self.huey = huey
        self._tasks: dict[str, Any] = {}

    def register(
        self,
        name: str,
        job: Job,
        *,
        retries: int = 8,
        retry_delay: float = 5,
        every_minute: bool = False,
    ) -> None:
        """Make `job` runnable by name. A job that raises is tried again `retries` times,
        each wait twice the last (from `retry_delay` seconds); `every_minute` also runs
        it once a minute (each worker's scheduler enqueues it: jobs must be idempotent)."""
        app = self.app

        def run_in_app(*args: Any) -> None:
            with app.app_context():
                job(*args)

        run_in_app.__name__ = name
        options: dict[str, Any] = {
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_backoff": 2,
            "name": name,
        }
        if every_minute:
            task = self.huey.periodic_task(crontab(minute="*"), **options)(run_in_app)
        else:
            task = self.huey.task(**options)(run_in_app)
        self._tasks[name] = task

    def enqueue(self, name: str, *args: Any, at: datetime | None = None) -> bool:
        """Queue a job (at a time, or now). Never raises: a queue that is down must not
        fail the request that asked; the periodic sweep picks up what it missed.
        Returns whether the job was queued."""
        task = self._tasks[name]
        try:
            if at is None:
                task(*args)
            else:
                task.schedule(args=args, eta=at)
        except Exception:
            log.exception("could not queue job %s; the periodic sweep will catch up", name)
            return False
        return True

    def consumer(self, workers: int) -> Consumer:
        """A Huey consumer with `workers` threads and the scheduler (delayed and periodic
        jobs), run by `flask jobs worker`."""
        return self.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=True, max_delay=2.0
        )


class InProcessConsumer(Consumer):  # type: ignore[misc]  # huey ships no types
    """The consumer beside the development server: its threads only. The server keeps
    the process's signals, so one Ctrl-C stops both."""

    def _set_signal_handlers(self) -> None:
        pass


def start_in_process(app: Flask, workers: int = 2) -> InProcessConsumer:
    """Start workers and scheduler as daemon threads of this process (`flask serve`)."""
    consumer = InProcessConsumer(
        queue_of(app).huey, workers=workers, worker_type="thread", periodic=True, max_delay=1.0
    )
    consumer.start()
    return consumer


def _make_huey(app: Flask) -> Huey:
    # .get: an app configured by an older config.py (an upgrade in place) still starts.
    name = app.config.get("JOBS_NAME") or "kmblog"
    url = app.config.get("JOBS_REDIS_URL") or app.config.get("REDIS_URL")
    if url:
        # Short timeouts: a request that queues a job must not hang on a Redis that
        # went away (the job is caught up from the database later).
        pool = ConnectionPool.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        return RedisHuey(name, results=False, connection_pool=pool)
    path = app.config.get("JOBS_SQLITE_PATH") or str(Path(app.instance_path) / "jobs.sqlite")
    return SqliteHuey(name, results=False, filename=path, timeout=5)


def init_app(app: Flask) -> JobQueue:
    queue = JobQueue(app, _make_huey(app))
    app.extensions[EXTENSION] = queue
    return queue


def queue_of(app: Flask) -> JobQueue:
    queue: JobQueue = app.extensions[EXTENSION]
    return queue


def enqueue(name: str, *args: Any, at: datetime | None = None) -> bool:
    """Queue a job on the current app's queue (see JobQueue.enqueue)."""
    return queue_of(current_app).enqueue(name, *args, at=at)
