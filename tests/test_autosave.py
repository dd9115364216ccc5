"""Editing without loss (issue 18): the editor's unsaved text kept on the server apart
from the post and offered back, and a save from an editor opened before someone else's
save refused with both texts shown, never a 500, never a silent overwrite."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Page, PageAutosave, Post, PostAutosave, PostRevision
from tests.conftest import AuthActions
from tests.forms import hidden_field
from tests.html_tree import parse_html
from tests.test_editor import NEW, edit, editor_form, new_post, stored, unsafe_markup


@pytest.fixture
def signed_in(auth, writer):  # type: ignore[no-untyped-def]
    """The writer, signed in on `client`."""
    assert auth.login("writer").status_code == 303
    return writer


@pytest.fixture
def reader(app):  # type: ignore[no-untyped-def]
    """A browser that is not signed in."""
    return app.test_client()


def signed_in_client(app, username: str) -> FlaskClient:  # type: ignore[no-untyped-def]
    """Another browser, signed in as `username`."""
    other = app.test_client()
    assert AuthActions(other).login(username).status_code == 303
    return other


def editor_url(post_id: int | None) -> str:
    return NEW if post_id is None else f"/manage/posts/{post_id}/edit"


def autosave_url(post_id: int | None) -> str:
    return "/manage/posts/new/autosave" if post_id is None else f"/manage/posts/{post_id}/autosave"


def autosave(client, post_id: int | None, token: str | None = None, **text: str):  # type: ignore[no-untyped-def]
    """Send what autosave.js sends: the editor's writing, its version and its token
    (read from the editor unless given)."""
    if token is None:
        page = client.get(editor_url(post_id)).text
        token = hidden_field(page, "csrf_token")
        text.setdefault("version", editor_form(page).get("version", ""))
    return client.post(
        autosave_url(post_id),
        data={"csrf_token": token, **text},
        headers={"Accept": "application/json"},
    )


def kept(app) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every autosave the database holds."""
    with app.app_context():
        rows = db.session.scalars(select(PostAutosave).order_by(PostAutosave.id))
        return [
            {
                "user_id": row.user_id,
                "post_id": row.post_id,
                "title": row.title,
                "body": row.body,
                "base_version": row.base_version,
            }
            for row in rows
        ]


def offer(page: str) -> dict[str, str] | None:
    """The editor's offer of unsaved text: its restore link, button and text shown."""
    box = parse_html(page).find("section", class_="autosave-offer")
    if box is None:
        return None
    link = box.one("a", class_="restore-autosave")
    return {
        "link": link.get("href", ""),
        "label": " ".join(link.text().split()),
        "text": box.one("pre", class_="autosave-text").text(),
        "discard": box.one("form").get("action", ""),
    }


# --- who may autosave --------------------------------------------------------------------


def test_autosave_needs_a_signed_in_author(app, blog, reader, writer):
    post = blog.post(title="Knowledge needs", author_id=writer)
    for post_id in (post.id, None):
        response = reader.post(autosave_url(post_id), data={"body": "Forged."})
        assert response.status_code == 302, post_id
        assert "/login" in response.headers["Location"]
    assert kept(app) == []


def test_an_author_cannot_autosave_into_another_authors_post_but_an_admin_may(
    app, blog, admin, client, signed_in
):
    theirs = blog.post(title="The admin's post", author_id=admin)
    token = hidden_field(client.get(NEW).text, "csrf_token")
    response = autosave(client, theirs.id, token, title="Hijacked", body="Mine now.")
    assert response.status_code == 403
    assert kept(app) == []

    mine = blog.post(title="The writer's post", author_id=signed_in)
    admin_client = signed_in_client(app, "admin")
    response = autosave(admin_client, mine.id, title="The writer's post", body="An admin's note.")
    assert response.status_code == 200, response.text
    assert [(row["user_id"], row["post_id"]) for row in kept(app)] == [(admin, mine.id)]


@pytest.mark.parametrize("token", ["", "stale"])
def test_autosave_with_a_bad_csrf_token_keeps_nothing_and_says_so(
    app, blog, client, signed_in, token
):
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    for post_id in (post.id, None):
        response = autosave(client, post_id, token, title="Forged", body="Forged.")
        assert response.status_code == 400, post_id
        assert "kept in this browser" in response.get_json()["error"]
    assert kept(app) == []


def test_autosave_answers_a_too_long_text_with_json_not_a_500(app, client, signed_in):
    response = autosave(client, None, title="t" * 301, body="Short.")
    assert response.status_code == 422
    assert "Not kept on the server" in response.get_json()["error"]
    assert kept(app) == []


# --- kept, offered, restored -------------------------------------------------------------


def test_unsaved_text_is_kept_apart_and_readers_never_see_it(app, blog, client, reader, signed_in):
    post = blog.post(title="Knowledge needs", body="The published text.", author_id=signed_in)
    before = stored(app, post.id)
    public = reader.get(post.url).text

    response = autosave(
        client, post.id, title="Knowledge needs, revised", body="A half-written new ending."
    )
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["kept"] is True
    assert "Unsaved changes kept at" in answer["message"]
    assert "stale" not in answer

    assert stored(app, post.id) == before
    assert reader.get(post.url).text == public
    assert "half-written" not in reader.get("/feeds/posts/default").text
    [row] = kept(app)
    assert (row["post_id"], row["title"], row["body"]) == (
        post.id,
        "Knowledge needs, revised",
        "A half-written new ending.",
    )


def test_reopening_the_editor_offers_the_unsaved_text_and_restores_it_without_script(
    app, blog, client, signed_in
):
    post = blog.post(title="Knowledge needs", body="The published text.", author_id=signed_in)
    version = editor_form(client.get(editor_url(post.id)).text)["version"]
    autosave(
        client,
        post.id,
        title="Knowledge needs, revised",
        body="A half-written new ending.",
        summary="A new summary.",
        labels="Planning, Tacit Knowledge",
    )

    page = client.get(editor_url(post.id)).text
    shown = offer(page)
    assert shown is not None
    assert shown["label"].startswith("Restore the unsaved text from ")
    assert shown["text"] == "A half-written new ending."
    # Offered, not yet put in the form: the form still holds the post.
    assert editor_form(page)["body"] == "The published text."

    restored = client.get(shown["link"])
    assert restored.status_code == 200
    form = editor_form(restored.text)
    assert form["title"] == "Knowledge needs, revised"
    assert form["body"] == "A half-written new ending."
    assert form["summary"] == "A new summary."
    assert form["labels"] == "Planning, Tacit Knowledge"
    assert form["version"] == version
    assert offer(restored.text) is None
    assert "is back in the form" in restored.text


def test_a_new_posts_unsaved_text_is_offered_in_a_new_editor_and_cleared_once_saved(
    app, client, signed_in
):
    response = autosave(client, None, title="A plan in progress", body="First thoughts.")
    assert response.get_json()["kept"] is True
    shown = offer(client.get(NEW).text)
    assert shown is not None and shown["text"] == "First thoughts."
    form = editor_form(client.get(shown["link"]).text)
    assert (form["title"], form["body"]) == ("A plan in progress", "First thoughts.")

    post_id = new_post(client, title="A plan in progress", body="First thoughts, finished.")
    assert kept(app) == []
    assert offer(client.get(NEW).text) is None
    assert offer(client.get(editor_url(post_id)).text) is None


@pytest.mark.parametrize("action", ["save", "publish", "unpublish"])
def test_saving_the_post_clears_its_unsaved_text(app, blog, client, signed_in, action):
    post = blog.post(title="Knowledge needs", draft=action != "unpublish", author_id=signed_in)
    autosave(client, post.id, title="Knowledge needs", body="Typed, then saved.")
    assert len(kept(app)) == 1
    response = edit(client, post.id, action, body="Typed, then saved.")
    assert response.status_code == 303, response.text
    assert kept(app) == []
    assert offer(client.get(editor_url(post.id)).text) is None


def test_a_preview_keeps_the_unsaved_text(app, blog, client, signed_in):
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    autosave(client, post.id, title="Knowledge needs", body="Previewed, not saved.")
    assert edit(client, post.id, "preview", body="Previewed, not saved.").status_code == 200
    assert [row["body"] for row in kept(app)] == ["Previewed, not saved."]


def test_text_the_post_already_holds_is_nothing_unsaved(app, blog, client, signed_in):
    post = blog.post(
        title="Knowledge needs", body="Same.", labels=("KM Strategy",), author_id=signed_in
    )
    autosave(client, post.id, title="Knowledge needs", body="Changed.", labels="KM Strategy")
    assert len(kept(app)) == 1
    # Typed back to what is saved (labels in another case and order count as the same).
    response = autosave(
        client, post.id, title="Knowledge needs", body="Same.", labels="km strategy"
    )
    assert response.get_json()["kept"] is False
    assert kept(app) == []
    assert offer(client.get(editor_url(post.id)).text) is None


def test_discard_throws_the_unsaved_text_away(app, blog, client, signed_in):
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    for post_id in (post.id, None):
        autosave(client, post_id, title="Unwanted", body="Unwanted text.")
    for post_id in (post.id, None):
        page = client.get(editor_url(post_id)).text
        shown = offer(page)
        assert shown is not None
        forged = client.post(shown["discard"], data={"csrf_token": "stale"})
        assert forged.status_code == 400
        response = client.post(
            shown["discard"], data={"csrf_token": hidden_field(page, "csrf_token")}
        )
        assert response.status_code == 303
        assert response.headers["Location"] == editor_url(post_id)
        assert offer(client.get(editor_url(post_id)).text) is None
    assert kept(app) == []


def test_each_author_has_their_own_unsaved_text_of_a_post(app, blog, admin, client, signed_in):
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    autosave(client, post.id, title="Knowledge needs", body="The writer's draft.")
    admin_client = signed_in_client(app, "admin")
    autosave(admin_client, post.id, title="Knowledge needs", body="The admin's draft.")
    assert offer(client.get(editor_url(post.id)).text)["text"] == "The writer's draft."  # type: ignore[index]
    assert offer(admin_client.get(editor_url(post.id)).text)["text"] == "The admin's draft."  # type: ignore[index]
    # The admin saves: their own copy goes, the writer's stays.
    assert edit(admin_client, post.id, "save", body="The admin's draft.").status_code == 303
    assert [row["user_id"] for row in kept(app)] == [signed_in]


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "</pre><img src=x onerror=alert(1)>",
        '"><a href="javascript:alert(1)">x</a>',
    ],
)
def test_hostile_unsaved_text_is_shown_as_text(app, blog, client, signed_in, hostile):
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    autosave(client, post.id, title=hostile, body=hostile)
    page = client.get(editor_url(post.id)).text
    assert unsafe_markup(page) == []
    assert offer(page)["text"] == hostile  # type: ignore[index]


def test_the_editor_reads_an_autosave_in_one_query(app, blog, client, signed_in, count_queries):
    """Offering unsaved text costs the editor one query, whatever it holds."""
    post = blog.post(title="Knowledge needs", author_id=signed_in)
    client.get(editor_url(post.id))  # settings and sessions warm
    with count_queries() as without:
        client.get(editor_url(post.id))
    autosave(client, post.id, title="Knowledge needs", body="x" * 50_000)
    with count_queries() as with_one:
        page = client.get(editor_url(post.id)).text
    assert offer(page) is not None
    assert len(with_one) == len(without)
    assert sum("post_autosaves" in statement for statement in with_one.statements) == 1


# --- conflicts -----------------------------------------------------------------------


def test_a_save_from_an_editor_opened_before_another_save_is_refused_and_loses_nothing(
    app, blog, admin, client, signed_in
):
    post = blog.post(title="Knowledge needs", body="The first text.\n", author_id=signed_in)
    mine = client.get(editor_url(post.id)).text  # the writer opens the editor...

    admin_client = signed_in_client(app, "admin")  # ...and meanwhile the admin saves
    response = edit(admin_client, post.id, "save", body="The admin's correction.\n")
    assert response.status_code == 303
    theirs = stored(app, post.id)

    data = {**editor_form(mine), "body": "The writer's new ending.\n", "action": "save"}
    refused = client.post(editor_url(post.id), data=data)
    assert refused.status_code == 409
    assert stored(app, post.id) == theirs  # nothing silently overwritten
    # The writer's text is still in the form; the admin's is shown beside it.
    form = editor_form(refused.text)
    assert form["body"] == "The writer's new ending.\n"
    conflict = parse_html(refused.text).one("section", class_="edit-conflict")
    assert "saved after you opened the editor" in conflict.text()
    assert "The admin's correction." in conflict.one("textarea").text()
    diff = conflict.one("pre", class_="diff")
    removed = " ".join(node.text() for node in diff.find_all("del"))
    added = " ".join(node.text() for node in diff.find_all("ins"))
    assert "admin's" in removed and "correction" in removed
    assert "writer's" in added and "ending" in added and "admin" not in added
    assert conflict.one("a").get("href", "").endswith("/history")
    assert unsafe_markup(refused.text) == []

    # Saving again from that page is a choice made knowing both texts: it is kept.
    again = client.post(editor_url(post.id), data={**form, "action": "save"})
    assert again.status_code == 303, again.text
    assert stored(app, post.id)["body_source"] == "The writer's new ending.\n"  # type: ignore[index]


def test_two_windows_of_one_author_cannot_overwrite_each_other(app, blog, client, signed_in):
    post = blog.post(title="Knowledge needs", body="One.", draft=True, author_id=signed_in)
    first = editor_form(client.get(editor_url(post.id)).text)
    second = editor_form(client.get(editor_url(post.id)).text)
    ok = client.post(
        editor_url(post.id), data={**first, "body": "From window one.", "action": "save"}
    )
    assert ok.status_code == 303
    refused = client.post(
        editor_url(post.id), data={**second, "body": "From window two.", "action": "publish"}
    )
    assert refused.status_code == 409
    row = stored(app, post.id)
    assert row is not None
    assert (row["body_source"], row["status"].value) == ("From window one.", "draft")
    assert editor_form(refused.text)["body"] == "From window two."


@pytest.mark.parametrize("version", ["banana", "0", "99999999999999999999"])
def test_a_version_that_names_no_save_is_refused(app, blog, client, signed_in, version):
    post = blog.post(title="Knowledge needs", body="Kept.", author_id=signed_in)
    before = stored(app, post.id)
    response = edit(client, post.id, "save", body="Forged.", version=version)
    assert response.status_code == 409
    assert stored(app, post.id) == before


def test_an_autosave_written_before_another_save_says_so_and_restored_is_refused(
    app, blog, admin, client, signed_in
):
    post = blog.post(title="Knowledge needs", body="The first text.", author_id=signed_in)
    autosave(client, post.id, title="Knowledge needs", body="Writer's unsaved text.")
    admin_client = signed_in_client(app, "admin")
    assert edit(admin_client, post.id, "save", body="The admin's text.").status_code == 303

    # Still sending from the editor opened before: the answer warns.
    page = client.get(editor_url(post.id)).text
    token = hidden_field(page, "csrf_token")
    old_version = str(int(editor_form(page)["version"]) - 1)
    answer = autosave(
        client, post.id, token, title="Knowledge needs", body="More.", version=old_version
    ).get_json()
    assert "after you opened the editor" in answer["stale"]

    page = client.get(editor_url(post.id)).text
    assert "The post has been saved since then" in page
    restored = client.get(offer(page)["link"]).text  # type: ignore[index]
    form = editor_form(restored)
    assert form["version"] == old_version
    refused = client.post(editor_url(post.id), data={**form, "action": "save"})
    assert refused.status_code == 409
    assert stored(app, post.id)["body_source"] == "The admin's text."  # type: ignore[index]
    assert editor_form(refused.text)["body"] == "More."


@pytest.mark.parametrize("with_version", [True, False])
def test_concurrent_saves_of_a_published_post_give_one_save_and_clean_refusals(
    app, blog, signed_in, with_version
):
    """Saves sent at the same moment (as a double click or two authors would) never hit
    the revision number's unique constraint as a 500: one is kept, the others are told."""
    post = blog.post(title="Knowledge needs", body="Published.", author_id=signed_in)
    clients = [signed_in_client(app, "writer") for _ in range(6)]
    forms = [editor_form(each.get(editor_url(post.id)).text) for each in clients]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def save(each: FlaskClient, form: dict[str, str], n: int) -> None:
        data = {**form, "body": f"Version {n} of the text.", "action": "save"}
        if not with_version:
            del data["version"]
        start.wait()
        statuses.append(each.post(editor_url(post.id), data=data).status_code)

    threads = [
        threading.Thread(target=save, args=(each, form, n))
        for n, (each, form) in enumerate(zip(clients, forms, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(set(statuses)) <= [303, 409], statuses
    if with_version:
        assert statuses.count(303) == 1, statuses
    else:
        assert statuses.count(303) >= 1, statuses
    with app.app_context():
        numbers = list(
            db.session.scalars(
                select(PostRevision.number)
                .where(PostRevision.post_id == post.id)
                .order_by(PostRevision.number)
            )
        )
        stored_post = db.session.get(Post, post.id)
        assert stored_post is not None
        assert stored_post.version == 1 + statuses.count(303)
    assert numbers == list(range(1, 2 + statuses.count(303)))


# --- standalone pages: the same rules in their editor ------------------------------------


def page_id_of(client, title: str, body: str = "Who writes here.") -> int:  # type: ignore[no-untyped-def]
    """A page made in the page editor; its id."""
    page = client.get("/manage/pages/new").text
    response = client.post(
        "/manage/pages/new",
        data={**editor_form(page), "title": title, "body": body, "action": "save"},
    )
    assert response.status_code == 303, response.text
    return int(response.headers["Location"].split("/")[-2])


def test_a_pages_unsaved_text_is_offered_restored_and_cleared_once_saved(app, client, signed_in):
    page_id = page_id_of(client, "About this blog")
    editor = f"/manage/pages/{page_id}/edit"
    opened = client.get(editor).text
    response = client.post(
        f"/manage/pages/{page_id}/autosave",
        data={**editor_form(opened), "title": "About this blog", "body": "Half a new bio."},
    )
    assert response.status_code == 200
    assert response.get_json()["kept"] is True
    assert "Half a new bio." not in client.get("/manage/pages/").text

    shown = offer(client.get(editor).text)
    assert shown is not None and shown["text"] == "Half a new bio."
    restored = editor_form(client.get(shown["link"]).text)
    assert restored["body"] == "Half a new bio."
    assert restored["version"] == editor_form(opened)["version"]
    saved = client.post(editor, data={**restored, "action": "save"})
    assert saved.status_code == 303
    assert offer(client.get(editor).text) is None
    with app.app_context():
        assert db.session.scalars(select(PageAutosave)).all() == []


def test_a_stale_page_save_is_refused_and_keeps_the_text(app, blog, admin, client, signed_in):
    page_id = page_id_of(client, "Contact", "Write to us.")
    editor = f"/manage/pages/{page_id}/edit"
    mine = editor_form(client.get(editor).text)
    admin_client = signed_in_client(app, "admin")
    theirs = editor_form(admin_client.get(editor).text)
    first = admin_client.post(
        editor, data={**theirs, "body": "Write to the admin.", "action": "save"}
    )
    assert first.status_code == 303

    refused = client.post(editor, data={**mine, "body": "Write to the writer.", "action": "save"})
    assert refused.status_code == 409
    assert editor_form(refused.text)["body"] == "Write to the writer."
    conflict = parse_html(refused.text).one("section", class_="edit-conflict")
    assert conflict.one("textarea").text() == "Write to the admin."
    with app.app_context():
        stored_page = db.session.get(Page, page_id)
        assert stored_page is not None and stored_page.body_source == "Write to the admin."


def test_an_author_cannot_autosave_into_another_authors_page(app, blog, admin, client, signed_in):
    admin_client = signed_in_client(app, "admin")
    page_id = page_id_of(admin_client, "The admin's page")
    token = hidden_field(client.get("/manage/pages/new").text, "csrf_token")
    response = client.post(
        f"/manage/pages/{page_id}/autosave",
        data={"csrf_token": token, "title": "Hijacked", "body": "Mine."},
    )
    assert response.status_code == 403
    forged = client.post("/manage/pages/new/autosave", data={"title": "x", "body": "y"})
    assert forged.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(PageAutosave)).all() == []
