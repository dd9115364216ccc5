"""Real Chromium against a real server: one gunicorn and one browser for the whole run.

The server runs on a fresh SQLite file (even when KMBLOG_TEST_DATABASE_URL names a
PostgreSQL database: the rest of the suite empties that one between tests, and these
tests need the demo blog to stay put for the whole session). It holds the demo blog and
an admin author, "editor".

Every page a test opens is watched: a JavaScript dialog (alert, confirm, prompt) or an
error in the console (CSP violations included) fails the test. axe-core is injected only
into pages of its own context, which bypasses the CSP for that script alone; the journeys'
contexts keep the CSP enforced.

Without Chromium (or axe-core from `npm ci`) the browser tests are left out with one line
saying why, and so are the Lighthouse audits without Node.js or Lighthouse (`npm ci`);
KMBLOG_REQUIRE_BROWSER=1 (set by .ci/run) makes that an error instead.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.blogger_files import SAMPLES, sample
from tests.live_server import ROOT, gunicorn

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "package.json"
BROWSER_DIR = Path(__file__).resolve().parent
AUTHOR = "editor"
AUTHOR_PASSWORD = "a long browser password"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM}; apt-get install chromium"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed; make install"
    if not AXE.exists():
        return f"axe-core not found at {AXE.relative_to(ROOT)}; npm ci (make install)"
    return None


def _missing_lighthouse() -> str | None:
    """Why the Lighthouse audits cannot run here (besides what all browser tests need)."""
    if shutil.which("node") is None:
        return "Node.js not found; apt-get install nodejs npm"
    if not LIGHTHOUSE.exists():
        return f"Lighthouse not found at {LIGHTHOUSE.relative_to(ROOT)}; npm ci (make install)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if BROWSER_DIR in Path(item.path).parents]
    audits = [item for item in ours if Path(item.path).name == "test_lighthouse.py"]
    left_out: list[pytest.Item] = []
    reasons: list[str] = []
    for group, why in ((ours, _missing), (audits, _missing_lighthouse)):
        if not group or all(item in left_out for item in group):
            continue
        reason = why()
        if reason is None:
            continue
        if os.environ.get("KMBLOG_REQUIRE_BROWSER") == "1":
            raise pytest.UsageError(f"browser tests required (KMBLOG_REQUIRE_BROWSER=1): {reason}")
        left_out += [item for item in group if item not in left_out]
        reasons.append(reason)
    if not left_out:
        return
    items[:] = [item for item in items if item not in left_out]
    config.hook.pytest_deselected(items=left_out)
    what = "browser tests" if len(left_out) > len(audits) else "Lighthouse audits"
    config.stash[_SKIPPED] = f"{what} skipped: {'; '.join(reasons)}"


_SKIPPED = pytest.StashKey[str]()
_SCREENSHOTS = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _SKIPPED in config.stash:
        terminalreporter.write_line(config.stash[_SKIPPED], yellow=True, bold=True)
    if _SCREENSHOTS in config.stash:
        terminalreporter.write_line(f"browser screenshots: {config.stash[_SCREENSHOTS]}")


# ---- the server ----


def _flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - our own interpreter and app
        [sys.executable, "-m", "flask", "--app", "kmblog", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def _serve_blog(folder: Path, imports: tuple[Path, ...] = ()) -> Iterator[str]:
    """A gunicorn serving the demo blog, with an admin author and the Blogger exports in
    `imports` imported after it; yields its base URL."""
    database_url = f"sqlite:///{folder / 'kmblog.sqlite'}"
    settings = {
        # Cheap hashes: the tests sign in often; the real cost has tests of its own.
        "KMBLOG_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The journeys send comments quicker than a person; the timer and the limits
        # have tests of their own (test_abuse.py).
        "KMBLOG_COMMENT_MIN_SECONDS": "0",
        "KMBLOG_RATELIMIT_ENABLED": "false",
        # Uploaded images go with the run's database, not into the checkout.
        "KMBLOG_MEDIA_DIR": str(folder / "media"),
    }
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "browser-test-secret",
        **settings,
    }
    env.pop("KMBLOG_TEST_DATABASE_URL", None)
    _flask(env, "db", "upgrade")
    assert "Loaded the demo blog" in _flask(env, "demo")
    _flask(
        env,
        *("users", "create", AUTHOR, "--role", "admin", "--display-name", "Eda Editor"),
        "--password-stdin",
        stdin=AUTHOR_PASSWORD + "\n",
    )
    for number, export in enumerate(imports):
        # The second sample is another Blogger blog: it is merged into the first.
        _flask(env, "import", "blogger", str(export), *(["--merge"] if number else []))
    with gunicorn(database_url, folder / "server.log", workers=2, threads=4, **settings) as base:
        yield base


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn serving the demo blog; yields its base URL."""
    with _serve_blog(tmp_path_factory.mktemp("browser-server")) as base:
        yield base


@pytest.fixture(scope="session")
def imported_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gunicorn serving the demo blog and, imported after it, both real Blogger
    samples (tests/fixtures/blogger): the page audits' blog. The journeys keep a blog
    of their own, whose settings no import has changed."""
    samples = tuple(sample(name) for name in SAMPLES)
    with _serve_blog(tmp_path_factory.mktemp("imported-server"), samples) as base:
        yield base


# ---- the browser ----


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What went wrong on any page of a context: dialogs, console errors, page errors."""

    problems: list[str] = field(default_factory=list)
    # Console errors that a test expects, e.g. the 404 status of an error page it opened.
    expected: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"a {dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = f"{message.text} ({message.location.get('url', '')})"
        if not any(pattern.search(text) for pattern in self.expected):
            self.problems.append(f"console error: {text}")

    def expect_status(self, status: int, url: str) -> None:
        """The page at `url` answers with this status on purpose; Chromium logs any 4xx
        document as a console error, which is then no fault of the page."""
        self.expected.append(
            re.compile(
                rf"^Failed to load resource: the server responded with a status of {status} "
                rf".*\({re.escape(url)}\)$"
            )
        )


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def new_context(browser: Any, server: str, watch: Watch) -> Iterator[Any]:
    """Makes browser contexts (one per reader or author) whose pages are all watched;
    the test fails if any of them saw a dialog or a console error."""
    made: list[Any] = []

    def factory(viewport: dict[str, int] = DESKTOP, **options: Any) -> Any:
        context = browser.new_context(base_url=server, viewport=viewport, **options)
        context.set_default_timeout(10_000)
        context.on("page", watch.attach)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)


@pytest.fixture
def reader(new_context: Any) -> Any:
    """A page for an anonymous reader on a desktop screen."""
    return new_context().new_page()


def sign_in(page: Any, username: str = AUTHOR, password: str = AUTHOR_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(re.compile(r"/manage/$"))


@pytest.fixture(scope="session")
def author_state(browser: Any, server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The cookies of a signed-in admin, for contexts that start signed in.
    (No test signs this author out: signing out ends every session of the author.)"""
    context = browser.new_context(base_url=server)
    page = context.new_page()
    sign_in(page)
    path = tmp_path_factory.mktemp("author") / "state.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def author(new_context: Any, author_state: str) -> Any:
    """A page for the signed-in admin author on a desktop screen."""
    return new_context(storage_state=author_state).new_page()


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the screenshots go to: $KMBLOG_SCREENSHOTS, or one under the run's
    temporary folder (named at the end of the run)."""
    named = os.environ.get("KMBLOG_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[_SCREENSHOTS] = folder
    return folder
