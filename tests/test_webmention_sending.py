"""Sending Webmentions and pinging the WebSub hub (kmblog/webmention): endpoint
discovery checked against the cases of webmention.rocks's discovery tests 1-23 (served
here by a site on loopback), and what publishing, editing and deleting a post send."""

from __future__ import annotations

from collections.abc import Iterator

import feedparser
import pytest
from flask import Flask
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import OutgoingWebmention, Post
from kmblog.outbound import Limits
from kmblog.webmention.sending import discover_endpoint
from tests.conftest import AuthActions
from tests.test_editor import edit, new_post
from tests.test_webmention import run_jobs
from tests.web_peer import Page, WebPeer, outside_connections, web_peer

__all__ = ["outside_connections"]  # a fixture, used by name

LOOPBACK = Limits(allow_loopback=True, seconds=5)


def html(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head><title>t</title>{head}</head><body>{body}</body></html>"


def discovery_cases(peer: WebPeer) -> dict[int, tuple[str, str]]:
    """webmention.rocks's discovery tests, each as a page here: number -> (the page's
    address, the endpoint a sender must find)."""
    url = peer.url
    cases: dict[int, tuple[str, str]] = {}

    def case(n: int, page: Page, endpoint: str, path: str | None = None) -> None:
        path = path or f"/test/{n}"
        peer.page(path, page)
        # The endpoint answers a POST with 202, as a receiver would.
        peer.page(endpoint.split("?")[0], Page(202, body="Accepted"))
        cases[n] = (url(path), url(endpoint))

    # 1, 2: HTTP Link header, unquoted rel; relative, then absolute address.
    case(1, Page(headers=[("Link", "<1/webmention>; rel=webmention")]), "/test/1/webmention")
    case(2, Page(headers=[("Link", f"<{url('/test/2/wm')}>; rel=webmention")]), "/test/2/wm")
    # 3, 4: <link>, relative then absolute.
    case(3, Page(body=html('<link rel="webmention" href="3/webmention">')), "/test/3/webmention")
    case(4, Page(body=html(f'<link rel="webmention" href="{url("/test/4/wm")}">')), "/test/4/wm")
    # 5, 6: <a>, relative then absolute.
    case(
        5,
        Page(body=html(body='<a rel="webmention" href="5/webmention">e</a>')),
        "/test/5/webmention",
    )
    case(
        6,
        Page(body=html(body=f'<a rel="webmention" href="{url("/test/6/wm")}">e</a>')),
        "/test/6/wm",
    )
    # 7: the header's name in strange casing; 8: a quoted rel.
    case(7, Page(headers=[("LinK", "<7/webmention>; rel=webmention")]), "/test/7/webmention")
    case(8, Page(headers=[("Link", '<8/webmention>; rel="webmention"')]), "/test/8/webmention")
    # 9, 10: several rel values, on a <link> and in a header.
    case(
        9,
        Page(body=html('<link rel="webmention somethingelse" href="9/webmention">')),
        "/test/9/webmention",
    )
    case(
        10,
        Page(headers=[("Link", '<10/webmention>; rel="webmention somethingelse"')]),
        "/test/10/webmention",
    )
    # 11: a header, a <link> and an <a>: the header wins.
    case(
        11,
        Page(
            headers=[("Link", "<11/webmention>; rel=webmention")],
            body=html(
                '<link rel="webmention" href="11/wrong">',
                '<a rel="webmention" href="11/wrong">e</a>',
            ),
        ),
        "/test/11/webmention",
    )
    # 12: rel="not-webmention" is not rel="webmention".
    case(
        12,
        Page(
            body=html(
                '<link rel="not-webmention" href="12/wrong">'
                '<link rel="webmention" href="12/webmention">'
            )
        ),
        "/test/12/webmention",
    )
    # 13: an endpoint inside an HTML comment is none; 14: nor is one in escaped HTML.
    case(
        13,
        Page(
            body=html(
                '<!-- <link rel="webmention" href="13/wrong"> -->'
                '<link rel="webmention" href="13/webmention">'
            )
        ),
        "/test/13/webmention",
    )
    case(
        14,
        Page(
            body=html(
                '<link rel="webmention" href="14/webmention">',
                '<code>&lt;a href="14/wrong" rel="webmention"&gt;&lt;/a&gt;</code>',
            )
        ),
        "/test/14/webmention",
    )
    # 15: an empty href: the page itself is the endpoint.
    case(15, Page(body=html('<link rel="webmention" href="">')), "/test/15")
    peer.page("/test/15", Page(body=html('<link rel="webmention" href="">')))
    # 16, 17: an <a> and a <link>: the first in the document wins, either way round.
    case(
        16,
        Page(
            body=html(
                body='<a rel="webmention" href="16/webmention">e</a>'
                '<link rel="webmention" href="16/wrong">'
            )
        ),
        "/test/16/webmention",
    )
    case(
        17,
        Page(
            body=html(
                body='<link rel="webmention" href="17/webmention">'
                '<a rel="webmention" href="17/wrong">e</a>'
            )
        ),
        "/test/17/webmention",
    )
    # 18: two Link headers; 19: one header with two values.
    case(
        18,
        Page(
            headers=[
                ("Link", '<18/wrong>; rel="other"'),
                ("Link", '<18/webmention>; rel="webmention"'),
            ]
        ),
        "/test/18/webmention",
    )
    case(
        19,
        Page(headers=[("Link", '<19/wrong>; rel="other", <19/webmention>; rel="webmention"')]),
        "/test/19/webmention",
    )
    # 20: a <link> without href is passed over.
    case(
        20,
        Page(body=html('<link rel="webmention"><link rel="webmention" href="20/webmention">')),
        "/test/20/webmention",
    )
    # 21: the endpoint's query string is kept.
    case(
        21,
        Page(body=html('<link rel="webmention" href="21/webmention?query=yes">')),
        "/test/21/webmention?query=yes",
    )
    # 22: relative to the page's own path.
    case(
        22,
        Page(body=html('<link rel="webmention" href="webmention">')),
        "/test/22/deep/webmention",
        path="/test/22/deep/page",
    )
    # 23: the page redirects; the endpoint is relative to where it ends.
    peer.page(
        "/test/23/page/final",
        Page(headers=[("Link", "<webmention-endpoint>; rel=webmention")]),
    )
    case(
        23,
        Page(302, headers=[("Location", "/test/23/page/final")]),
        "/test/23/page/webmention-endpoint",
        path="/test/23/page",
    )
    return cases


@pytest.fixture
def peer() -> Iterator[WebPeer]:
    with web_peer() as site:
        yield site


@pytest.mark.parametrize("number", range(1, 24))
def test_discovery_finds_the_endpoint_as_webmention_rocks_expects(app, peer, number):
    cases = discovery_cases(peer)
    page, endpoint = cases[number]
    with app.app_context():
        assert discover_endpoint(page, LOOPBACK) == endpoint


def test_a_page_without_an_endpoint_has_none(app, peer):
    page = peer.page("/plain", Page(body=html(body="<p>No endpoint here.</p>")))
    missing = peer.url("/missing")
    with app.app_context():
        assert discover_endpoint(page, LOOPBACK) is None
        assert discover_endpoint(missing, LOOPBACK) is None


@pytest.fixture
def sending_app(make_app, tmp_path, peer) -> Flask:  # type: ignore[no-untyped-def]
    return make_app(
        FETCH_ALLOW_LOOPBACK=True,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"),
        WEBSUB_HUB=peer.url("/hub"),
    )


def signed_in(app: Flask, username: str = "writer") -> AuthActions:
    client = app.test_client()
    auth = AuthActions(client)
    response = auth.login(username)
    assert response.status_code in {302, 303}
    return auth


def sent_to(peer: WebPeer, endpoint: str) -> list[dict[str, list[str]]]:
    """The forms POSTed to `endpoint` (its query string, if any, left aside)."""
    path = endpoint.removeprefix(peer.url(""))
    return [
        received.form
        for received in peer.received
        if received.method == "POST" and received.path.split("?")[0] == path
    ]


def post_address(app: Flask, post_id: int) -> str:
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        return f"http://blog.test/{post.year:04d}/{post.month:02d}/{post.slug}.html"


def test_publishing_sends_a_webmention_to_every_linked_page(sending_app, writer, peer):
    peer.page("/hub", Page(204))
    cases = discovery_cases(peer)
    links = "\n".join(f"- [case {n}]({page})" for n, (page, _endpoint) in cases.items())
    auth = signed_in(sending_app)
    post_id = new_post(auth.client, action="publish", title="Links to the test suite", body=links)
    run_jobs(sending_app)
    source = post_address(sending_app, post_id)
    for n, (page, endpoint) in cases.items():
        forms = sent_to(peer, endpoint.split("?")[0])
        assert forms == [{"source": [source], "target": [page]}], n
    # 21: the query string went along.
    assert any(r.path == "/test/21/webmention?query=yes" for r in peer.received)


def test_editing_and_deleting_tell_the_linked_pages_again(sending_app, writer, peer):
    peer.page("/hub", Page(204))
    first = peer.page("/a", Page(headers=[("Link", "</a/wm>; rel=webmention")]))
    second = peer.page("/b", Page(headers=[("Link", "</b/wm>; rel=webmention")]))
    peer.page("/a/wm", Page(202))
    peer.page("/b/wm", Page(202))
    auth = signed_in(sending_app)
    post_id = new_post(auth.client, action="publish", body=f"See [a]({first}) and [b]({second}).")
    run_jobs(sending_app)
    assert len(sent_to(peer, peer.url("/a/wm"))) == 1
    assert len(sent_to(peer, peer.url("/b/wm"))) == 1

    # The link to b is taken out: b is told too (its page no longer links).
    edit(auth.client, post_id, action="save", body=f"Only [a]({first}) now.")
    run_jobs(sending_app)
    assert len(sent_to(peer, peer.url("/a/wm"))) == 2
    assert len(sent_to(peer, peer.url("/b/wm"))) == 2

    response = auth.post_form(
        f"/manage/posts/{post_id}/delete", {}, form_page=f"/manage/posts/{post_id}/delete"
    )
    assert response.status_code == 303
    run_jobs(sending_app)
    assert len(sent_to(peer, peer.url("/a/wm"))) == 3
    assert len(sent_to(peer, peer.url("/b/wm"))) == 3
    with sending_app.app_context():
        rows = list(db.session.scalars(select(OutgoingWebmention)))
        assert all(row.sent_at is not None and row.post_id is None for row in rows)


def test_drafts_send_nothing(sending_app, writer, peer):
    page = peer.page("/a", Page(headers=[("Link", "</a/wm>; rel=webmention")]))
    auth = signed_in(sending_app)
    new_post(auth.client, action="save", body=f"See [a]({page}).")
    run_jobs(sending_app)
    assert peer.received == []


def test_sending_never_reaches_a_private_address(
    make_app, tmp_path, writer, peer, outside_connections
):
    app = make_app(JOBS_SQLITE_PATH=str(tmp_path / "jobs.sqlite"))
    loopback = peer.page("/a", Page(headers=[("Link", "</a/wm>; rel=webmention")]))
    # An endpoint on a public-looking page may still point inside: refused too.
    auth = signed_in(app)
    new_post(
        auth.client,
        action="publish",
        body=f"[a]({loopback}) [b](http://10.1.2.3/page) [c](http://169.254.169.254/latest)",
    )
    run_jobs(app)
    assert peer.received == []
    assert outside_connections == []
    with app.app_context():
        rows = list(db.session.scalars(select(OutgoingWebmention)))
        assert len(rows) == 3
        assert all("private address" in row.last_error for row in rows)


def test_an_endpoint_inside_the_network_is_not_posted_to(
    sending_app, writer, peer, outside_connections
):
    page = peer.page("/a", Page(headers=[("Link", "<http://10.0.0.7/wm>; rel=webmention")]))
    auth = signed_in(sending_app)
    new_post(auth.client, action="publish", body=f"[a]({page})")
    run_jobs(sending_app)
    assert outside_connections == []


# --- WebSub ----------------------------------------------------------------------------------


def test_feeds_name_the_hub_and_publishing_pings_it(sending_app, writer, peer):
    peer.page("/hub", Page(204))
    hub = peer.url("/hub")
    client = sending_app.test_client()
    response = client.get("/feeds/posts/default")
    parsed = feedparser.parse(response.data)
    links = {link["rel"]: link["href"] for link in parsed.feed.links}
    assert links["hub"] == hub
    assert links["self"] == "http://blog.test/feeds/posts/default"
    assert f'<{hub}>; rel="hub"' in response.headers["Link"]

    auth = signed_in(sending_app)
    new_post(auth.client, action="publish", labels="KM Strategy")
    run_jobs(sending_app)
    pinged = [r.form for r in peer.received if r.path == "/hub"]
    topics = {form["hub.url"][0] for form in pinged}
    assert {form["hub.mode"][0] for form in pinged} == {"publish"}
    assert "http://blog.test/feeds/posts/default" in topics
    assert "http://blog.test/feeds/posts/default/-/KM%20Strategy" in topics


def test_without_a_hub_the_feeds_name_none(client):
    parsed = feedparser.parse(client.get("/feeds/posts/default").data)
    assert "hub" not in {link["rel"] for link in parsed.feed.links}
