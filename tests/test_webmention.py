"""Webmention and Pingback received (kmblog/webmention): the endpoint on post pages, a
real sender that is not ours (ronkyuu, the IndieWeb's Python Webmention library), the
verification job, microformats2 readings, and the private-address guard.

Jobs run as a worker runs them: taken from the app's own Huey queue and executed
(run_jobs), or by the worker threads `flask serve` starts (the end-to-end test)."""

from __future__ import annotations

import threading
import xmlrpc.client
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import ronkyuu
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from kmblog.extensions import db
from kmblog.jobs import queue_of, start_in_process
from kmblog.manage.services import set_comment_status
from kmblog.models import (
    Comment,
    CommentOrigin,
    CommentPolicy,
    CommentStatus,
    MentionKind,
    MentionProtocol,
    MentionState,
    Webmention,
    utcnow,
)
from tests.conftest import AuthActions
from tests.factories import BlogBuilder, PostRef
from tests.live_server import free_port
from tests.mail_server import wait_until
from tests.web_peer import Page, WebPeer, outside_connections, web_peer

__all__ = ["outside_connections"]  # a fixture, used by name

BLOG = "http://blog.test"


def run_jobs(app: Flask) -> int:
    """Run every job queued on `app`'s queue, as a worker would; how many ran."""
    huey = queue_of(app).huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


@pytest.fixture
def peer() -> Iterator[WebPeer]:
    with web_peer() as site:
        yield site


@pytest.fixture
def loopback_app(make_app, tmp_path) -> Flask:  # type: ignore[no-untyped-def]
    """The blog with the tests' allowance to fetch pages on 127.0.0.1."""
    return make_app(FETCH_ALLOW_LOOPBACK=True, JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))


@pytest.fixture
def guarded_app(make_app, tmp_path) -> Flask:  # type: ignore[no-untyped-def]
    """The blog as deployed: no private or loopback address is ever fetched."""
    return make_app(JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))


def reply_page(target: str, text: str = "Maps come after the needs, agreed.", **extra: str) -> str:
    """A reply on another blog, marked up as IndieWeb sites mark one up."""
    title = extra.get("title", "On knowledge maps")
    return f"""<!doctype html><html><head><title>{title}</title></head>
<body><article class="h-entry">
  <span class="p-author h-card"><img class="u-photo" src="https://ann.example/ann.jpg" alt="">
    <a class="u-url p-name" href="https://ann.example/">Ann Reader</a></span>
  <p>In reply to <a class="u-in-reply-to" href="{target}">the post on maps</a></p>
  <div class="e-content">{text}</div>
  <a class="u-url" href="{extra.get("url", "https://ann.example/replies/1")}">permalink</a>
</article></body></html>"""


def entry_page(target: str, link_class: str, name: str = "Bob Builder") -> str:
    return f"""<!doctype html><html><head><title>A page of Bob's</title></head><body>
<div class="h-entry"><span class="p-author h-card">{name}</span>
<p class="p-name e-content">Worth reading: <a class="{link_class}" href="{target}">maps</a>.</p>
</div></body></html>"""


def mention(app: Flask, source: str, target: str) -> Any:
    return app.test_client().post("/webmention", data={"source": source, "target": target})


def mentions(app: Flask) -> list[Webmention]:
    with app.app_context():
        rows = list(db.session.scalars(select(Webmention).order_by(Webmention.id)))
        db.session.expunge_all()
        return rows


def page_of(app: Flask, post: PostRef) -> str:
    response = app.test_client().get(post.url)
    assert response.status_code == 200
    return response.text


# --- the endpoint, advertised ----------------------------------------------------------------


def test_post_pages_advertise_the_endpoints_also_from_the_page_cache(client, blog):
    post = blog.post(title="Knowledge maps")
    first = client.get(post.url)
    cached = client.get(post.url)
    revalidated = client.get(post.url, headers={"If-None-Match": cached.headers["ETag"]})
    assert revalidated.status_code == 304
    for response in (first, cached, revalidated):
        assert response.headers["Link"] == f'<{BLOG}/webmention>; rel="webmention"'
        assert response.headers["X-Pingback"] == f"{BLOG}/xmlrpc"
    assert f'<link rel="webmention" href="{BLOG}/webmention">' in cached.text
    assert f'<link rel="pingback" href="{BLOG}/xmlrpc">' in cached.text


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        ("", "{post}", "source"),
        ("javascript:alert(1)", "{post}", "http or https"),
        ("ftp://files.example/x", "{post}", "http or https"),
        ("https://user@evil.example/", "{post}", "http or https"),
        ("{post}", "{post}", "same address"),
        ("https://ann.example/a", "https://other.example/2009/06/x.html", "not a published post"),
        ("https://ann.example/a", f"{BLOG}/2009/06/no-such-post.html", "not a published post"),
        ("https://ann.example/a", f"{BLOG}/", "not a published post"),
        ("https://ann.example/a", "not a url at all", "not a published post"),
        ("https://ann.example/" + "a" * 1200, "{post}", "at most 1000"),
    ],
)
def test_a_mention_must_name_a_post_and_a_web_source(app, blog, source, target, why):
    post = blog.post(title="Knowledge maps")
    address = BLOG + post.url
    response = mention(app, source.format(post=address), target.format(post=address))
    assert response.status_code == 400
    assert why in response.text
    assert mentions(app) == []


def test_a_scheduled_post_is_no_target_before_its_time(app, blog):
    post = blog.post(title="Coming soon", published=utcnow() + timedelta(days=2))
    response = mention(app, "https://ann.example/a", BLOG + post.url)
    assert response.status_code == 400
    assert mentions(app) == []


# --- a real sender that is not ours ------------------------------------------------------------


@pytest.fixture
def live_blog(make_app, tmp_path) -> Iterator[tuple[Flask, str]]:  # type: ignore[no-untyped-def]
    """The blog served over a real socket on loopback, with its job workers in threads
    (as `flask serve` runs them)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(
        SERVER_NAME=f"127.0.0.1:{port}",
        BASE_URL=base,
        FETCH_ALLOW_LOOPBACK=True,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    consumer = start_in_process(app, workers=2)
    try:
        yield app, base
    finally:
        consumer.stop(graceful=True)
        server.shutdown()


def test_a_reply_sent_by_ronkyuu_appears_under_the_post_after_verification(live_blog, blog, peer):
    app, base = live_blog
    post = blog.post(title="Knowledge maps")
    target = base + post.url
    source = peer.page("/replies/1", Page(body=reply_page(target)))

    # The sender's own steps: find the links in its page, discover each one's endpoint
    # (from our Link header) and send.
    found = ronkyuu.findMentions(source)
    assert target in found["refs"]
    status, endpoint = ronkyuu.discoverEndpoint(target)
    assert (status, endpoint) == (200, f"{base}/webmention")
    sent = ronkyuu.sendWebmention(source, target)
    assert sent is not None and sent.status_code == 202

    def shown() -> bool:
        with app.test_client() as client:
            return "Maps come after the needs, agreed." in client.get(post.url).text

    wait_until(shown, what="the reply on the post page")
    page = app.test_client().get(post.url).text
    assert "Ann Reader" in page
    assert 'href="https://ann.example/replies/1" rel="nofollow ugc noopener">Webmention</a>' in page
    assert "1 Comment:" in page


# --- verification ------------------------------------------------------------------------------


def test_a_source_without_the_link_is_refused_and_shows_nothing(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/no-link", Page(body="<p>About maps, with no link at all.</p>"))
    assert mention(loopback_app, source, target).status_code == 202
    assert run_jobs(loopback_app) >= 1
    [row] = mentions(loopback_app)
    assert row.state == MentionState.REFUSED
    assert "does not link" in row.last_error
    page = page_of(loopback_app, post)
    assert "Links to this post" not in page and "0 Comments:" in page


def test_a_reply_becomes_a_comment_sanitised_and_named(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    hostile = "Agreed. <script>alert(1)</script><img src=x onerror=alert(2)><b>Bold</b>"
    source = peer.page("/r", Page(body=reply_page(target, hostile)))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    assert (row.state, row.kind) == (MentionState.VERIFIED, MentionKind.REPLY)
    assert (row.author_name, row.author_url) == ("Ann Reader", "https://ann.example/")
    assert row.author_photo == "https://ann.example/ann.jpg"
    with loopback_app.app_context():
        comment = db.session.scalars(select(Comment)).one()
        assert comment.origin == CommentOrigin.WEBMENTION
        assert comment.status == CommentStatus.PUBLISHED
        assert "<script" not in comment.body_html and "onerror" not in comment.body_html
        assert "<b>Bold</b>" in comment.body_html
    page = page_of(loopback_app, post)
    assert "<script>alert(1)" not in page
    assert '<a class="p-author h-card" href="https://ann.example/"' in page
    assert "via <a" in page and "1 Comment:" in page


@pytest.mark.parametrize("linked", ["anchor", "permalink", "h-cite"])
def test_a_reply_to_a_comment_joins_that_comments_thread(loopback_app, blog, peer, linked):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    first = blog.comment(post, "Maps first.", at=post.published_at + timedelta(hours=1))
    other = blog.comment(post, "Tools first.", at=post.published_at + timedelta(hours=2))
    address = {
        "anchor": f"{target}#c{first.id}",
        "permalink": f"{target}?showComment={first.millis}#c{first.id}",
        "h-cite": f"{target}#c{first.id}",
    }[linked]
    page = reply_page(address, "Yes: maps before tools.")
    if linked == "h-cite":
        page = page.replace(
            f'<a class="u-in-reply-to" href="{address}">',
            f'<a class="u-in-reply-to h-cite" href="{address}"><span class="p-name">',
        ).replace("the post on maps</a>", "a comment</span></a>")
    # Sent for the comment's address (the post's, as far as the endpoint cares).
    assert mention(loopback_app, peer.page("/r", Page(body=page)), address).status_code == 202
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    assert (row.state, row.kind) == (MentionState.VERIFIED, MentionKind.REPLY)
    with loopback_app.app_context():
        reply = db.session.scalars(select(Comment).where(Comment.id == row.comment_id)).one()
        assert (reply.parent_id, reply.root_id, reply.depth) == (first.id, first.id, 1)
        assert db.session.get(Comment, other.id).replied is False  # type: ignore[union-attr]
    shown = page_of(loopback_app, post).split('id="comments"', 1)[1]
    assert (
        shown.index("Maps first.") < shown.index("maps before tools") < shown.index("Tools first.")
    )


def test_a_reply_to_a_comment_of_another_post_answers_its_own_post(loopback_app, blog, peer):
    post, elsewhere = blog.post(title="Knowledge maps"), blog.post(title="Elsewhere")
    foreign = blog.comment(elsewhere, "Not here.")
    target = BLOG + post.url
    mention(loopback_app, peer.page("/r", Page(body=reply_page(f"{target}#c{foreign.id}"))), target)
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    with loopback_app.app_context():
        reply = db.session.get(Comment, row.comment_id)
        assert reply is not None and reply.post_id == post.id and reply.parent_id is None


def test_replies_go_through_the_same_moderation_as_comments(loopback_app, blog, peer):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    mention(loopback_app, peer.page("/r", Page(body=reply_page(target))), target)
    run_jobs(loopback_app)
    with loopback_app.app_context():
        assert db.session.scalars(select(Comment.status)).one() == CommentStatus.PENDING
    assert "Maps come after the needs" not in page_of(loopback_app, post)
    # Approved in the comments' moderation queue: its mention is approved with it.
    with loopback_app.app_context():
        set_comment_status(list(db.session.scalars(select(Comment))), CommentStatus.PUBLISHED)
    assert [row.status for row in mentions(loopback_app)] == [CommentStatus.PUBLISHED]
    assert "Maps come after the needs" in page_of(loopback_app, post)


def test_blocked_words_make_a_reply_spam(loopback_app, blog, peer):
    blog.settings(blocked_words="casino")
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/r", Page(body=reply_page(target, "Great casino deals here")))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    with loopback_app.app_context():
        assert db.session.scalars(select(Comment.status)).one() == CommentStatus.SPAM


def test_likes_and_reposts_are_counted_and_mentions_listed(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    for path, css in (
        ("/like-1", "u-like-of"),
        ("/like-2", "u-like-of"),
        ("/repost", "u-repost-of"),
        ("/mention", ""),
    ):
        source = peer.page(path, Page(body=entry_page(target, css)))
        assert mention(loopback_app, source, target).status_code == 202
    run_jobs(loopback_app)
    kinds = sorted(row.kind.value for row in mentions(loopback_app))
    assert kinds == ["like", "like", "mention", "repost"]
    page = page_of(loopback_app, post)
    assert "2 likes" in page and "1 repost" in page
    assert "Links to this post:" in page
    assert f'<a href="{peer.url("/mention")}" rel="nofollow ugc noopener">A page of Bob' in page
    assert "by Bob Builder" in page
    # Likes, reposts and links are no comments.
    assert "0 Comments:" in page


def test_a_mention_sent_again_is_read_again_and_a_gone_source_removes_it(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/r", Page(body=reply_page(target, "First thoughts.")))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    assert "First thoughts." in page_of(loopback_app, post)

    peer.page("/r", Page(body=reply_page(target, "Second thoughts, revised.")))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    page = page_of(loopback_app, post)
    assert "Second thoughts, revised." in page and "First thoughts." not in page
    assert len(mentions(loopback_app)) == 1

    peer.page("/r", Page(410, body="gone"))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    assert row.state == MentionState.GONE
    page = page_of(loopback_app, post)
    assert "Second thoughts" not in page and "0 Comments:" in page


def test_a_source_that_stops_linking_takes_its_mention_away(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/m", Page(body=entry_page(target, "")))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    assert "Links to this post:" in page_of(loopback_app, post)
    peer.page("/m", Page(body="<p>Rewritten without the link.</p>"))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    assert "Links to this post:" not in page_of(loopback_app, post)


def test_what_a_source_says_about_itself_is_shown_as_text(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    hostile = "<img src=x onerror=alert(1)>"
    page = (
        f"<!doctype html><html><head><title>{hostile.replace('<', '&lt;')}</title></head>"
        '<body><div class="h-entry"><span class="p-author h-card">'
        "&lt;script&gt;alert(2)&lt;/script&gt;</span>"
        f'<p class="e-content">See <a href="{target}">this</a> &lt;svg onload=alert(3)&gt;</p>'
        "</div></body></html>"
    )
    mention(loopback_app, peer.page("/h", Page(body=page)), target)
    source = peer.page("/r", Page(body=reply_page(target, "Fine.")))
    peer.page(
        "/r",
        Page(body=reply_page(target, "Fine.").replace("Ann Reader", "&lt;b onmouseover=x&gt;Ann")),
    )
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    shown = page_of(loopback_app, post)
    assert "Links to this post:" in shown and "1 Comment:" in shown
    for payload in ("<img src=x", "<script>alert(2)", "<svg onload", "<b onmouseover"):
        assert payload not in shown, payload
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown


# --- the private-address guard ---------------------------------------------------------------


def hostile_sources(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/page",
        f"http://localhost:{port}/page",
        f"http://[::1]:{port}/page",
        f"http://[::ffff:127.0.0.1]:{port}/page",
        f"http://2130706433:{port}/page",  # 127.0.0.1 as one number
        f"http://0x7f.1:{port}/page",
        f"http://0.0.0.0:{port}/page",
        "http://10.0.0.1/page",
        "http://10.255.255.254:8080/page",
        "http://172.16.0.1/page",
        "http://192.168.1.1/page",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/page",
        "http://[fe80::1]/page",
        "http://[fd00::1]/page",
    ]


def test_no_private_or_loopback_source_is_ever_fetched(
    guarded_app, blog, peer, outside_connections
):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    peer.page("/page", Page(body=entry_page(target, "")))
    sources = hostile_sources(peer.port)
    for source in sources:
        assert mention(guarded_app, source, target).status_code == 202
    run_jobs(guarded_app)
    rows = mentions(guarded_app)
    assert len(rows) == len(sources)
    for row in rows:
        assert row.state == MentionState.REFUSED, row.source
        assert "not fetched" in row.last_error, row.source
    assert peer.received == []  # the loopback page was never asked for
    assert outside_connections == []  # nor was any other address tried
    assert "Links to this post" not in page_of(guarded_app, post)


@pytest.mark.parametrize(
    "elsewhere",
    ["http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/"],
)
def test_redirects_to_private_addresses_are_not_followed(
    loopback_app, blog, peer, outside_connections, elsewhere
):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/moved", Page(302, headers=[("Location", elsewhere)]))
    mention(loopback_app, source, target)
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    assert row.state == MentionState.REFUSED
    assert "private address" in row.last_error
    assert outside_connections == []


def test_a_source_too_large_is_refused(make_app, tmp_path, blog, peer):
    app = make_app(
        FETCH_ALLOW_LOOPBACK=True, FETCH_MAX_BYTES=10_000, JOBS_SQLITE_PATH=str(tmp_path / "j")
    )
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    body = entry_page(target, "") + "<!--" + "x" * 20_000 + "-->"
    mention(app, peer.page("/big", Page(body=body)), target)
    run_jobs(app)
    [row] = mentions(app)
    assert row.state == MentionState.REFUSED and "larger than" in row.last_error


# --- Pingback --------------------------------------------------------------------------------


def pingback(app: Flask, body: bytes | str) -> Any:
    return app.test_client().post("/xmlrpc", data=body, content_type="text/xml")


def test_a_pingback_is_received_as_a_mention(loopback_app, blog, peer):
    post = blog.post(title="Knowledge maps")
    target = BLOG + post.url
    source = peer.page("/old-blog", Page(body=entry_page(target, "")))
    response = pingback(loopback_app, xmlrpc.client.dumps((source, target), "pingback.ping"))
    assert response.status_code == 200
    (answer,), _ = xmlrpc.client.loads(response.data)
    assert "received" in answer
    run_jobs(loopback_app)
    [row] = mentions(loopback_app)
    assert (row.protocol, row.state) == (MentionProtocol.PINGBACK, MentionState.VERIFIED)
    assert "Links to this post:" in page_of(loopback_app, post)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not xml at all", 0),
        (xmlrpc.client.dumps(("a",), "pingback.ping"), 0),
        (xmlrpc.client.dumps(("a", "b"), "system.listMethods"), 0),
        (xmlrpc.client.dumps((1, 2), "pingback.ping"), 0),
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<methodCall><methodName>pingback.ping</methodName><params>"
            "<param><value><string>&b;</string></value></param>"
            "<param><value><string>&b;</string></value></param></params></methodCall>",
            0,
        ),
        (xmlrpc.client.dumps(("https://ann.example/", f"{BLOG}/nope.html"), "pingback.ping"), 33),
    ],
)
def test_bad_pingbacks_get_a_fault(app, blog, body, code):
    blog.post(title="Knowledge maps")
    response = pingback(app, body)
    assert response.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(response.data)
    assert fault.value.faultCode == code
    assert mentions(app) == []


# --- the authors' list -----------------------------------------------------------------------


def test_authors_see_mentions_and_can_delete_them(loopback_app, blog: BlogBuilder, writer, peer):
    post = blog.post(title="Knowledge maps", author_id=writer)
    target = BLOG + post.url
    mention(loopback_app, peer.page("/m", Page(body=entry_page(target, ""))), target)
    run_jobs(loopback_app)
    client = loopback_app.test_client()
    auth = AuthActions(client)
    auth.login("writer")
    listing = client.get("/manage/mentions")
    assert listing.status_code == 200
    assert "A page of Bob" in listing.text and "Knowledge maps" in listing.text
    [row] = mentions(loopback_app)
    response = auth.post_form(
        f"/manage/mentions/{row.id}", {"action": "delete"}, form_page="/manage/mentions"
    )
    assert response.status_code == 303
    assert "Links to this post" not in page_of(loopback_app, post)


# --- what a post page costs ------------------------------------------------------------------


def add_mentions(app: Flask, post_id: int, likes: int, links: int) -> None:
    """Verified, published mentions, as the job leaves them."""
    with app.app_context():
        now = utcnow()
        for n in range(likes + links):
            db.session.add(
                Webmention(
                    post_id=post_id,
                    source=f"https://site{n}.example/page",
                    target="x",
                    kind=MentionKind.LIKE if n < likes else MentionKind.MENTION,
                    state=MentionState.VERIFIED,
                    status=CommentStatus.PUBLISHED,
                    title=f"Page {n}",
                    verified_at=now,
                )
            )
        db.session.commit()


def test_a_post_page_costs_the_same_however_many_mentions_it_has(make_app, blog, count_queries):
    app = make_app(PAGE_CACHE=False)
    few, many = blog.post(title="Few"), blog.post(title="Many")
    add_mentions(app, few.id, likes=1, links=1)
    add_mentions(app, many.id, likes=40, links=30)
    client = app.test_client()
    counts = []
    for post in (few, many):
        client.get(post.url)  # the sidebar's counts, once
        with count_queries() as queries:
            page = client.get(post.url).text
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert "40 likes" in page and page.count('class="backlink"') == 30


def test_the_mentions_list_costs_the_same_however_long(make_app, blog, admin, count_queries):
    app = make_app(PAGE_CACHE=False)
    auth = AuthActions(app.test_client())
    auth.login("admin")
    counts = []
    for number in (2, 40):
        post = blog.post(title=f"Post with {number}")
        add_mentions(app, post.id, likes=number // 2, links=number // 2)
        with count_queries() as queries:
            listing = auth.client.get("/manage/mentions")
        assert listing.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert listing.text.count('class="mention"') == 42
