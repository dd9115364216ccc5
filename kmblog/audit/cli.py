"""`flask audit list`: the audit trail at the command line, one line an event."""

from __future__ import annotations

from datetime import UTC, date, datetime

import click
from flask.cli import AppGroup

from kmblog.audit.services import AuditFilter, audit_events


@click.group("audit", cls=AppGroup)
def audit_cli() -> None:
    """Read the audit trail."""


def _moment(text: str | None) -> datetime | None:
    """A date (2026-12-07) or a time (2026-12-07T15:30, UTC unless it says otherwise)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise click.BadParameter(
                f"{text!r} is not a date (2026-12-07) or a time (2026-12-07T15:30)"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@audit_cli.command("list")
@click.option("--action", default="", help="An action (comment.held) or a group (comment).")
@click.option("--user", "person", default="", help="Done by this username.")
@click.option("--since", default=None, help="From this date or time (UTC unless given).")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="At most."
)
def list_command(action: str, person: str, since: str | None, limit: int) -> None:
    """The newest events, one a line: time (UTC), action, who, subject, summary."""
    wanted = AuditFilter(action=action.strip(), person=person.strip(), since=_moment(since))
    for event in audit_events(wanted, limit):
        who = event.actor_name or ("a rule" if "rule" in event.details else "the blog")
        subject = f"{event.subject_type} {event.subject_id or ''}".strip() or "-"
        stamp = event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(f"{stamp}\t{event.action}\t{who}\t{subject}\t{event.summary}")
