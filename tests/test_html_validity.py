"""The Nu HTML Checker (vnu, the checker behind validator.w3.org/nu) on every kind of
page the blog serves: no errors.

The blog holds what readers and authors really put there: comments sent through the
form (every hostile payload of tests/security/payloads.py, threaded replies, a refused
one), both real Blogger samples (one imported from the command line, one uploaded
through the import form), a standalone page, and an author's own pages. Every page is
saved to a file and all of them are checked in one run of the checker (its Java start-up
costs seconds).

vnu.jar comes from npm (`vnu-jar`, published by the checker's own project, `npm ci`) and
runs on the system's Java. Without either the test is left out with a reason;
KMBLOG_REQUIRE_VNU=1 (set by .ci/run) makes that an error instead.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.mail.tokens import (
    Unsubscribe,
    confirm_token,
    subscriptions_token,
    unsubscribe_token,
)
from kmblog.manage.services import PostDraft, create_post
from kmblog.models import Post, PostKind, Subscriber, User
from tests.blogger_files import sample
from tests.conftest import PASSWORD, AuthActions
from tests.factories import BASE_TIME
from tests.forms import comment_form_fields, hidden_field
from tests.security.payloads import PAYLOADS
from tests.test_comments import post_comment
from tests.test_editor import edit, editor_form, new_post, url_of
from tests.test_media import jpeg, upload
from tests.test_standalone_pages import new_page

ROOT = Path(__file__).resolve().parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def _missing() -> str | None:
    if shutil.which("java") is None:
        return "Java not found; apt-get install default-jre-headless"
    if not VNU.exists():
        return f"the Nu HTML Checker not found at {VNU.relative_to(ROOT)}; npm ci (make install)"
    return None


@pytest.fixture(scope="module")
def java() -> str:
    reason = _missing()
    if reason is not None:
        if os.environ.get("KMBLOG_REQUIRE_VNU") == "1":
            pytest.fail(f"KMBLOG_REQUIRE_VNU=1: {reason}")
        pytest.skip(reason)
    found = shutil.which("java")
    assert found is not None
    return found


def check_pages(java: str, pages: dict[str, str], folder: Path) -> list[dict[str, Any]]:
    """vnu's messages on every page (name -> HTML), each with the page's name."""
    files: dict[str, str] = {}
    for number, (name, html) in enumerate(pages.items()):
        path = folder / f"{number:02d}.html"
        path.write_text(html, encoding="utf-8")
        files[path.resolve().as_uri().replace("file:///", "file:/")] = name
    done = subprocess.run(  # noqa: S603 - the system's Java running the checker
        [
            java,
            "-jar",
            str(VNU),
            "--format",
            "json",
            "--stdout",
            *sorted(map(str, folder.glob("*.html"))),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.stdout, f"vnu wrote nothing (exit {done.returncode}):\n{done.stderr}"
    messages = json.loads(done.stdout)["messages"]
    for message in messages:
        message["page"] = files.get(message.get("url", ""), message.get("url", "?"))
    return messages


def _described(message: dict[str, Any]) -> str:
    return (
        f"{message['page']}: line {message.get('lastLine')}: {message['message']} "
        f"[{message.get('extract', '').strip()!r}]"
    )


class Pages:
    """The pages to check, fetched as a reader or an author gets them."""

    def __init__(self) -> None:
        self.html: dict[str, str] = {}

    def add(self, client, name: str, path: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
        response = client.get(path)
        assert response.status_code == status, f"{name} ({path}): {response.status_code}"
        self.html[name] = response.text
        return str(response.text)

    def add_response(self, name: str, response: Any, status: int) -> None:
        assert response.status_code == status, f"{name}: {response.status_code}"
        self.html[name] = response.text


def _plan_with_two_strategies(app: Any) -> tuple[str, int]:
    """A published plan and two published strategies that follow it: its path and id."""
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        plan = create_post(
            admin,
            PostDraft(title="KM Plan: Acme", body="What.", kind=PostKind.PLAN),
            BASE_TIME,
            publish_at=BASE_TIME,
        )
        for name in ("Sales", "Research"):
            create_post(
                admin,
                PostDraft(
                    title=f"Strategy: {name}",
                    body="How.",
                    kind=PostKind.STRATEGY,
                    companion_id=plan.id,
                ),
                BASE_TIME,
                publish_at=BASE_TIME,
            )
        return f"/{plan.year}/{plan.month:02d}/{plan.slug}.html", plan.id


def _comment_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:500]
    return int(response.headers["Location"].rsplit("#c", 1)[1])


def test_every_kind_of_page_is_valid_html(app, blog, client, admin, runner, java, tmp_path):
    pages = Pages()
    blog.settings(posts_per_page=3, edit_window_minutes=60)
    labels = ("KM Strategy", "Knowledge & <Planning>")
    # The newest two, on the home page together and the last with the comments, have
    # footnotes and a table of contents (the same headings and notes in each).
    noted = "[^who]\n\n# Goals\n\n# Needs\n\n## Measures\n\n# Assets\n\n[^who]: An expert."
    posts = [
        blog.post(
            title=f"Knowledge maps, part {n}",
            body=f"A map of who knows what, part {n}.\n\n- people\n- places\n\n![a map](/m.png)"
            + (noted if n >= 3 else ""),
            labels=labels[: n % 3],
            published=BASE_TIME.replace(day=n + 1),
        )
        for n in range(5)
    ]
    talk = posts[-1]
    # A series of the first four (markup-like characters in its title, Markdown in its
    # description), and a draft in it that readers never see.
    series = blog.series(
        "Knowledge maps & <friends>",
        (*posts[:4], blog.post(title="Unfinished map", draft=True)),
        description="Four parts, **in order**.\n\n- one\n- two",
    )
    # Before anyone signs in: the sign-in form.
    pages.add(app.test_client(), "sign-in", "/login")

    # A reader comments through the form: every hostile payload as the text, some as
    # the name, threaded replies, and a refused comment that shows the form again.
    reader = app.test_client()
    first = _comment_id(
        post_comment(reader, talk.url, body="Who keeps the map up to date?", name="Ann",
                     url="https://example.org/ann", email="ann@example.org", notify="replies")
    )  # fmt: skip
    for number, (_id, payload) in enumerate(PAYLOADS):
        response = post_comment(
            reader, talk.url, body=payload, name=payload[:60] if number % 3 == 0 else ""
        )
        assert response.status_code in {303, 400}, (_id, response.status_code)
    reply_fields = comment_form_fields(reader.get(f"{talk.url}?reply={first}").text)
    reply = reader.post(
        talk.url, data={**reply_fields, "body": "The team that uses it.", "name": "Ben"}
    )
    second = _comment_id(reply)
    reply_fields = comment_form_fields(reader.get(f"{talk.url}?reply={second}").text)
    _comment_id(
        reader.post(talk.url, data={**reply_fields, "body": "<b>And</b> **who** asks.", "name": ""})
    )
    pages.add_response("comment refused (empty)", post_comment(reader, talk.url, body=""), 422)
    # Held by a rule (more links than allowed): the audit trail says which and why.
    many_links = "See https://a.example/1, https://a.example/2 & <https://a.example/3>."
    assert post_comment(app.test_client(), talk.url, body=many_links).status_code == 303
    pages.add(reader, "post with comments (the commenter's own, editable)", talk.url)
    pages.add(reader, "reply form", f"{talk.url}?reply={first}")
    pages.add(reader, "comment edit", f"/comments/{second}/edit")
    pages.add(reader, "comment delete", f"/comments/{second}/delete")

    # Both real Blogger samples: one from the command line, one through the import form.
    result = runner.invoke(args=["import", "blogger", str(sample("blogger-2008-minima.xml"))])
    assert result.exit_code == 0, result.output

    # A reader's pages.
    visitor = app.test_client()
    home = pages.add(visitor, "home", "/")
    older = re.search(r'href="([^"]*)"[^>]*>Older Posts', home)
    assert older, "the home page links to older posts"
    pages.add(visitor, "older posts", older.group(1).replace("&amp;", "&"))
    post_page = pages.add(visitor, "post with comments", talk.url)
    older_comments = re.search(r'<a class="older-comments" href="([^"]+)"', post_page)
    assert older_comments, "the post's page links to its older comments"
    pages.add(visitor, "older comments", older_comments.group(1).replace("&amp;", "&"))
    pages.add(visitor, "post without comments", posts[0].url)
    pages.add(visitor, "post in the middle of a series", posts[1].url)
    pages.add(visitor, "series", series.url)
    for item in (
        "about-me",
        "somewhat-brief-history",
        "this-about-sums-up-my-life",
        "rolling-in-hawaii",
    ):
        pages.add(visitor, f"imported post (2008) {item}", f"/2008/04/{item}.html")
    pages.add(visitor, "label", "/search/label/KM Strategy")
    pages.add(visitor, "label with markup in its name", "/search/label/Knowledge & <Planning>")
    pages.add(visitor, "all labels", "/labels/")
    pages.add(visitor, "archive year", f"/{BASE_TIME.year}/")
    pages.add(visitor, "archive month", f"/{BASE_TIME.year}/{BASE_TIME.month:02d}/")
    pages.add(visitor, "search with results", "/search?q=map")
    pages.add(visitor, "search without results", "/search?q=zeppelin")
    pages.add(visitor, "search for markup", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E")
    pages.add(visitor, "profile", "/profile/admin")
    pages.add(visitor, "error 404", "/no/such/page", 404)
    pages.add(visitor, "error 400", "/search?q=map&start-index=x", 400)

    # The mail pages, by the links their mail carries.
    with app.app_context():
        subscriber = db.session.scalars(select(Subscriber)).one()
        post_id = db.session.scalars(select(Post.id).where(Post.title == talk.title)).one()
        confirm = confirm_token(subscriber.id, subscriber.email)
        unsubscribe = unsubscribe_token(Unsubscribe(subscriber.id, subscriber.email, post_id))
        subscriptions = subscriptions_token(subscriber.id, subscriber.email)
    pages.add(visitor, "mail: confirm", f"/mail/confirm/{confirm}")
    pages.add(visitor, "mail: unsubscribe", f"/mail/unsubscribe/{unsubscribe}")
    pages.add(visitor, "mail: subscriptions", f"/mail/subscriptions/{subscriptions}")

    # The authoring area, signed in as the admin.
    auth = AuthActions(client)
    assert auth.login("admin", PASSWORD).status_code == 303
    export = sample("blogger-2018-trimmed.xml").read_bytes()
    form = {
        "export": (io.BytesIO(export), "export.xml"),
        # Another Blogger blog than the first sample: merged into it, not refused.
        "merge": "y",
        "csrf_token": auth.csrf_token("/manage/transfer/"),
    }
    imported = client.post("/manage/transfer/import", data=form, content_type="multipart/form-data")
    pages.add_response("import report", imported, 200)
    pages.add(visitor, "imported post (2018)", "/2010/11/the-steel-windpipe.html")
    pages.add(visitor, "standalone page (2018)", "/p/test-page.html")
    with app.app_context():
        edited = db.session.scalars(select(Post.id).where(Post.title == talk.title)).one()
    pages.add(client, "dashboard", "/manage/")
    pages.add(client, "dashboard: published", "/manage/?state=published")
    pages.add(client, "editor: new", "/manage/posts/new")
    pages.add(client, "editor: new strategy", "/manage/posts/new?kind=strategy")
    pages.add(client, "editor: edit", f"/manage/posts/{edited}/edit")
    # Editing without loss: unsaved text offered, restored, and a save refused (409).
    editor_page = client.get(f"/manage/posts/{edited}/edit").text
    opened = editor_form(editor_page)
    autosaved = client.post(
        f"/manage/posts/{edited}/autosave",
        data={**opened, "body": "Unsaved <text> & more."},
    )
    assert autosaved.status_code == 200
    pages.add(client, "editor: unsaved text offered", f"/manage/posts/{edited}/edit")
    pages.add(
        client, "editor: unsaved text restored", f"/manage/posts/{edited}/edit?restore=autosave"
    )
    stale = {**opened, "version": str(int(opened["version"]) - 1), "action": "save"}
    pages.add_response(
        "editor: conflict", client.post(f"/manage/posts/{edited}/edit", data=stale), 409
    )
    pages.add(client, "post delete", f"/manage/posts/{edited}/delete")
    # A plan that two strategies follow: its page lists them, its editor and delete page
    # name them, and the editor asks before it stops being a plan.
    plan_path, plan_id = _plan_with_two_strategies(app)
    pages.add(visitor, "plan with two strategies", plan_path)
    plan_editor = f"/manage/posts/{plan_id}/edit"
    pages.add(client, "editor: plan with strategies", plan_editor)
    pages.add(client, "plan delete", f"/manage/posts/{plan_id}/delete")
    asked = auth.post_form(
        plan_editor, {"title": "Now an essay", "kind": "article", "action": "save"}, plan_editor
    )
    pages.add_response("editor: a plan's strategies would lose it", asked, 409)
    refused = auth.post_form("/manage/posts/new", {"title": "", "body": "", "action": "save"})
    pages.add_response("editor: refused", refused, 422)
    previewed = auth.post_form(
        "/manage/posts/new",
        {"title": "Noted", "body": noted, "kind": "article", "action": "preview"},
    )
    pages.add_response("editor: preview with footnotes and contents", previewed, 200)
    pages.add(client, "series list", "/manage/series/")
    pages.add(client, "series: new", "/manage/series/new")
    pages.add(client, "series: edit, with its posts in order", f"/manage/series/{series.id}/edit")
    pages.add(client, "series delete", f"/manage/series/{series.id}/delete")
    refused_series = auth.post_form("/manage/series/new", {"title": "", "slug": "Bad Slug"})
    pages.add_response("series: refused", refused_series, 422)
    pages.add(client, "comments: moderation queue", "/manage/comments")
    pages.add(client, "comments: published", "/manage/comments?status=published")
    pages.add(client, "settings", "/manage/settings")
    pages.add(client, "account", "/manage/account")
    pages.add(client, "users", "/manage/users")
    pages.add(client, "import/export", "/manage/transfer/")
    pages.add(client, "fediverse, nothing blocked", "/manage/fediverse")
    blocked = auth.post_form(
        "/manage/fediverse/blocks", {"kind": "domain", "value": "spam.example"}, "/manage/fediverse"
    )
    assert blocked.status_code == 303
    pages.add(client, "fediverse, a server blocked", "/manage/fediverse")
    refused_block = auth.post_form(
        "/manage/fediverse/blocks", {"kind": "domain", "value": "not a domain"}, "/manage/fediverse"
    )
    pages.add_response("fediverse: block refused", refused_block, 400)
    pages.add(client, "post as its author sees it", talk.url)
    # The audit trail: the sign-in, the imports, the block, the comments the rules held
    # (their links to moderation), filtered, and a filter refused.
    assert AuthActions(app.test_client()).login("nobody", "wrong password").status_code == 401
    pages.add(client, "audit trail", "/manage/audit/")
    pages.add(client, "audit trail: comments held", "/manage/audit/?action=comment")
    pages.add(client, "audit trail: bad filter", "/manage/audit/?since=someday", 400)
    pages.add(client, "comments: one comment", f"/manage/comments?status=published&comment={first}")

    # The authoring of issue 18: an uploaded image and a video in a post, a public
    # revision history, a standalone page written in the editor.
    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    pages.add(client, "media library (empty)", "/manage/media/")
    picture = upload(client, jpeg((1800, 1200)), alt="A team's knowledge map", json=True)
    assert picture.status_code == 201, picture.text
    body = (
        f"Drawn in a workshop.\n\n{picture.json['markdown']}\n\n"
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n\nWhat it shows."
    )
    pictured = new_post(client, "publish", title="A map on the wall", body=body)
    changed = edit(client, pictured, body=body + " And what not.", change_note="One more line.")
    assert changed.status_code == 303
    pages.add(visitor, "post with an image and a video", url_of(app, pictured))
    pages.add(client, "media library", "/manage/media/")
    pages.add(client, "editor: a post with an image", f"/manage/posts/{pictured}/edit")
    history = url_of(app, pictured).removesuffix(".html") + "/history"
    pages.add(visitor, "post history", history)
    pages.add(visitor, "post history: a diff", f"{history}?from=1&to=2")
    about = new_page(client, title="About", body="Who writes here, and why.")
    pages.add(client, "pages", "/manage/pages/")
    pages.add(client, "page editor: new", "/manage/pages/new")
    pages.add(client, "page editor: edit", f"/manage/pages/{about}/edit")
    pages.add(client, "page delete", f"/manage/pages/{about}/delete")
    pages.add(visitor, "standalone page (written here)", "/p/about.html")

    # Two-factor sign-in (issue 20): the security page before, while and after an app is
    # set up, the recovery codes, and the second step of signing in.
    blog.author("guarded", password=PASSWORD)
    guarded = app.test_client()
    guard = AuthActions(guarded)
    guard.login("guarded")
    security = "/manage/account/security"
    pages.add(guarded, "security: no app", security)
    guard.post_form(f"{security}/totp/start", {}, security)
    enrolling = pages.add(guarded, "security: setting up an app", security)
    secret = re.search(r'id="totp-secret" class="totp-secret">([A-Z2-7]+)<', enrolling)
    assert secret
    shown = guard.post_form(
        f"{security}/totp/confirm", {"code": pyotp.TOTP(secret.group(1)).now()}, security
    )
    pages.add_response("recovery codes", shown, 200)
    pages.add(guarded, "security: app on", security)
    guard.logout()
    guard.login("guarded")
    step = pages.add(guarded, "second step of signing in", "/login/second-factor")
    wrong = guarded.post(
        "/login/second-factor",
        data={"csrf_token": hidden_field(step, "csrf_token"), "code": "000000"},
    )
    pages.add_response("second step: a wrong code", wrong, 401)

    messages = check_pages(java, pages.html, tmp_path)
    errors = [m for m in messages if m["type"] in {"error", "non-document-error"}]
    warnings = [m for m in messages if m["type"] == "info"]
    # The warnings may stay (they are advice); they are named in the run's output.
    print(f"\nvnu: {len(pages.html)} pages, {len(errors)} errors, {len(warnings)} warnings")
    for message in warnings:
        print("  warning:", _described(message))
    assert not errors, f"{len(errors)} errors:\n" + "\n".join(map(_described, errors))
