"""Sending a built message: to the SMTP server the settings name, or, with none, into
an .eml file in the outbox folder (so a fresh install shows its mail with no set-up).

The standard library's email.message.EmailMessage builds messages (headers encoded,
lines folded, MIME right) and smtplib speaks SMTP with STARTTLS or TLS: maintained with
Python itself, and all a queue worker needs; a wrapper package would add nothing here.
"""

from __future__ import annotations

import enum
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from kmblog.models import utcnow


class Tls(enum.StrEnum):
    STARTTLS = "starttls"
    SSL = "ssl"
    NONE = "none"


@dataclass(frozen=True)
class MailSettings:
    """KMBLOG_MAIL_*: where and how mail goes out."""

    server: str | None
    port: int
    tls: Tls
    user: str | None
    password: str | None
    sender: str
    timeout: float
    outbox: Path

    @classmethod
    def from_config(cls, config: dict[str, Any], instance_path: str) -> MailSettings:
        outbox = config.get("MAIL_OUTBOX") or str(Path(instance_path) / "outbox")
        return cls(
            server=config.get("MAIL_SERVER") or None,
            port=int(config["MAIL_PORT"]),
            tls=Tls(str(config["MAIL_TLS"]).lower()),
            user=config.get("MAIL_USER") or None,
            password=config.get("MAIL_PASSWORD") or None,
            sender=config["MAIL_SENDER"],
            timeout=float(config["MAIL_TIMEOUT"]),
            outbox=Path(outbox),
        )


def send_message(message: EmailMessage, settings: MailSettings) -> None:
    """Hand the message to the mail server (raises if it does not accept it), or write
    it to the outbox when no server is configured."""
    if settings.server is None:
        _write_to_outbox(message, settings.outbox)
        return
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls == Tls.SSL:
        smtp = smtplib.SMTP_SSL(
            settings.server, settings.port, timeout=settings.timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.tls == Tls.STARTTLS:
            smtp.starttls(context=context)
        if settings.user and settings.password:
            smtp.login(settings.user, settings.password)
        smtp.send_message(message)


def _write_to_outbox(message: EmailMessage, outbox: Path) -> None:
    """One .eml file per message, named by time and Message-ID, written whole or not at
    all (a temporary name, then a rename)."""
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    token = str(message["Message-ID"]).strip("<>").split("@")[0]
    final = outbox / f"{stamp}-{token}.eml"
    partial = outbox / f".{final.name}.tmp"
    partial.write_bytes(message.as_bytes())
    partial.replace(final)
