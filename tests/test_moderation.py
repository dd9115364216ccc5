"""Comment moderation, comment policies, the settings page and the authors page, over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, Role, Settings, User
from tests.conftest import PASSWORD, AuthActions
from tests.forms import field_error, form_values
from tests.html_tree import Node, parse_html

SITE = "http://blog.test"
QUEUE = "/manage/comments"
MODERATE = "/manage/comments/moderate"
COMMENTS_FEED = "/feeds/comments/default"
NEW_PASSWORD = "a much longer secret"


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def colleague(blog, admin):  # type: ignore[no-untyped-def]
    return blog.author("colleague", role=Role.AUTHOR, password=PASSWORD)


@pytest.fixture
def reader(app):  # type: ignore[no-untyped-def]
    """A visitor's browser, never signed in."""
    return app.test_client()


@pytest.fixture
def moderated(blog):  # type: ignore[no-untyped-def]
    blog.settings(comment_policy=CommentPolicy.MODERATED)


# --- HTML helpers -----------------------------------------------------------------------


def form_with(page: str, field_id: str) -> dict[str, str]:
    """The values of the form on `page` that holds the field `field_id`."""
    [form] = [
        f
        for f in parse_html(page).find_all("form")
        if any(n.get("id") == field_id for n in f.iter())
    ]
    return form_values(form)


def flashes(page: str) -> list[str]:
    return [n.text() for n in parse_html(page).find_all("p", class_="flash")]


# --- comment helpers --------------------------------------------------------------------


def comment_form(page: str) -> Node | None:
    forms = parse_html(page).find_all("form", class_="comment-form")
    return forms[0] if forms else None


def post_comment(client, url: str, body: str, name: str = "", web: str = ""):  # type: ignore[no-untyped-def]
    """Fill in the comment form under the post at `url` and publish, as a reader does."""
    page = client.get(url)
    assert page.status_code == 200, url
    form = comment_form(page.text)
    assert form is not None, f"no comment form on {url}"
    data = {**form_values(form), "body": body, "name": name, "url": web}
    return client.post(form.get("action", "").split("#")[0], data=data)


def shown_comments(client, url: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts of the comments readers see under the post."""
    page = parse_html(client.get(url).text)
    return [n.text().strip() for n in page.find_all("div", class_="comment-body")]


def comment_heading(client, url: str) -> str:  # type: ignore[no-untyped-def]
    return parse_html(client.get(url).text).find_all("h4")[0].text().strip()


def feed_contents(client, url: str = COMMENTS_FEED) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    return [entry.content[0].value for entry in feed.entries]


@dataclass(frozen=True)
class QueueItem:
    id: int
    text: str  # who, web address, when, and on which post
    post_title: str
    body: str


def queue(client, status: str = "pending") -> list[QueueItem]:  # type: ignore[no-untyped-def]
    """The comments listed on the moderation page, in order."""
    response = client.get(f"{QUEUE}?status={status}")
    assert response.status_code == 200
    items = []
    for li in parse_html(response.text).find_all("li", class_="comment"):
        header = li.find_all("p", class_="comment-author")[0]
        items.append(
            QueueItem(
                id=int(li.get("id", "").removeprefix("c")),
                text=" ".join(header.text().split()),
                post_title=header.find_all("a")[0].text(),
                body=li.find_all("div", class_="comment-body")[0].text().strip(),
            )
        )
    return items


def moderate(auth, status: str = "pending", **data: Any):  # type: ignore[no-untyped-def]
    """Press a button on the moderation page (`single` or `action` with `ids`)."""
    return auth.post_form(
        MODERATE, {"status": status, **data}, form_page=f"{QUEUE}?status={status}"
    )


def statuses(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Each comment's body and status, as stored."""
    with app.app_context():
        return {c.body_source: c.status.value for c in db.session.scalars(select(Comment))}


# --- moderated blog ---------------------------------------------------------------------


def test_a_held_comment_is_invisible_until_approved(
    app, auth, blog, client, reader, writer, moderated
):
    """Held: thanked, not on the page, not in feeds, counted nowhere; approved: everywhere."""
    post = blog.post(title="Knowledge needs", author_id=writer)
    response = post_comment(
        reader, post.url, "Tacit knowledge matters most.", "Dave", "https://example.org/dave"
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"{post.url}#comment-form"
    assert any("once a moderator has approved it" in m for m in flashes(reader.get(post.url).text))

    assert shown_comments(reader, post.url) == []
    assert comment_heading(reader, post.url) == "0 Comments:"
    home = parse_html(reader.get("/").text)
    assert [a.text() for a in home.find_all("a", class_="comment-link")] == ["0 comments"]
    assert feed_contents(reader) == []
    assert feed_contents(reader, f"/feeds/{post.id}/comments/default") == []

    auth.login("writer")
    assert "(1 waiting)" in client.get("/manage/?state=published").text
    [item] = queue(client)
    assert item.post_title == "Knowledge needs"
    assert item.text.startswith("Dave (https://example.org/dave),")
    assert item.body == "Tacit knowledge matters most."

    response = moderate(auth, single=f"approve:{item.id}")
    assert response.status_code == 303
    assert "1 comment approved." in flashes(client.get(response.headers["Location"]).text)
    assert queue(client) == []
    assert shown_comments(reader, post.url) == ["Tacit knowledge matters most."]
    assert comment_heading(reader, post.url) == "1 Comment:"
    assert feed_contents(reader) == ["<p>Tacit knowledge matters most.</p>"]
    assert feed_contents(reader, f"/feeds/{post.id}/comments/default") == [
        "<p>Tacit knowledge matters most.</p>"
    ]


def test_the_queue_lists_held_comments_oldest_first(auth, blog, client, reader, writer, moderated):
    """Moderators work through the queue in the order comments arrived."""
    first = blog.post(title="Knowledge needs", author_id=writer)
    second = blog.post(title="Knowledge assets", author_id=writer)
    post_comment(reader, second.url, "First in.", "Ann")
    post_comment(reader, first.url, "Second in.", "Bob", "https://bob.example/")
    post_comment(reader, second.url, "Third in.")

    auth.login("writer")
    items = queue(client)
    assert [i.body for i in items] == ["First in.", "Second in.", "Third in."]
    assert [i.post_title for i in items] == [
        "Knowledge assets",
        "Knowledge needs",
        "Knowledge assets",
    ]
    assert items[1].text.startswith("Bob (https://bob.example/),")
    assert items[2].text.startswith("Anonymous,")


def test_spam_is_listed_apart_and_never_shown(app, auth, blog, client, reader, writer, moderated):
    """A comment marked as spam moves to the spam list and never reaches readers."""
    post = blog.post(title="Knowledge needs", author_id=writer)
    post_comment(reader, post.url, "Cheap watches at example.com", "Spammer")
    post_comment(reader, post.url, "A fair point.", "Ann")
    auth.login("writer")
    spam, fair = queue(client)

    assert moderate(auth, single=f"spam:{spam.id}").status_code == 303
    assert moderate(auth, single=f"approve:{fair.id}").status_code == 303

    assert [i.body for i in queue(client, "spam")] == ["Cheap watches at example.com"]
    assert queue(client) == []
    assert [i.body for i in queue(client, "published")] == ["A fair point."]
    assert shown_comments(reader, post.url) == ["A fair point."]
    assert feed_contents(reader) == ["<p>A fair point.</p>"]
    assert statuses(app)["Cheap watches at example.com"] == "spam"


def test_a_deleted_comment_leaves_the_page_and_the_published_list(
    auth, blog, client, reader, writer
):
    """Deleting a published comment takes it off the post, the feed and the published list."""
    post = blog.post(title="Knowledge needs", author_id=writer)
    post_comment(reader, post.url, "Keep me.")
    post_comment(reader, post.url, "Delete me.")
    auth.login("writer")
    deleted = next(i for i in queue(client, "published") if i.body == "Delete me.")

    response = moderate(auth, "published", single=f"delete:{deleted.id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{QUEUE}?status=published"
    assert [i.body for i in queue(client, "published")] == ["Keep me."]
    assert shown_comments(reader, post.url) == ["Keep me."]
    assert feed_contents(reader) == ["<p>Keep me.</p>"]
    assert [i.body for i in queue(client, "spam")] == []
    assert [i.body for i in queue(client)] == []


def test_three_ticked_comments_are_approved_at_once(
    app, auth, blog, client, reader, writer, moderated
):
    """Ticking three comments and pressing Approve publishes those three, no others."""
    post = blog.post(title="Knowledge needs", author_id=writer)
    for text in ("One.", "Two.", "Three.", "Four."):
        post_comment(reader, post.url, text)
    auth.login("writer")
    picked = [i.id for i in queue(client) if i.body != "Three."]

    response = moderate(auth, action="approve", ids=[str(i) for i in picked])
    assert response.status_code == 303
    assert "3 comments approved." in flashes(client.get(response.headers["Location"]).text)
    assert shown_comments(reader, post.url) == ["One.", "Two.", "Four."]
    assert [i.body for i in queue(client)] == ["Three."]


def test_moderating_with_nothing_ticked_changes_nothing(
    app, auth, blog, client, reader, writer, moderated
):
    """Pressing a bulk button with no box ticked asks for a tick and changes nothing."""
    post = blog.post(author_id=writer)
    post_comment(reader, post.url, "Waiting.")
    auth.login("writer")
    response = moderate(auth, action="approve")
    assert response.status_code == 303
    assert "Tick at least one comment first." in flashes(
        client.get(response.headers["Location"]).text
    )
    assert statuses(app) == {"Waiting.": "pending"}


# --- who may moderate -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["single", "bulk", "bulk with an own comment"])
def test_an_author_cannot_moderate_comments_on_another_authors_post(
    app, auth, blog, client, reader, writer, colleague, moderated, how
):
    """403 and nothing changes, even when the other author's comment is ticked with one's own."""
    theirs = blog.post(title="The writer's post", author_id=writer)
    mine = blog.post(title="The colleague's post", author_id=colleague)
    post_comment(reader, theirs.url, "On the writer's post.")
    post_comment(reader, mine.url, "On the colleague's post.")
    with app.app_context():
        ids = {c.body_source: c.id for c in db.session.scalars(select(Comment))}
    target = ids["On the writer's post."]

    auth.login("colleague")
    assert [i.body for i in queue(client)] == ["On the colleague's post."]
    if how == "single":
        response = moderate(auth, single=f"approve:{target}")
    elif how == "bulk":
        response = moderate(auth, action="spam", ids=[str(target)])
    else:
        response = moderate(
            auth, action="approve", ids=[str(ids["On the colleague's post."]), str(target)]
        )
    assert response.status_code == 403
    assert statuses(app) == {
        "On the writer's post.": "pending",
        "On the colleague's post.": "pending",
    }
    assert shown_comments(reader, theirs.url) == []


def test_an_admin_can_moderate_any_authors_comments(
    app, auth, blog, client, reader, writer, moderated
):
    """The admin sees every author's held comments and may approve them."""
    post = blog.post(title="The writer's post", author_id=writer)
    post_comment(reader, post.url, "Worth approving.")
    auth.login("admin")
    [item] = queue(client)
    assert item.post_title == "The writer's post"
    assert moderate(auth, single=f"approve:{item.id}").status_code == 303
    assert shown_comments(reader, post.url) == ["Worth approving."]


@pytest.mark.parametrize("token", [None, "", "stale"])
def test_moderation_with_a_bad_csrf_token_changes_nothing(
    app, auth, blog, client, reader, writer, moderated, token
):
    """A forged moderation request is refused with 400."""
    post = blog.post(author_id=writer)
    post_comment(reader, post.url, "Waiting.")
    auth.login("writer")
    [item] = queue(client)
    data = {"single": f"approve:{item.id}", "status": "pending"}
    if token is not None:
        data["csrf_token"] = token
    assert client.post(MODERATE, data=data).status_code == 400
    assert statuses(app) == {"Waiting.": "pending"}


def test_get_requests_never_moderate(app, auth, blog, client, reader, writer, moderated):
    """Moderation, role, password and enable buttons answer only POST."""
    post = blog.post(author_id=writer)
    post_comment(reader, post.url, "Waiting.")
    auth.login("admin")
    [item] = queue(client)
    assert client.get(f"{MODERATE}?single=approve:{item.id}").status_code == 405
    assert (
        client.get(f"{QUEUE}?status=pending&single=approve:{item.id}&action=approve").status_code
        == 200
    )
    for path in ("role?role=admin", "active", f"password?password={NEW_PASSWORD}"):
        assert client.get(f"/manage/users/{writer}/{path}").status_code == 405, path
    assert statuses(app) == {"Waiting.": "pending"}
    with app.app_context():
        user = db.session.get(User, writer)
        assert user is not None and user.active and user.role == Role.AUTHOR


# --- comment policies -------------------------------------------------------------------


def test_a_closed_blog_shows_no_form_and_refuses_comments(app, blog, reader, writer):
    """Closed: no comment form under the post, and a POST is forbidden."""
    post = blog.post(author_id=writer)
    token_page = reader.get(post.url).text
    shown = form_values(comment_form(token_page))["shown"]  # type: ignore[arg-type]
    blog.settings(comment_policy=CommentPolicy.CLOSED)

    page = reader.get(post.url).text
    assert comment_form(page) is None
    assert "Comments on this post are closed." in page
    response = reader.post(post.url, data={"shown": shown, "body": "Let me in."})
    assert response.status_code == 403
    assert blog.count(Comment) == 0


def test_an_open_blog_publishes_comments_at_once(app, blog, reader, writer):
    """Open: the comment is on the page and in the feed straight away."""
    post = blog.post(author_id=writer)
    response = post_comment(reader, post.url, "Published at once.", "Ann")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{post.url}#c")
    assert shown_comments(reader, post.url) == ["Published at once."]
    assert feed_contents(reader) == ["<p>Published at once.</p>"]


@pytest.mark.parametrize(
    ("post_age_days", "shown"),
    [(31, False), (400, False), (29, True), (1, True)],
)
def test_comments_on_old_posts_are_held(app, blog, reader, writer, post_age_days, shown):
    """With moderate_after_days=30, only comments on posts older than 30 days are held."""
    blog.settings(comment_policy=CommentPolicy.OPEN, moderate_after_days=30)
    post = blog.post(author_id=writer, published=datetime.now(UTC) - timedelta(days=post_age_days))
    response = post_comment(reader, post.url, "Is this still current?")
    assert response.status_code == 303
    assert shown_comments(reader, post.url) == (["Is this still current?"] if shown else [])
    assert statuses(app) == {"Is this still current?": "published" if shown else "pending"}


# --- settings ---------------------------------------------------------------------------


def settings_form(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = client.get("/manage/settings")
    assert response.status_code == 200
    return form_with(response.text, "posts_per_page")


def stored_settings(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.get(Settings, 1)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in Settings.__table__.columns}


def test_settings_change_the_title_and_page_size_readers_see(
    app, auth, blog, client, reader, admin
):
    """A new title and 2 posts per page show on the home page at once."""
    blog.posts(3, author_id=admin)
    auth.login("admin")
    data = {**settings_form(client), "title": "Knowledge Matters", "posts_per_page": "2"}
    response = client.post("/manage/settings", data=data)
    assert response.status_code == 303
    assert "Settings saved." in flashes(client.get(response.headers["Location"]).text)

    home = parse_html(reader.get("/").text)
    assert home.find_all("h1", class_="blog-title")[0].text().strip() == "Knowledge Matters"
    assert len(home.find_all("article", class_="post")) == 2
    assert settings_form(client)["posts_per_page"] == "2"


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("posts_per_page", "0", "Number must be between 1 and 50."),
        ("posts_per_page", "51", "Number must be between 1 and 50."),
        ("posts_per_page", "many", "Not a valid integer value."),
        ("items_per_feed", "0", "Number must be between 1 and 100."),
        ("moderate_after_days", "-1", "Number must be between 0 and 36500."),
        ("title", "  ", "This field is required."),
        ("timezone", "Mars/Olympus_Mons", "Not a valid choice."),
        ("comment_policy", "sometimes", "Not a valid choice."),
    ],
)
def test_invalid_settings_are_refused_and_change_nothing(
    app, auth, blog, client, reader, admin, field_name, value, message
):
    """A bad value: 422, the message beside its field, the typed values kept, nothing saved."""
    blog.posts(3, author_id=admin)
    before = stored_settings(app)
    auth.login("admin")
    typed = {"title": "Knowledge Matters", "description": "Typed, not saved."}
    data = {**settings_form(client), **typed, field_name: value}
    response = client.post("/manage/settings", data=data)
    assert response.status_code == 422
    assert message in field_error(response.text, field_name)
    kept = form_with(response.text, "posts_per_page")
    assert kept["description"] == "Typed, not saved."
    if field_name in {"posts_per_page", "title"}:
        assert kept[field_name] == value.strip()
    assert stored_settings(app) == before
    assert len(parse_html(reader.get("/").text).find_all("article", class_="post")) == 3


def test_settings_with_a_bad_csrf_token_change_nothing(app, auth, client, admin):
    """A forged settings form is refused with 400."""
    before = stored_settings(app)
    auth.login("admin")
    data = {**settings_form(client), "title": "Hijacked", "csrf_token": "stale"}
    assert client.post("/manage/settings", data=data).status_code == 400
    assert stored_settings(app) == before


# --- authors ----------------------------------------------------------------------------


def can_sign_in(app, username: str, password: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether a fresh browser can sign in with these credentials."""
    response = AuthActions(app.test_client()).login(username, password)
    assert response.status_code in (303, 401), response.status_code
    return response.status_code == 303


def user_id(app, username: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalars(select(User.id).where(User.username == username)).one()
        return int(found)


def users_post(auth, path: str, **data: str):  # type: ignore[no-untyped-def]
    return auth.post_form(f"/manage/users{path}", data, form_page="/manage/users")


def test_an_admin_creates_an_author_who_can_then_sign_in(app, auth, blog, client, admin):
    """The new author is listed, can sign in, and is an author, not an admin."""
    auth.login("admin")
    response = users_post(
        auth,
        "",
        username="newcomer",
        display_name="Nina Newcomer",
        email="nina@example.org",
        role="author",
        password=NEW_PASSWORD,
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "Created author newcomer." in flashes(page)
    assert "Nina Newcomer" in page
    assert can_sign_in(app, "newcomer", NEW_PASSWORD)
    newcomer = app.test_client()
    AuthActions(newcomer).login("newcomer", NEW_PASSWORD)
    assert newcomer.get("/manage/").status_code == 200
    assert newcomer.get("/manage/settings").status_code == 403


@pytest.mark.parametrize(
    ("changes", "field_name", "message"),
    [
        ({"password": "short"}, "password", "Field must be between 8 and 1024 characters long."),
        ({"username": "writer"}, "username", "The username 'writer' is taken."),
        ({"username": "two words"}, "username", "Letters, digits, dots, dashes, underscores."),
        ({"email": "not-an-address"}, "email", "Invalid email address."),
    ],
)
def test_a_refused_new_author_keeps_what_was_typed(
    app, auth, blog, client, writer, changes, field_name, message
):
    """A bad new author: 422, the message beside the field, the other fields kept, no account."""
    auth.login("admin")
    users_before = blog.count(User)
    typed = {
        "username": "newcomer",
        "display_name": "Nina Newcomer",
        "email": "nina@example.org",
        "role": "admin",
        "password": NEW_PASSWORD,
        **changes,
    }
    response = users_post(auth, "", **typed)
    assert response.status_code == 422
    assert message in field_error(response.text, field_name)
    kept = form_with(response.text, "display_name")
    assert kept["display_name"] == "Nina Newcomer"
    assert kept["role"] == "admin"
    if field_name != "password":
        assert kept[field_name] == typed[field_name]
    assert blog.count(User) == users_before


def test_a_disabled_author_cannot_sign_in_until_enabled(app, auth, client, writer):
    """Disable locks the author out; enable lets them back in."""
    auth.login("admin")
    assert users_post(auth, f"/{writer}/active").status_code == 303
    assert not can_sign_in(app, "writer", PASSWORD)
    assert "Disabled" in client.get("/manage/users").text
    assert users_post(auth, f"/{writer}/active").status_code == 303
    assert can_sign_in(app, "writer", PASSWORD)


def test_a_reset_password_replaces_the_old_one(app, auth, client, writer):
    """After a reset the new password works and the old one no longer does."""
    auth.login("admin")
    response = users_post(auth, f"/{writer}/password", password=NEW_PASSWORD)
    assert response.status_code == 303
    assert "New password set for writer." in flashes(client.get(response.headers["Location"]).text)
    assert can_sign_in(app, "writer", NEW_PASSWORD)
    assert not can_sign_in(app, "writer", PASSWORD)


def test_a_too_short_reset_password_is_refused(app, auth, client, writer):
    """A reset to a short password is refused and the old password still works."""
    auth.login("admin")
    response = users_post(auth, f"/{writer}/password", password="short")
    assert "A password needs at least 8 characters." in flashes(
        client.get(response.headers["Location"]).text
    )
    assert can_sign_in(app, "writer", PASSWORD)
    assert not can_sign_in(app, "writer", "short")


def test_promoting_an_author_to_admin_opens_the_settings_page(app, auth, client, writer):
    """An author made admin can open /manage/settings, which was forbidden before."""
    theirs = app.test_client()
    AuthActions(theirs).login("writer")
    assert theirs.get("/manage/settings").status_code == 403
    auth.login("admin")
    assert users_post(auth, f"/{writer}/role", role="admin").status_code == 303
    assert theirs.get("/manage/settings").status_code == 200


@pytest.mark.parametrize("others", ["none", "a disabled admin", "an author"])
def test_the_last_active_admin_cannot_be_demoted_or_disabled(
    app, auth, blog, client, admin, others
):
    """The blog always keeps one active administrator."""
    if others == "a disabled admin":
        blog.disable(blog.author("retired", role=Role.ADMIN, password=PASSWORD))
    elif others == "an author":
        blog.author("writer", password=PASSWORD)
    auth.login("admin")
    response = users_post(auth, f"/{admin}/role", role="author")
    assert response.status_code == 303
    assert "at least one active administrator" in " ".join(
        flashes(client.get(response.headers["Location"]).text)
    )
    response = users_post(auth, f"/{admin}/active")
    assert response.status_code == 303
    assert "cannot disable" in " ".join(flashes(client.get(response.headers["Location"]).text))
    assert client.get("/manage/settings").status_code == 200
    assert can_sign_in(app, "admin", PASSWORD)
    with app.app_context():
        user = db.session.get(User, admin)
        assert user is not None and user.role == Role.ADMIN and user.active


def test_with_two_admins_one_can_be_demoted(app, auth, blog, client, admin):
    """A second admin can be made an author again; then the first is the last one."""
    second = blog.author("second", role=Role.ADMIN, password=PASSWORD)
    auth.login("admin")
    assert users_post(auth, f"/{second}/role", role="author").status_code == 303
    with app.app_context():
        assert db.session.get(User, second).role == Role.AUTHOR  # type: ignore[union-attr]
    users_post(auth, f"/{admin}/role", role="author")
    assert client.get("/manage/settings").status_code == 200


@pytest.mark.parametrize("path", ["", "/{id}/password", "/{id}/role", "/{id}/active"])
def test_author_forms_with_a_bad_csrf_token_change_nothing(app, blog, auth, client, writer, path):
    """Forged requests to the authors page are refused with 400."""
    auth.login("admin")
    users_before = blog.count(User)
    data = {
        "csrf_token": "stale",
        "username": "intruder",
        "password": NEW_PASSWORD,
        "role": "admin",
    }
    response = client.post("/manage/users" + path.format(id=writer), data=data)
    assert response.status_code == 400
    assert blog.count(User) == users_before
    assert can_sign_in(app, "writer", PASSWORD)
    with app.app_context():
        user = db.session.get(User, writer)
        assert user is not None and user.role == Role.AUTHOR and user.active
