"""Standalone pages (About, Contact) written in the authoring area, and imported posts and
pages edited as the HTML they are: over HTTP, as an author and a reader see them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Page, PageRedirect, Post, PostStatus, SourceFormat
from kmblog.rendering import render_post
from tests.blogger_files import entry, export
from tests.forms import field_error
from tests.html_tree import parse_html, words
from tests.security.payloads import params
from tests.test_blogger_import import imported, run_import
from tests.test_editor import editor_form, flashes, post_body, submit, unsafe_markup
from tests.test_sitemap import urlset

PAGES = "/manage/pages/"
NEW = "/manage/pages/new"


@pytest.fixture
def signed_in(auth, admin):  # type: ignore[no-untyped-def]
    """The administrator, signed in on `client` (imported pages belong to an imported
    author who cannot sign in: an admin edits them)."""
    assert auth.login("admin").status_code == 303
    return admin


@pytest.fixture
def reader(app):  # type: ignore[no-untyped-def]
    """A second browser that is not signed in."""
    return app.test_client()


def new_page(client, action: str = "publish", **changes: Any) -> int:  # type: ignore[no-untyped-def]
    """Write a page in the editor and press `action`; return its id."""
    changes.setdefault("title", "About")
    changes.setdefault("body", "We write about **knowledge management**.")
    response = submit(client, NEW, action, **changes)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/manage/pages/(\d+)/edit", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def edit_page(client, page_id: int, action: str = "save", **changes: Any):  # type: ignore[no-untyped-def]
    return submit(client, f"/manage/pages/{page_id}/edit", action, **changes)


def sidebar_pages(html: str) -> list[tuple[str, str]]:
    """The sidebar's Pages widget: (title, address) of each line, in order."""
    widget = parse_html(html).one("aside", class_="sidebar").find("section", class_="pages")
    if widget is None:
        return []
    return [(words(link.text()), link.get("href", "")) for link in widget.find_all("a")]


def sitemap_paths(client) -> set[str]:  # type: ignore[no-untyped-def]
    return {re.sub(r"^https?://[^/]+", "", url) for url in urlset(client.get("/sitemap.xml"))}


def move(client, auth, page_id: int, direction: str):  # type: ignore[no-untyped-def]
    return auth.post_form(f"/manage/pages/{page_id}/move", {"direction": direction}, PAGES)


def stored_page(app, page_id: int) -> Page | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        page = db.session.get(Page, page_id)
        if page is not None:
            db.session.expunge(page)
        return page


# --- writing, publishing, ordering ------------------------------------------------------


def test_an_about_page_written_in_the_editor_is_live_in_the_sitemap_and_the_sidebar(
    app, auth, client, reader, signed_in
):
    about = new_page(client, title="About", body="We write about **knowledge management**.")
    contact = new_page(
        client, title="Contact", body="Write to us at the [desk](mailto:km@example.org)."
    )

    page = reader.get("/p/about.html")
    assert page.status_code == 200
    assert "<strong>knowledge management</strong>" in post_body(page.text)
    assert parse_html(page.text).one("h2", class_="post-title").text() == "About"
    assert 'href="mailto:km@example.org"' in reader.get("/p/contact.html").text
    assert {"/p/about.html", "/p/contact.html"} <= sitemap_paths(reader)

    # In the order they were written, then in the order the authors choose.
    expected = [("About", "/p/about.html"), ("Contact", "/p/contact.html")]
    assert sidebar_pages(reader.get("/").text) == expected
    assert move(client, auth, contact, "up").status_code == 303
    for path in ("/", "/p/about.html", "/labels/"):
        assert sidebar_pages(reader.get(path).text) == expected[::-1], path
    listed = parse_html(client.get(PAGES).text).one("table").find_all("tr")[1:]
    assert [row.get("id") for row in listed] == [f"page-{contact}", f"page-{about}"]
    # Moving past either end changes nothing.
    assert move(client, auth, contact, "up").status_code == 303
    assert move(client, auth, about, "down").status_code == 303
    assert sidebar_pages(reader.get("/").text) == expected[::-1]
    assert move(client, auth, contact, "down").status_code == 303
    assert sidebar_pages(reader.get("/").text) == expected


def test_the_order_controls_are_plain_forms_that_work_without_javascript(
    client, auth, blog, signed_in
):
    for title in ("About", "Contact", "Colophon"):
        blog.page(title)
    table = parse_html(client.get(PAGES).text).one("table")
    forms = table.find_all("form")
    assert len(forms) == 3
    for form in forms:
        assert form.get("method") == "post"
        assert form.find("input", name="csrf_token") is not None
        values = [button.get("value") for button in form.find_all("button")]
        assert values == ["up", "down"]
    first_up = forms[0].find_all("button")[0]
    last_down = forms[-1].find_all("button")[1]
    assert first_up.has("disabled") and last_down.has("disabled")


def test_a_draft_page_is_seen_by_no_reader_until_published(app, client, reader, signed_in):
    page_id = new_page(client, "save", title="Contact")
    assert reader.get("/p/contact.html").status_code == 404
    assert sidebar_pages(reader.get("/").text) == []
    assert "/p/contact.html" not in sitemap_paths(reader)
    assert flashes(client.get(f"/manage/pages/{page_id}/edit").text) == ["Saved as a draft."]

    assert edit_page(client, page_id, "publish").status_code == 303
    assert reader.get("/p/contact.html").status_code == 200
    assert sidebar_pages(reader.get("/").text) == [("Contact", "/p/contact.html")]

    assert edit_page(client, page_id, "unpublish").status_code == 303
    assert reader.get("/p/contact.html").status_code == 404
    assert sidebar_pages(reader.get("/").text) == []
    assert "/p/contact.html" not in sitemap_paths(reader)


def test_preview_shows_the_page_and_saves_nothing(app, client, reader, signed_in):
    response = submit(client, NEW, "preview", title="About", body="A *short* story.")
    assert response.status_code == 200
    assert "<em>short</em>" in post_body(response.text)
    with app.app_context():
        assert db.session.scalars(select(Page)).all() == []


def test_slugs_come_from_the_slug_helper_and_stay_unique(app, client, reader, signed_in):
    first = new_page(client, title="Über uns & Kontakt")
    second = new_page(client, title="Über uns & Kontakt")
    assert stored_page(app, first).slug == "uber-uns-kontakt"  # type: ignore[union-attr]
    assert stored_page(app, second).slug == "uber-uns-kontakt-2"  # type: ignore[union-attr]
    refused = edit_page(client, first, slug="Not A Slug!")
    assert refused.status_code == 422
    assert field_error(refused.text, "slug") == "Use lower-case letters, digits and hyphens."
    assert stored_page(app, first).slug == "uber-uns-kontakt"  # type: ignore[union-attr]


def test_a_published_page_given_a_new_address_keeps_the_old_one_redirecting(
    app, client, reader, signed_in
):
    page_id = new_page(client, title="About")
    assert edit_page(client, page_id, slug="about-us").status_code == 303
    assert reader.get("/p/about-us.html").status_code == 200
    old = reader.get("/p/about.html")
    assert old.status_code == 301
    assert old.headers["Location"].endswith("/p/about-us.html")
    assert sidebar_pages(reader.get("/").text) == [("About", "/p/about-us.html")]
    # Another page cannot take the address the first one still answers at.
    other = new_page(client, title="About")
    assert stored_page(app, other).slug == "about-2"  # type: ignore[union-attr]
    # Moving back to the first address works, and the second one redirects instead.
    assert edit_page(client, page_id, slug="about").status_code == 303
    assert reader.get("/p/about.html").status_code == 200
    assert reader.get("/p/about-us.html").status_code == 301


def test_a_draft_given_a_new_address_leaves_nothing_behind(app, client, reader, signed_in):
    page_id = new_page(client, "save", title="About")
    assert edit_page(client, page_id, slug="who-we-are").status_code == 303
    with app.app_context():
        assert db.session.scalars(select(PageRedirect)).all() == []


def test_delete_asks_first_then_removes_the_page_everywhere(app, auth, client, reader, signed_in):
    page_id = new_page(client, title="About")
    assert edit_page(client, page_id, slug="about-us").status_code == 303
    path = f"/manage/pages/{page_id}/delete"
    question = client.get(path)
    assert question.status_code == 200
    assert "Delete the page “About”?" in question.text
    assert stored_page(app, page_id) is not None
    response = auth.post_form(path, {})
    assert response.status_code == 303
    assert stored_page(app, page_id) is None
    for gone in ("/p/about-us.html", "/p/about.html"):
        assert reader.get(gone).status_code == 404
    assert sidebar_pages(reader.get("/").text) == []
    assert "/p/about-us.html" not in sitemap_paths(reader)
    with app.app_context():
        assert db.session.scalars(select(PageRedirect)).all() == []


# --- who may do what --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", PAGES),
        ("get", NEW),
        ("post", NEW),
        ("get", "/manage/pages/{id}/edit"),
        ("post", "/manage/pages/{id}/edit"),
        ("get", "/manage/pages/{id}/delete"),
        ("post", "/manage/pages/{id}/delete"),
        ("post", "/manage/pages/{id}/move"),
    ],
)
def test_signed_out_visitors_are_sent_to_sign_in_and_change_nothing(
    app, auth, blog, client, method, path
):
    blog.page("About")
    with app.app_context():
        page_id = db.session.scalars(select(Page.id)).one()
    # A valid token of the visitor's own session (the sign-in form's): only signing in
    # stands in the way.
    data = {
        "csrf_token": auth.csrf_token("/login"),
        "title": "Hijacked",
        "body": "x",
        "action": "publish",
        "direction": "down",
    }
    response = getattr(client, method)(path.format(id=page_id), data=data)
    assert response.status_code in {302, 303}
    assert "/login" in response.headers["Location"]
    with app.app_context():
        assert [p.title for p in db.session.scalars(select(Page))] == ["About"]


@pytest.mark.parametrize("token", ["", "forged"])
def test_a_bad_csrf_token_saves_moves_and_deletes_nothing(app, blog, client, signed_in, token):
    blog.page("About")
    blog.page("Contact")
    with app.app_context():
        about = db.session.scalars(select(Page).where(Page.slug == "about")).one()
        about_id, position = about.id, about.position
    new = client.post(NEW, data={"csrf_token": token, "title": "Sneaky", "action": "publish"})
    assert new.status_code == 400
    edit = client.post(
        f"/manage/pages/{about_id}/edit",
        data={"csrf_token": token, "title": "Sneaky", "body": "", "action": "save"},
    )
    assert edit.status_code == 400
    assert "what you typed is still here" in edit.text
    moved = client.post(
        f"/manage/pages/{about_id}/move", data={"csrf_token": token, "direction": "down"}
    )
    assert moved.status_code == 400
    deleted = client.post(f"/manage/pages/{about_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 400
    with app.app_context():
        pages = {p.slug: p for p in db.session.scalars(select(Page))}
        assert set(pages) == {"about", "contact"}
        assert pages["about"].title == "About"
        assert pages["about"].position == position


def test_an_author_cannot_change_or_delete_another_authors_page(
    app, auth, blog, client, writer, admin
):
    blog.page("About")  # the admin's: the first author made
    with app.app_context():
        page_id = db.session.scalars(select(Page.id)).one()
    assert auth.login("writer").status_code == 303
    assert client.get(f"/manage/pages/{page_id}/edit").status_code == 403
    response = auth.post_form(
        f"/manage/pages/{page_id}/edit",
        {"title": "Mine now", "body": "", "action": "save"},
        NEW,
    )
    assert response.status_code == 403
    assert auth.post_form(f"/manage/pages/{page_id}/delete", {}, NEW).status_code == 403
    assert stored_page(app, page_id).title == "About"  # type: ignore[union-attr]


def test_bad_numbers_and_directions_are_refused_clearly(auth, blog, client, signed_in):
    blog.page("About")
    assert client.get("/manage/pages/999999/edit").status_code == 404
    assert client.get("/manage/pages/99999999999/edit").status_code == 404
    assert (
        auth.post_form("/manage/pages/999999/move", {"direction": "up"}, PAGES).status_code == 404
    )
    with client.application.app_context():
        page_id = db.session.scalars(select(Page.id)).one()
    bad = auth.post_form(f"/manage/pages/{page_id}/move", {"direction": "sideways"}, PAGES)
    assert bad.status_code == 400
    refused = auth.post_form(
        f"/manage/pages/{page_id}/edit", {"title": "A", "body": "", "action": "explode"}, NEW
    )
    assert refused.status_code == 400


# --- hostile input ----------------------------------------------------------------------

HOSTILE = params(
    "script-plain",
    "script-after-textarea",
    "script-after-title",
    "img-onerror",
    "md-link-js",
    "a-href-then-handler-no-space",
)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_titles_and_bodies_are_inert_everywhere_they_show(
    client, reader, signed_in, payload
):
    preview = submit(client, NEW, "preview", title=f"About {payload}", body=payload)
    assert preview.status_code == 200
    assert unsafe_markup(preview.text) == []
    new_page(client, title=f"About {payload}", body=f"Before {payload} after.")
    with client.application.app_context():
        page = db.session.scalars(select(Page)).one()
        path, page_id = f"/p/{page.slug}.html", page.id
    for where, html in (
        ("page", reader.get(path).text),
        ("home", reader.get("/").text),
        ("list", client.get(PAGES).text),
        ("editor", client.get(f"/manage/pages/{page_id}/edit").text),
        ("delete", client.get(f"/manage/pages/{page_id}/delete").text),
    ):
        assert unsafe_markup(html) == [], where
    # The title is shown as typed, as text.
    assert any(f"About {payload}".split()[0] in t for t, _ in sidebar_pages(reader.get("/").text))
    # The editor gives the author their text back exactly (nothing escaped twice).
    assert editor_form(client.get(f"/manage/pages/{page_id}/edit").text)["body"] == (
        f"Before {payload} after."
    )


# --- imported HTML, edited as HTML ------------------------------------------------------


def test_an_imported_blogger_page_edits_and_saves_with_its_html_intact(
    app, client, reader, runner, signed_in
):
    imported(runner, "blogger-2018-trimmed.xml")
    with app.app_context():
        page = db.session.scalars(select(Page).where(Page.status == PostStatus.PUBLISHED)).one()
        page_id, path = page.id, f"/p/{page.slug}.html"
        before = (page.body_source, page.body_html, page.slug, page.published_at)
        assert page.source_format == SourceFormat.HTML
    shown_before = post_body(reader.get(path).text)

    editor = client.get(f"/manage/pages/{page_id}/edit")
    assert editor.status_code == 200
    assert parse_html(editor.text).one("label", for_="body").text() == "Body (HTML)"
    assert editor_form(editor.text)["body"] == before[0]
    listed = client.get(PAGES).text
    assert "HTML (imported)" in listed

    response = edit_page(client, page_id, "save")
    assert response.status_code == 303, response.text
    after = stored_page(app, page_id)
    assert after is not None
    assert (after.body_source, after.body_html, after.slug, after.published_at) == before
    assert post_body(reader.get(path).text) == shown_before


def test_an_imported_post_saved_unchanged_keeps_its_html_and_address(
    app, client, reader, runner, signed_in, tmp_path
):
    """Markdown would read this post's indented lines as code and its underscores as
    emphasis; the editor keeps it HTML, and its Blogger address (with "_29") stays."""
    html = (
        "A plan starts from goals.<br />\n<b>Then</b> the needs of each team:\n\n"
        "    one_team_at_a_time, *stars* and all\n"
    )
    target = tmp_path / "km-plans.xml"
    target.write_bytes(
        export(entry("post", "71", "KM plans", html, path="/2011/03/km-plans_29.html"))
    )
    assert run_import(runner, target).exit_code == 0
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        post_id = post.id
        before = (post.body_source, post.body_html, post.slug, post.year, post.month)
        assert post.source_format == SourceFormat.HTML
        # What the old editor did: the same source read as Markdown is another page.
        assert render_post(post.body_source) != post.body_html
    shown_before = post_body(reader.get("/2011/03/km-plans_29.html").text)

    editor = client.get(f"/manage/posts/{post_id}/edit")
    assert parse_html(editor.text).one("label", for_="body").text() == "Body (HTML)"
    preview = submit(client, f"/manage/posts/{post_id}/edit", "preview")
    assert post_body(preview.text) == shown_before
    response = submit(client, f"/manage/posts/{post_id}/edit", "save")
    assert response.status_code == 303, response.text
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        assert (post.body_source, post.body_html, post.slug, post.year, post.month) == before
        assert db.session.scalars(select(PageRedirect)).all() == []
    assert post_body(reader.get("/2011/03/km-plans_29.html").text) == shown_before


def test_every_imported_sample_post_saves_unchanged(app, client, runner, signed_in):
    imported(runner, "blogger-2008-minima.xml")
    with app.app_context():
        before = {
            p.id: (p.body_source, p.body_html, p.slug, p.status)
            for p in db.session.scalars(select(Post))
        }
    assert before
    for post_id in before:
        response = submit(client, f"/manage/posts/{post_id}/edit", "save")
        assert response.status_code == 303, (post_id, response.text)
    with app.app_context():
        after = {
            p.id: (p.body_source, p.body_html, p.slug, p.status)
            for p in db.session.scalars(select(Post))
        }
    assert after == before


def test_an_edit_to_imported_html_is_sanitised_as_on_import(app, client, reader, runner, signed_in):
    imported(runner, "blogger-2018-trimmed.xml")
    with app.app_context():
        page = db.session.scalars(select(Page).where(Page.status == PostStatus.PUBLISHED)).one()
        page_id, path = page.id, f"/p/{page.slug}.html"
    body = '<p onclick="steal()">Kept <i>italic</i></p><script>steal()</script>\n    indented'
    assert edit_page(client, page_id, body=body).status_code == 303
    shown = post_body(reader.get(path).text)
    assert "<i>italic</i>" in shown
    assert "<code>" not in shown  # not read as Markdown: an indented line is no code block
    assert unsafe_markup(shown) == []
    assert stored_page(app, page_id).source_format == SourceFormat.HTML  # type: ignore[union-attr]


def test_a_post_written_here_stays_markdown(app, client, signed_in):
    response = submit(
        client, "/manage/posts/new", "save", "/manage/posts/new", title="Plan", body="*Goals*"
    )
    assert response.status_code == 303
    with app.app_context():
        post = db.session.scalars(select(Post)).one()
        assert post.source_format == SourceFormat.MARKDOWN
        assert "<em>Goals</em>" in post.body_html


def test_imported_pages_join_the_sidebar_after_the_pages_already_there(app, blog, client, runner):
    about = blog.page("About")
    imported(runner, "blogger-2018-trimmed.xml")
    with app.app_context():
        page = db.session.scalars(
            select(Page).where(Page.blogger_id.is_not(None), Page.status == PostStatus.PUBLISHED)
        ).one()
        title, path = page.title, f"/p/{page.slug}.html"
    assert sidebar_pages(client.get("/").text) == [("About", about), (title, path)]
