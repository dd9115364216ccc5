"""kmblog behind the documented nginx front (bench/nginx.conf), both real processes:
anonymous readers get nginx's cached copy, and a commenter sees their comment at once.

Needs nginx (Debian's package). Without it these tests are left out with a reason;
KMBLOG_REQUIRE_NGINX=1 (set by CI) makes that an error instead.
"""

from __future__ import annotations

import gzip
import http.cookiejar
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import pytest

from kmblog.security import HEADERS as SECURITY_HEADERS
from tests.live_server import ROOT, free_port, gunicorn

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")


@pytest.fixture(scope="module")
def bench_run():  # type: ignore[no-untyped-def]
    """bench/run.py, whose nginx runner and front config the benchmark uses too."""
    if NGINX is None:
        if os.environ.get("KMBLOG_REQUIRE_NGINX") == "1":
            pytest.fail("KMBLOG_REQUIRE_NGINX=1 but nginx is not installed")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module("run")
    finally:
        sys.path.remove(str(ROOT / "bench"))


@pytest.fixture
def front(app, bench_run, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """gunicorn on the test database, nginx in front of it; yields nginx's base URL."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    # nginx's workers run as nobody when the tests run as root: their cache must lie
    # outside pytest's own folders, which only their owner may enter.
    place = Path(tempfile.mkdtemp(prefix="kmblog-nginx-"))
    place.chmod(0o755)
    try:
        with gunicorn(database, tmp_path / "gunicorn.log") as app_base:
            port = free_port()
            server = bench_run.front_config(port, app_base, place)
            with bench_run.nginx(place / "nginx-front", server):
                yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(place, ignore_errors=True)


class Reader:
    """A browser as far as cookies go; keeps each answer's headers."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[str, dict[str, str]]:
        with self.opener.open(self.base + path, timeout=30) as reply:
            return reply.read().decode(), dict(reply.headers.items())

    def post(self, path: str, form: dict[str, str]) -> int:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as reply:
            return reply.status  # after the 303, the post page


def shared_copy(reader: Reader, url: str) -> tuple[str, Any]:
    """The page as a passer-by gets it once nginx keeps it: nginx stores an answer as it
    finishes sending it, and its other worker may take the next request first (seen
    under load), so a few tries."""
    for _ in range(20):
        page, headers = reader.get(url)
        if headers["X-Cache-Status"] == "HIT":
            break
        time.sleep(0.05)
    return page, headers


def test_readers_get_the_cached_copy_and_a_commenter_sees_their_comment_at_once(front, blog):  # type: ignore[no-untyped-def]
    post = blog.post(title="Behind the front")
    blog.comment(post, body="An earlier thought.")
    page, headers = shared_copy(Reader(front), post.url)
    assert headers["X-Cache-Status"] == "HIT"  # nginx answered, not the app
    assert 'name="csrf_token"' not in page  # a reader's page holds no one's token
    assert "Set-Cookie" not in headers

    commenter = Reader(front)
    commenter.get(post.url)  # the shared copy, as anyone gets it
    timer, _ = commenter.get("/comments/form-timer")  # what the page's script asks for
    fields = json.loads(timer)
    time.sleep(0.1)
    status = commenter.post(post.url, {"shown": fields["shown"], "body": "My own note."})
    assert status == 200
    page, headers = commenter.get(post.url)
    assert "<p>My own note.</p>" in page, "the commenter was given the stale copy"
    assert headers.get("X-Cache-Status") in {None, "BYPASS"}


def test_a_commenter_who_may_still_edit_gets_their_own_page_past_nginx(front, blog):  # type: ignore[no-untyped-def]
    """The edit cookie alone (the commenter's kmblog_fresh gone) passes nginx by, so the
    commenter sees their Edit link; everyone else still gets the shared copy without it."""
    post = blog.post(title="Edits behind the front")
    commenter = Reader(front)
    timer, _ = commenter.get("/comments/form-timer")
    status = commenter.post(
        post.url, {"shown": json.loads(timer)["shown"], "body": "Mine to change."}
    )
    assert status == 200
    claim = [c for c in commenter.jar if c.name == "kmblog_edit"]
    assert claim, "commenting set no edit cookie"

    later = Reader(front)  # the same browser once kmblog_fresh has expired
    later.jar.set_cookie(claim[0])
    for _ in range(2):
        page, headers = later.get(post.url)
        assert 'class="edit-comment"' in page
        assert headers.get("X-Cache-Status") in {None, "BYPASS"}

    page, headers = shared_copy(Reader(front), post.url)
    assert headers["X-Cache-Status"] == "HIT"
    assert "Mine to change." in page
    assert 'class="edit-comment"' not in page


def ask(base: str, path: str, **headers: str) -> tuple[bytes, dict[str, str], int]:
    """One request with exactly these headers (no cookie jar, no decompression)."""
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310
            return reply.read(), dict(reply.headers.items()), reply.status
    except urllib.error.HTTPError as error:  # a 304
        return error.read(), dict(error.headers.items()), error.code


def cached(base: str, path: str, **headers: str) -> tuple[bytes, dict[str, str]]:
    """The answer once nginx answers it from its cache for these headers (see
    shared_copy: a few tries)."""
    for _ in range(20):
        body, found, _ = ask(base, path, **headers)
        if found.get("X-Cache-Status") == "HIT":
            return body, found
        time.sleep(0.05)
    raise AssertionError(f"nginx never answered {path} with {headers} from its cache")


def decoded(body: bytes, headers: dict[str, str]) -> str:
    encoding = headers.get("Content-Encoding")
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    else:
        assert encoding is None
    return body.decode()


def test_each_encoding_gets_its_own_copy_from_the_cache(front, blog):  # type: ignore[no-untyped-def]
    """The cache key holds the encoding kmblog picks, not the raw header: browsers'
    different lists share a copy, and every client gets bytes it can read."""
    post = blog.post(title="Encodings behind the front", body="Words " * 400)
    plain_body, plain = cached(front, post.url)
    page = decoded(plain_body, plain)
    assert "Encodings behind the front" in page
    wanted = {
        "gzip, deflate, br": "br",  # Chrome
        "gzip, deflate, br, zstd": "br",  # newer Chrome and Firefox
        "br": "br",
        "deflate, gzip": "gzip",  # curl --compressed without brotli
        "gzip": "gzip",
        "GZIP": "gzip",
        "identity": None,
        "x-gzip, deflate": None,  # no encoding kmblog makes
        "br;q=0, gzip": "gzip",  # q-values: a copy of their own, kmblog decides
        "gzip;q=1.0, br;q=0.5": "gzip",
        "*": "br",
    }
    for accept_encoding, encoding in wanted.items():
        body, headers = cached(front, post.url, **{"Accept-Encoding": accept_encoding})
        assert headers.get("Content-Encoding") == encoding, accept_encoding
        assert decoded(body, headers) == page, accept_encoding
        assert "Accept-Encoding" in headers["Vary"]  # browsers and CDNs still told
    # After all those, a client that sends no Accept-Encoding still gets the page as is.
    body, headers = cached(front, post.url)
    assert "Content-Encoding" not in headers
    assert body == plain_body


def test_cached_answers_keep_the_security_headers_and_answer_conditional_gets(front, blog):  # type: ignore[no-untyped-def]
    post = blog.post(title="Headers behind the front")
    _, headers = cached(front, post.url, **{"Accept-Encoding": "gzip"})
    for name in SECURITY_HEADERS:
        assert headers[name] == SECURITY_HEADERS[name], name
    body, again, status = ask(front, post.url, **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]


def test_a_reader_with_someone_elses_cookie_shares_the_copy_and_kmblogs_cookies_pass(front, blog):  # type: ignore[no-untyped-def]
    """An analytics cookie changes nothing in kmblog's pages: the shared copy. Each cookie
    kmblog reads makes the page the visitor's own: past the cache, never stored."""
    post = blog.post(title="Cookies behind the front")
    cached(front, post.url)
    for cookie in ("_ga=GA1.2.3.4", "_ga=GA1.2.3.4; theme=dark", "xsession=1"):
        _, headers, _ = ask(front, post.url, Cookie=cookie)
        assert headers["X-Cache-Status"] == "HIT", cookie
    for name in ("kmblog_author", "remember_token", "kmblog_fresh", "kmblog_edit", "session"):
        for cookie in (f"{name}=x", f"_ga=GA1.2.3.4; {name}=x"):
            for _ in range(2):  # and the answer was not stored for the next one
                _, headers, _ = ask(front, post.url, Cookie=cookie)
                assert headers["X-Cache-Status"] == "BYPASS", cookie


def test_a_fediverse_server_gets_the_article_and_readers_the_page(front, blog):  # type: ignore[no-untyped-def]
    """A post's address answers ActivityStreams JSON to `Accept: application/activity+json`
    (Vary: Accept): the cache keeps that apart from the readers' page."""
    post = blog.post(title="Activities behind the front")
    page, _ = cached(front, post.url, Accept="text/html,*/*;q=0.8")
    assert b"<html" in page
    for accept in (
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    ):
        body, headers = cached(front, post.url, Accept=accept)
        assert json.loads(body)["type"] == "Article", accept
    page, headers = cached(front, post.url)
    assert b"<html" in page
    assert headers["Content-Type"].startswith("text/html")


def test_a_refreshed_entry_is_served_from_its_new_file(front, blog):  # type: ignore[no-untyped-def]
    """nginx keeps cache files open between hits (open_file_cache): once the entry's five
    seconds are up and the app gave a new page, readers get the new one, not the file
    that was open."""
    post = blog.post(title="Refreshed behind the front")
    page, _ = cached(front, post.url)
    assert b"A later thought." not in page
    blog.comment(post, body="A later thought.")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page, headers = cached(front, post.url)
        if b"A later thought." in page:
            break
        time.sleep(0.5)
    assert b"A later thought." in page, "nginx kept answering the old page"
    for _ in range(3):  # and every hit after that
        page, headers = cached(front, post.url)
        assert b"A later thought." in page
