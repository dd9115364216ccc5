"""kmblog behind the documented nginx front (bench/nginx.conf), both real processes:
anonymous readers get nginx's cached copy, and a commenter sees their comment at once.

Needs nginx (Debian's package). Without it these tests are left out with a reason;
KMBLOG_REQUIRE_NGINX=1 (set by CI) makes that an error instead.
"""

from __future__ import annotations

import http.cookiejar
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
