"""Commands: `flask jobs worker` (production: its own process, several threads) and
`flask serve` (what `make run` starts: the development server with the workers beside
it, in one process, so one command and one Ctrl-C run and stop everything)."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from werkzeug.serving import run_simple

from kmblog.jobs import queue_of, start_in_process


@click.group("jobs", cls=AppGroup)
def jobs_cli() -> None:
    """The job queue."""


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running jobs.")
def worker_command(workers: int) -> None:
    """Run jobs until stopped (SIGTERM or SIGINT finish the running ones first)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    consumer = queue_of(current_app._get_current_object()).consumer(workers)  # type: ignore[attr-defined]
    consumer.run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="Threads running jobs.")
@with_appcontext
def serve_command(host: str, port: int, workers: int) -> None:
    """The development server, with the job workers in threads of the same process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    consumer = start_in_process(app, workers)
    try:
        # Werkzeug's server, as `flask run` starts it (app.run refuses inside a command).
        run_simple(host, port, app, use_reloader=False, threaded=True)
    finally:
        consumer.stop(graceful=True)
