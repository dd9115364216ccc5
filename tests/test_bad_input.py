"""Bad input never gives a 500: every route, sent what attackers and broken clients send.

Invalid UTF-8, lone surrogates, NUL bytes, SQL fragments, path traversal, CR/LF, very
long values, right-to-left overrides, silly numbers, ids past 32 bits, malformed dates
and unknown parameters go into paths, query strings and forms. Every answer must be
below 500 (a readable error page, or a page or redirect that treats the input as text),
and a refused change must leave every stored row as it was.

Requests are sent the way a WSGI server passes them on: PATH_INFO holds the URL's
percent-decoded bytes (as latin-1), QUERY_STRING and form bodies stay percent-encoded,
so the app sees the raw bytes (an invalid UTF-8 byte is not cleaned by the test client).

One app and one set of content serve the whole module (the table of cases is long);
unless a case found every stored row unchanged, the rows are put back for the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kmblog import create_app
from kmblog.extensions import cache, db
from kmblog.models import AuditEvent, Base, Comment, CommentStatus, Post, PostKind, Role
from tests.conftest import PASSWORD, AuthActions, _reset_tables, app_config
from tests.factories import BlogBuilder
from tests.forms import comment_form_fields
from tests.security.payloads import REQUEST_VALUES

HOST = "blog.test"
# The blog's own stylesheet (under a fingerprinted name or not).
IN_THE_BLOGS_LOOK = re.compile(r'<link rel="stylesheet" href="[^"]*/kmblog\b[^"]*\.css"')


def enc(text: str) -> str:
    """Percent-encode every byte that needs it (UTF-8)."""
    return quote(text, safe="")


# What goes into paths, query strings and form fields, already percent-encoded.
HOSTILE: dict[str, str] = REQUEST_VALUES
# What goes where a number is expected.
NUMBERS: dict[str, str] = {
    "negative": "-1",
    "zero": "0",
    "past-int32": "99999999999",
    "forty-digits": "9" * 40,
    "text": "abc",
    "fraction": "1.5",
    "exponent": "1e3",
    "empty": "",
    "superscript-digit": enc("²"),
    "arabic-digits": enc("٩٩٩٩٩"),
    "nul": "1%00",
}
DATES: dict[str, str] = {
    "words": "notadate",
    "impossible": "2009-13-45T99:99:99",
    "offset-25h": enc("2009-06-29T15:07:00+25:00"),
    "year-1-east": enc("0001-01-01T00:00:00+14:00"),
    "year-9999-west": enc("9999-12-31T23:59:59-14:00"),
    "year-1": "0001-01-01T00:00:00",
    "year-9999": "9999-12-31T23:59:59",
    "space-for-plus": "2009-06-29T15:07:00%2000:00",
    "zulu": "2009-06-29T15:07:00Z",
    "nanoseconds": enc("2009-06-29T15:07:00.123456789+00:00"),
    "negative-year": "-0001-01-01T00:00:00",
    "nul": "2009%00",
    "empty": "",
    "long": "2" * 10_000,
}
# Web addresses that start well.
WEB_ADDRESSES = {name: "https%3A%2F%2Fexample.org%2F" + value for name, value in HOSTILE.items()}
# Label fields: long single labels and many labels.
LABEL_LISTS = {
    **HOSTILE,
    "one-1999-char-label": "L" * 1999,
    "300-labels": enc(",".join(f"label {i}" for i in range(300))[:2000]),
    "only-commas": "%2C" * 500,
    "case-variants": enc("km strategy, KM STRATEGY, Km Strategy"),
}
# Query parameters the app does not know, some named like url_for's own arguments.
UNKNOWN_PARAMS: dict[str, str] = {
    "name": "name=x",
    "scheme": "_scheme=javascript",
    "external-scheme": "_external=1&_scheme=javascript",
    "anchor": "_anchor=x%0d%0ay",
    "method": "_method=DELETE",
    "repeated": "q=a&q=b&max-results=1&max-results=x",
    "hostile-key": f"{HOSTILE['crlf']}={HOSTILE['nul']}",
}


# --- the site every case runs against ----------------------------------------------------


@dataclass
class Site:
    app: Flask
    migrated: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)
    admin: AuthActions | None = None
    admin_token: str = ""
    baseline: list[Any] = field(default_factory=list)
    dirty: bool = False

    def build(self) -> None:
        """Empty tables, then two authors, three posts (one in a series), two comments;
        sign the admin in."""
        with self.app.app_context():
            _reset_tables(self.migrated)
            cache.clear()  # pages of the content before (the reset rewinds its version)
        blog = BlogBuilder(self.app)
        self.ids["admin"] = blog.author("admin", role=Role.ADMIN, password=PASSWORD)
        self.ids["writer"] = blog.author("writer", password=PASSWORD)
        post = blog.post(title="What is KM?", labels=("KM Strategy",), author_id=self.ids["writer"])
        assert post.url == "/2009/06/what-is-km.html"
        self.ids["post"] = post.id
        self.ids["plan"] = blog.post(title="A KM plan", author_id=self.ids["writer"]).id
        self.ids["draft"] = blog.post(title="Draft", draft=True, author_id=self.ids["writer"]).id
        series = blog.series("KM basics", (post,), author_id=self.ids["writer"])
        assert series.url == "/series/km-basics.html"
        self.ids["series"] = series.id
        with self.app.app_context():
            plan = db.session.get(Post, self.ids["plan"])
            assert plan is not None
            plan.kind = PostKind.PLAN
            db.session.commit()
        self.ids["published_comment"] = blog.comment(post, body="Published remark").id
        self.ids["pending_comment"] = blog.comment(
            post, body="Held remark", status=CommentStatus.PENDING
        ).id
        self.admin = AuthActions(self.app.test_client())
        assert self.admin.login("admin").status_code == 303
        self.admin_token = self.admin.csrf_token("/manage/")
        self.baseline = self.snapshot()
        self.dirty = False

    def restore(self) -> None:
        """Put every stored row back as built (faster than building again).

        Ids are kept, so URLs and the admin's session stay valid; sequences on PostgreSQL
        only go up, so rows made later never collide with them.
        """
        with self.app.app_context():
            with db.engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(table.delete())
                for name, rows in self.baseline:
                    table = Base.metadata.tables[name]
                    if rows:
                        keys = [column.key for column in table.columns]
                        connection.execute(
                            table.insert(), [dict(zip(keys, r, strict=True)) for r in rows]
                        )
            cache.clear()
            db.session.remove()
        assert self.unchanged(), "the content could not be restored"

    def unchanged(self) -> bool:
        """Is every stored row as built? (Remembered: the next case rebuilds if not.)"""
        self.dirty = self.snapshot() != self.baseline
        return not self.dirty

    def snapshot(self) -> list[Any]:
        """Every stored row of every table but the audit trail's: a refused sign-in is
        recorded there on purpose (tests/test_audit.py)."""
        rows: list[Any] = []
        with self.app.app_context():
            for table in Base.metadata.sorted_tables:
                if table.name == AuditEvent.__tablename__:
                    continue
                query = select(table).order_by(*table.primary_key.columns)
                rows.append((table.name, [tuple(row) for row in db.session.execute(query)]))
            db.session.remove()
        return rows

    def reader(self) -> tuple[FlaskClient, dict[str, str]]:
        """A fresh reader's browser and the hidden fields of its comment form."""
        client = self.app.test_client()
        page = client.get("/2009/06/what-is-km.html")
        return client, comment_form_fields(page.text)

    def fill(self, template: str) -> str:
        """{post}, {writer}... in a URL or value, from the current content's ids."""
        return template.format(**self.ids)


@pytest.fixture(scope="module")
def shared_site(database_url: str, migrated: dict[str, Any]) -> Iterator[Site]:
    # No test of this module uses the `app` fixture: its reset would empty these tables.
    app = create_app(app_config(database_url))
    site = Site(app, migrated)
    site.build()
    yield site
    with app.app_context():
        _reset_tables(migrated)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def site(shared_site: Site) -> Site:
    """The shared site, restored first unless the previous case found it unchanged."""
    if shared_site.dirty:
        shared_site.restore()
    shared_site.dirty = True  # until this case has compared what is stored
    return shared_site


# --- sending raw requests ----------------------------------------------------------------


def send(  # type: ignore[no-untyped-def]
    client: FlaskClient,
    method: str,
    url: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
):
    """Send `url` as a WSGI server would pass it on: percent-encoded ASCII, or with raw
    bytes (as latin-1 characters) where a client sent them unencoded."""
    path, _, query = url.partition("?")
    environ = {
        "PATH_INFO": unquote_to_bytes(path.encode("latin-1")).decode("latin-1"),
        "QUERY_STRING": query,
        "REQUEST_URI": url,
        "RAW_URI": url,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": body.encode("ascii"), "content_type": "application/x-www-form-urlencoded"}
    return client.open("/", method=method, environ_overrides=environ, **kwargs)


def form_body(fields: dict[str, str], raw: dict[str, str]) -> str:
    """An urlencoded body: `fields` encoded normally, `raw` values already encoded."""
    encoded = {k: v for k, v in fields.items() if k not in raw}
    parts = [urlencode(encoded)] if encoded else []
    parts += [f"{enc(key)}={value}" for key, value in raw.items()]
    return "&".join(parts)


class _Parser(HTMLParser):
    pass


def assert_handled(response, what: str) -> None:  # type: ignore[no-untyped-def]
    """Below 500, and an answer a browser or feed reader can take."""
    status = response.status_code
    assert status < 500, f"{what}: {status}"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text, what
    if status == 304:
        assert not text, f"{what}: a 304 with a body"
    elif 300 <= status < 400:
        location = response.headers.get("Location", "")
        assert location, f"{what}: a redirect without a Location"
        assert not re.search(r"[\x00-\x1f\x7f]", location), f"{what}: control chars in Location"
        target = urlsplit(location)
        assert target.scheme in ("", "http", "https"), f"{what}: redirect to {location[:80]}"
        assert target.netloc in ("", HOST), f"{what}: redirect off the site to {location[:80]}"
    elif response.mimetype == "text/html":
        assert "<html" in text, f"{what}: not a page"
        _Parser().feed(text)
        if status >= 400:
            assert IN_THE_BLOGS_LOOK.search(text), (
                f"{what}: the error page is not in the blog's look"
            )
    elif "xml" in response.mimetype:
        ElementTree.fromstring(response.get_data())  # noqa: S314 - the app's own feed


_BAD_STORED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def assert_stored_text_is_clean(site: Site, what: str) -> None:
    """Whatever was accepted is stored without control characters or lone surrogates."""
    for table, rows in site.snapshot():
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    assert not _BAD_STORED.search(value), f"{what}: {table} holds {value[:60]!r}"


def assert_pages_still_work(site: Site, what: str) -> None:
    """After an accepted change, the public pages, feeds and authoring pages still work."""
    reader = site.app.test_client()
    for url in ("/", "/2009/06/what-is-km.html", "/feeds/posts/default", "/feeds/comments/default"):
        assert_handled(send(reader, "GET", url), f"{what}, then GET {url}")
    assert site.admin is not None
    for url in ("/manage/?state=scheduled", "/manage/comments"):
        response = send(site.admin.client, "GET", url)
        assert_handled(response, f"{what}, then GET {url}")


# --- GET: every reader's page and feed ---------------------------------------------------

READER_GETS = [
    "/?{x}={x}",
    "/search?q={x}",
    "/search?q=km&{x}={x}",
    "/search/label/{x}",
    "/search/label/{x}?max-results=2",
    "/search/label/KM%20Strategy?{x}={x}",
    "/search/label/km%20strategy?q={x}",
    "/{x}/",
    "/2009/{x}/",
    "/2009/06/{x}.html",
    "/2009/06/what-is-km.html?{x}={x}",
    "/2009/06/what-is-km.html?reply={x}",
    "/{x}_06_01_archive.html",
    "/2009_{x}_01_archive.html",
    "/plans/?{x}={x}",
    "/labels/?{x}={x}",
    "/strategies/?max-results={x}",
    "/profile/{x}",
    "/profile/writer?{x}={x}",
    "/feeds/posts/default?{x}={x}",
    "/feeds/posts/default/-/{x}",
    "/feeds/{x}/default",
    "/feeds/{x}/comments/default",
    "/series/{x}.html",
    "/series/km-basics.html?{x}={x}",
    "/feeds/series/{x}/default",
    "/feeds/series/km-basics/default?max-results={x}",
    "/feeds/comments/default?max-results={x}",
    "/login?next={x}",
    "/comments/form-timer?{x}={x}",
    "/comments/{x}/edit",
    "/comments/{x}/delete",
    "/assets/{x}",
    "/assets/css/{x}.0123456789.css",
    "/assets/css/kmblog.{x}.css",
    "/static/{x}",
    "/{x}",
]
NUMBER_GETS = [
    "/?max-results={n}",
    "/search?updated-max=2009-06-29T00:00:00&max-results={n}&cursor-id={n}",
    "/search?updated-max=2009-07-01T00:00:00&reverse-paginate=true&cursor-id={n}",
    "/search/label/KM%20Strategy?max-results={n}",
    "/2009/?max-results={n}",
    "/profile/writer?max-results={n}",
    "/feeds/posts/default?max-results={n}",
    "/feeds/comments/default?max-results={n}",
    "/feeds/{n}/comments/default",
    "/comments/{n}/edit",
    "/comments/{n}/delete",
    "/{n}/",
    "/2009/{n}/",
    "/2009/06/what-is-km.html?reply={n}",
    "/2009/06/what-is-km.html?comments-after={n}&reply={n}",
]
DATE_GETS = [
    "/search?updated-max={d}",
    "/search?q=knowledge&updated-max={d}&reverse-paginate=true",
    "/search/label/KM%20Strategy?updated-max={d}",
    "/profile/writer?updated-max={d}",
    "/2009/06/?updated-max={d}",
]
UNKNOWN_GETS = [
    "/?{p}",
    "/search?q=knowledge&{p}",
    "/search/label/KM%20Strategy?{p}",
    "/search/label/km%20strategy?{p}",
    "/feeds/posts/default/-/km%20strategy?{p}",
    "/profile/writer?{p}",
    "/feeds/posts/default?{p}",
    "/2009_06_01_archive.html?{p}",
]
MANAGE_GETS = [
    "/manage/?state={x}&page={x}",
    "/manage/posts/new?kind={x}",
    "/manage/posts/{x}/edit",
    "/manage/comments?status={x}&page={x}",
    "/manage/settings?{x}={x}",
    "/manage/users?{x}={x}",
    "/manage/series/?{x}={x}",
    "/manage/{x}",
    "/manage/audit/?action={x}&person={x}&since={x}&until={x}&subject_type={x}&subject_id={x}&page={x}",
    "/manage/audit/?{x}={x}",
]
MANAGE_NUMBER_GETS = [
    "/manage/?page={n}",
    "/manage/?state=published&page={n}",
    "/manage/posts/{n}/edit",
    "/manage/posts/{n}/delete",
    "/manage/pages/{n}/edit",
    "/manage/pages/{n}/delete",
    "/manage/series/{n}/edit",
    "/manage/series/{n}/delete",
    "/manage/comments?status=published&page={n}",
]
HUGE_GETS = {
    "search-100k-chars": "/search?q=" + "k" * 100_000,
    "search-100k-words": "/search?q=" + "km+" * 33_333,
    "search-100k-percent": "/search?q=" + "%e2%80%ae" * 11_111,
    "label-100k": "/search/label/" + "L" * 100_000,
    "slug-100k": "/2009/06/" + "s" * 100_000 + ".html",
    "feed-label-100k": "/feeds/posts/default/-/" + "L" * 100_000,
    "login-next-100k": "/login?next=/" + "n" * 100_000,
}


def _cases(templates: list[str], key: str, values: dict[str, str]) -> list[Any]:
    return [
        pytest.param(template.replace("{" + key + "}", value), id=f"{template} | {name}")
        for template in templates
        for name, value in values.items()
    ]


@pytest.mark.parametrize(
    "url",
    _cases(READER_GETS, "x", HOSTILE)
    + _cases(NUMBER_GETS, "n", NUMBERS)
    + _cases(DATE_GETS, "d", DATES)
    + _cases(UNKNOWN_GETS, "p", UNKNOWN_PARAMS)
    + [pytest.param(url, id=name) for name, url in HUGE_GETS.items()],
)
def test_reader_get(site: Site, url: str) -> None:
    response = send(site.app.test_client(), "GET", url)
    assert_handled(response, f"GET {url[:200]}")
    assert site.unchanged(), "a GET changed what is stored"


@pytest.mark.parametrize(
    "url", _cases(MANAGE_GETS, "x", HOSTILE) + _cases(MANAGE_NUMBER_GETS, "n", NUMBERS)
)
def test_author_get(site: Site, url: str) -> None:
    assert site.admin is not None
    response = send(site.admin.client, "GET", url)
    assert_handled(response, f"GET {url[:200]}")
    assert site.unchanged(), "a GET changed what is stored"


@pytest.mark.parametrize(
    "filename",
    [
        "../config.{digest}.py",
        "..%2fconfig.{digest}.py",
        "%2e%2e/config.{digest}.py",
        "css/../../config.{digest}.py",
        "../../../../../../etc/host.{digest}.conf",
    ],
)
def test_fingerprinted_assets_never_read_files_outside_static(
    site: Site, filename: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A path out of static/ is a 404, and no file outside it is opened (to hash it)."""
    import hashlib
    from pathlib import Path

    from kmblog import assets

    static = Path(str(site.app.static_folder)).resolve()
    config_file = static.parent / "config.py"
    digest = hashlib.sha256(config_file.read_bytes()).hexdigest()[:10]
    opened: list[Path] = []
    real_open = Path.open

    def recording_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.resolve())
        return real_open(self, *args, **kwargs)

    clear = getattr(assets._fingerprint, "cache_clear", None)
    if clear is not None:
        clear()  # hashes are kept per process: start from none
    monkeypatch.setattr(Path, "open", recording_open)
    url = "/assets/" + filename.replace("{digest}", digest)
    response = send(site.app.test_client(), "GET", url)
    monkeypatch.undo()
    assert_handled(response, f"GET {url}")
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.get_data()
    outside = [path for path in opened if not path.is_relative_to(static)]
    assert outside == [], f"GET {url} opened {outside}"


# Bytes a client sent without percent-encoding them (curl and scripts can).
RAW_QUERIES = {
    "raw-ff": "q=\xff",
    "raw-latin1": "q=caf\xe9",
    "raw-surrogate": "q=\xed\xa0\x80",
    "raw-key": "\xff\xfe=1",
    "raw-nul": "q=a\x00b",
}
RAW_QUERY_PAGES = [
    "/",
    "/search",
    "/2009/06/what-is-km.html",
    "/search/label/KM%20Strategy",
    "/feeds/posts/default",
    "/login",
]


@pytest.mark.parametrize("query", list(RAW_QUERIES.values()), ids=list(RAW_QUERIES))
@pytest.mark.parametrize("page", RAW_QUERY_PAGES)
def test_raw_bytes_in_the_query_string(site: Site, page: str, query: str) -> None:
    url = f"{page}?{query}"
    for client in (site.app.test_client(), site.admin.client if site.admin else None):
        assert client is not None
        response = send(client, "GET", url)
        assert_handled(response, f"GET {url!r}")
    assert site.unchanged()


@pytest.mark.parametrize(
    "headers",
    [
        {"If-Modified-Since": "notadate"},
        {"If-Modified-Since": "Sat, 01 Jan 0001 00:00:00 GMT"},
        {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"},
        {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 +2500"},
        {"If-Modified-Since": "2009-06-29T15:07:00"},
        {"If-Modified-Since": "\x00"},
        {"If-None-Match": "*"},
        {"If-None-Match": 'W/"' + "x" * 10_000 + '"'},
        {"If-None-Match": ", ".join(f'"{i}"' for i in range(2_000))},
        {"If-None-Match": 'W/"unterminated'},
        {"If-None-Match": "\xff\xfe"},
        {"If-None-Match": "", "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"X-Kmblog-Shared-Cache": "1"},
        {"X-Kmblog-Shared-Cache": "\x00" * 100},
        {"Cookie": "session=" + "x" * 5_000},
        {"Cookie": "remember_token=1:1|" + "0" * 128},
        {"Cookie": "session=\xff\xfe; remember_token=%00"},
    ],
    ids=lambda headers: ",".join(f"{k}={v[:24]!r}" for k, v in headers.items()),
)
@pytest.mark.parametrize("page", ["/", "/2009/06/what-is-km.html", "/feeds/posts/default"])
def test_odd_request_headers(site: Site, page: str, headers: dict[str, str]) -> None:
    response = send(site.app.test_client(), "GET", page, headers=headers)
    assert_handled(response, f"GET {page} with {headers}")
    assert response.status_code in (200, 304)
    assert site.unchanged()


def test_a_label_redirect_keeps_the_query_but_not_url_for_arguments(site: Site) -> None:
    """The case-folding redirect of a label page passes the query string on as data."""
    response = send(site.app.test_client(), "GET", "/search/label/km%20strategy?name=x&q=y")
    assert response.status_code == 301
    target = urlsplit(response.headers["Location"])
    assert target.path == "/search/label/KM%20Strategy"


# --- POST: forms, with everything in every field -----------------------------------------

REFUSED, ANY = "refused", "any"


@dataclass(frozen=True)
class Form:
    """A form of the app: where it posts, its valid fields, who sends it."""

    url: str
    fields: dict[str, str]
    author: bool = True


COMMENT = Form(
    "/2009/06/what-is-km.html",
    {"body": "A fair point.", "name": "Dave", "url": "https://dave.example/", "website": ""},
    author=False,
)
LOGIN = Form("/login", {"username": "writer", "password": "wrong password", "next": ""}, False)
EDITOR_FIELDS = {
    "title": "Bad input post",
    "body": "Some body.",
    "labels": "KM Strategy",
    "kind": "article",
    "slug": "",
    "publish_at": "",
    "companion_id": "0",
    "change_note": "",
    "comments_open": "y",
    "action": "save",
}
NEW_POST = Form("/manage/posts/new", EDITOR_FIELDS)
EDIT_POST = Form("/manage/posts/{post}/edit", {**EDITOR_FIELDS, "action": "publish"})
MODERATE = Form("/manage/comments/moderate", {"action": "approve", "ids": "", "status": "pending"})
SETTINGS = Form(
    "/manage/settings",
    {
        "title": "KM Blog",
        "description": "About knowledge",
        "about": "",
        "timezone": "UTC",
        "posts_per_page": "5",
        "items_per_feed": "25",
        "comment_policy": "open",
        "moderate_after_days": "",
        "moderation_links": "2",
        "moderation_words": "",
        "blocked_words": "",
        "edit_window_minutes": "15",
        "thread_depth": "4",
    },
)
USERS = Form(
    "/manage/users",
    {
        "username": "newbie",
        "display_name": "New Author",
        "email": "",
        "role": "author",
        "password": "long enough password",
    },
)
NEW_SERIES = Form(
    "/manage/series/new", {"title": "Bad input series", "description": "", "slug": ""}
)
EDIT_SERIES = Form("/manage/series/{series}/edit", {"title": "KM basics", "description": ""})
MOVE_IN_SERIES = Form("/manage/series/{series}/posts/{post}/move", {"direction": "down"})
RESET_PASSWORD = Form("/manage/users/{writer}/password", {"password": "another good password"})
CHANGE_ROLE = Form("/manage/users/{writer}/role", {"role": "author"})

# (form, field, which inputs, what must happen). REFUSED: nothing stored may change;
# ANY: the input may be fine as text, and what is stored must then be clean.
POST_CASES: list[tuple[str, Form, str, dict[str, str], str]] = [
    ("comment", COMMENT, "body", HOSTILE, ANY),
    ("comment", COMMENT, "name", HOSTILE, ANY),
    ("comment", COMMENT, "url", HOSTILE, REFUSED),
    ("comment", COMMENT, "url", WEB_ADDRESSES, ANY),
    ("comment", COMMENT, "website", HOSTILE, ANY),
    # The form timer is the reader's form's only proof that it came from this blog.
    ("comment", COMMENT, "shown", HOSTILE, REFUSED),
    # The comment a reply answers: a number of a comment that may be answered, or refused.
    ("comment", COMMENT, "parent", {**HOSTILE, **NUMBERS}, ANY),
    ("login", LOGIN, "username", HOSTILE, REFUSED),
    ("login", LOGIN, "password", HOSTILE, REFUSED),
    ("login", LOGIN, "next", HOSTILE, REFUSED),
    ("login", LOGIN, "csrf_token", HOSTILE, REFUSED),
    ("new post", NEW_POST, "title", HOSTILE, ANY),
    ("new post", NEW_POST, "body", HOSTILE, ANY),
    ("new post", NEW_POST, "labels", LABEL_LISTS, ANY),
    ("new post", NEW_POST, "kind", HOSTILE, REFUSED),
    ("new post", NEW_POST, "slug", HOSTILE, REFUSED),
    ("new post", NEW_POST, "publish_at", HOSTILE, REFUSED),
    ("new post", NEW_POST, "companion_id", {**HOSTILE, **NUMBERS}, ANY),
    ("new post", NEW_POST, "change_note", HOSTILE, ANY),
    ("new post", NEW_POST, "series_id", {**HOSTILE, **NUMBERS}, ANY),
    ("new post", NEW_POST, "comments_open", HOSTILE, ANY),
    ("new post", NEW_POST, "action", HOSTILE, REFUSED),
    ("new post", NEW_POST, "csrf_token", HOSTILE, REFUSED),
    ("edit post", EDIT_POST, "title", HOSTILE, ANY),
    ("edit post", EDIT_POST, "slug", HOSTILE, REFUSED),
    ("edit post", EDIT_POST, "labels", HOSTILE, ANY),
    ("edit post", EDIT_POST, "publish_at", HOSTILE, REFUSED),
    ("edit post", EDIT_POST, "companion_id", {**HOSTILE, **NUMBERS}, ANY),
    ("edit post", EDIT_POST, "series_id", {**HOSTILE, **NUMBERS}, ANY),
    ("new series", NEW_SERIES, "title", HOSTILE, ANY),
    ("new series", NEW_SERIES, "description", HOSTILE, ANY),
    ("new series", NEW_SERIES, "slug", HOSTILE, REFUSED),
    ("edit series", EDIT_SERIES, "title", HOSTILE, ANY),
    ("edit series", EDIT_SERIES, "description", HOSTILE, ANY),
    ("move in series", MOVE_IN_SERIES, "direction", HOSTILE, REFUSED),
    ("moderate", MODERATE, "ids", {**HOSTILE, **NUMBERS}, REFUSED),
    ("moderate", MODERATE, "action", HOSTILE, REFUSED),
    ("moderate", MODERATE, "status", HOSTILE, REFUSED),
    ("settings", SETTINGS, "title", HOSTILE, ANY),
    ("settings", SETTINGS, "description", HOSTILE, ANY),
    ("settings", SETTINGS, "about", HOSTILE, ANY),
    ("settings", SETTINGS, "timezone", HOSTILE, REFUSED),
    ("settings", SETTINGS, "comment_policy", HOSTILE, REFUSED),
    ("settings", SETTINGS, "posts_per_page", {**HOSTILE, **NUMBERS}, ANY),
    ("settings", SETTINGS, "items_per_feed", {**HOSTILE, **NUMBERS}, ANY),
    ("settings", SETTINGS, "moderate_after_days", {**HOSTILE, **NUMBERS}, ANY),
    ("settings", SETTINGS, "moderation_links", {**HOSTILE, **NUMBERS}, ANY),
    ("settings", SETTINGS, "moderation_words", HOSTILE, ANY),
    ("settings", SETTINGS, "blocked_words", HOSTILE, ANY),
    ("settings", SETTINGS, "thread_depth", {**HOSTILE, **NUMBERS}, ANY),
    ("users", USERS, "username", HOSTILE, REFUSED),
    ("users", USERS, "display_name", HOSTILE, ANY),
    ("users", USERS, "email", HOSTILE, REFUSED),
    ("users", USERS, "role", HOSTILE, REFUSED),
    ("users", USERS, "password", HOSTILE, ANY),
    ("reset password", RESET_PASSWORD, "password", HOSTILE, ANY),
    ("change role", CHANGE_ROLE, "role", HOSTILE, REFUSED),
]
# Numbers in the paths of forms: no such row.
POST_PATHS: dict[str, tuple[str, dict[str, str]]] = {
    "comment on {x}": ("/2009/06/{x}.html", COMMENT.fields),
    "edit post {n}": ("/manage/posts/{n}/edit", EDITOR_FIELDS),
    "delete post {n}": ("/manage/posts/{n}/delete", {}),
    "new password for user {n}": ("/manage/users/{n}/password", RESET_PASSWORD.fields),
    "role of user {n}": ("/manage/users/{n}/role", {"role": "admin"}),
    "disable user {n}": ("/manage/users/{n}/active", {}),
    "edit series {n}": ("/manage/series/{n}/edit", {"title": "A series"}),
    "delete series {n}": ("/manage/series/{n}/delete", {}),
    "move post {n} in series {n}": ("/manage/series/{n}/posts/{n}/move", {"direction": "up"}),
    "take post {n} out of series {n}": ("/manage/series/{n}/posts/{n}/remove", {}),
}


def _post_cases() -> list[Any]:
    cases = []
    for label, form, name, values, expect in POST_CASES:
        for value_name, value in values.items():
            case_id = f"{label} | {name}={value_name}"
            if values is WEB_ADDRESSES:
                case_id = f"{label} | {name}=https://example.org/{value_name}"
            cases.append(pytest.param(form, name, value, expect, id=case_id))
    return cases


def _post_path_cases() -> list[Any]:
    cases = []
    for label, (template, fields) in POST_PATHS.items():
        values = HOSTILE if "{x}" in template else NUMBERS
        key = "{x}" if "{x}" in template else "{n}"
        for value_name, value in values.items():
            cases.append(
                pytest.param(
                    template.replace(key, value),
                    fields,
                    "{x}" in template,
                    id=f"{label} | {value_name}",
                )
            )
    return cases


def drain_flashes(site: Site) -> None:
    """Drop flashed messages, so that they do not pile up in the admin's cookie."""
    assert site.admin is not None
    with site.admin.client.session_transaction() as session:
        session.pop("_flashes", None)


@pytest.mark.parametrize(("form", "name", "value", "expect"), _post_cases())
def test_post(site: Site, form: Form, name: str, value: str, expect: str) -> None:
    url = site.fill(form.url)
    if form.author:
        assert site.admin is not None
        client, hidden = site.admin.client, {"csrf_token": site.admin_token}
    else:
        client, hidden = site.reader()
    fields = {**hidden, **form.fields}
    what = f"POST {url} with {name}={value[:60]}"

    response = send(client, "POST", url, form_body(fields, {name: value}))
    if form.author:
        drain_flashes(site)

    assert_handled(response, what)
    if expect == REFUSED or response.status_code >= 400:
        assert site.unchanged(), f"{what}: refused, yet something was stored"
    else:
        assert_stored_text_is_clean(site, what)
        assert_pages_still_work(site, what)
    if form is LOGIN:
        assert client.get("/manage/").status_code == 302, f"{what}: signed in"


@pytest.mark.parametrize(("url", "fields", "reader"), _post_path_cases())
def test_post_to_a_missing_row(site: Site, url: str, fields: dict[str, str], reader: bool) -> None:
    if reader:
        client, hidden = site.reader()
    else:
        assert site.admin is not None
        client, hidden = site.admin.client, {"csrf_token": site.admin_token}
    response = send(client, "POST", url, form_body({**hidden, **fields}, {}))
    if not reader:
        drain_flashes(site)
    assert_handled(response, f"POST {url[:200]}")
    assert 400 <= response.status_code < 500, f"POST {url[:200]}: {response.status_code}"
    assert site.unchanged(), f"POST {url[:200]} changed what is stored"


@pytest.mark.parametrize(
    "single",
    [
        *(f"approve:{value}" for value in {**HOSTILE, **NUMBERS}.values()),
        "approve:",
        ":1",
        "approve:1:2",
        "approve:{published_comment}%20OR%201%3D1",
        "unknown:{pending_comment}",
        "{pending_comment}",
    ],
)
def test_a_moderation_button_with_a_bad_value_changes_nothing(site: Site, single: str) -> None:
    assert site.admin is not None
    body = form_body(
        {"csrf_token": site.admin_token, "status": "pending"}, {"single": site.fill(single)}
    )
    response = send(site.admin.client, "POST", "/manage/comments/moderate", body)
    drain_flashes(site)
    assert_handled(response, f"moderate single={single[:60]}")
    assert site.unchanged()


@pytest.mark.parametrize(
    ("timezone", "moment"),
    [
        ("Etc/GMT-14", "0001-01-01T00:00"),
        ("Asia/Tokyo", "0001-01-01T00:00"),
        ("Etc/GMT+12", "9999-12-31T23:59"),
        ("UTC", "0001-01-01T00:00"),
        ("UTC", "9999-12-31T23:59"),
    ],
)
def test_a_publish_time_at_the_ends_of_the_calendar_is_not_a_500(
    site: Site, timezone: str, moment: str
) -> None:
    """A date the editor's picker allows, in a time zone where it leaves the calendar."""
    assert site.admin is not None
    with site.app.app_context():
        from kmblog.settings import get_settings

        get_settings().timezone = timezone
        db.session.commit()
    fields = {
        "csrf_token": site.admin_token,
        **EDITOR_FIELDS,
        "publish_at": moment,
        "action": "publish",
    }
    response = send(site.admin.client, "POST", "/manage/posts/new", form_body(fields, {}))
    drain_flashes(site)
    what = f"publish at {moment} in {timezone}"
    assert_handled(response, what)
    if response.status_code < 400:
        assert_pages_still_work(site, what)
        assert_handled(send(site.app.test_client(), "GET", "/0001/"), f"{what}, then /0001/")


def test_nothing_was_dropped_or_rewritten_by_sql_fragments(site: Site) -> None:
    """After a comment made of SQL, the tables are all there and the text is as typed."""
    client, hidden = site.reader()
    body = form_body({**hidden, **COMMENT.fields, "body": "'; DROP TABLE posts; --"}, {})
    assert send(client, "POST", "/2009/06/what-is-km.html", body).status_code == 303
    with site.app.app_context():
        stored = db.session.scalars(select(Comment.body_source).order_by(Comment.id)).all()
        assert stored[-1] == "'; DROP TABLE posts; --"
        assert db.session.scalars(select(Post.id)).all()
