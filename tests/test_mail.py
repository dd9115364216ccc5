"""E-mail notifications against a real SMTP server (aiosmtpd on loopback) and a real
job queue (Huey on a SQLite file, its consumer in threads as `flask serve` runs it)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from kmblog.comments.services import CommentRules, MailWish, NewComment, add_comment
from kmblog.extensions import db
from kmblog.jobs import start_in_process
from kmblog.mail import sweep_job
from kmblog.mail.services import confirm_subscriber
from kmblog.manage.services import set_comment_status
from kmblog.models import (
    Comment,
    CommentMail,
    CommentPolicy,
    CommentStatus,
    MailEvent,
    Notification,
    Post,
    Subscriber,
    SubscriptionKind,
    User,
    Webmention,
    utcnow,
)
from kmblog.webmention.services import set_mention_status
from tests.factories import BlogBuilder
from tests.live_server import TcpProxy
from tests.mail_server import MailServer, body_of, comment_ids_in, link_in, wait_until
from tests.test_comments import post_comment
from tests.test_webmention import reply_page
from tests.web_peer import Page, web_peer

COALESCE = 2
# Long enough for a window to close and its mail to go out (the scheduler looks every second).
SETTLE = COALESCE + 3


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


def _mail_app(make_app, smtp: MailServer, tmp_path, **overrides) -> Flask:  # type: ignore[no-untyped-def]
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_TLS": "none",
        "MAIL_SENDER": "KM Depot <depot@blog.test>",
        "MAIL_COALESCE_SECONDS": COALESCE,
        "MAIL_RETRY_SECONDS": 0.5,
        "MAIL_RETRY_MAX_SECONDS": 1,
        "JOBS_SQLITE_PATH": str(tmp_path / "jobs.sqlite"),
    }
    return make_app(**{**settings, **overrides})


@pytest.fixture
def mail_app(make_app, smtp, tmp_path) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    app = _mail_app(make_app, smtp, tmp_path)
    consumer = start_in_process(app, workers=2)
    yield app
    consumer.stop(graceful=True)


def comment(
    app: Flask,
    post_id: int,
    body: str,
    parent: int | None = None,
    email: str = "",
    kind: SubscriptionKind = SubscriptionKind.REPLIES,
    policy: CommentPolicy = CommentPolicy.OPEN,
    bot: bool = False,
) -> int:
    """A comment (or a reply) through the real service."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        stored = add_comment(
            post,
            NewComment(body=body, name="Reader"),
            CommentRules(policy=policy),
            utcnow(),
            parent_id=parent,
            mail=MailWish(email, kind) if email else None,
            bot_suspected=bot,
        )
        return stored.id


def confirmed_subscriber(app: Flask, post_id: int, email: str, kind: SubscriptionKind) -> int:
    """A commenter whose address is already confirmed (the double opt-in has its own test)."""
    comment_id = comment(app, post_id, "I would like to hear more.", email=email, kind=kind)
    with app.app_context():
        subscriber = db.session.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        confirm_subscriber(subscriber.id, email, utcnow())
    return comment_id


def quiet_for(seconds: float) -> None:
    time.sleep(seconds)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_confirmation_first_then_only_published_replies_each_once(mail_app, blog, smtp):
    post = blog.post(title="Knowledge maps")
    client = mail_app.test_client()
    response = post_comment(
        client, post.url, body="Where do maps fit?", email="Ann@Example.org", notify="replies"
    )
    assert response.status_code == 303
    ann = "Ann@example.org"
    wait_until(lambda: len(smtp.inbox.to(ann)) == 1, what="the confirmation mail")
    confirmation = smtp.inbox.to(ann)[0]
    assert "confirm" in confirmation["Subject"].lower()
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with mail_app.app_context():
        ann_comment = db.session.scalars(select(Comment.id)).one()

    # Not confirmed yet: a reply sends nothing to Ann.
    comment(mail_app, post.id, "Maps come after the needs.", parent=ann_comment)
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(ann)) == 1

    confirm = path_of(link_in(confirmation, "/mail/confirm/"))
    page = client.get(confirm)
    assert page.status_code == 200 and "Confirm your address" in page.text
    with mail_app.app_context():
        assert db.session.scalars(select(Subscriber.confirmed_at)).one() is None
    assert client.post(confirm).status_code == 200

    reply = comment(mail_app, post.id, "Maps show who knows what.", parent=ann_comment)
    wait_until(lambda: len(smtp.inbox.to(ann)) == 2, what="the reply notification")
    notification = smtp.inbox.to(ann)[1]
    assert "Knowledge maps" in notification["Subject"]
    assert comment_ids_in(notification) == [reply]
    assert "Maps show who knows what." in body_of(notification)
    assert notification["List-Unsubscribe"].startswith("<http://blog.test/mail/unsubscribe/")

    # Held: nothing until a moderator approves it; then exactly one mail. Spam: never.
    held = comment(
        mail_app, post.id, "Held reply.", parent=ann_comment, policy=CommentPolicy.MODERATED
    )
    comment(mail_app, post.id, "Cheap pills.", parent=ann_comment, bot=True)
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(ann)) == 2
    with mail_app.app_context():
        set_comment_status([db.session.get(Comment, held)], CommentStatus.PUBLISHED)
    wait_until(lambda: len(smtp.inbox.to(ann)) == 3, what="the approved reply's mail")
    assert comment_ids_in(smtp.inbox.to(ann)[2]) == [held]
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(ann)) == 3


def test_a_one_click_unsubscribe_post_stops_further_mail(mail_app, blog, smtp):
    post = blog.post()
    bob = "bob@example.org"
    confirmed_subscriber(mail_app, post.id, bob, SubscriptionKind.POST)
    comment(mail_app, post.id, "First answer.")
    wait_until(lambda: len(smtp.inbox.to(bob)) == 1, what="the first notification")
    header = smtp.inbox.to(bob)[0]["List-Unsubscribe"]
    target = path_of(header.strip("<>"))
    client = mail_app.test_client()
    # A forged or damaged link does nothing.
    forged = client.post(target[:-3] + "xyz", data="List-Unsubscribe=One-Click")
    assert forged.status_code == 404
    # The mail provider's POST (RFC 8058), from its own servers: no Origin, no cookies.
    answer = client.post(
        target,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.text
    comment(mail_app, post.id, "Second answer.")
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(bob)) == 1


def test_the_subscriptions_page_lists_and_ends_them(mail_app, blog, smtp):
    first, second = blog.post(title="On maps"), blog.post(title="On yellow pages")
    cy = "cy@example.org"
    confirmed_subscriber(mail_app, first.id, cy, SubscriptionKind.POST)
    confirmed_subscriber(mail_app, second.id, cy, SubscriptionKind.REPLIES)
    comment(mail_app, first.id, "News on maps.")
    wait_until(lambda: len(smtp.inbox.to(cy)) == 1, what="a notification")
    page_path = path_of(link_in(smtp.inbox.to(cy)[0], "/mail/subscriptions/"))
    client = mail_app.test_client()
    page = client.get(page_path)
    assert "On maps" in page.text and "On yellow pages" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    ended = client.post(page_path, data={"end": "all"})
    assert "Ended 2 subscriptions." in ended.text
    assert "no subscriptions" in client.get(page_path).text


def test_ten_replies_within_one_interval_make_one_coalesced_mail(make_app, smtp, tmp_path, blog):
    interval = 6
    app = _mail_app(make_app, smtp, tmp_path, MAIL_COALESCE_SECONDS=interval)
    consumer = start_in_process(app, workers=2)
    try:
        post = blog.post()
        dee = "dee@example.org"
        mine = confirmed_subscriber(app, post.id, dee, SubscriptionKind.REPLIES)
        # Start just after a window opens, so that all ten fall within it.
        time.sleep(interval - time.time() % interval + 0.05)
        replies = [comment(app, post.id, f"Reply {n}.", parent=mine) for n in range(10)]
        wait_until(lambda: len(smtp.inbox.to(dee)) == 1, seconds=interval + 10, what="one mail")
        quiet_for(3)
        mails = smtp.inbox.to(dee)
        assert len(mails) == 1
        assert mails[0]["Subject"].startswith("10 new comments on")
        assert comment_ids_in(mails[0]) == replies
    finally:
        consumer.stop(graceful=True)


def test_with_the_mail_server_down_a_comment_is_accepted_and_its_mail_comes_later(
    mail_app, blog, smtp
):
    post = blog.post()
    eve = "eve@example.org"
    confirmed_subscriber(mail_app, post.id, eve, SubscriptionKind.POST)
    smtp.stop()
    client = mail_app.test_client()
    response = post_comment(client, post.url, body="Said while the mail server was down.")
    assert response.status_code == 303
    with mail_app.app_context():
        wait_until(
            lambda: (
                (
                    db.session.scalar(
                        select(Notification.attempts).where(Notification.subscriber_id.is_not(None))
                    )
                    or 0
                )
                >= 1
            ),
            what="a failed try",
        )
        db.session.remove()
    assert smtp.inbox.to(eve) == []
    smtp.start()  # the same server comes back; nothing is restarted on our side
    wait_until(lambda: len(smtp.inbox.to(eve)) == 1, what="the mail once the server is back")
    assert "Said while the mail server was down." in body_of(smtp.inbox.to(eve)[0])
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(eve)) == 1


def test_authors_hear_of_new_and_held_comments_as_they_chose(mail_app, blog, smtp):
    author = blog.author("fay", email="fay@example.org", password="x" * 12)
    post = blog.post(title="Fay's post", author_id=author)
    fay = "fay@example.org"
    comment(mail_app, post.id, "Good post.")
    wait_until(lambda: len(smtp.inbox.to(fay)) == 1, what="the author's mail")
    assert smtp.inbox.to(fay)[0]["Subject"] == "New comment on \u201cFay's post\u201d"
    held = comment(mail_app, post.id, "Please approve.", policy=CommentPolicy.MODERATED)
    wait_until(lambda: len(smtp.inbox.to(fay)) == 2, what="the held comment's mail")
    mail = smtp.inbox.to(fay)[1]
    assert "awaits your approval" in mail["Subject"]
    assert "http://blog.test/manage/comments" in body_of(mail)
    # Approving it tells subscribers, not the author again.
    with mail_app.app_context():
        set_comment_status([db.session.get(Comment, held)], CommentStatus.PUBLISHED)
    # A daily digest gathers the day's comments into one mail, due at midnight UTC.
    with mail_app.app_context():
        user = db.session.get(User, author)
        user.comment_mail = CommentMail.DIGEST
        db.session.commit()
    comment(mail_app, post.id, "For the digest.")
    quiet_for(SETTLE)
    assert len(smtp.inbox.to(fay)) == 2
    with mail_app.app_context():
        digest = db.session.scalars(
            select(Notification).where(Notification.key.like(f"digest:{author}:%"))
        ).one()
        assert digest.due_at.time() == datetime.min.time() and digest.due_at > datetime.now(UTC)


def test_an_author_chooses_their_comment_mail_on_their_own_page(client, auth, writer):
    auth.login("writer")
    page = client.get("/manage/account")
    assert page.status_code == 200 and "Mail about comments on your posts" in page.text
    saved = auth.post_form(
        "/manage/account", {"email": "writer@example.org", "comment_mail": "digest"}
    )
    assert saved.status_code == 303
    assert 'selected value="digest"' in client.get("/manage/account").text
    refused = auth.post_form("/manage/account", {"email": "nope", "comment_mail": "digest"})
    assert refused.status_code == 422


def test_without_a_mail_server_each_mail_is_an_eml_file_in_the_outbox(make_app, tmp_path, blog):
    outbox = tmp_path / "outbox"
    app = make_app(
        MAIL_OUTBOX=str(outbox),
        MAIL_COALESCE_SECONDS=1,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
    )
    consumer = start_in_process(app)
    try:
        post = blog.post()
        comment(app, post.id, "Mail me.", email="gus@example.org")
        wait_until(lambda: len(list(outbox.glob("*.eml"))) == 1, what="an .eml file")
        text = next(outbox.glob("*.eml")).read_text()
        assert "To: gus@example.org" in text and "List-Unsubscribe-Post" in text
    finally:
        consumer.stop(graceful=True)


def test_a_confirmation_post_from_another_site_is_refused(mail_app, blog, smtp):
    post = blog.post()
    post_comment(mail_app.test_client(), post.url, body="Hi.", email="hal@example.org")
    wait_until(lambda: len(smtp.inbox.to("hal@example.org")) == 1, what="the confirmation")
    confirm = path_of(link_in(smtp.inbox.to("hal@example.org")[0], "/mail/confirm/"))
    answer = mail_app.test_client().post(confirm, headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 403
    with mail_app.app_context():
        assert db.session.scalars(select(Subscriber.confirmed_at)).one() is None


def test_a_commenters_address_is_in_no_page_feed_or_export(app, client, blog, runner, tmp_path):
    """Given with two comments (one published, one held), the address appears nowhere a
    reader or an export looks: post page, home, search, feeds (Atom and RSS), the
    Blogger export and the JSON export."""
    post = blog.post(title="Hidden addresses", body="Where do addresses go?")
    address = "secret.reader@example.org"
    for body in ("A published comment.", "A comment with http://a.example http://b.example "):
        data = {"body": body, "name": "Ivy", "email": address, "notify": "post"}
        assert post_comment(client, post.url, **data).status_code == 303
    blog.post(title="Another post")
    with app.app_context():  # kept (for mail), as typed but for the domain's case
        assert db.session.scalars(select(Subscriber.email)).all() == [address]
    places = [
        post.url,
        "/",
        "/search?q=addresses",
        "/feeds/comments/default",
        f"/feeds/{post.id}/comments/default",
        f"/feeds/{post.id}/comments/default?alt=rss",
        "/feeds/posts/default",
    ]
    for place in places:
        page = client.get(place)
        assert page.status_code == 200, place
        assert "secret.reader" not in page.text, place
    assert "A published comment." in client.get(post.url).text
    for kind in ("blogger", "json"):
        out = tmp_path / f"export.{kind}"
        result = runner.invoke(args=["export", kind, str(out)])
        assert result.exit_code == 0, result.output
        text = out.read_text()
        assert "A published comment." in text
        assert "secret.reader" not in text, kind


def test_a_held_comments_address_is_asked_to_confirm_only_once_approved(mail_app, blog, smtp):
    post = blog.post()
    held = comment(
        mail_app, post.id, "Held.", email="jan@example.org", policy=CommentPolicy.MODERATED
    )
    comment(mail_app, post.id, "Spam.", email="spammed@example.org", bot=True)
    quiet_for(SETTLE)
    assert smtp.inbox.messages == []
    with mail_app.app_context():
        # A spam comment's address is not even kept.
        assert db.session.scalars(select(Subscriber.email)).all() == ["jan@example.org"]
        set_comment_status([db.session.get(Comment, held)], CommentStatus.PUBLISHED)
    wait_until(lambda: len(smtp.inbox.to("jan@example.org")) == 1, what="the confirmation")
    assert "confirm" in smtp.inbox.to("jan@example.org")[0]["Subject"].lower()


def test_a_mailbox_refused_for_good_is_not_tried_again_and_blocks_no_other(mail_app, blog, smtp):
    post = blog.post()
    smtp.inbox.refused.add("gone@example.org")
    confirmed_subscriber(mail_app, post.id, "gone@example.org", SubscriptionKind.POST)
    confirmed_subscriber(mail_app, post.id, "kay@example.org", SubscriptionKind.POST)
    comment(mail_app, post.id, "News for both.")
    wait_until(lambda: len(smtp.inbox.to("kay@example.org")) >= 1, what="Kay's mail")
    quiet_for(SETTLE)
    with mail_app.app_context():
        refused = db.session.scalars(
            select(Notification)
            .join(Subscriber, Subscriber.id == Notification.subscriber_id)
            .where(Subscriber.email == "gone@example.org")
        ).all()
    assert refused
    for notification in refused:  # each refused once, never tried again
        assert notification.failed_at is not None and notification.sent_at is None
        assert "550" in notification.last_error and notification.attempts == 0
    assert smtp.inbox.rcpt_attempts.count("gone@example.org") == len(refused)


def test_a_comment_is_accepted_at_once_with_the_job_queue_down_and_its_mail_follows(
    make_app, smtp, tmp_path, blog
):
    """Redis (the queue) unreachable: the comment is stored and answered as usual; its
    mail event waits in the database, and the sweep every worker runs once a minute
    sends it when the queue is back."""
    proxy = TcpProxy(("127.0.0.1", 6379))
    name = f"kmblog-test-{secrets.token_hex(4)}"
    app = _mail_app(
        make_app, smtp, tmp_path, JOBS_REDIS_URL=f"redis://127.0.0.1:{proxy.port}/12",
        JOBS_NAME=name,
    )  # fmt: skip
    post = blog.post()
    lee = "lee@example.org"
    proxy.start()
    confirmed_subscriber(app, post.id, lee, SubscriptionKind.POST)
    proxy.stop()
    started = time.monotonic()
    response = post_comment(app.test_client(), post.url, body="Said while Redis was away.")
    assert response.status_code == 303
    assert time.monotonic() - started < 3
    with app.app_context():
        waiting = db.session.scalars(
            select(MailEvent.id).where(MailEvent.processed_at.is_(None))
        ).all()
    assert len(waiting) == 2  # the subscriber's own comment's, and this one's
    proxy.start()
    consumer = start_in_process(app)
    try:
        time.sleep(10)  # the sweep leaves events younger than 10 s to their own jobs
        with app.app_context():
            sweep_job()
        wait_until(lambda: len(smtp.inbox.to(lee)) == 1, what="the mail once Redis is back")
        assert "Said while Redis was away." in body_of(smtp.inbox.to(lee)[0])
    finally:
        consumer.stop(graceful=True)
        proxy.stop()
        queue = redis.Redis.from_url("redis://127.0.0.1:6379/12")
        for key in queue.scan_iter(match=f"*{name.replace('-', '')}*"):
            queue.delete(key)


def test_an_approved_webmention_reply_mails_as_an_approved_comment_does(make_app, smtp, tmp_path):
    app = _mail_app(make_app, smtp, tmp_path, FETCH_ALLOW_LOOPBACK=True)
    consumer = start_in_process(app, workers=2)
    try:
        blog = BlogBuilder(app)
        author = blog.author("fay", email="fay@example.org", password="x" * 12)
        post = blog.post(title="Fay's post", author_id=author)
        ann = "ann@example.org"
        ann_comment = confirmed_subscriber(app, post.id, ann, SubscriptionKind.REPLIES)

        def replies_to_ann() -> list[EmailMessage]:
            # Not the confirmation mail, which the queue may still send after the test
            # confirmed her address directly (the jobs run in their own order).
            return [m for m in smtp.inbox.to(ann) if "confirm" not in m["Subject"].lower()]

        wait_until(lambda: len(smtp.inbox.to("fay@example.org")) == 1, what="Ann's comment's")
        blog.settings(comment_policy=CommentPolicy.MODERATED)
        with web_peer() as site:
            target = f"http://blog.test{post.url}"
            source = site.page("/r", Page(body=reply_page(f"{target}#c{ann_comment}")))
            sent = app.test_client().post("/webmention", data={"source": source, "target": target})
            assert sent.status_code == 202, sent.text
            wait_until(
                lambda: len(smtp.inbox.to("fay@example.org")) == 2, what="the held reply's mail"
            )
        assert "awaits your approval" in smtp.inbox.to("fay@example.org")[1]["Subject"]
        assert replies_to_ann() == []  # held: nothing to Ann yet
        with app.app_context():
            mention = db.session.scalars(select(Webmention)).one()
            reply_id = mention.comment_id
            set_mention_status(mention, CommentStatus.PUBLISHED, utcnow())
        wait_until(lambda: len(replies_to_ann()) == 1, what="the approved reply's mail")
        assert comment_ids_in(replies_to_ann()[0]) == [reply_id]
        quiet_for(SETTLE)
        assert len(replies_to_ann()) == 1
    finally:
        consumer.stop(graceful=True)
