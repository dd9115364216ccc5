"""The audit trail (issue 20): each rule that holds a comment says so, with its reason;
each moderator's decision names them; sign-ins, authors' and settings' changes,
imports, exports, backups and blocks are recorded; admins alone read it, filtered, at
/manage/audit and with `flask audit list`; old events are forgotten by a job."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from kmblog.audit import RETENTION, retention_job
from kmblog.audit.services import MASKED, record, setting_changes
from kmblog.extensions import db
from kmblog.jobs import queue_of
from kmblog.models import AuditEvent, Comment, CommentPolicy, CommentStatus, utcnow
from tests.blogger_files import sample
from tests.conftest import PASSWORD, AuthActions
from tests.factories import BASE_TIME
from tests.html_tree import Node, parse_html, words
from tests.test_comments import post_comment

LINKS = "See https://a.example/1 and https://a.example/2 and https://a.example/3."


def rows(page: str) -> list[Node]:
    """The audit page's event rows."""
    table = parse_html(page).find("table")
    return [] if table is None else table.find_all("tr")[1:]


def row_texts(page: str) -> list[str]:
    return [words(row.text()) for row in rows(page)]


def events(app: Any, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def unsigned(page: str) -> str:
    """A page without the values of its CSRF tokens."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)


def cli_lines(runner: Any, *args: str) -> list[str]:
    result = runner.invoke(args=["audit", "list", *args])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.fixture
def admin_client(app, admin):  # type: ignore[no-untyped-def]
    """A browser signed in as the admin."""
    browser = app.test_client()
    assert AuthActions(browser).login("admin").status_code == 303
    return browser


# --- comments held by a rule -----------------------------------------------------------

# Each rule: the blog's settings that turn it on, what the reader sends, and the rule
# and reason the trail must show.
RULES = {
    "links": (
        {"moderation_links": 2},
        {"body": LINKS},
        "comment.held",
        "links",
        "3 links, the limit is 2",
    ),
    "blocked word": (
        {"blocked_words": "casino\nlottery"},
        {"body": "Try the Casino tonight."},
        "comment.spam",
        "blocked-word",
        "a blocked word, “casino” in its text",
    ),
    "moderation word": (
        {"moderation_words": "crypto"},
        {"body": "Good post.", "name": "Crypto Carl"},
        "comment.held",
        "moderation-word",
        "a moderation word, “crypto” in its name",
    ),
    "moderated policy": (
        {"comment_policy": CommentPolicy.MODERATED},
        {"body": "Nice."},
        "comment.held",
        "moderated-policy",
        "every comment waits for a moderator",
    ),
    "old post": (
        {"moderate_after_days": 14},
        {"body": "Late to this."},
        "comment.held",
        "old-post",
        "the post is older than 14 days",
    ),
    "first comment": (
        {"hold_first_comment": True},
        {"body": "Hello.", "name": "Ann", "url": "https://ann.example/"},
        "comment.held",
        "first-comment",
        "the first comment of this commenter",
    ),
    "honeypot": (
        {},
        {"body": "Buy now.", "website": "https://spam.example/"},
        "comment.spam",
        "form-timer",
        "sent sooner than a person could write it, or with the hidden field filled",
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_a_comment_held_by_a_rule_shows_the_rule_and_reason(
    app, blog, admin, admin_client, runner, rule
):
    settings, fields, action, rule_name, reason = RULES[rule]
    if settings:
        blog.settings(**settings)
    post = blog.post()
    reader = app.test_client()
    sent = post_comment(reader, post.url, **fields)
    assert sent.status_code == 303
    with app.app_context():
        comment = db.session.scalars(select(Comment)).one()
        comment_id, status = comment.id, comment.status
    assert status != CommentStatus.PUBLISHED

    page = admin_client.get("/manage/audit/")
    assert page.status_code == 200
    held = [
        row for row in rows(page.text) if f"comment {comment_id} " in words(row.text()).casefold()
    ]
    assert len(held) == 1, row_texts(page.text)
    text = words(held[0].text())
    assert f"Rule: {rule_name}; reason: {reason}" in text
    assert f"({action})" in text
    assert "a rule" in text  # done by no person
    # Its link opens the comment where it now is in moderation.
    link = held[0].find("a")
    assert link is not None
    target = link.get("href", "")
    assert f"comment={comment_id}" in target
    moderation = admin_client.get(target)
    assert moderation.status_code == 200
    listed = parse_html(moderation.text).find_all("li", id=f"c{comment_id}")
    assert len(listed) == 1
    assert len(parse_html(moderation.text).find_all("li", **{"class": "comment"})) == 1

    # The command line says the same.
    lines = cli_lines(runner, "--action", action)
    assert len(lines) == 1
    stamp, printed_action, who, subject, summary = lines[0].split("\t")
    assert (printed_action, who, subject) == (action, "a rule", f"comment {comment_id}")
    assert reason in summary


def test_a_published_comment_leaves_no_trace(app, blog, admin, admin_client):
    post = blog.post()
    assert post_comment(app.test_client(), post.url, body="Fine.").status_code == 303
    assert events(app, "comment.held") == events(app, "comment.spam") == []


def test_an_edit_that_trips_a_rule_is_recorded_as_such(app, blog, admin):
    blog.settings(moderation_words="casino", edit_window_minutes=30)
    post = blog.post()
    reader = app.test_client()
    sent = post_comment(reader, post.url, body="A plain remark.")
    comment_id = int(sent.headers["Location"].rsplit("#c", 1)[1])
    done = reader.post(f"/comments/{comment_id}/edit", data={"body": "Casino time."})
    assert done.status_code == 303
    (held,) = events(app, "comment.held")
    assert held.subject_id == comment_id
    assert held.details["edited"] is True
    assert held.summary == "Held after an edit: a moderation word, “casino” in its text"


# --- decisions by people ---------------------------------------------------------------


def moderate(client: Any, single: str = "", ids: tuple[int, ...] = (), action: str = "") -> Any:
    auth = AuthActions(client)
    data: dict[str, Any] = {"status": "pending"}
    if single:
        data["single"] = single
    else:
        data["ids"] = [str(i) for i in ids]
        data["action"] = action
    return auth.post_form("/manage/comments/moderate", data, "/manage/comments")


def test_an_approval_names_the_admin_who_approved(app, blog, admin, admin_client, runner):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post()
    reader = app.test_client()
    for body in ("First.", "Second.", "Third."):
        assert post_comment(reader, post.url, body=body).status_code == 303
    with app.app_context():
        first, second, third = db.session.scalars(select(Comment.id).order_by(Comment.id))
    assert moderate(admin_client, single=f"approve:{first}").status_code == 303
    # A bulk action: one event for each comment, each naming the admin.
    assert moderate(admin_client, ids=(second, third), action="spam").status_code == 303

    page = admin_client.get("/manage/audit/?action=comment.approved")
    (approved,) = row_texts(page.text)
    assert "admin" in approved and "Approved by admin" in approved
    assert f"Comment {first} in moderation (now published)" in approved
    spam = events(app, "comment.spam")
    assert [(e.subject_id, e.actor_name, e.details["from"]) for e in spam] == [
        (second, "admin", "pending"),
        (third, "admin", "pending"),
    ]
    (line,) = cli_lines(runner, "--action", "comment.approved")
    assert line.split("\t")[1:4] == ["comment.approved", "admin", f"comment {first}"]


def test_an_author_moderating_their_own_post_is_named(app, blog, admin, writer):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post(author_id=writer)
    assert post_comment(app.test_client(), post.url, body="Held.").status_code == 303
    with app.app_context():
        comment_id = db.session.scalars(select(Comment.id)).one()
    author = app.test_client()
    assert AuthActions(author).login("writer").status_code == 303
    assert moderate(author, single=f"delete:{comment_id}").status_code == 303
    (deleted,) = events(app, "comment.deleted")
    assert (deleted.actor_name, deleted.actor_id, deleted.subject_id) == (
        "writer",
        writer,
        comment_id,
    )


# --- sign-ins ---------------------------------------------------------------------------


def test_sign_ins_are_recorded_and_failures_alike_for_known_and_unknown_names(
    app, admin, writer, runner
):
    browser = app.test_client()
    auth = AuthActions(browser)
    known = auth.login("writer", "wrong password")
    unknown = auth.login("nobody-here", "wrong password")
    assert known.status_code == unknown.status_code == 401
    # The pages alike but for the name (and the form's CSRF token, signed with the time:
    # two answers a second apart carry different ones).
    assert unsigned(known.text).replace("writer", "X") == unsigned(unknown.text).replace(
        "nobody-here", "X"
    )
    assert auth.login("writer").status_code == 303

    failed = events(app, "auth.sign_in_failed")
    assert [e.actor_name for e in failed] == ["writer", "nobody-here"]

    def shape(event: AuditEvent, name: str) -> tuple[Any, ...]:
        return (
            event.actor_id,
            event.subject_type,
            event.subject_id,
            event.summary.replace(name, "X"),
            json.dumps(event.details).replace(name, "X"),
            event.ip,
        )

    # Whether the name is an author's makes no difference to what is kept.
    assert shape(failed[0], "writer") == shape(failed[1], "nobody-here")
    assert failed[0].ip == "127.0.0.1"
    (signed_in,) = events(app, "auth.sign_in")
    assert (signed_in.actor_id, signed_in.actor_name, signed_in.ip) == (
        writer,
        "writer",
        "127.0.0.1",
    )
    # No password, right or wrong, is anywhere in the trail.
    for event in events(app):
        stored = " ".join(str(v) for v in vars(event).values())
        assert "wrong password" not in stored and PASSWORD not in stored
    lines = cli_lines(runner, "--action", "auth")
    assert [line.split("\t")[1] for line in lines] == [
        "auth.sign_in",
        "auth.sign_in_failed",
        "auth.sign_in_failed",
    ]


# --- authors and settings -----------------------------------------------------------------


def test_role_change_new_author_disabling_and_password_are_recorded_without_secrets(
    app, admin, writer, admin_client
):
    auth = AuthActions(admin_client)
    assert (
        auth.post_form(
            f"/manage/users/{writer}/role", {"role": "admin"}, "/manage/users"
        ).status_code
        == 303
    )
    assert (
        auth.post_form(
            f"/manage/users/{writer}/password", {"password": "a brand new secret"}, "/manage/users"
        ).status_code
        == 303
    )
    assert auth.post_form(f"/manage/users/{writer}/active", {}, "/manage/users").status_code == 303
    made = auth.post_form(
        "/manage/users",
        {"username": "newbie", "display_name": "New", "email": "", "role": "author",
         "password": "another secret!"},
    )  # fmt: skip
    assert made.status_code == 303

    page = admin_client.get("/manage/audit/?action=user&person=admin").text
    texts = row_texts(page)
    assert len(texts) == 4
    assert "Role changed" in texts[3] and "writer: author → admin" in texts[3]
    assert "New password set for writer" in texts[2]
    assert "writer disabled" in texts[1]
    assert "Created author newbie" in texts[0]
    assert all("admin" in text.split("(user.")[0] for text in texts)
    (changed,) = events(app, "user.role_changed")
    assert (changed.details["from"], changed.details["to"]) == ("author", "admin")
    assert changed.subject_type == "user" and changed.subject_id == writer
    for event in events(app):
        stored = json.dumps([event.summary, event.detail])
        assert "a brand new secret" not in stored and "another secret!" not in stored


def test_a_settings_change_lists_old_and_new_values(app, admin, admin_client):
    auth = AuthActions(admin_client)
    form = {
        "title": "The KM Depot",
        "description": "",
        "about": "",
        "timezone": "UTC",
        "posts_per_page": "5",
        "items_per_feed": "25",
        "comment_policy": "moderated",
        "moderate_after_days": "",
        "moderation_links": "2",
        "moderation_words": "",
        "blocked_words": "casino",
        "edit_window_minutes": "15",
        "thread_depth": "4",
    }
    with app.app_context():
        from kmblog.settings import get_settings

        old_title = get_settings().title
    assert auth.post_form("/manage/settings", form).status_code == 303
    (changed,) = events(app, "settings.changed")
    changes = changed.details["changes"]
    assert changes["title"] == [old_title, "The KM Depot"]
    assert changes["comment_policy"] == ["open", "moderated"]
    assert changes["blocked_words"] == ["", "casino"]
    assert "posts_per_page" not in changes  # unchanged values are not listed
    assert changed.actor_name == "admin"
    page = admin_client.get("/manage/audit/?action=settings.changed").text
    (text,) = row_texts(page)
    assert f"title: {old_title} → The KM Depot" in text
    assert "comment_policy: open → moderated" in text
    assert "blocked_words: (empty) → casino" in text
    # The same form sent again changes nothing, and records nothing.
    assert auth.post_form("/manage/settings", form).status_code == 303
    assert len(events(app, "settings.changed")) == 1


def test_a_secret_setting_is_said_to_change_but_never_shown():
    changes = setting_changes(
        {"mail_password": "old-one", "api_token": "t1", "title": "A"},
        {"mail_password": "new-one", "api_token": "t1", "title": "B"},
    )
    assert changes == {"mail_password": [MASKED, MASKED], "title": ["A", "B"]}


# --- imports, exports, backups, blocks ----------------------------------------------------


def test_imports_exports_and_backups_are_recorded(app, admin, admin_client, runner, tmp_path):
    result = runner.invoke(args=["import", "blogger", str(sample("blogger-2008-minima.xml"))])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["export", "json", str(tmp_path / "blog.json")]).exit_code == 0
    assert runner.invoke(args=["export", "blogger", str(tmp_path / "blog.xml")]).exit_code == 0
    backed_up = runner.invoke(args=["backup", str(tmp_path)])
    assert backed_up.exit_code == 0, backed_up.output
    assert admin_client.get("/manage/transfer/export/kmblog.json").status_code == 200

    lines = cli_lines(runner)
    actions = [(line.split("\t")[1], line.split("\t")[2]) for line in lines]
    assert actions[:5] == [
        ("export.json", "admin"),
        ("backup.made", "command line"),
        ("export.blogger", "command line"),
        ("export.json", "command line"),
        ("import.blogger", "command line"),
    ]
    (imported,) = events(app, "import.blogger")
    assert imported.details["posts"] > 0 and imported.details["comments"] > 0
    (made,) = events(app, "backup.made")
    assert made.details["rows"] > 0 and made.details["file"].startswith(str(tmp_path))


def test_a_web_import_names_its_admin(app, admin, admin_client):
    auth = AuthActions(admin_client)
    form = {
        "export": (io.BytesIO(sample("blogger-2008-minima.xml").read_bytes()), "export.xml"),
        "csrf_token": auth.csrf_token("/manage/transfer/"),
    }
    done = admin_client.post(
        "/manage/transfer/import", data=form, content_type="multipart/form-data"
    )
    assert done.status_code == 200
    (imported,) = events(app, "import.blogger")
    assert imported.actor_name == "admin"


def test_a_fediverse_block_is_recorded(app, admin, admin_client):
    auth = AuthActions(admin_client)
    done = auth.post_form(
        "/manage/fediverse/blocks", {"kind": "domain", "value": "spam.example"}, "/manage/fediverse"
    )
    assert done.status_code == 303
    (blocked,) = events(app, "federation.blocked")
    assert blocked.actor_name == "admin" and blocked.details["value"] == "spam.example"


# --- who may read it, and its filters ------------------------------------------------------


def test_only_admins_read_the_trail(app, admin, writer, client):
    assert client.get("/manage/audit/").status_code == 302  # to the sign-in page
    author = app.test_client()
    assert AuthActions(author).login("writer").status_code == 303
    assert author.get("/manage/audit/").status_code == 403
    assert "Audit trail" not in author.get("/manage/").text
    admin_browser = app.test_client()
    assert AuthActions(admin_browser).login("admin").status_code == 303
    dashboard = parse_html(admin_browser.get("/manage/").text)
    nav = dashboard.one("nav", **{"class": "manage-nav"})
    assert "/manage/audit/" in [a.get("href") for a in nav.find_all("a")]


def seed(app: Any, specs: list[tuple[str, str, int, tuple[str, int | None]]]) -> None:
    """Events with these actions, actors, ages in days and subjects."""
    with app.app_context():
        now = utcnow()
        for action, actor, days, subject in specs:
            record(action, f"{action} by {actor}", actor=actor, subject=subject,
                   now=now - timedelta(days=days))  # fmt: skip
        db.session.commit()


def test_filters_by_action_group_person_dates_and_subject(app, admin, admin_client):
    seed(
        app,
        [
            ("comment.held", "", 40, ("comment", 7)),
            ("comment.approved", "ann", 30, ("comment", 7)),
            ("comment.approved", "ben", 20, ("comment", 8)),
            ("user.role_changed", "ann", 10, ("user", 3)),
            ("settings.changed", "ben", 1, ("settings", None)),
        ],
    )

    def summaries(query: str) -> list[str]:
        page = admin_client.get("/manage/audit/" + query)
        assert page.status_code == 200, query
        return [
            words(row.find_all("td")[3].find("p").text())  # type: ignore[union-attr]
            for row in rows(page.text)
            if "(auth." not in words(row.text())  # the admin's own sign-in
        ]

    assert summaries("?action=comment") == [
        "comment.approved by ben",
        "comment.approved by ann",
        "comment.held by",
    ]
    assert summaries("?action=comment.approved&person=ann") == ["comment.approved by ann"]
    assert summaries("?person=ann") == ["user.role_changed by ann", "comment.approved by ann"]
    today = utcnow().date()
    since = (today - timedelta(days=25)).isoformat()
    until = (today - timedelta(days=5)).isoformat()
    assert summaries(f"?since={since}&until={until}") == [
        "user.role_changed by ann",
        "comment.approved by ben",
    ]
    assert summaries("?subject_type=comment&subject_id=7") == [
        "comment.approved by ann",
        "comment.held by",
    ]
    # The pager keeps the filter.
    many = [("comment.held", "", 0, ("comment", n)) for n in range(60)]
    seed(app, many)
    first = admin_client.get("/manage/audit/?action=comment.held").text
    older = parse_html(first).one("a", **{"class": "older-link"}).get("href", "")
    assert "action=comment.held" in older and "page=2" in older
    assert len(rows(admin_client.get(older).text)) == 11


@pytest.mark.parametrize(
    "query",
    [
        "?since=yesterday",
        "?since=2026-13-45",
        "?since=2026-05-02&until=2026-05-01",
        "?action=nothing.such",
        "?subject_type=comment&subject_id=-3",
        "?subject_type=comment&subject_id=99999999999",
        "?person=" + "x" * 65,
    ],
)
def test_a_bad_filter_is_explained_and_lists_nothing(app, admin, admin_client, query):
    seed(app, [("comment.held", "", 1, ("comment", 1))])
    page = admin_client.get("/manage/audit/" + query)
    assert page.status_code == 400
    assert rows(page.text) == []
    assert 'class="form-error"' in page.text


def test_a_date_that_is_no_date_is_named_in_the_message(app, admin, admin_client):
    page = admin_client.get("/manage/audit/?since=someday&action=comment")
    assert page.status_code == 400
    assert "“someday” is not a date" in page.text
    assert 'value="someday"' not in page.text  # a date input holds dates only
    assert '<option selected value="comment">' in page.text  # the rest of the filter stays


def test_the_cli_filters_by_user_since_and_limit(app, runner):
    seed(
        app,
        [
            ("comment.approved", "ann", 30, ("comment", 1)),
            ("comment.approved", "ann", 2, ("comment", 2)),
            ("comment.deleted", "ben", 1, ("comment", 3)),
        ],
    )
    assert len(cli_lines(runner, "--user", "ann")) == 2
    since = (utcnow() - timedelta(days=10)).date().isoformat()
    lines = cli_lines(runner, "--since", since)
    assert [line.split("\t")[3] for line in lines] == ["comment 3", "comment 2"]
    assert len(cli_lines(runner, "--limit", "1")) == 1
    refused = runner.invoke(args=["audit", "list", "--since", "last week"])
    assert refused.exit_code == 2 and "is not a date" in refused.output


# --- retention -------------------------------------------------------------------------------


def test_the_retention_job_forgets_only_old_events(app):
    assert RETENTION in queue_of(app)._tasks  # a periodic job on the queue
    seed(
        app,
        [
            ("comment.held", "", 400, ("comment", 1)),
            ("comment.held", "", 366, ("comment", 2)),
            ("comment.held", "", 364, ("comment", 3)),
            ("comment.held", "", 0, ("comment", 4)),
        ],
    )
    with app.app_context():
        retention_job()
    assert [e.subject_id for e in events(app)] == [3, 4]
    app.config["AUDIT_KEEP_DAYS"] = 0  # for ever
    seed(app, [("comment.held", "", 4000, ("comment", 5))])
    with app.app_context():
        retention_job()
    assert [e.subject_id for e in events(app)] == [3, 4, 5]
    app.config["AUDIT_KEEP_DAYS"] = 1
    with app.app_context():
        retention_job()
    assert [e.subject_id for e in events(app)] == [4]


# --- cost ---------------------------------------------------------------------------------


def test_the_audit_page_costs_the_same_queries_with_more_events(
    app, blog, admin, admin_client, count_queries
):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post(published=BASE_TIME)

    def measure() -> int:
        admin_client.get("/manage/audit/")
        with count_queries() as queries:
            page = admin_client.get("/manage/audit/")
        assert page.status_code == 200
        return len(queries)

    assert post_comment(app.test_client(), post.url, body="One.").status_code == 303
    small = measure()
    for n in range(30):
        assert post_comment(app.test_client(), post.url, body=f"Comment {n}.").status_code == 303
    seed(app, [("user.role_changed", f"user{n}", 1, ("user", n + 1)) for n in range(30)])
    big = measure()
    assert len(rows(admin_client.get("/manage/audit/").text)) == 50
    assert big == small
    assert small <= 7
