"""Microformats2 read back by mf2py, as IndieWeb readers and Webmention senders read the
pages: a post is an h-entry (name, permalink, author h-card, dates, labels, content) with
its comments as p-comment h-cites nested as the page nests them; listings are h-feeds of
h-entries; a profile is its author's h-card. What a visitor types stays text there too."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import mf2py
import pytest

from kmblog.extensions import db
from kmblog.manage.services import PostAction, PostDraft, save_post
from kmblog.models import Comment, CommentStatus, Post
from tests.factories import BASE_TIME, CommentRef, PostRef
from tests.html_tree import parse_html
from tests.security.payloads import params
from tests.test_hostile_comments import SCRIPT_URLS, active_markup, post_comment

SITE = "http://blog.test"
BLOG_TITLE = "Knowledge Depot"

Item = dict[str, Any]


def read(client, path: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The page at `path` as mf2py reads it, relative addresses resolved against it."""
    response = client.get(path)
    assert response.status_code == 200, path
    return mf2py.parse(doc=response.text, url=SITE + path)


def only_item(parsed: dict[str, Any], kind: str) -> Item:
    """The page's one top-level microformat, which must be a `kind`."""
    assert [item["type"] for item in parsed["items"]] == [[kind]]
    item: Item = parsed["items"][0]
    return item


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def to_millis(when: datetime) -> datetime:
    """What a page can say of a moment: HTML's dates stop at milliseconds."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def permalink(post: PostRef, comment: CommentRef) -> str:
    """A comment's own address, as the feeds give it (Blogger's comment link)."""
    return f"{SITE}{post.url}?showComment={comment.millis}#c{comment.id}"


def card(item: Item) -> tuple[str, list[str]]:
    """(name, addresses) of an h-entry's or h-cite's author h-card."""
    (author,) = item["properties"]["author"]
    assert author["type"] == ["h-card"]
    (name,) = author["properties"]["name"]
    return name, author["properties"].get("url", [])


def comments(item: Item) -> list[Item]:
    found: list[Item] = item["properties"].get("comment", [])
    assert all(comment["type"] == ["h-cite"] for comment in found)
    return found


def every_address(item: Item) -> list[str]:
    """Each u-url and u-in-reply-to in `item` and the microformats in it."""
    found = list(item["properties"].get("url", [])) + list(
        item["properties"].get("in-reply-to", [])
    )
    for values in item["properties"].values():
        for value in values:
            if isinstance(value, dict) and "type" in value:
                found += every_address(value)
    return found


# --- a post --------------------------------------------------------------------------------


def test_a_post_page_is_one_h_entry_with_its_name_author_dates_labels_and_content(client, blog):
    # Away from UTC, so that the dates read back must carry their offset right.
    blog.settings(timezone="America/Los_Angeles")
    author = blog.author("dave", display_name="Dave Author", bio="Writes on KM.")
    post = blog.post(
        title="Plans before tools",
        body="Knowledge needs come **before** tools.",
        labels=("KM Planning", "Strategy"),
        author_id=author,
    )
    edited = BASE_TIME + timedelta(days=2, hours=5, microseconds=123_456)
    with blog.app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        draft = PostDraft(
            title=post.title,
            body="Knowledge needs come **before** tools, always.",
            labels=("KM Planning", "Strategy"),
        )
        save_post(stored, draft, PostAction.PUBLISH, now=edited)

    page = client.get(post.url).text
    entry = only_item(mf2py.parse(doc=page, url=SITE + post.url), "h-entry")

    found = entry["properties"]
    assert found["name"] == ["Plans before tools"]
    assert found["url"] == [SITE + post.url]
    assert card(entry) == ("Dave Author", [f"{SITE}/profile/dave"])
    (published,) = found["published"]
    assert moment(published) == post.published_at
    assert published.endswith("-0700")  # shown in the blog's time zone
    (updated,) = found["updated"]
    # mf2py gives dates to the second; the page's own says the milliseconds, as HTML
    # allows (no more).
    assert moment(updated) == edited.replace(microsecond=0)
    (stamp,) = parse_html(page).find_all("time", class_="dt-updated")
    assert moment(stamp.get("datetime") or "") == to_millis(edited)
    assert stamp.get("datetime") == "2009-07-01T13:07:00.123-07:00"
    assert found["category"] == ["KM Planning", "Strategy"]
    (content,) = found["content"]
    assert content["value"] == "Knowledge needs come before tools, always."
    assert "<strong>before</strong>" in content["html"]
    assert "comment" not in found


def test_a_post_that_was_never_edited_was_updated_when_it_was_published(client, blog):
    """A post written and then published later is new when published, as in the feeds."""
    post = blog.post(title="Scheduled long ago", published=BASE_TIME)

    entry = only_item(read(client, post.url), "h-entry")

    assert [moment(value) for value in entry["properties"]["updated"]] == [BASE_TIME]


def test_comments_are_h_cites_in_the_entry_with_replies_nested_under_their_parent(client, blog):
    post = blog.post(title="Who owns knowledge?")
    ann = blog.comment(
        post, body="The people who use it.", name="Ann", url="https://ann.example/km"
    )
    quiet = blog.comment(post, body="Nobody, really.", at=BASE_TIME + timedelta(hours=2))
    bob = blog.comment(
        post,
        body="And those who <b>keep</b> it.",
        name="Bob",
        reply_to=ann,
        at=BASE_TIME + timedelta(hours=3),
    )
    edited = BASE_TIME + timedelta(hours=3, minutes=4)
    with blog.app.app_context():
        stored = db.session.get(Comment, bob.id)
        assert stored is not None
        stored.edited_at = edited
        db.session.commit()

    entry = only_item(read(client, post.url), "h-entry")

    top = comments(entry)
    assert [comment["properties"]["url"] for comment in top] == [
        [permalink(post, ann)],
        [permalink(post, quiet)],
    ]
    first, second = top
    assert card(first) == ("Ann", ["https://ann.example/km"])
    assert [moment(value) for value in first["properties"]["published"]] == [ann.created_at]
    assert [content["value"] for content in first["properties"]["content"]] == [
        "The people who use it."
    ]
    assert card(second) == ("Anonymous", [])
    assert comments(second) == []
    # Bob answers Ann: his h-cite is inside hers, as his comment is under hers.
    (reply,) = comments(first)
    assert reply["properties"]["url"] == [permalink(post, bob)]
    assert card(reply) == ("Bob", [])
    assert [moment(value) for value in reply["properties"]["published"]] == [bob.created_at]
    assert [moment(value) for value in reply["properties"]["updated"]] == [edited]
    (content,) = reply["properties"]["content"]
    assert content["value"] == "And those who keep it."
    assert content["html"] == "<p>And those who <b>keep</b> it.</p>"


def test_a_reply_shown_beside_the_comment_it_answers_names_it(client, blog):
    """Past the thread's depth a reply sits beside its parent: in-reply-to says which."""
    blog.settings(thread_depth=1)
    post = blog.post()
    top = blog.comment(post, body="Start here.", name="Ann")
    answer = blog.comment(
        post, body="Why?", name="Bob", reply_to=top, at=BASE_TIME + timedelta(hours=2)
    )
    deeper = blog.comment(
        post, body="Because.", name="Cy", reply_to=answer, at=BASE_TIME + timedelta(hours=3)
    )

    entry = only_item(read(client, post.url), "h-entry")

    (first,) = comments(entry)
    assert [reply["properties"]["url"] for reply in comments(first)] == [
        [permalink(post, answer)],
        [permalink(post, deeper)],
    ]
    beside_it, further = comments(first)
    assert "in-reply-to" not in beside_it["properties"]
    assert further["properties"]["in-reply-to"] == [permalink(post, answer)]


def test_a_removed_comment_is_not_read_as_a_comment_and_its_replies_still_are(client, blog):
    post = blog.post()
    gone = blog.comment(post, body="Spam, once.", name="Spammer", url="https://spam.example/")
    kept = blog.comment(
        post,
        body="Still worth reading.",
        name="Ann",
        reply_to=gone,
        at=BASE_TIME + timedelta(hours=2),
    )
    with blog.app.app_context():
        stored = db.session.get(Comment, gone.id)
        assert stored is not None
        stored.status = CommentStatus.DELETED
        db.session.commit()
    page = client.get(post.url).text
    assert "This comment has been removed." in page  # the placeholder is shown

    entry = only_item(mf2py.parse(doc=page, url=SITE + post.url), "h-entry")

    (reply,) = comments(entry)
    assert reply["properties"]["url"] == [permalink(post, kept)]
    assert card(reply) == ("Ann", [])
    assert comments(reply) == []
    assert "removed" not in str(entry["properties"])
    assert "Spam" not in str(entry["properties"])


# --- listings ------------------------------------------------------------------------------


def test_the_home_page_is_an_h_feed_of_the_newest_posts_in_order(client, blog):
    blog.settings(title=BLOG_TITLE, posts_per_page=3)
    posts = blog.posts(5, labels=("KM",))

    feed = only_item(read(client, "/"), "h-feed")

    assert feed["properties"]["name"] == [BLOG_TITLE]
    entries = feed["children"]
    newest = posts[::-1][:3]
    assert [entry["type"] for entry in entries] == [["h-entry"]] * 3
    assert [entry["properties"]["name"] for entry in entries] == [[p.title] for p in newest]
    assert [entry["properties"]["url"] for entry in entries] == [[SITE + p.url] for p in newest]
    assert [moment(entry["properties"]["published"][0]) for entry in entries] == [
        p.published_at for p in newest
    ]
    for entry in entries:
        assert card(entry) == ("Dave Author", [f"{SITE}/profile/{author_name(blog)}"])
        assert entry["properties"]["category"] == ["KM"]
        assert entry["properties"]["content"][0]["value"] == "Knowledge needs come before tools."


def author_name(blog) -> str:  # type: ignore[no-untyped-def]
    """The username of the author who wrote the posts that name none."""
    with blog.app.app_context():
        stored = db.session.scalars(db.select(Post)).first()
        assert stored is not None
        return str(stored.author.username)


@pytest.mark.parametrize(
    ("path", "name", "wanted"),
    [
        (f"/search/label/{quote('KM Planning')}", f"{BLOG_TITLE}: KM Planning", "planning"),
        ("/2009/07/", f"{BLOG_TITLE}: July 2009", "july"),
        ("/search?q=measures", f"{BLOG_TITLE}: Search results for measures", "july"),
    ],
    ids=["label", "archive-month", "search"],
)
def test_label_archive_and_search_pages_are_h_feeds_of_their_posts(
    client, blog, path, name, wanted
):
    blog.settings(title=BLOG_TITLE)
    made = {
        "planning": blog.post(title="Plan the needs", labels=("KM Planning",)),
        "july": blog.post(
            title="Measures that matter",
            body="Count the measures people use.",
            published=BASE_TIME + timedelta(days=5),
        ),
    }

    feed = only_item(read(client, path), "h-feed")

    assert feed["properties"]["name"] == [name]
    expected = made[wanted]
    assert [entry["properties"]["url"] for entry in feed["children"]] == [[SITE + expected.url]]
    assert feed["children"][0]["properties"]["name"] == [expected.title]


def test_a_profile_page_is_its_authors_representative_h_card(client, blog):
    blog.author("dave", display_name="Dave Author", bio="Writes on KM <planning>.")
    path = "/profile/dave"

    author = only_item(read(client, path), "h-card")

    assert author["properties"]["name"] == ["Dave Author"]
    assert author["properties"]["note"] == ["Writes on KM <planning>."]
    # url and uid both this page's address: the page's representative h-card.
    assert author["properties"]["url"] == [SITE + path]
    assert author["properties"]["uid"] == [SITE + path]


# --- hostile comments ----------------------------------------------------------------------


HOSTILE = params("script-plain", "img-onerror", "a-js-plain", "a-onclick-with-http-href")
# Markup that would add properties or microformats of its own if its classes were kept.
MF2_TRICKS = [
    pytest.param('<b class="p-name">A new title</b>', id="p-name"),
    pytest.param('<a class="u-url" href="https://evil.example/">here</a>', id="u-url"),
    pytest.param('<span class="h-entry"><b class="p-name">Fake</b></span>', id="h-entry"),
    pytest.param('<i class="p-author h-card">Someone else</i>', id="h-card"),
]


@pytest.mark.parametrize("payload", HOSTILE + MF2_TRICKS)
def test_a_hostile_comment_is_read_as_its_text_and_names_only_web_addresses(client, blog, payload):
    post = blog.post(title="A calm post")

    response = post_comment(
        client, post, body=payload, name=payload, url="https://mallory.example/?a=1&b=2"
    )
    assert response.status_code == 303

    entry = only_item(read(client, post.url), "h-entry")

    assert entry["properties"]["name"] == ["A calm post"]
    assert entry["properties"]["url"] == [SITE + post.url]
    assert card(entry)[0] == "Dave Author"
    (comment,) = comments(entry)
    assert sorted(comment["properties"]) == ["author", "content", "published", "url"]
    assert card(comment) == (" ".join(payload.split()), ["https://mallory.example/?a=1&b=2"])
    (content,) = comment["properties"]["content"]
    assert content["value"] == payload
    html = parse_html(content["html"])
    assert active_markup(html) == []
    assert [element.get("class") for element in html.iter() if element.has("class")] == []
    for address in every_address(entry):
        assert urlsplit(address).scheme in {"http", "https"}, address
        assert urlsplit(address).netloc in {"blog.test", "mallory.example"}, address


@pytest.mark.parametrize("address", SCRIPT_URLS)
def test_a_stored_script_address_gives_the_commenter_no_url(client, blog, address):
    """An address that is not http(s) (imported, say) is no u-url of the h-card."""
    post = blog.post()
    comment = blog.comment(post, body="Imported long ago.", name="Mallory", url=address)

    entry = only_item(read(client, post.url), "h-entry")

    (shown,) = comments(entry)
    assert shown["properties"]["url"] == [permalink(post, comment)]
    assert card(shown) == ("Mallory", [])
    for found in every_address(entry):
        assert urlsplit(found).scheme in {"http", "https"}, found
