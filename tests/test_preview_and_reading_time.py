"""The editor's live preview address (what static/js/live-preview.js asks for as the
author types), and a post's length: its words and "6 min read"."""

from __future__ import annotations

import re

import pytest

from kmblog.models import Post
from kmblog.rendering import WORDS_PER_MINUTE, ReadingTime, reading_time, render_post
from tests.forms import hidden_field
from tests.html_tree import hazards, parse_html
from tests.security.payloads import PAYLOADS

NEW = "/manage/posts/new"
PREVIEW_NEW = "/manage/posts/preview"

BODY = """\
Why a plan comes first.[^why]

# Goals

Start from what the organisation *wants*.

# Needs

## Measures

# Assets

[^why]: Tools chosen first rarely fit the work.
"""


@pytest.fixture
def signed_in(auth, writer):  # type: ignore[no-untyped-def]
    assert auth.login("writer").status_code == 303
    return writer


def token(client, page: str = NEW) -> str:  # type: ignore[no-untyped-def]
    """The editor's CSRF token, as the script reads it from the form."""
    return hidden_field(client.get(page).text, "csrf_token", page)


def preview(client, body: str, address: str = PREVIEW_NEW, csrf: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Accept": "application/json"}
    if csrf is not None:
        headers["X-CSRFToken"] = csrf
    return client.post(address, data={"body": body}, headers=headers)


def post_body_inner(page: str) -> str:
    """What is inside the first <div class="post-body …">, as the page has it."""
    start = page.index(">", page.index('<div class="post-body')) + 1
    depth = 1
    for match in re.compile(r"<div\b|</div>").finditer(page, start):
        depth += 1 if match.group(0) == "<div" else -1
        if depth == 0:
            return page[start : match.start()]
    raise AssertionError("unclosed post-body")


# --- the preview address ------------------------------------------------------------------


def test_the_preview_is_what_readers_get_for_the_same_text(client, app, blog, signed_in):
    reader = app.test_client()
    post = blog.post(title="A plan", body=BODY, author_id=signed_in)
    edit_page = f"/manage/posts/{post.id}/edit"

    response = preview(client, BODY, f"/manage/posts/{post.id}/preview", token(client, edit_page))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    answer = response.get_json()
    published = post_body_inner(reader.get(post.url).text)
    assert answer["html"] == published
    # It really holds the post's footnotes and contents, under its own prefix.
    assert f'id="p{post.id}-fn:why"' in answer["html"]
    assert f'href="#p{post.id}-goals"' in answer["html"]
    assert answer["words"] == reading_time(published).words
    assert answer["summary"] == f"{answer['words']} words · 1 min read"


def test_the_preview_follows_the_text_as_typed_and_saves_nothing(client, app, blog, signed_in):
    csrf = token(client)
    first = preview(client, "Draft *one*.", csrf=csrf).get_json()
    second = preview(client, "Draft *one* and **two**.", csrf=csrf).get_json()
    assert first["html"] == "<p>Draft <em>one</em>.</p>"
    assert second["html"] == "<p>Draft <em>one</em> and <strong>two</strong>.</p>"
    assert (first["words"], second["words"]) == (2, 4)
    # A post not saved yet names its ids "p-…" until it has its number.
    assert 'id="p-goals"' in preview(client, BODY, csrf=csrf).get_json()["html"]
    assert blog.count(Post) == 0


def test_signed_out_nobody_gets_a_preview(client, writer):
    # With a token of their own session (the sign-in page's): sent to sign in.
    response = preview(client, "Secret *draft*.", csrf=token(client, "/login"))
    assert response.status_code in {302, 303}
    assert "/login" in response.headers["Location"]
    assert b"<em>" not in response.data
    # Without one, refused before anything else.
    response = preview(client, "Secret *draft*.")
    assert response.status_code == 400
    assert b"<em>" not in response.data


def test_a_preview_without_the_editors_token_is_refused(client, signed_in):
    for csrf in (None, "not-the-token"):
        response = preview(client, "Forged *text*.", csrf=csrf)
        assert response.status_code == 400
        assert b"<em>Forged" not in response.data


def test_another_authors_post_cannot_be_previewed(client, blog, admin, signed_in):
    theirs = blog.post(title="The admin's", author_id=admin)
    csrf = token(client)
    response = preview(client, "Mine now.", f"/manage/posts/{theirs.id}/preview", csrf)
    assert response.status_code == 403
    assert preview(client, "x", "/manage/posts/999999/preview", csrf).status_code == 404


def test_a_text_over_the_editors_limit_is_refused_with_a_reason(client, signed_in):
    response = preview(client, "word " * 40_001, csrf=token(client))
    assert response.status_code == 422
    assert "200,000 characters" in response.get_json()["error"]


def test_hostile_text_in_the_preview_stays_inert(client, signed_in):
    csrf = token(client)
    body = "\n\n".join(payload for _, payload in PAYLOADS)
    answer = preview(client, body + "\n\nThe end.", csrf=csrf).get_json()
    assert hazards(parse_html(answer["html"])) == []
    assert "The end." in answer["html"]


def test_the_preview_costs_the_same_few_queries_however_many_images(
    client, signed_in, count_queries
):
    csrf = token(client)
    counts = []
    for images in (0, 1, 40):
        body = "\n\n".join(f"![a chart](/media/{n:064x}.jpg)" for n in range(images))
        with count_queries() as queries:
            assert preview(client, body or "Just text.", csrf=csrf).status_code == 200
        counts.append(len(queries))
    # The signed-in author; the settings (whether the admins require a second factor, as
    # every authoring request asks); and the uploaded images the text names, in one query.
    assert counts == [2, 3, 3]


# --- the editor -----------------------------------------------------------------------------


def test_the_editor_has_a_live_preview_pane_for_its_script(client, blog, signed_in):
    page = parse_html(client.get(NEW).text)
    pane = page.one("section", class_="live-preview")
    # There from the first paint (nothing moves when the script starts); without the
    # script it says to press Preview.
    assert not pane.has("hidden")
    assert "without JavaScript, press Preview" in pane.text()
    assert pane.get("data-preview-url") == PREVIEW_NEW
    scripts = [s.get("src", "") for s in page.find_all("script")]
    assert any("/js/live-preview." in src for src in scripts)

    post = blog.post(title="Mine", author_id=signed_in)
    page = parse_html(client.get(f"/manage/posts/{post.id}/edit").text)
    address = page.one("section", class_="live-preview").get("data-preview-url")
    assert address == f"/manage/posts/{post.id}/preview"


def test_the_preview_button_shows_the_words_and_reading_time(client, signed_in):
    page = client.get(NEW)
    body = " ".join(["knowledge"] * 500)
    response = client.post(
        NEW,
        data={
            "csrf_token": hidden_field(page.text, "csrf_token"),
            "title": "Long",
            "body": body,
            "kind": "article",
            "companion_id": "0",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    stats = parse_html(response.text).one("p", class_="reading-stats").text()
    assert stats == "500 words · 3 min read"


def test_the_editor_shows_the_saved_posts_length(client, blog, signed_in):
    post = blog.post(title="Short", body="Five words in this post.", author_id=signed_in)
    page = parse_html(client.get(f"/manage/posts/{post.id}/edit").text)
    assert page.one("p", class_="reading-stats").text() == "5 words · 1 min read"


# --- reading time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "label"),
    [
        (0, ""),
        (1, "1 min read"),
        (WORDS_PER_MINUTE, "1 min read"),
        (WORDS_PER_MINUTE + 1, "2 min read"),
        (6 * WORDS_PER_MINUTE, "6 min read"),
    ],
)
def test_reading_time_rounds_up_to_whole_minutes(words, label):
    assert WORDS_PER_MINUTE == 230
    assert ReadingTime(words).label == label


def test_words_are_counted_from_the_text_not_the_markup():
    html = render_post(
        "[TOC]\n\n# Goals of KM\n\nA [well-known](https://example.org/a/very/long/address "
        '"with a title") map, **don\'t** skip it.[^n]\n\n'
        "![a picture of many many words](https://example.org/c.png)\n\n"
        '<span title="hidden words here">shown</span>\n\n'
        "## Costs\n\n| a | b |\n|---|---|\n| 3.5 | x |\n\n[^n]: One note."
    )
    # Goals of KM / A well-known map don't skip it / shown / Costs / a b 3.5 x / One
    # note: the contents (a repeat of the headings), the note's mark, the addresses,
    # titles, alt texts and the back-link arrow are not words read.
    assert reading_time(html).words == 3 + 6 + 1 + 1 + 4 + 2


def test_a_post_page_says_how_long_it_takes_to_read(client, blog):
    post = blog.post(title="Long read", body=" ".join(["knowledge"] * (6 * WORDS_PER_MINUTE)))
    short = blog.post(title="Short read", body="Three words here.")
    page = parse_html(client.get(post.url).text)
    assert page.one("p", class_="reading-time").text() == "6 min read"
    page = parse_html(client.get(short.url).text)
    assert page.one("p", class_="reading-time").text() == "1 min read"
