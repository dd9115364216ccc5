"""ActivityPub: the blog found by WebFinger and followed, its posts delivered signed to
followers' servers, replies from the fediverse as comments, and what a forger or a
replayed request gets (a 4xx, and nothing changed).

The follower's server is a real HTTP server on loopback (tests/federation_peer); the
third-party peer built on Fedify is in test_federation_fedify.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image as PILImage
from sqlalchemy import select

from kmblog import federation
from kmblog.auth.services import set_fediverse_actor
from kmblog.extensions import db
from kmblog.federation import blocks, services, signatures
from kmblog.manage.services import PostAction, PostDraft, delete_post, save_post
from kmblog.media.services import Upload, store_upload
from kmblog.models import (
    BlockKind,
    Comment,
    CommentPolicy,
    CommentStatus,
    Delivery,
    DeliveryStatus,
    FederationBlock,
    FederationEvent,
    Follower,
    Post,
    Reaction,
    RemoteActor,
    Role,
    User,
    utcnow,
)
from tests.conftest import PASSWORD, AuthActions
from tests.factories import BlogBuilder, PostRef
from tests.federation_peer.python_peer import Peer, running_peer

ACTIVITY = "application/activity+json"
AS_LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
def fed_app(make_app: Callable[..., Flask]) -> Flask:
    """The blog, allowed to reach the peer on loopback (as only tests are)."""
    return make_app(FETCH_ALLOW_LOOPBACK=True)


@pytest.fixture
def fed_client(fed_app: Flask) -> FlaskClient:
    return fed_app.test_client()


@pytest.fixture
def peer() -> Iterator[Peer]:
    with running_peer() as running:
        yield running


def deliver_all(app: Flask) -> list[DeliveryStatus | None]:
    """What the workers would do: fan out due events, then send each delivery once."""
    with app.app_context():
        for event_id in services.due_events(utcnow()):
            services.fan_out(event_id, utcnow())
        pending = list(
            db.session.scalars(select(Delivery.id).where(Delivery.status == DeliveryStatus.PENDING))
        )
        results = []
        for delivery_id in pending:
            try:
                results.append(services.deliver(delivery_id))
            except services.DeliveryFailed:
                results.append(DeliveryStatus.PENDING)
        return results


def post_to_inbox(client: FlaskClient, peer: Peer, activity: dict[str, Any], **options: Any) -> Any:
    path = options.pop("path", "/ap/inbox")
    body, headers = peer.signed(activity, path=path, **options)
    return client.post(path, data=body, headers=headers)


def follow(client: FlaskClient, peer: Peer, number: int = 1) -> Any:
    return post_to_inbox(
        client,
        peer,
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{peer.actor_id}/follows/{number}",
            "type": "Follow",
            "actor": peer.actor_id,
            "object": "http://blog.test/ap/actor",
        },
    )


def count(app: Flask, model: type) -> int:
    return BlogBuilder(app).count(model)


# -- Found: WebFinger, the actor, NodeInfo -------------------------------------------------


def test_webfinger_finds_the_blog_by_its_handle(client: FlaskClient) -> None:
    answer = client.get("/.well-known/webfinger?resource=acct:blog@blog.test")
    assert answer.status_code == 200
    assert answer.content_type.startswith("application/jrd+json")
    links = {link["rel"]: link for link in answer.json["links"]}
    assert links["self"] == {
        "rel": "self",
        "type": ACTIVITY,
        "href": "http://blog.test/ap/actor",
    }
    assert answer.json["subject"] == "acct:blog@blog.test"


@pytest.mark.parametrize(
    "resource",
    [
        "acct:someone@blog.test",
        "acct:blog@elsewhere.example",
        "https://elsewhere.example/ap/actor",
        "acct:",
        "\x00",
    ],
)
def test_webfinger_knows_no_one_else(client: FlaskClient, resource: str) -> None:
    assert (
        client.get("/.well-known/webfinger", query_string={"resource": resource}).status_code == 404
    )


def test_webfinger_without_a_resource_is_a_bad_request(client: FlaskClient) -> None:
    assert client.get("/.well-known/webfinger").status_code == 400


def test_the_handle_is_a_setting_and_the_actor_keeps_its_address(
    make_app: Callable[..., Flask],
) -> None:
    renamed = make_app(FEDERATION_HANDLE="kmdepot").test_client()
    assert renamed.get("/.well-known/webfinger?resource=acct:kmdepot@blog.test").status_code == 200
    assert renamed.get("/.well-known/webfinger?resource=acct:blog@blog.test").status_code == 404
    actor = renamed.get("/ap/actor").json
    assert actor["preferredUsername"] == "kmdepot"
    assert actor["id"] == "http://blog.test/ap/actor"


def test_the_actor_has_a_key_made_once(client: FlaskClient, blog: BlogBuilder) -> None:
    blog.settings(title="The KM Depot", description="Plans & strategies")
    first = client.get("/ap/actor", headers={"Accept": ACTIVITY})
    assert first.status_code == 200
    assert first.content_type.startswith(ACTIVITY)
    actor = first.json
    assert actor["type"] == "Person"
    assert actor["preferredUsername"] == "blog"
    assert actor["name"] == "The KM Depot"
    assert actor["summary"] == "<p>Plans &amp; strategies</p>"
    assert actor["inbox"] == "http://blog.test/ap/actor/inbox"
    assert actor["endpoints"]["sharedInbox"] == "http://blog.test/ap/inbox"
    assert actor["outbox"] == "http://blog.test/ap/actor/outbox"
    assert actor["followers"] == "http://blog.test/ap/actor/followers"
    assert actor["url"] == "http://blog.test/"
    key = actor["publicKey"]
    assert key["id"] == "http://blog.test/ap/actor#main-key"
    assert key["owner"] == actor["id"]
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    # The same key on every later request (followers hold it).
    assert client.get("/ap/actor").json["publicKey"] == key


def test_nodeinfo_says_activitypub_and_counts_public_posts(
    client: FlaskClient, blog: BlogBuilder
) -> None:
    blog.post()
    blog.post(draft=True)
    blog.post(published=utcnow() + timedelta(days=3))
    links = client.get("/.well-known/nodeinfo").json["links"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    assert links[0]["href"] == "http://blog.test/nodeinfo/2.1"
    info = client.get("/nodeinfo/2.1").json
    assert info["version"] == "2.1"
    assert info["software"]["name"] == "kmblog"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["localPosts"] == 1
    assert info["openRegistrations"] is False


# -- A post as an Article --------------------------------------------------------------------


def test_a_posts_address_answers_activitypub_with_its_article(
    client: FlaskClient, blog: BlogBuilder, count_queries: Any
) -> None:
    post = blog.post(
        title="Knowledge audits",
        body="Start with **who needs what**.",
        labels=("KM Strategy", "Audits"),
        summary="Where to begin <now>",
    )
    for accept in (ACTIVITY, AS_LD):
        with count_queries() as queries:
            answer = client.get(post.url, headers={"Accept": accept})
        assert answer.status_code == 200
        assert answer.content_type.startswith(ACTIVITY)
        assert "Accept" in answer.headers["Vary"]
        article = answer.json
        assert article["type"] == "Article"
        assert article["id"] == f"http://blog.test/ap/posts/{post.id}"
        assert article["name"] == "Knowledge audits"
        assert article["url"] == f"http://blog.test{post.url}"
        assert article["content"] == "<p>Start with <strong>who needs what</strong>.</p>"
        assert article["summary"] == "<p>Where to begin &lt;now&gt;</p>"
        assert article["attributedTo"] == "http://blog.test/ap/actor"
        assert article["published"] == post.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert {tag["name"] for tag in article["tag"]} == {"#KMStrategy", "#Audits"}
        assert {tag["type"] for tag in article["tag"]} == {"Hashtag"}
        assert len(queries) <= 8
    # The page is still the page for a browser, from the cache or not.
    for _ in range(2):
        page = client.get(post.url, headers={"Accept": "text/html,*/*;q=0.8"})
        assert page.content_type.startswith("text/html")
        assert "Accept" in page.headers["Vary"]
        assert "Knowledge audits" in page.text
    # And ActivityPub again after the page was cached.
    assert client.get(post.url, headers={"Accept": ACTIVITY}).json["type"] == "Article"
    assert client.get(f"/ap/posts/{post.id}").json["url"] == f"http://blog.test{post.url}"


def test_a_posts_images_go_out_as_attachments_with_their_alt_text(
    app: Flask, client: FlaskClient, blog: BlogBuilder, tmp_path: Path, count_queries: Any
) -> None:
    photo = io.BytesIO()
    PILImage.new("RGB", (1200, 900), (40, 90, 160)).save(photo, "JPEG")
    with app.app_context():
        media = store_upload(
            Upload(photo.getvalue(), "harbour.jpg", "image/jpeg", "Needs & tools, mapped"),
            None,
            tmp_path,
            max_bytes=10_000_000,
            max_pixels=50_000_000,
            widths=[480, 960],
        )
        uploaded = media.url
    post = blog.post(
        title="Pictures of knowledge",
        body=(
            f"A map:\n\n![Needs & tools, mapped]({uploaded})\n\n"
            "Linked: ![A chart of who asks whom](https://images.example/chart.png) "
            "and ![No name says its type](https://images.example/render?id=7) "
            f"and the map again ![Needs & tools, mapped]({uploaded})."
        ),
    )
    with count_queries() as queries:
        article = client.get(f"/ap/posts/{post.id}").json
    assert len(queries) <= 8  # the images cost no query
    assert article["attachment"] == [
        {
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": f"http://blog.test{uploaded}",
            "name": "Needs & tools, mapped",
            # The stored file's size: the widest variant kept (960 here), not the upload's.
            "width": 960,
            "height": 720,
        },
        {
            "type": "Image",
            "mediaType": "image/png",
            "url": "https://images.example/chart.png",
            "name": "A chart of who asks whom",
        },
        {
            "type": "Image",
            "url": "https://images.example/render?id=7",
            "name": "No name says its type",
        },
    ]
    # The content names the uploaded image by its absolute address too.
    assert f'src="http://blog.test{uploaded}"' in article["content"]
    assert '"/media/' not in article["content"]
    # What followers are sent is the same Article.
    [created] = client.get("/ap/actor/outbox?before=0").json["orderedItems"]
    assert created["object"]["attachment"] == article["attachment"]
    # A post without images has no attachments.
    plain = blog.post(title="Words only")
    assert "attachment" not in client.get(f"/ap/posts/{plain.id}").json


@pytest.mark.parametrize("kind", ["draft", "scheduled"])
def test_no_article_for_a_post_readers_cannot_see(
    client: FlaskClient, blog: BlogBuilder, kind: str
) -> None:
    post = (
        blog.post(draft=True)
        if kind == "draft"
        else blog.post(published=utcnow() + timedelta(days=1))
    )
    assert client.get(f"/ap/posts/{post.id}").status_code == 404
    assert client.get("/ap/posts/99999999999").status_code == 404


def test_the_outbox_pages_creates_of_public_posts(client: FlaskClient, blog: BlogBuilder) -> None:
    posts = blog.posts(23)
    blog.post(draft=True)
    outbox = client.get("/ap/actor/outbox").json
    assert outbox["type"] == "OrderedCollection"
    assert outbox["totalItems"] == 23
    first = client.get(outbox["first"].removeprefix("http://blog.test")).json
    assert first["type"] == "OrderedCollectionPage"
    assert [item["type"] for item in first["orderedItems"]] == ["Create"] * 20
    newest = first["orderedItems"][0]["object"]
    assert newest["id"] == f"http://blog.test/ap/posts/{posts[-1].id}"
    second = client.get(first["next"].removeprefix("http://blog.test")).json
    assert len(second["orderedItems"]) == 3
    assert second["orderedItems"][-1]["object"]["id"] == f"http://blog.test/ap/posts/{posts[0].id}"
    assert "next" not in second
    assert client.get("/ap/actor/outbox?before=-1").status_code == 404


# -- Followed ----------------------------------------------------------------------------------


def test_a_follow_is_stored_and_accepted_with_a_signed_accept(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer
) -> None:
    answer = follow(fed_client, peer)
    assert answer.status_code == 202
    assert fed_client.get("/ap/actor/followers").json["totalItems"] == 1
    assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED]
    [accept] = peer.received
    assert accept.path == f"/users/{peer.username}/inbox"  # the follower's own inbox
    assert accept.activity["type"] == "Accept"
    assert accept.activity["object"]["id"] == f"{peer.actor_id}/follows/1"
    # Signed so that the follower's server can check it with the key the actor shows.
    public_key = fed_client.get("/ap/actor").json["publicKey"]["publicKeyPem"]
    signature = signatures.parse_signature(accept.headers["Signature"])
    assert signature.key_id == "http://blog.test/ap/actor#main-key"
    signatures.verify_request(
        "POST",
        accept.path,
        accept.headers,
        accept.body,
        signature,
        public_key,
        utcnow(),
        timedelta(minutes=5),
    )
    # Undo: no longer a follower.
    undo = post_to_inbox(
        fed_client,
        peer,
        {
            "id": f"{peer.actor_id}/undo/1",
            "type": "Undo",
            "actor": peer.actor_id,
            "object": {
                "id": f"{peer.actor_id}/follows/1",
                "type": "Follow",
                "actor": peer.actor_id,
                "object": "http://blog.test/ap/actor",
            },
        },
    )
    assert undo.status_code == 202
    assert fed_client.get("/ap/actor/followers").json["totalItems"] == 0


def _signed_by(received: Any, public_key: str) -> str:
    """The key id a delivery the peer received was signed with (checked against
    `public_key`)."""
    signature = signatures.parse_signature(received.headers["Signature"])
    signatures.verify_request(
        "POST",
        received.path,
        received.headers,
        received.body,
        signature,
        public_key,
        utcnow(),
        timedelta(minutes=5),
    )
    return signature.key_id


def test_an_authors_own_actor_is_off_until_turned_on_then_followed_apart(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer, blog: BlogBuilder
) -> None:
    dana = blog.author("dana", display_name="Dana Writer", bio="Maps, then tools.")
    actor = f"http://blog.test/ap/users/{dana}"
    finger = "/.well-known/webfinger?resource=acct:dana@blog.test"
    assert fed_client.get(finger).status_code == 404
    assert fed_client.get(f"/ap/users/{dana}").status_code == 404
    follow_dana = {
        "id": f"{peer.actor_id}/follows/dana",
        "type": "Follow",
        "actor": peer.actor_id,
        "object": actor,
    }
    refused = post_to_inbox(fed_client, peer, follow_dana, path=f"/ap/users/{dana}/inbox")
    assert refused.status_code == 404
    assert post_to_inbox(fed_client, peer, follow_dana).status_code == 404  # shared inbox
    assert count(fed_app, Follower) == 0

    with fed_app.app_context():
        user = db.session.get(User, dana)
        assert user is not None
        set_fediverse_actor(user, True)
    assert fed_client.get(finger).json["links"][0]["href"] == actor
    document = fed_client.get(f"/ap/users/{dana}").json
    assert (document["preferredUsername"], document["name"]) == ("dana", "Dana Writer")
    assert document["summary"] == "<p>Maps, then tools.</p>"
    assert "email" not in json.dumps(document)
    follow_dana["id"] += "-2"
    assert (
        post_to_inbox(fed_client, peer, follow_dana, path=f"/ap/users/{dana}/inbox").status_code
        == 202
    )
    assert follow(fed_client, peer).status_code == 202  # the blog too
    assert fed_client.get(f"/ap/users/{dana}/followers").json["totalItems"] == 1
    assert fed_client.get("/ap/actor/followers").json["totalItems"] == 1
    assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED] * 2
    dana_key = document["publicKey"]["publicKeyPem"]
    blog_key = fed_client.get("/ap/actor").json["publicKey"]["publicKeyPem"]
    accepts = {a.activity["actor"]: a for a in peer.received}
    assert _signed_by(accepts[actor], dana_key) == f"{actor}#main-key"
    assert _signed_by(accepts["http://blog.test/ap/actor"], blog_key).startswith(
        "http://blog.test/ap/actor#"
    )

    peer.received.clear()
    post = blog.post(title="Dana's map", author_id=dana, published=utcnow())
    assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED] * 2
    creates = {r.activity["actor"]: r for r in peer.received}
    assert set(creates) == {actor, "http://blog.test/ap/actor"}  # one each, one inbox
    assert {r.path for r in peer.received} == {"/inbox"}
    assert _signed_by(creates[actor], dana_key) == f"{actor}#main-key"
    for created in creates.values():
        assert created.activity["object"]["attributedTo"] == actor
    article = fed_client.get(post.url, headers={"Accept": ACTIVITY}).json
    assert article["attributedTo"] == actor

    # Undo of the follow of Dana: the blog is still followed.
    undo = {"id": f"{peer.actor_id}/undo/dana", "type": "Undo", "actor": peer.actor_id,
            "object": {**follow_dana, "id": "unknown"}}  # fmt: skip
    assert post_to_inbox(fed_client, peer, undo, path=f"/ap/users/{dana}/inbox").status_code == 202
    assert fed_client.get(f"/ap/users/{dana}/followers").json["totalItems"] == 0
    assert fed_client.get("/ap/actor/followers").json["totalItems"] == 1


def test_a_forged_signature_changes_nothing(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer
) -> None:
    other_key = signatures.generate_keypair()[0]
    body, headers = peer.signed(
        {"id": f"{peer.actor_id}/f", "type": "Follow", "actor": peer.actor_id,
         "object": "http://blog.test/ap/actor"},
        private_key=other_key,
    )  # fmt: skip
    assert fed_client.post("/ap/inbox", data=body, headers=headers).status_code == 401
    assert count(fed_app, Follower) == 0
    assert count(fed_app, Delivery) == 0


def _follow_activity(peer: Peer, number: int = 1) -> dict[str, Any]:
    return {
        "id": f"{peer.actor_id}/follows/{number}",
        "type": "Follow",
        "actor": peer.actor_id,
        "object": "http://blog.test/ap/actor",
    }


@pytest.mark.parametrize(
    "tamper",
    ["body changed", "digest removed", "unsigned", "stale date", "future date", "other path",
     "actor not the signer"],
)  # fmt: skip
def test_tampered_requests_are_refused(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer, tamper: str
) -> None:
    activity = _follow_activity(peer)
    now = utcnow()
    if tamper == "stale date":
        now -= timedelta(minutes=10)
    elif tamper == "future date":
        now += timedelta(minutes=10)
    if tamper == "actor not the signer":
        activity["actor"] = "http://127.0.0.1:9/users/someone-else"
    body, headers = peer.signed(activity, now=now)
    path = "/ap/inbox"
    if tamper == "body changed":
        body = body.replace(b"follows/1", b"follows/2")
    elif tamper == "digest removed":
        del headers["Digest"]
    elif tamper == "unsigned":
        del headers["Signature"]
    elif tamper == "other path":
        path = "/ap/actor/inbox"
    answer = fed_client.post(path, data=body, headers=headers)
    assert 400 <= answer.status_code < 500
    assert count(fed_app, Follower) == 0
    assert count(fed_app, Delivery) == 0


def test_an_rfc_9421_signature_is_taken_too(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer
) -> None:
    body, headers = peer.signed_rfc9421(_follow_activity(peer))
    assert "Signature-Input" in headers and "Content-Digest" in headers
    assert fed_client.post("/ap/inbox", data=body, headers=headers).status_code == 202
    assert count(fed_app, Follower) == 1
    # Again: a replay.
    assert fed_client.post("/ap/inbox", data=body, headers=headers).status_code == 401


@pytest.mark.parametrize("tamper", ["body changed", "old", "no digest", "other key", "other path"])
def test_tampered_rfc_9421_requests_are_refused(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer, tamper: str
) -> None:
    created = utcnow() - timedelta(minutes=10) if tamper == "old" else None
    if tamper == "other key":
        peer.keys = (signatures.generate_keypair()[0], peer.keys[1])
    body, headers = peer.signed_rfc9421(
        _follow_activity(peer), created=created, with_digest=tamper != "no digest"
    )
    if tamper == "body changed":
        body = body.replace(b"follows/1", b"follows/2")
    path = "/ap/actor/inbox" if tamper == "other path" else "/ap/inbox"
    assert fed_client.post(path, data=body, headers=headers).status_code == 401
    assert count(fed_app, Follower) == 0


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ("SHA-256={digest}", True),
        ("sha-256={digest}", True),
        ("SHA-512=AAAA, SHA-256={digest}", True),
        ("SHA-256=AAAA", False),
        ("SHA-1={digest}", False),
        ("", False),
    ],
)
def test_the_digest_is_read_as_servers_write_it(header: str, matches: bool) -> None:
    body = b'{"type": "Follow"}'
    digest = signatures.digest_header(body).split("=", 1)[1]
    assert signatures.digest_matches(header.format(digest=digest), body) is matches


def test_a_replayed_request_is_refused(fed_app: Flask, fed_client: FlaskClient, peer: Peer) -> None:
    body, headers = peer.signed(_follow_activity(peer))
    assert fed_client.post("/ap/inbox", data=body, headers=headers).status_code == 202
    fed_client.post(
        "/ap/inbox",
        data=json.dumps(
            {"id": f"{peer.actor_id}/undo", "type": "Undo", "actor": peer.actor_id,
             "object": _follow_activity(peer)}
        ),
        headers=peer.signed(
            {"id": f"{peer.actor_id}/undo", "type": "Undo", "actor": peer.actor_id,
             "object": _follow_activity(peer)}
        )[1],
    )  # fmt: skip
    assert count(fed_app, Follower) == 0
    # The same signed Follow sent again (within its Date's window) is a replay.
    assert fed_client.post("/ap/inbox", data=body, headers=headers).status_code == 401
    assert count(fed_app, Follower) == 0
    assert count(fed_app, Delivery) == 1  # the first Accept only


def test_an_actor_on_a_private_address_is_never_fetched(
    client: FlaskClient, app: Flask, peer: Peer
) -> None:
    """Without the tests' allowance, a key on 127.0.0.1 is refused before any request."""
    answer = follow(client, peer)
    assert answer.status_code == 401
    assert peer.fetches == []
    assert count(app, Follower) == 0


# -- Posts delivered ---------------------------------------------------------------------------


def _edit(app: Flask, post: PostRef, title: str) -> None:
    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        save_post(
            stored,
            PostDraft(title=title, body=stored.body_source),
            PostAction.PUBLISH,
            utcnow(),
        )


def test_publish_edit_delete_reach_each_follower_server_once(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder
) -> None:
    with (
        running_peer(others=("bob",)) as first,
        running_peer(username="cy", shared_inbox=False) as lone,
    ):
        # Two followers on one server (its shared inbox), one on a server without one.
        for number, someone in enumerate((first, first.as_user("bob"), lone)):
            assert follow(fed_client, someone, number).status_code == 202
        deliver_all(fed_app)  # the Accepts
        first.received.clear()
        lone.received.clear()
        post = blog.post(title="Tacit knowledge", labels=("KM",), published=utcnow())
        assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED] * 2
        [created] = [r.activity for r in first.received]
        assert created["type"] == "Create"
        assert created["object"]["name"] == "Tacit knowledge"
        assert created["object"]["id"] == f"http://blog.test/ap/posts/{post.id}"
        assert [r.path for r in first.received] == ["/inbox"]
        assert [r.path for r in lone.received] == ["/users/cy/inbox"]
        signature = signatures.parse_signature(first.received[0].headers["Signature"])
        assert signature.headers == ("(request-target)", "host", "date", "digest")

        _edit(fed_app, post, "Tacit knowledge, revised")
        deliver_all(fed_app)
        updated = first.received[-1].activity
        assert updated["type"] == "Update"
        assert updated["object"]["name"] == "Tacit knowledge, revised"

        with fed_app.app_context():
            stored = db.session.get(Post, post.id)
            assert stored is not None
            delete_post(stored)
        deliver_all(fed_app)
        deleted = first.received[-1].activity
        assert deleted["type"] == "Delete"
        assert deleted["object"] == {
            "id": f"http://blog.test/ap/posts/{post.id}",
            "type": "Tombstone",
        }
        assert [r.activity["type"] for r in lone.received] == ["Create", "Update", "Delete"]
        assert [r.activity["type"] for r in first.received] == ["Create", "Update", "Delete"]


def test_a_scheduled_post_goes_out_at_its_time(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    follow(fed_client, peer)
    deliver_all(fed_app)
    peer.received.clear()
    post = blog.post(published=utcnow() + timedelta(hours=2))
    deliver_all(fed_app)
    assert peer.received == []
    with fed_app.app_context():
        event = db.session.scalars(
            select(FederationEvent).where(FederationEvent.post_id == post.id)
        ).one()
        assert event.processed_at is None
        # Its time has come.
        event.due_at = utcnow() - timedelta(seconds=1)
        db.session.get(Post, post.id).published_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
        db.session.commit()
    deliver_all(fed_app)
    assert [r.activity["type"] for r in peer.received] == ["Create"]


def test_a_failing_server_is_retried_then_given_up_and_holds_back_no_one(
    make_app: Callable[..., Flask], blog: BlogBuilder
) -> None:
    app = make_app(FETCH_ALLOW_LOOPBACK=True, FEDERATION_DELIVERY_ATTEMPTS=3)
    client = app.test_client()
    with running_peer(inbox_status=500) as broken, running_peer(username="ok") as healthy:
        follow(client, broken)
        follow(client, healthy)
        deliver_all(app)
        broken.received.clear()
        healthy.received.clear()
        blog.post(published=utcnow())
        # The broken server's Accept (second try) and Create wait; the healthy one has it.
        assert sorted(map(str, deliver_all(app))) == ["delivered", "pending", "pending"]
        assert [r.activity["type"] for r in healthy.received] == ["Create"]
        assert sorted(map(str, deliver_all(app))) == ["failed", "pending"]
        assert deliver_all(app) == [DeliveryStatus.FAILED]
        assert deliver_all(app) == []  # given up: no fourth try
        # Three tries each reached the broken server, and no more.
        kinds = [r.activity["type"] for r in broken.received]
        assert kinds.count("Create") == 3 and kinds.count("Accept") == 2
        with app.app_context():
            failed = db.session.scalars(
                select(Delivery).where(Delivery.status == DeliveryStatus.FAILED)
            ).all()
            assert {d.last_error for d in failed} == {"answered 500"}


def test_the_delivery_job_raises_for_the_queue_to_retry(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder
) -> None:
    with running_peer(inbox_status=503) as busy:
        follow(fed_client, busy)
        with fed_app.app_context():
            [delivery_id] = db.session.scalars(select(Delivery.id)).all()
            with pytest.raises(services.DeliveryFailed):
                federation.deliver_job(delivery_id)
            assert db.session.get(Delivery, delivery_id).attempts == 1  # type: ignore[union-attr]


# -- Replies, likes and boosts ------------------------------------------------------------------


def _note(peer: Peer, number: int, in_reply_to: str, content: str) -> dict[str, Any]:
    return {
        "id": f"{peer.actor_id}/statuses/{number}",
        "type": "Note",
        "attributedTo": peer.actor_id,
        "inReplyTo": in_reply_to,
        "content": content,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


def _create(peer: Peer, note: dict[str, Any], kind: str = "Create") -> dict[str, Any]:
    return {
        "id": f"{note['id']}/{kind.lower()}/{utcnow().timestamp()}",
        "type": kind,
        "actor": peer.actor_id,
        "object": note,
    }


def test_a_reply_becomes_a_comment_in_the_thread(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    post = blog.post(title="Communities of practice")
    article_id = f"http://blog.test/ap/posts/{post.id}"
    note = _note(
        peer, 1, article_id,
        '<p><span class="h-card"><a href="http://blog.test/ap/actor">@blog</a></span> '
        'Agreed <script>alert(1)</script><img src=x onerror=alert(2)></p>',
    )  # fmt: skip
    assert post_to_inbox(fed_client, peer, _create(peer, note)).status_code == 202
    page = fed_client.get(post.url).text
    assert "Ada Remote" in page
    assert "Agreed" in page
    assert "<script>alert" not in page and "onerror" not in page
    assert "via the fediverse" in page
    assert f'href="{peer.base}/@ada"' in page
    # A reply to that reply, by its address: the same thread.
    answer = _note(peer, 2, note["id"], "<p>And one more thing.</p>")
    assert post_to_inbox(fed_client, peer, _create(peer, answer)).status_code == 202
    with fed_app.app_context():
        first, second = db.session.scalars(select(Comment).order_by(Comment.id)).all()
        assert second.parent_id == first.id and second.depth == 1
    # Edited, then deleted by its writer.
    edited = {**note, "content": "<p>Agreed, with a caveat.</p>"}
    assert post_to_inbox(fed_client, peer, _create(peer, edited, "Update")).status_code == 202
    assert "with a caveat" in fed_client.get(post.url).text
    delete = {"id": f"{note['id']}#delete", "type": "Delete", "actor": peer.actor_id,
              "object": {"id": note["id"], "type": "Tombstone"}}  # fmt: skip
    assert post_to_inbox(fed_client, peer, delete).status_code == 202
    assert "with a caveat" not in fed_client.get(post.url).text


def test_a_reply_goes_through_the_moderation_rules(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    blog.settings(comment_policy=CommentPolicy.MODERATED, blocked_words="casino")
    post = blog.post()
    article_id = f"http://blog.test/ap/posts/{post.id}"
    post_to_inbox(fed_client, peer, _create(peer, _note(peer, 1, article_id, "<p>Held?</p>")))
    post_to_inbox(fed_client, peer, _create(peer, _note(peer, 2, article_id, "<p>casino</p>")))
    with fed_app.app_context():
        statuses = db.session.scalars(select(Comment.status).order_by(Comment.id)).all()
    assert statuses == [CommentStatus.PENDING, CommentStatus.SPAM]
    assert "Held?" not in fed_client.get(post.url).text


@pytest.mark.parametrize(
    "target",
    ["http://blog.test/ap/posts/99999", "http://blog.test/2001/01/nothing.html",
     "https://elsewhere.example/notes/1", ""],
)  # fmt: skip
def test_a_reply_to_nothing_here_is_refused(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer, target: str
) -> None:
    blog.post()
    note = _note(peer, 1, target, "<p>Hello?</p>")
    answer = post_to_inbox(fed_client, peer, _create(peer, note))
    assert answer.status_code == 404
    assert count(fed_app, Comment) == 0


def test_a_note_by_someone_else_is_refused(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    post = blog.post()
    note = _note(peer, 1, f"http://blog.test/ap/posts/{post.id}", "<p>Me!</p>")
    note["attributedTo"] = "https://elsewhere.example/users/mallory"
    assert post_to_inbox(fed_client, peer, _create(peer, note)).status_code == 401
    assert count(fed_app, Comment) == 0


HOSTILE_ACTIVITIES: list[Any] = [
    [],
    "Follow",
    {"type": ["Follow"]},
    {"type": "Follow", "object": ["http://blog.test/ap/actor"]},
    {"type": "Follow", "object": {"id": 42}},
    {"type": "Undo", "object": None},
    {"type": "Undo", "object": {"type": "Follow", "id": ["x"]}},
    {"type": "Like", "object": "http://blog.test:99999/ap/posts/1"},
    {"type": "Like", "object": "http://blog.test/ap/posts/99999999999999999999"},
    {"type": "Announce", "object": {"id": "http://blog.test/2026/13/x.html"}},
    {"type": "Create", "object": "http://elsewhere.example/notes/1"},
    {"type": "Create", "object": {"type": "Note", "id": "n", "content": ["x"]}},
    {"type": "Create", "object": {"type": "Note", "id": "x" * 3000}},
    {"type": "Create", "object": {"type": "Note", "inReplyTo": {"id": None}}},
    {"type": "Update", "object": {"type": "Note", "id": {"nested": True}}},
    {"type": "Delete", "object": [1, 2]},
    {"type": "Delete"},
    {"type": "Move", "object": "x"},
]


@pytest.mark.parametrize("activity", HOSTILE_ACTIVITIES)
def test_hostile_activities_are_refused_or_ignored_never_a_500(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer, activity: Any
) -> None:
    blog.post()
    if isinstance(activity, dict):
        activity = {"id": f"{peer.actor_id}/hostile", "actor": peer.actor_id, **activity}
    answer = post_to_inbox(fed_client, peer, activity)
    assert answer.status_code in {200, 202} or 400 <= answer.status_code < 500
    assert count(fed_app, Comment) == count(fed_app, Reaction) == count(fed_app, Follower) == 0


@pytest.mark.parametrize(
    "body", [b"[" * 100_000, b"\xff\xfe", b"null", b"{" + b'"a":1,' * 10 + b"}", b"x" * 300_000]
)
def test_a_body_that_is_no_activity_is_a_4xx(fed_client: FlaskClient, body: bytes) -> None:
    assert 400 <= fed_client.post("/ap/inbox", data=body).status_code < 500


def test_a_reply_with_control_characters_is_cleaned(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    post = blog.post()
    note = _note(peer, 1, f"http://blog.test/ap/posts/{post.id}", "<p>Nul\x00 and bell\x07</p>")
    assert post_to_inbox(fed_client, peer, _create(peer, note)).status_code == 202
    with fed_app.app_context():
        [comment] = db.session.scalars(select(Comment)).all()
        assert "\x00" not in comment.body_source and "\x00" not in comment.body_html


def test_likes_and_boosts_are_counted_and_undone(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, peer: Peer
) -> None:
    post = blog.post()
    for kind in ("Like", "Announce"):
        activity = {"id": f"{peer.actor_id}/{kind}/1", "type": kind, "actor": peer.actor_id,
                    "object": f"http://blog.test{post.url}"}  # fmt: skip
        assert post_to_inbox(fed_client, peer, activity).status_code == 202
    assert count(fed_app, Reaction) == 2
    page = fed_client.get(post.url).text
    assert "1 like" in page and "1 boost" in page
    undo = {"id": f"{peer.actor_id}/undo-like", "type": "Undo", "actor": peer.actor_id,
            "object": f"{peer.actor_id}/Like/1"}  # fmt: skip
    assert post_to_inbox(fed_client, peer, undo).status_code == 202
    assert count(fed_app, Reaction) == 1
    nothing = {"id": f"{peer.actor_id}/Like/2", "type": "Like", "actor": peer.actor_id,
               "object": "http://blog.test/ap/posts/424242"}  # fmt: skip
    assert post_to_inbox(fed_client, peer, nothing).status_code == 404


# -- The authoring area ---------------------------------------------------------------------


def test_authors_see_followers_and_failed_deliveries(
    make_app: Callable[..., Flask],
    client: FlaskClient,
    auth: AuthActions,
    writer: int,
    count_queries: Any,
) -> None:
    assert client.get("/manage/fediverse").status_code == 302  # to sign in
    # The allowance's old ActivityPub name still works.
    app = make_app(FEDERATION_ALLOW_LOOPBACK=True, FEDERATION_DELIVERY_ATTEMPTS=1)
    with running_peer(inbox_status=500) as broken:
        follow(app.test_client(), broken)
        deliver_all(app)
    auth.login("writer")
    with count_queries() as queries:
        page = client.get("/manage/fediverse")
    assert page.status_code == 200
    assert "@blog@blog.test" in page.text
    assert "1 follower" in page.text and "Ada Remote" in page.text
    assert "1 given up" in page.text and "answered 500" in page.text
    assert len(queries) <= 8


def test_an_author_sees_their_own_actors_followers_and_deliveries_not_anothers(
    fed_app: Flask, fed_client: FlaskClient, peer: Peer, blog: BlogBuilder, count_queries: Any
) -> None:
    """With their own actor on, an author's fediverse page gives its address, how many
    follow it, and each follower and delivery with the actor it concerns; another author
    sees the blog's and their own only, an admin everyone's."""
    dana = blog.author("dana", password=PASSWORD)
    blog.author("erin", password=PASSWORD)
    blog.author("root", password=PASSWORD, role=Role.ADMIN)
    with fed_app.app_context():
        user = db.session.get(User, dana)
        assert user is not None
        set_fediverse_actor(user, True)
    follow_dana = {
        "id": f"{peer.actor_id}/follows/dana",
        "type": "Follow",
        "actor": peer.actor_id,
        "object": f"http://blog.test/ap/users/{dana}",
    }
    assert post_to_inbox(fed_client, peer, follow_dana).status_code == 202
    assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED]  # the Accept, from Dana

    def page_of(name: str) -> str:
        browser = fed_app.test_client()
        AuthActions(browser).login(name)
        with count_queries() as queries:
            page = browser.get("/manage/fediverse")
        assert page.status_code == 200
        assert len(queries) <= 10, name
        return page.text

    own = page_of("dana")
    assert "You are followed as <strong>@dana@blog.test</strong> too, by 1 account" in own
    assert "0 followers of the blog" in own
    assert "<td>@dana</td>" in own  # the follower's row and the Accept's
    assert own.count("<td>@dana</td>") == 2
    other = page_of("erin")
    assert "You are followed as" not in other and "<td>@dana</td>" not in other
    assert "Nobody follows yet." in other and "Nothing has been sent yet." in other
    assert page_of("root").count("<td>@dana</td>") == 2


def test_a_thousand_followers_on_fifty_servers_cost_a_publish_nothing(
    app: Flask, blog: BlogBuilder, count_queries: Any
) -> None:
    """Publishing records one event whatever the followers; the fan-out (a job) makes
    one delivery per server."""
    blog.post(title="Warm-up")  # the first post makes the author
    with count_queries() as without_followers:
        blog.post(title="For nobody yet", published=utcnow())
    with app.app_context():
        for number in range(1000):
            server = f"https://server{number % 50}.example"
            actor = RemoteActor(
                uri=f"{server}/users/u{number}",
                inbox=f"{server}/users/u{number}/inbox",
                shared_inbox=f"{server}/inbox",
            )
            db.session.add(Follower(actor=actor))
        db.session.commit()
    with count_queries() as with_followers:
        post = blog.post(title="For many", published=utcnow())
    assert len(with_followers) == len(without_followers)  # not even counted
    with app.app_context():
        [event_id] = db.session.scalars(
            select(FederationEvent.id).where(FederationEvent.post_id == post.id)
        ).all()
        deliveries = services.fan_out(event_id, utcnow())
        assert len(deliveries) == 50
        inboxes = db.session.scalars(select(Delivery.inbox).where(Delivery.id.in_(deliveries)))
        assert len(set(inboxes)) == 50


# -- Blocking a server or an account ---------------------------------------------------------


def _reply_here(client: FlaskClient, peer: Peer, post: PostRef, number: int, text: str) -> Any:
    note = _note(peer, number, f"http://blog.test/ap/posts/{post.id}", f"<p>{text}</p>")
    return post_to_inbox(client, peer, _create(peer, note))


def _domain(peer: Peer) -> str:
    return peer.base.split("://", 1)[1]


def test_an_admin_blocks_a_server_and_it_can_no_longer_reach_the_blog(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, admin: int
) -> None:
    post = blog.post(title="Lessons learned")
    with running_peer(others=("bob",)) as bad, running_peer(username="cy") as good:
        for number, someone in enumerate((bad, bad.as_user("bob"), good)):
            assert follow(fed_client, someone, number).status_code == 202
        assert _reply_here(fed_client, bad, post, 1, "Buy my course").status_code == 202
        assert _reply_here(fed_client, good, post, 2, "A fair point").status_code == 202
        assert "Buy my course" in fed_client.get(post.url).text
        # The Accepts are not sent yet when the admin blocks: the bad server's is dropped.
        auth = AuthActions(fed_client)
        auth.login("admin")
        answer = auth.post_form(
            "/manage/fediverse/blocks",
            {"kind": "domain", "value": f"HTTP://{_domain(bad).upper()}/@ada"},
            form_page="/manage/fediverse",
        )
        assert answer.status_code == 303
        page = fed_client.get("/manage/fediverse").text
        assert "Follows removed: 2; comments hidden: 1; deliveries dropped: 2." in page
        assert f"<td>{_domain(bad)}</td>" in page
        assert fed_client.get("/ap/actor/followers").json["totalItems"] == 1
        shown = fed_client.get(post.url).text
        assert "Buy my course" not in shown and "A fair point" in shown
        # Cy's Accept, and the first post to cy's server: nothing to the blocked one.
        assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED] * 2
        assert bad.received == []

        # Whatever it sends now is refused and changes nothing.
        before = (count(fed_app, Follower), count(fed_app, Comment), count(fed_app, Delivery))
        assert follow(fed_client, bad, 7).status_code == 403
        assert follow(fed_client, bad.as_user("bob"), 8).status_code == 403
        assert _reply_here(fed_client, bad, post, 3, "Still here").status_code == 403
        like = {"id": f"{bad.actor_id}/likes/1", "type": "Like", "actor": bad.actor_id,
                "object": f"http://blog.test/ap/posts/{post.id}"}  # fmt: skip
        assert post_to_inbox(fed_client, bad, like).status_code == 403
        assert (count(fed_app, Follower), count(fed_app, Comment), count(fed_app, Delivery)) == (
            before
        )
        assert count(fed_app, Reaction) == 0
        # Its followers are gone, so a new post reaches only the other server.
        blog.post(title="After the block", published=utcnow())
        assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED]
        assert bad.received == []
        assert [r.activity["type"] for r in good.received] == ["Accept", "Create", "Create"]

        # Unblocked: it may follow again (its hidden comment stays hidden).
        with fed_app.app_context():
            [block_id] = db.session.scalars(select(FederationBlock.id)).all()
        answer = auth.post_form(
            f"/manage/fediverse/blocks/{block_id}/delete", {}, form_page="/manage/fediverse"
        )
        assert answer.status_code == 303
        assert "No server or account is blocked." in fed_client.get("/manage/fediverse").text
        assert follow(fed_client, bad, 9).status_code == 202
        assert "Buy my course" not in fed_client.get(post.url).text


def test_a_blocked_account_is_refused_and_its_server_neighbours_are_not(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder, admin: int
) -> None:
    post = blog.post()
    with running_peer(others=("bob",)) as server:
        bob = server.as_user("bob")
        assert follow(fed_client, server, 1).status_code == 202
        assert follow(fed_client, bob, 2).status_code == 202
        deliver_all(fed_app)
        auth = AuthActions(fed_client)
        auth.login("admin")
        auth.post_form(
            "/manage/fediverse/blocks",
            {"kind": "actor", "value": server.actor_id},
            form_page="/manage/fediverse",
        )
        assert fed_client.get("/ap/actor/followers").json["totalItems"] == 1
        assert _reply_here(fed_client, server, post, 1, "From Ada").status_code == 403
        assert _reply_here(fed_client, bob, post, 2, "From Bob").status_code == 202
        page = fed_client.get(post.url).text
        assert "From Bob" in page and "From Ada" not in page
        # The server's shared inbox still gets posts, for Bob.
        server.received.clear()
        blog.post(title="For Bob", published=utcnow())
        assert deliver_all(fed_app) == [DeliveryStatus.DELIVERED]
        assert [r.path for r in server.received] == ["/inbox"]


def test_a_delivery_waiting_for_a_server_blocked_since_is_not_sent(
    fed_app: Flask, fed_client: FlaskClient, blog: BlogBuilder
) -> None:
    with running_peer() as peer:
        follow(fed_client, peer)
        with fed_app.app_context():
            db.session.add(FederationBlock(kind=BlockKind.DOMAIN, value=_domain(peer)))
            db.session.commit()
            assert blocks.is_blocked(peer.actor_id)
        assert deliver_all(fed_app) == [DeliveryStatus.FAILED]
        assert peer.received == []


def test_only_an_admin_may_block_and_only_with_the_forms_token(
    fed_app: Flask, fed_client: FlaskClient, writer: int
) -> None:
    auth = AuthActions(fed_client)
    auth.login("writer")
    page = fed_client.get("/manage/fediverse")
    assert page.status_code == 200 and "Blocked servers" not in page.text
    refused = auth.post_form(
        "/manage/fediverse/blocks", {"kind": "domain", "value": "spam.example"}, "/manage/"
    )
    assert refused.status_code == 403
    assert fed_client.post("/manage/fediverse/blocks/1/delete").status_code == 403
    auth.logout()
    auth.login("admin")
    no_token = fed_client.post(
        "/manage/fediverse/blocks", data={"kind": "domain", "value": "spam.example"}
    )
    assert no_token.status_code == 400 and "had expired" in no_token.text
    assert fed_client.post("/manage/fediverse/blocks/1/delete").status_code == 400
    assert count(fed_app, FederationBlock) == 0
    assert (
        auth.post_form(
            "/manage/fediverse/blocks/999/delete", {}, form_page="/manage/fediverse"
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("domain", "not a domain"),
        ("domain", "@"),
        ("domain", "x" * 3000),
        ("domain", "\x00"),
        ("actor", "spam.example/users/x"),
        ("actor", "javascript:alert(1)"),
        ("actor", "https://spam.example/users/a b"),
        ("nothing", "spam.example"),
    ],
)
def test_a_block_that_names_nothing_is_explained_never_a_500(
    fed_app: Flask, fed_client: FlaskClient, admin: int, kind: str, value: str
) -> None:
    auth = AuthActions(fed_client)
    auth.login("admin")
    answer = auth.post_form(
        "/manage/fediverse/blocks", {"kind": kind, "value": value}, form_page="/manage/fediverse"
    )
    assert answer.status_code == 400
    assert 'class="form-error"' in answer.text
    assert count(fed_app, FederationBlock) == 0


@pytest.mark.parametrize(
    ("blocked", "address", "expected"),
    [
        ("spam.example", "https://spam.example/users/a", True),
        ("spam.example", "https://eu.spam.example/users/a", True),
        ("spam.example", "https://notspam.example/users/a", False),
        ("spam.example", "https://spam.example.org/users/a", False),
        ("spam.example:8443", "https://spam.example:8443/inbox", True),
        ("spam.example:8443", "https://spam.example/inbox", False),
    ],
)
def test_a_domain_blocks_itself_and_its_subdomains(
    app: Flask, blocked: str, address: str, expected: bool
) -> None:
    with app.app_context():
        blocks.block(BlockKind.DOMAIN, blocked, utcnow())
        assert blocks.is_blocked(address) is expected


def test_an_author_turns_their_own_actor_on_and_off_on_their_account_page(
    client: FlaskClient, auth: AuthActions, writer: Any
) -> None:
    auth.login("writer")
    page = client.get("/manage/account").text
    assert "<code>@writer@blog.test</code> (not followable while this is off)" in page
    finger = "/.well-known/webfinger?resource=acct:writer@blog.test"
    assert client.get(finger).status_code == 404
    saved = auth.post_form("/manage/account", {"comment_mail": "each", "fediverse_actor": "y"})
    assert saved.status_code == 303
    assert "not followable" not in client.get("/manage/account").text
    assert client.get(finger).json["subject"] == "acct:writer@blog.test"
    saved = auth.post_form("/manage/account", {"comment_mail": "each"})
    assert saved.status_code == 303
    assert client.get(finger).status_code == 404
