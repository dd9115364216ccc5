"""Posting comments through the real form: success, each bad input, policies."""

from __future__ import annotations

import re

import pytest

from kmblog.models import Comment, CommentPolicy
from tests.forms import shown_comment_fields


def post_comment(client, post_url: str, /, **fields: str):
    data = {**shown_comment_fields(client, post_url), "body": "", "name": "", "url": ""}
    data.update(fields)
    return client.post(post_url, data=data)


def test_an_anonymous_comment_lands_back_on_the_post_at_the_comment(client, blog):
    post = blog.post()
    response = post_comment(client, post.url, body="Knowledge needs come first.")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"http://blog.test{post.url}#c") or location.startswith(
        f"{post.url}#c"
    )
    comment_id = location.rsplit("#c", 1)[1]
    page = client.get(post.url).text
    assert f'id="c{comment_id}"' in page
    assert re.search(r"Anonymous(?:</span>)?\s+said...", page)
    assert "<p>Knowledge needs come first.</p>" in page
    assert "1 Comment:" in page


def test_a_named_comment_with_a_web_address_links_the_name(client, blog):
    post = blog.post()
    post_comment(client, post.url, body="Well put.", name="Dave", url="https://example.org/dave")
    page = client.get(post.url).text
    assert re.search(
        r'<a [^>]*href="https://example.org/dave" rel="nofollow ugc noopener">Dave</a>\s+said...',
        page,
    )


def test_comment_text_keeps_paragraphs_and_line_breaks(client, blog):
    post = blog.post()
    post_comment(client, post.url, body="First line\nsecond line\n\nNew paragraph")
    assert "<p>First line<br>second line</p><p>New paragraph</p>" in client.get(post.url).text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"body": ""}, "Write a comment before you publish it."),
        ({"body": "   \n\t "}, "Write a comment before you publish it."),
        ({"body": "x" * 4097}, "A comment is at most 4096 characters."),
        ({"body": "Fine", "name": "n" * 101}, "A name is at most 100 characters."),
        ({"body": "Fine", "name": "Dave", "url": "javascript:alert(1)"}, "starting with http"),
        ({"body": "Fine", "name": "Dave", "url": "ftp://example.org/"}, "starting with http"),
        ({"body": "Fine", "name": "Dave", "url": "example.org"}, "starting with http"),
        ({"body": "Fine", "name": "Dave", "url": "https://" + "a" * 2000}, "at most 2000"),
    ],
)
def test_bad_input_is_explained_keeps_what_was_typed_and_stores_nothing(
    client, blog, fields, message
):
    post = blog.post()
    response = post_comment(client, post.url, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert 'role="alert"' in response.text
    # What the reader typed is still in the form.
    for name, value in fields.items():
        if value.strip() and len(value) < 200:
            assert value.strip().replace("&", "&amp;") in response.text, name
    assert blog.count(Comment) == 0


def test_a_comment_of_exactly_4096_characters_is_accepted(client, blog):
    post = blog.post()
    assert post_comment(client, post.url, body="y" * 4096).status_code == 303
    assert blog.count(Comment) == 1


@pytest.mark.parametrize("timer", [None, "", "not-a-real-timer", "page.AAAAAA.forged"])
def test_a_missing_or_forged_form_timer_is_a_400_that_keeps_the_comment(client, blog, timer):
    """The signed timer proves the form came from this blog (a reader has no token)."""
    post = blog.post()
    client.get(post.url)
    data = {"body": "My carefully typed thoughts", "name": "Dave"}
    if timer is not None:
        data["shown"] = timer
    response = client.post(post.url, data=data)
    assert response.status_code == 400
    assert "This form had expired" in response.text
    assert "My carefully typed thoughts" in response.text
    assert blog.count(Comment) == 0


def test_control_characters_are_removed_from_stored_text(client, blog, app):
    post = blog.post()
    post_comment(client, post.url, body="bell\x07 and\x00 nul\x1b[31m", name="Da\x0bve")
    with app.app_context():
        from kmblog.extensions import db

        comment = db.session.scalars(db.select(Comment)).one()
        assert comment.body_source == "bell and nul[31m"
        assert comment.author_name == "Dave"
    assert client.get("/feeds/comments/default").status_code == 200


def test_moderated_comments_wait_and_are_not_shown(client, blog):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post()
    response = post_comment(client, post.url, body="Held for review")
    assert response.status_code == 303
    page = client.get(response.headers["Location"].split("#")[0]).text
    assert "approved" in page  # the flash message
    assert "Held for review" not in page
    assert "0 Comments:" in page
    assert blog.count(Comment) == 1


def test_closed_comments_show_no_form_and_refuse_posts(client, blog):
    blog.settings(comment_policy=CommentPolicy.CLOSED)
    post = blog.post()
    page = client.get(post.url).text
    assert "Post a Comment" not in page
    assert "Comments on this post are closed." in page
    response = client.post(post.url, data={"body": "Let me in"})
    assert response.status_code == 403
    assert "closed" in response.text
    assert blog.count(Comment) == 0


def test_a_post_closed_to_comments_shows_no_form(client, blog):
    post = blog.post(comments_open=False)
    assert "Post a Comment" not in client.get(post.url).text


def test_commenting_on_a_missing_or_draft_post_is_a_404(client, blog):
    draft = blog.post(draft=True)
    assert draft.url == ""
    assert client.post("/2009/06/nothing-here.html", data={"body": "x"}).status_code == 404
    assert blog.count(Comment) == 0
