"""The comment rules of the settings, one by one (issue 16's fixes among them): links
counted once each whatever their form, and "known commenter" keyed on what a returning
reader really has."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kmblog.comments.spam import Commenter, count_links, is_known_commenter
from kmblog.extensions import db
from kmblog.mail.services import confirm_subscriber
from kmblog.models import CommentPolicy, CommentStatus, Subscriber, utcnow
from kmblog.rendering import render_comment
from tests.conftest import PASSWORD
from tests.forms import comment_form_fields
from tests.test_abuse import send_comment, set_status, status_of

# One link, in each way a commenter may write one.
ONE_LINK = {
    "bare": "https://a.example/{n}",
    "anchor": '<a href="https://a.example/{n}">a site</a>',
    "single-quoted": "<a href='https://a.example/{n}'>a site</a>",
    "unquoted": "<a href=https://a.example/{n}>a site</a>",
    "anchor-with-its-address-as-text": '<a href="https://a.example/{n}">https://a.example/{n}</a>',
    "markdown": "[a site](https://a.example/{n})",
    "mailto": '<a href="mailto:me{n}@a.example">mail me</a>',
}


def links(form: str, count: int) -> str:
    return "See " + " and ".join(ONE_LINK[form].format(n=n) for n in range(count)) + "."


@pytest.mark.parametrize("form", ONE_LINK)
@pytest.mark.parametrize("count", [0, 1, 3])
def test_each_link_counts_once_whatever_its_form(form, count):
    assert count_links(render_comment(links(form, count))) == count


def test_text_that_only_looks_like_a_link_is_no_link():
    """Tags shown as text, a script address, an address inside <code>: no link made."""
    body = "Try <a href='javascript:alert(1)'>this</a>, write &lt;a href=x&gt;, <code>https://a.example</code>"
    assert count_links(render_comment(body)) == 0


@pytest.mark.parametrize("form", ONE_LINK)
def test_exactly_the_limit_publishes_one_more_holds(app, client, blog, form):
    """The limit itself is allowed (an <a href="https://..."> once counted twice)."""
    blog.settings(moderation_links=2)
    post = blog.post()
    at_limit, over = links(form, 2), links(form, 3).replace("See", "Also see")
    send_comment(client, post.url, body=at_limit)
    send_comment(client, post.url, body=over)
    assert status_of(app, at_limit) == "published"
    assert status_of(app, over) == "pending"


def test_links_of_mixed_forms_count_together(app, client, blog):
    blog.settings(moderation_links=3)
    post = blog.post()
    three = "https://a.example <a href='https://b.example'>b</a> [c](https://c.example)"
    four = three + " and https://d.example"
    send_comment(client, post.url, body=three)
    send_comment(client, post.url, body=four)
    assert status_of(app, three) == "published"
    assert status_of(app, four) == "pending"


def test_the_moderated_policy_holds_every_comment(app, client, blog):
    blog.settings(comment_policy=CommentPolicy.MODERATED)
    post = blog.post()
    send_comment(client, post.url, body="Plain words", name="Dave", web="https://d.example/")
    assert status_of(app, "Plain words") == "pending"


# --- "hold a first comment": who is known ---------------------------------------------


def test_a_name_without_a_web_address_is_never_known(app, client, blog):
    """Anyone can type a name: with no web address beside it, it proves nothing."""
    blog.settings(hold_first_comment=True)
    post = blog.post()
    send_comment(client, post.url, body="First as Dave", name="Dave")
    set_status(app, "First as Dave", CommentStatus.PUBLISHED)
    send_comment(client, post.url, body="Again as Dave", name="Dave")
    assert status_of(app, "Again as Dave") == "pending"


def test_a_web_address_under_another_name_or_anonymous_is_not_known(app, client, blog):
    blog.settings(hold_first_comment=True)
    post = blog.post()
    send_comment(client, post.url, body="Known one", name="Dave", web="https://d.example/")
    set_status(app, "Known one", CommentStatus.PUBLISHED)
    send_comment(client, post.url, body="No name, same site", web="https://d.example/")
    assert status_of(app, "No name, same site") == "pending"


def test_only_an_approved_comment_makes_a_commenter_known(app, client, blog):
    """A comment held, marked as spam or deleted proves nothing."""
    blog.settings(hold_first_comment=True)
    post = blog.post()
    dave = {"name": "Dave", "web": "https://d.example/"}
    for body, status in (("Spammy", CommentStatus.SPAM), ("Gone", CommentStatus.DELETED)):
        send_comment(client, post.url, body=body, **dave)
        set_status(app, body, status)
    send_comment(client, post.url, body="Still unknown", **dave)
    assert status_of(app, "Still unknown") == "pending"


def test_a_signed_in_author_is_known(app, client, auth, blog):
    blog.settings(hold_first_comment=True)
    blog.author("writer", password=PASSWORD)
    post = blog.post()
    auth.login("writer")
    page = client.get(post.url).text
    fields = {**comment_form_fields(page, post.url), "body": "An author answers", "name": ""}
    assert client.post(post.url, data=fields).status_code == 303
    assert status_of(app, "An author answers") == "published"


def test_is_known_commenter_asks_for_name_and_address_together(app, blog):
    post = blog.post()
    blog.comment(post, body="Approved", name="Émile", url="https://e.example/")
    with app.app_context():
        assert is_known_commenter(Commenter("ÉMILE", "https://e.example/"))
        assert not is_known_commenter(Commenter("Émile", ""))
        assert not is_known_commenter(Commenter("", "https://e.example/"))
        assert not is_known_commenter(Commenter("Émile", "https://other.example/"))


def test_the_settings_page_says_what_the_rule_does_to_anonymous_comments(client, auth, admin):
    auth.login("admin")
    page = client.get("/manage/settings").text
    assert "anonymous commenters who give no confirmed address among them" in page
    assert "every comment of theirs waits for a moderator" in page


def test_a_confirmed_address_with_an_approved_comment_is_known(app, client, blog):
    """An anonymous reader who gave an e-mail address, confirmed it (double opt-in) and
    had that comment approved is known again by the address; before it is confirmed, or
    from another address, they are not."""
    blog.settings(hold_first_comment=True)
    post = blog.post()
    ann = {"email": "ann@Example.org", "notify": "replies"}
    send_comment(client, post.url, body="First from Ann", **ann)
    assert status_of(app, "First from Ann") == "pending"
    set_status(app, "First from Ann", CommentStatus.PUBLISHED)
    send_comment(client, post.url, body="Unconfirmed Ann", **ann)
    assert status_of(app, "Unconfirmed Ann") == "pending"

    with app.app_context():
        subscriber = db.session.scalars(select(Subscriber)).one()
        assert confirm_subscriber(subscriber.id, subscriber.email, utcnow()) is not None
    send_comment(client, post.url, body="Confirmed Ann", **ann)
    assert status_of(app, "Confirmed Ann") == "published"
    send_comment(client, post.url, body="Someone else", email="bob@example.org", notify="replies")
    assert status_of(app, "Someone else") == "pending"
