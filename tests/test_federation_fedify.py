"""A third-party ActivityPub implementation as the blog's follower: Fedify 1.5 (the
framework Ghost's ActivityPub service is built on), run by Node on loopback
(tests/federation_peer/follower.mjs).

It looks the blog up as @blog@127.0.0.1:PORT by WebFinger (over HTTPS, as Fedify always
does for a handle: the blog is served with a certificate made for the test), follows it,
receives the Accept and then a post's Create, Update and Delete, each signed and checked
by Fedify against the key the blog's actor publishes; its reply appears under the post
once a moderator approves it. The delivery jobs run in a real Huey consumer.

Needs Node 20+ and `npm --prefix tests/federation_peer ci`; skipped without them unless
KMBLOG_REQUIRE_FEDIFY=1.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from kmblog import jobs
from kmblog.auth.services import set_fediverse_actor
from kmblog.extensions import db
from kmblog.federation import sweep_job as federation_sweep
from kmblog.manage.services import (
    PostAction,
    PostDraft,
    create_post,
    delete_post,
    save_post,
    set_comment_status,
)
from kmblog.models import Comment, CommentPolicy, CommentStatus, Follower, Post, User, utcnow
from kmblog.webmention import sweep_job as webmention_sweep
from kmblog.webmention.web import post_changed
from tests.factories import BlogBuilder
from tests.live_server import free_port
from tests.web_peer import Page, WebPeer, web_peer

PEER = Path(__file__).parent / "federation_peer"
FEDIFY = PEER / "node_modules" / "@fedify" / "fedify"
NODE = shutil.which("node")
WAIT = 60.0

if not (NODE and FEDIFY.is_dir()):
    if os.environ.get("KMBLOG_REQUIRE_FEDIFY"):
        raise RuntimeError(
            "Fedify is required: install Node 20+ and run npm --prefix tests/federation_peer ci"
        )
    pytest.skip(
        "Fedify not installed (npm --prefix tests/federation_peer ci)", allow_module_level=True
    )


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class Follower_:
    """The Fedify follower process: commands in, events out (JSON lines)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip().startswith("{"):
                self.events.put(json.loads(line))

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def wait_for(self, test: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = dt.datetime.now() + dt.timedelta(seconds=WAIT)
        while dt.datetime.now() < deadline:
            try:
                event = self.events.get(timeout=1)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event.get("event") == "error":
                raise AssertionError(f"the follower failed: {event['error']}")
            if test(event):
                return event
        raise AssertionError(f"no {what} within {WAIT}s; the follower saw {self.seen}")

    def inbox(self, kind: str) -> dict[str, Any]:
        return self.wait_for(lambda e: e["event"] == "inbox" and e["type"] == kind, kind)


@pytest.fixture
def site() -> Iterator[WebPeer]:
    """Another site on loopback: the WebSub hub, and a page the posts may link to."""
    with web_peer() as peer:
        peer.page("/hub", Page(204))
        yield peer


@pytest.fixture
def served_blog(
    make_app: Callable[..., Flask], tmp_path: Path, site: WebPeer
) -> Iterator[tuple[Flask, str, Path]]:
    """The blog over HTTPS on 127.0.0.1, with a job worker of its own."""
    cert, key = _certificate(tmp_path)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    app = make_app(
        without=("SERVER_NAME",),
        BASE_URL=base,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
        FEDERATION_RETRY_SECONDS=1,
        FETCH_ALLOW_LOOPBACK=True,
        WEBSUB_HUB=site.url("/hub"),
    )
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=(str(cert), str(key)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    consumer = jobs.start_in_process(app)
    try:
        yield app, base, cert
    finally:
        consumer.stop()
        server.shutdown()


@pytest.fixture
def fedify(served_blog: tuple[Flask, str, Path]) -> Iterator[Follower_]:
    _, _, cert = served_blog
    process = subprocess.Popen(  # noqa: S603 - Node and our own script
        [str(NODE), "follower.mjs"],
        cwd=PEER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        # Node trusts the test's certificate as it would a real one.
        env={**os.environ, "NODE_EXTRA_CA_CERTS": str(cert)},
    )
    try:
        yield Follower_(process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def test_a_fedify_follower_follows_receives_posts_and_replies(
    served_blog: tuple[Flask, str, Path], fedify: Follower_
) -> None:
    app, base, _ = served_blog
    blog = BlogBuilder(app)
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    ready = fedify.wait_for(lambda e: e["event"] == "ready", "start")
    handle = f"@blog@127.0.0.1:{base.rsplit(':', 1)[1]}"

    fedify.send(command="follow", handle=handle)
    found = fedify.wait_for(lambda e: e["event"] == "found", "WebFinger lookup")
    assert found["id"] == f"{base}/ap/actor"
    accept = fedify.inbox("Accept")
    assert accept["actor"] == f"{base}/ap/actor"
    assert accept["object"]["type"] == "Follow"
    with app.app_context():
        [follower] = db.session.scalars(select(Follower)).all()
        assert follower.actor.uri == ready["actor"]
        assert follower.actor.name == "Rae Reader"

    post = blog.post(title="Knowledge maps", body="Who knows *what*.", published=utcnow())
    created = fedify.inbox("Create")
    article_id = f"{base}/ap/posts/{post.id}"
    assert created["object"] == {
        "type": "Article",
        "id": article_id,
        "name": "Knowledge maps",
        "content": "<p>Who knows <em>what</em>.</p>",
        "url": f"{base}{post.url}",
        "attributedTo": f"{base}/ap/actor",  # the author's own actor is off
    }

    fedify.send(command="reply", inReplyTo=article_id, content="<p>Maps before tools!</p>")
    fedify.wait_for(lambda e: e["event"] == "sent" and e["type"] == "Create", "reply sent")
    with app.app_context():
        [comment] = db.session.scalars(select(Comment)).all()
        assert comment.status == CommentStatus.PENDING  # the blog's rules: moderated
        assert comment.author_name == "Rae Reader"
        set_comment_status([comment], CommentStatus.PUBLISHED)
    page = app.test_client().get(post.url).text
    assert "Maps before tools!" in page
    assert "Rae Reader" in page and "via the fediverse" in page

    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        save_post(stored, PostDraft(title="Knowledge maps, redrawn", body="Who knows *what*."),
                  PostAction.PUBLISH, utcnow())  # fmt: skip
    updated = fedify.inbox("Update")
    assert updated["object"]["name"] == "Knowledge maps, redrawn"

    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        delete_post(stored)
    deleted = fedify.inbox("Delete")
    assert deleted["object"]["id"] == article_id
    # Fedify took every delivery (it answers 401 to a signature it cannot verify).
    fedify.wait_for(
        lambda e: e["event"] == "post" and sum(s["event"] == "post" for s in fedify.seen) == 4,
        "the Delete's answer",
    )
    posts = [e for e in fedify.seen if e["event"] == "post"]
    assert len(posts) == 4
    assert {e["status"] for e in posts} == {202}


def test_a_fedify_follower_follows_an_author_and_gets_their_posts_signed_by_them(
    served_blog: tuple[Flask, str, Path], fedify: Follower_
) -> None:
    app, base, _ = served_blog
    blog = BlogBuilder(app)
    port = base.rsplit(":", 1)[1]
    author_id = blog.author("dana", display_name="Dana Writer", bio="Maps & <tools>.")
    other_id = blog.author("olek")
    fedify.wait_for(lambda e: e["event"] == "ready", "start")

    # Off by default: the author's handle is not found.
    fedify.send(command="follow", handle=f"@dana@127.0.0.1:{port}")
    with pytest.raises(AssertionError, match="not found"):
        fedify.wait_for(lambda e: e["event"] == "found", "WebFinger lookup")
    with app.app_context():
        author = db.session.get(User, author_id)
        assert author is not None
        set_fediverse_actor(author, True)
    actor_id = f"{base}/ap/users/{author_id}"
    document = app.test_client().get(f"/ap/users/{author_id}").json
    assert document["name"] == "Dana Writer"
    assert document["summary"] == "<p>Maps &amp; &lt;tools&gt;.</p>"
    assert document["publicKey"]["owner"] == actor_id
    blog_key = app.test_client().get("/ap/actor").json["publicKey"]["publicKeyPem"]
    assert document["publicKey"]["publicKeyPem"] != blog_key  # a key pair of their own

    fedify.send(command="follow", handle=f"@dana@127.0.0.1:{port}")
    found = fedify.wait_for(lambda e: e["event"] == "found", "WebFinger lookup")
    assert found["id"] == actor_id
    accept = fedify.inbox("Accept")  # Fedify checked it against the author's key
    assert accept["actor"] == actor_id
    with app.app_context():
        [follower] = db.session.scalars(select(Follower)).all()
        assert follower.local_actor == f"user:{author_id}"
    assert app.test_client().get(f"/ap/users/{author_id}/followers").json["totalItems"] == 1
    assert app.test_client().get("/ap/actor/followers").json["totalItems"] == 0

    # Another author's post goes to the blog's followers only: nobody here.
    blog.post(title="Not Dana's", author_id=other_id, published=utcnow())
    post = blog.post(title="Dana's map", author_id=author_id, published=utcnow())
    created = fedify.inbox("Create")
    assert created["actor"] == actor_id
    assert created["object"]["name"] == "Dana's map"
    assert created["object"]["attributedTo"] == actor_id
    outbox = app.test_client().get(f"/ap/users/{author_id}/outbox?before=0").json
    assert [item["object"]["name"] for item in outbox["orderedItems"]] == ["Dana's map"]

    # A reply sent to the author's own inbox becomes a comment as at the blog's.
    fedify.send(command="reply", inReplyTo=created["object"]["id"], content="<p>To Dana.</p>")
    fedify.wait_for(lambda e: e["event"] == "sent" and e["type"] == "Create", "reply sent")
    with app.app_context():
        [comment] = db.session.scalars(select(Comment)).all()
        assert (comment.post_id, comment.author_name) == (post.id, "Rae Reader")

    # Following the blog too: the next post comes once from each actor, in one inbox.
    fedify.send(command="follow", handle=f"@blog@127.0.0.1:{port}")
    assert fedify.inbox("Accept")["actor"] == f"{base}/ap/actor"
    blog.post(title="Dana again", author_id=author_id, published=utcnow())
    first, second = fedify.inbox("Create"), fedify.inbox("Create")
    assert {first["actor"], second["actor"]} == {actor_id, f"{base}/ap/actor"}
    assert first["object"]["name"] == second["object"]["name"] == "Dana again"
    # Two Accepts and three Creates reached it, each signature verified by Fedify.
    fedify.wait_for(
        lambda e: e["event"] == "post" and sum(s["event"] == "post" for s in fedify.seen) == 5,
        "the last Create's answer",
    )
    assert [e["status"] for e in fedify.seen if e["event"] == "post"] == [202] * 5
    assert post.id != 0


def test_a_scheduled_post_goes_out_once_when_its_time_comes(
    served_blog: tuple[Flask, str, Path], fedify: Follower_, site: WebPeer
) -> None:
    app, base, _ = served_blog
    blog = BlogBuilder(app)
    author_id = blog.author()
    linked = site.page("/linked", Page(headers=[("Link", "</linked/wm>; rel=webmention")]))
    site.page("/linked/wm", Page(202))
    fedify.wait_for(lambda e: e["event"] == "ready", "start")
    fedify.send(command="follow", handle=f"@blog@127.0.0.1:{base.rsplit(':', 1)[1]}")
    fedify.inbox("Accept")

    due = utcnow() + dt.timedelta(seconds=3)
    with app.test_request_context("/", base_url=base):
        author = db.session.get(User, author_id)
        assert author is not None
        post = create_post(
            author, PostDraft(title="Later", body=f"See [this]({linked})."), utcnow(), due
        )
        post_changed(post)  # what the editor's view does after saving
        post_id = post.id
        due = post.published_at  # as stored: to the second
        assert due is not None
    feed = f"{base}/feeds/posts/default"
    # Saved, not yet live: nobody is told anything.
    with app.app_context():
        federation_sweep()
        webmention_sweep()
    assert not [r for r in site.received if r.method == "POST"]
    assert not [e for e in fedify.seen if e.get("type") == "Create"]

    created = fedify.inbox("Create")  # the worker's job, at the post's time
    assert utcnow() >= due
    assert created["object"]["id"] == f"{base}/ap/posts/{post_id}"
    deadline = dt.datetime.now() + dt.timedelta(seconds=WAIT)
    while dt.datetime.now() < deadline and not (
        site.posts_to("/hub") and site.posts_to("/linked/wm")
    ):
        threading.Event().wait(0.2)
    # The sweeps that run after find nothing more to do.
    with app.app_context():
        federation_sweep()
        webmention_sweep()
    threading.Event().wait(2)
    pings = [r.form["hub.url"][0] for r in site.posts_to("/hub")]
    assert pings.count(feed) == 1
    assert len(pings) == len(set(pings))  # each feed once
    mentions = site.posts_to("/linked/wm")
    assert len(mentions) == 1
    assert mentions[0].form["target"] == [linked]
    assert sum(e.get("type") == "Create" for e in fedify.seen) == 1


def test_a_fedify_reply_to_a_comments_address_joins_its_thread(
    served_blog: tuple[Flask, str, Path], fedify: Follower_
) -> None:
    app, base, _ = served_blog
    blog = BlogBuilder(app)
    fedify.wait_for(lambda e: e["event"] == "ready", "start")
    fedify.send(command="follow", handle=f"@blog@127.0.0.1:{base.rsplit(':', 1)[1]}")
    fedify.inbox("Accept")
    post = blog.post(title="Knowledge maps", published=utcnow())
    fedify.inbox("Create")
    local = blog.comment(post, "Maps first, from the comment form.")

    fedify.send(
        command="reply",
        inReplyTo=f"{base}{post.url}?showComment={local.millis}#c{local.id}",
        content="<p>Agreed with the comment.</p>",
    )
    sent = fedify.wait_for(lambda e: e["event"] == "sent" and e["type"] == "Create", "reply")
    with app.app_context():
        reply = db.session.scalars(select(Comment).where(Comment.id != local.id)).one()
        assert (reply.parent_id, reply.depth) == (local.id, 1)
    # And a reply to that fediverse reply's Note goes under it in turn.
    fedify.send(command="reply", inReplyTo=sent["note"], content="<p>And to myself.</p>")
    fedify.wait_for(lambda e: e["event"] == "sent" and e.get("note") != sent["note"], "reply")
    with app.app_context():
        deeper = db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()
        assert deeper is not None and deeper.parent_id == reply.id and deeper.depth == 2
