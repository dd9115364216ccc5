"""Production set-up: config checks, /healthz, proxies, Redis, the wheel, two servers."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import sysconfig
from pathlib import Path

import feedparser
import pytest

from kmblog import create_app
from tests.conftest import PASSWORD
from tests.live_server import Browser, _wait_until_up, free_port, gunicorn

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("environment", "missing"),
    [
        ({}, "SECRET_KEY and DATABASE_URL"),
        ({"SECRET_KEY": "s"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_its_settings(monkeypatch, environment, missing):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("config.Config.SECRET_KEY", os.environ.get("SECRET_KEY"))
    monkeypatch.setattr("config.Config.SQLALCHEMY_DATABASE_URI", os.environ.get("DATABASE_URL"))
    with pytest.raises(RuntimeError, match=f"needs {missing} in the environment"):
        create_app("production")


def test_healthz_answers_ok_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": unreachable, "SECRET_KEY": "x"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "unavailable" in response.text


def test_behind_a_proxy_links_and_client_addresses_come_from_its_headers(make_app, blog):
    blog.post(title="Proxied")
    app = make_app(PROXY_COUNT=1, SERVER_NAME=None)
    response = app.test_client().get(
        "/feeds/posts/default",
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "blog.example.org",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    feed = feedparser.parse(response.data)
    assert feed.entries[0].link.startswith("https://blog.example.org/")


def test_redis_url_moves_rate_limits_and_the_cache_to_redis(monkeypatch):
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert app.config["CACHE_TYPE"] == "RedisCache"


def test_the_wheel_carries_templates_static_and_migrations(tmp_path):
    """Build the wheel, install it in a fresh virtual environment, migrate, serve a page."""
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path, ROOT],
        check=True, capture_output=True,
    )  # fmt: skip
    wheel = next(tmp_path.glob("kmblog-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)  # noqa: S603
    python = venv / "bin" / "python"
    subprocess.run(  # noqa: S603
        [python, "-m", "pip", "install", "--quiet", "--no-deps", wheel],
        check=True, capture_output=True,
    )  # fmt: skip
    # The dependencies come from this environment; kmblog and config from the wheel only.
    env = {
        **os.environ,
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'wheel.sqlite'}",
        "SECRET_KEY": "w",
    }
    script = (
        "import kmblog, config, flask_migrate;"
        "assert 'site-packages' in kmblog.__file__ and 'site-packages' in config.__file__;"
        "app = kmblog.create_app();"
        "ctx = app.app_context(); ctx.push(); flask_migrate.upgrade(); ctx.pop();"
        "c = app.test_client(); page = c.get('/');"
        'import re; css = re.search(r\'href="(/assets/[^"]+css)"\', page.text).group(1);'
        "print(page.status_code, c.get(css).status_code, page.text.count('Posts (Atom)'))"
    )
    result = subprocess.run(  # noqa: S603
        [python, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "200", "1"]


def test_two_servers_share_one_database_and_one_redis(app, blog, tmp_path):
    """A rate limit counts across both; a comment or a post made through one shows at
    once through the other."""
    author = blog.author("editor", password=PASSWORD, role="admin")
    assert author
    post = blog.post(title="Shared between servers")
    prefix = secrets.token_hex(4)
    env = {
        "REDIS_URL": REDIS_URL,
        "KMBLOG_RATELIMIT_ENABLED": "true",
        "KMBLOG_COMMENT_RATE_LIMIT": "3 per minute",
        "KMBLOG_RATELIMIT_KEY_PREFIX": f"test-{prefix}",
        "KMBLOG_CACHE_KEY_PREFIX": f"test-{prefix}-",
    }
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with (
        gunicorn(database, tmp_path / "a.log", workers=1, **env) as one,
        gunicorn(database, tmp_path / "b.log", workers=1, **env) as two,
    ):
        reader_one, reader_two = Browser(one), Browser(two)
        # Both servers have the page and feed in their caches before anything changes.
        for reader in (reader_one, reader_two):
            assert reader.request(post.url).status == 200
            assert reader.request("/feeds/posts/default").status == 200

        answers = []
        for n, reader in enumerate([reader_one, reader_two, reader_one, reader_two]):
            fields = reader.comment_fields(post.url)
            answers.append(reader.request(post.url, {**fields, "body": f"Thought {n}"}).status)
        assert answers == [303, 303, 303, 429]  # three a minute, counted across both

        page_two = reader_two.request(post.url).body
        assert "Thought 0" in page_two and "Thought 2" in page_two

        writer = Browser(one)
        token = writer.csrf_token("/login")
        assert (
            writer.request(
                "/login", {"csrf_token": token, "username": "editor", "password": PASSWORD}
            ).status
            == 303
        )
        token = writer.csrf_token("/manage/posts/new")
        published = writer.request(
            "/manage/posts/new",
            {"csrf_token": token, "title": "Published on one", "body": "Hello.",
             "kind": "article", "companion_id": "0", "action": "publish",
             "comments_open": "y"},
        )  # fmt: skip
        assert published.status == 303, published.body[:300]
        feed = feedparser.parse(reader_two.request("/feeds/posts/default").body)
        assert "Published on one" in [entry.title for entry in feed.entries]
        assert re.search(r"Published on one", reader_two.request("/").body)


def test_two_servers_on_one_machine_each_keep_a_control_socket(tmp_path):
    """docs/deploy.md runs two servers as one user, each with BIND and gunicorn.conf.py:
    gunicornc must reach each of them, not only the one started last."""
    env = {**os.environ, "HOME": str(tmp_path), "WEB_CONCURRENCY": "1"}
    env.pop("XDG_RUNTIME_DIR", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'ctl.sqlite'}"
    servers = []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"{name}.log"
            with log.open("w") as output:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and server
                    [sys.executable, "-m", "gunicorn", "--config", ROOT / "gunicorn.conf.py",
                     "kmblog:create_app()"],
                    cwd=ROOT, env={**env, "BIND": f"127.0.0.1:{port}"},
                    stdout=output, stderr=subprocess.STDOUT,
                )  # fmt: skip
            servers.append((process, port, log))
            _wait_until_up(f"http://127.0.0.1:{port}", process, log)
        gunicornc = Path(sys.executable).parent / "gunicornc"
        for _process, port, log in servers:
            sockets = re.findall(r"Control socket listening at (\S+)", log.read_text())
            assert len(sockets) == 1, log.read_text()
            shown = subprocess.run(  # noqa: S603 - gunicorn's own control client
                [gunicornc, "--socket", sockets[0], "--json", "--command", "show config"],
                capture_output=True, text=True, check=True, timeout=10,
            )  # fmt: skip
            assert json.loads(shown.stdout)["bind"] == [f"127.0.0.1:{port}"]
    finally:
        for process, _port, _log in servers:
            process.terminate()
            process.wait(timeout=15)
