"""`make run` on a fresh clone: a reply to a subscribed comment writes its mail under
instance/outbox/ as an .eml file, with no command but the ones `make run` runs (read
from the Makefile)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email import message_from_bytes, policy
from pathlib import Path

from tests.live_server import ROOT, Browser, free_port
from tests.mail_server import wait_until


def make_run_commands(port: int) -> list[str]:
    """The `run` recipe of the Makefile, with the venv's flask as this interpreter's."""
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M)
    assert recipe, "the Makefile has a run target"
    flask = f"{shlex.quote(sys.executable)} -m flask"
    return [
        line.strip().replace("$(BIN)/flask", flask).replace("$(PORT)", str(port)).replace("$$", "$")
        for line in recipe.group(1).splitlines()
    ]


def fresh_clone(target: Path) -> Path:
    """What a clone holds for running the app (no instance folder, no venv)."""
    for name in ("kmblog", "templates", "static", "migrations"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("config.py", "Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, target / name)
    return target


def test_make_run_writes_a_replys_mail_under_instance_outbox(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    port = free_port()
    *setup, serve = make_run_commands(port)
    assert "serve" in serve
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KMBLOG_") and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        FLASK_APP="kmblog",
        PYTHONPATH=str(clone),
        # A test's only changes: no wait before commenting, and a short mail interval.
        KMBLOG_COMMENT_MIN_SECONDS="0",
        KMBLOG_MAIL_COALESCE_SECONDS="1",
    )
    for command in setup:
        done = subprocess.run(  # noqa: S602 - the Makefile's own lines
            command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(  # noqa: S602 - the Makefile's own line
        serve, shell=True, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    outbox = clone / "instance" / "outbox"
    try:
        _wait_for_server(base)
        reader = Browser(base)
        home = reader.request("/").body
        post = re.search(r'href="(?:http://[^/"]+)?(/\d{4}/\d{2}/[^"#?]+\.html)"', home)
        assert post, "the demo blog has posts"
        post_url = post.group(1)

        def say(body: str, **more: str) -> int:
            fields = reader.comment_fields(post_url)
            answer = reader.request(post_url, {**fields, "body": body, **more})
            assert answer.status == 303, answer.body[-500:]
            return int(answer.location.rsplit("#c", 1)[1])

        def mails_to(address: str) -> list[str]:
            found = []
            for path in sorted(outbox.glob("*.eml")):
                message = message_from_bytes(path.read_bytes(), policy=policy.default)
                if message["To"] == address:
                    found.append(str(message.get_body(("plain",)).get_content()))  # type: ignore[union-attr]
            return found

        jo = say("Tell me of replies.", name="Jo", email="jo@example.org", notify="replies")
        wait_until(lambda: len(mails_to("jo@example.org")) == 1, what="the confirmation .eml")
        confirm = re.search(rf"{base}(/mail/confirm/\S+)", mails_to("jo@example.org")[0])
        assert confirm, mails_to("jo@example.org")[0]
        assert reader.request(confirm.group(1), {}).status == 200
        say("An answer for Jo.", name="Kim", parent=str(jo))
        wait_until(lambda: len(mails_to("jo@example.org")) == 2, what="the notification .eml")
        assert "An answer for Jo." in mails_to("jo@example.org")[1]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _wait_for_server(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("flask serve did not answer in 30 s")
