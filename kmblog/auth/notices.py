"""Mail to an author when something about how they sign in changes (a second factor
enabled or removed, recovery codes made or used, a new password), so that a change
they did not make does not go unnoticed.

The mail goes through the job queue like comment mail (kmblog/mail): the request that
made the change never waits for the mail server, and a send that fails is tried again
with growing waits (the queue's retries).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import Flask, current_app, render_template

from kmblog import jobs
from kmblog.auth.services import find_user
from kmblog.mail.services import base_url
from kmblog.mail.transport import MailSettings, send_message
from kmblog.models import User, utcnow
from kmblog.settings import get_settings

SECURITY_MAIL = "auth.security_mail"


def mail_security_change(user: User, change: str) -> None:
    """Tell `user` by mail that `change` happened to their sign-in (now); nothing for an
    author without an address. Never fails the request that asks."""
    if not user.email:
        return
    jobs.enqueue(SECURITY_MAIL, user.id, change, utcnow().isoformat())


def build_security_message(user: User, change: str, when: datetime) -> EmailMessage:
    """The mail that tells `user` of `change`, made at `when`."""
    config = current_app.config
    blog_title = get_settings().title
    body = render_template(
        "mail/security.txt",
        user=user,
        change=change,
        when=when.strftime("%d %B %Y, %H:%M UTC"),
        blog_title=blog_title,
        security_url=base_url() + "/manage/account/security",
    )
    message = EmailMessage()
    message["Subject"] = f"A change to how you sign in to {blog_title}"
    message["From"] = config["MAIL_SENDER"]
    message["To"] = user.email
    message["Date"] = format_datetime(when)
    domain = parseaddr(config["MAIL_SENDER"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def send_security_mail_job(user_id: int, change: str, when: str) -> None:
    """Send the notice (raises when the server does not take it: the queue tries again)."""
    user = find_user(user_id)
    if user is None or not user.email:
        return
    message = build_security_message(user, change, datetime.fromisoformat(when))
    send_message(message, MailSettings.from_config(current_app.config, current_app.instance_path))


def init_app(app: Flask) -> None:
    jobs.queue_of(app).register(SECURITY_MAIL, send_security_mail_job)
