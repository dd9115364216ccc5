"""Mail to an author when something about how they sign in changes (a passkey added
or removed, a second factor turned on or off, a password reset): if it was not them,
they hear of it at once.

The mail is a job (kmblog/jobs) like every other mail, so the request that made the
change never waits on a mail server, and a server that is down is tried again.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import Flask, current_app, render_template, url_for

from kmblog import jobs
from kmblog.extensions import db
from kmblog.mail.services import base_url
from kmblog.mail.transport import MailSettings, send_message
from kmblog.models import User, utcnow
from kmblog.settings import get_settings
from kmblog.timefmt import blog_zone, clock, long_date

SECURITY_MAIL = "auth.security_mail"


def mail_security_change(user: User, change: str) -> None:
    """Tell `user` by mail that `change` (a sentence: "A passkey named “Phone” was
    added to your account.") happened now. Never fails the request that asked."""
    jobs.enqueue(SECURITY_MAIL, user.id, change, utcnow().isoformat())


def send_security_mail(user_id: int, change: str, when: str) -> None:
    """The job: build the mail and hand it to the mail server (raises, to be tried
    again, when the server does not take it)."""
    user = db.session.get(User, user_id)
    if user is None or not user.email:
        return
    settings = get_settings()
    moment = datetime.fromisoformat(when).astimezone(blog_zone(settings.timezone))
    base = base_url()
    with current_app.test_request_context("/", base_url=base):
        security_url = url_for("manage.security", _external=True)
        body = render_template(
            "mail/security.txt",
            author=user,
            change=change,
            when=f"{long_date(moment)} at {clock(moment)} ({moment.tzname()})",
            security_url=security_url,
            blog_title=settings.title,
        )
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = f"Your sign-in on {settings.title} changed"
    message["From"] = config["MAIL_SENDER"]
    message["To"] = user.email
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(config["MAIL_SENDER"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    send_message(message, MailSettings.from_config(config, current_app.instance_path))


def init_app(app: Flask) -> None:
    jobs.queue_of(app).register(SECURITY_MAIL, send_security_mail)
