"""Threaded replies over HTTP: the Reply link and the form without the page's script,
replies nested under their parent, the depth limit, refusals that keep the text, pages
cut by thread, comment links to replies, and the settings and moderation pages."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import feedparser
import pytest
from sqlalchemy import select

from kmblog import formtimer
from kmblog.extensions import db
from kmblog.models import Comment, CommentPolicy, CommentStatus
from tests.factories import BASE_TIME, CommentRef
from tests.forms import comment_form_fields, form_values, hidden_field
from tests.html_tree import Node, parse_html

SITE = "http://blog.test"


def threads(page: str) -> list[tuple[int, list]]:  # type: ignore[type-arg]
    """The comments a page shows as (id, replies) trees, in page order; a removed
    comment kept for its replies is a negative id."""
    root = parse_html(page)
    listing = root.one("ol", class_="comment-list")

    def walk(items: Node) -> list[tuple[int, list]]:  # type: ignore[type-arg]
        found = []
        for item in items.children:
            if not isinstance(item, Node) or item.tag != "li":
                continue
            number = int((item.get("id") or "c0").removeprefix("c"))
            if "comment-removed" in item.classes():
                number = -number
            replies = next(
                (c for c in item.children if isinstance(c, Node) and c.tag == "ol"), None
            )
            found.append((number, walk(replies) if replies is not None else []))
        return found

    return walk(listing)


def item(page: str, comment: CommentRef) -> Node:
    return parse_html(page).one("li", id=f"c{comment.id}")


def reply_form(client, url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What a browser sends back from the comment form of the page at `url`."""
    page = client.get(url)
    assert page.status_code == 200, url
    form = parse_html(page.text).one("form", class_="comment-form")
    return form_values(form)


def send(client, url: str, **fields: str):  # type: ignore[no-untyped-def]
    """Open `url` as a reader does, fill in its comment form, send it to the post."""
    data = {**reply_form(client, url), **fields}
    return client.post(url.split("?")[0], data=data)


@pytest.fixture
def talk(blog):  # type: ignore[no-untyped-def]
    """A post with a comment by Ann, and Ben's reply to it."""
    post = blog.post(title="Knowledge maps")
    ann = blog.comment(post, body="Maps show who knows what.", name="Ann")
    ben = blog.comment(
        post, body="And who asks whom.", name="Ben", reply_to=ann, at=BASE_TIME + timedelta(hours=2)
    )
    return post, ann, ben


def test_a_reply_without_script_opens_the_form_for_it_and_lands_under_its_parent(client, talk):
    post, ann, ben = talk
    page = client.get(post.url).text
    reply = item(page, ann).one("a", class_="comment-reply")
    assert reply.get("href") == f"?reply={ann.id}#comment-form"
    assert reply.text() == "Reply to Ann"  # "to Ann" visually hidden

    # The Reply link opens the post's page with the form for a reply to Ann.
    opened = client.get(f"{post.url}?reply={ann.id}")
    assert opened.status_code == 200
    line = parse_html(opened.text).one("p", class_="replying-to")
    assert not line.has("hidden")
    assert "Replying to Ann" in re.sub(r"\s+", " ", line.text())
    assert line.one("a", class_="replying-to-name").get("href") == f"#c{ann.id}"
    assert line.one("a", class_="cancel-reply").get("href") == f"{post.url}#comment-form"
    assert hidden_field(opened.text, "parent") == str(ann.id)

    response = send(client, f"{post.url}?reply={ann.id}", body="Maps age fast, too.", name="Cy")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.search(rf"{re.escape(post.url)}\?showComment=\d+#c\d+$", location)
    new_id = int(location.rsplit("#c", 1)[1])
    landed = client.get(location.removeprefix(SITE).split("#")[0]).text
    assert threads(landed) == [(ann.id, [(ben.id, []), (new_id, [])])]
    assert "3 Comments:" in landed

    with client.application.app_context():
        stored = db.session.get(Comment, new_id)
        assert stored is not None
        assert (stored.parent_id, stored.root_id, stored.depth) == (ann.id, ann.id, 1)


def test_the_plain_post_page_has_an_empty_hidden_parent_and_no_replying_line(client, talk):
    post, _, _ = talk
    page = client.get(post.url).text
    form = parse_html(page).one("form", class_="comment-form")
    assert form_values(form)["parent"] == ""
    assert form.one("p", class_="replying-to").has("hidden")


def test_a_thread_nests_to_the_depth_setting_then_replies_sit_beside_and_name_whom(client, blog):
    blog.settings(thread_depth=2)
    post = blog.post()
    chain = [blog.comment(post, body="Top", name="Ann")]
    for i, name in enumerate(("Ben", "Cy", "Di")):
        at = BASE_TIME + timedelta(hours=2 + i)
        chain.append(
            blog.comment(
                post, body=f"Reply {i}", name=name, reply_to=chain[-1], at=at, thread_depth=2
            )
        )
    top, ben, cy, di = chain
    page = client.get(post.url).text
    # Cy (depth 2, the limit) and Di, who answers Cy, sit side by side under Ben.
    assert threads(page) == [(top.id, [(ben.id, [(cy.id, []), (di.id, [])])])]
    context = item(page, di).one("p", class_="comment-context")
    assert context.text() == "In reply to @Cy"
    assert context.one("a").get("href") == f"#c{cy.id}"
    assert item(page, cy).find("p", class_="comment-context") is None
    with blog.app.app_context():
        stored = db.session.get(Comment, di.id)
        assert stored is not None
        # The comment answered stays the parent: feeds and exports keep it.
        assert (stored.parent_id, stored.depth) == (cy.id, 2)


def test_a_lower_depth_setting_applies_to_replies_already_made(client, blog):
    post = blog.post()
    top = blog.comment(post, body="Top", name="Ann")
    ben = blog.comment(post, body="1", name="Ben", reply_to=top, at=BASE_TIME + timedelta(hours=2))
    cy = blog.comment(post, body="2", name="Cy", reply_to=ben, at=BASE_TIME + timedelta(hours=3))
    blog.settings(thread_depth=1)
    page = client.get(post.url).text
    assert threads(page) == [(top.id, [(ben.id, []), (cy.id, [])])]
    assert "In reply to @Ben" in item(page, cy).text()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (CommentStatus.PENDING, "is waiting for a moderator"),
        (CommentStatus.SPAM, "has been removed"),
        (CommentStatus.DELETED, "has been removed"),
    ],
)
def test_a_reply_to_a_comment_not_published_is_refused_and_the_text_kept(
    client, blog, status, message
):
    post = blog.post()
    target = blog.comment(post, body="Not shown", name="Eve", status=status)
    before = blog.count(Comment)
    data = {
        **comment_form_fields(client.get(post.url).text),
        "body": "My careful answer.",
        "name": "Fay",
        "url": "",
        "parent": str(target.id),
    }
    response = client.post(post.url, data=data)
    assert response.status_code == 422
    assert message in response.text
    assert blog.count(Comment) == before
    form = parse_html(response.text).one("form", class_="comment-form")
    kept = form_values(form)
    assert kept["body"] == "My careful answer." and kept["name"] == "Fay"
    # Sent again as it is, it becomes a comment on the post.
    assert kept["parent"] == ""
    again = client.post(post.url, data={**kept})
    assert again.status_code == 303
    with blog.app.app_context():
        stored = db.session.scalars(select(Comment).where(Comment.author_name == "Fay")).one()
        assert stored.parent_id is None and stored.root_id is None


def test_a_reply_to_a_comment_of_another_post_is_refused(client, blog):
    post, other = blog.post(), blog.post()
    elsewhere = blog.comment(other, body="Elsewhere")
    data = {
        **comment_form_fields(client.get(post.url).text),
        "body": "Hi",
        "name": "",
        "url": "",
        "parent": str(elsewhere.id),
    }
    response = client.post(post.url, data=data)
    assert response.status_code == 422
    assert "is not on this post" in response.text
    assert blog.count(Comment) == 1


@pytest.mark.parametrize("parent", ["abc", "-3", "99999999999999", "1.5"])
def test_a_parent_that_is_not_a_comment_number_is_refused_with_the_text_kept(client, blog, parent):
    post = blog.post()
    data = {
        **comment_form_fields(client.get(post.url).text),
        "body": "Kept",
        "name": "",
        "url": "",
        "parent": parent,
    }
    response = client.post(post.url, data=data)
    assert response.status_code == 422
    assert "could not be found" in response.text
    assert "Kept" in response.text
    assert blog.count(Comment) == 0


def test_a_reply_whose_parent_is_gone_is_posted_on_the_post(client, blog):
    post = blog.post()
    data = {
        **comment_form_fields(client.get(post.url).text),
        "body": "Still here",
        "name": "",
        "url": "",
        "parent": "987654",
    }
    response = client.post(post.url, data=data)
    assert response.status_code == 303
    page = client.get(post.url).text
    assert "no longer there, so your reply is posted as a comment on the post" in page
    assert "Still here" in page
    assert len(threads(page)) == 1


def test_a_reply_link_to_a_comment_that_cannot_be_answered_says_so(client, blog):
    post = blog.post()
    blog.comment(post, body="Shown")
    held = blog.comment(post, body="Held", status=CommentStatus.PENDING)
    for query in (f"reply={held.id}", "reply=nonsense", "reply=424242"):
        page = client.get(f"{post.url}?{query}")
        assert page.status_code == 200, query
        assert "cannot be answered" in page.text, query
        assert (
            form_values(parse_html(page.text).one("form", class_="comment-form"))["parent"] == ""
        ), query
        assert "Shown" in page.text


def test_a_removed_comment_keeps_its_place_for_its_replies(client, blog, talk):
    post, ann, ben = talk
    cy = blog.comment(
        post, body="Cy here", name="Cy", reply_to=ben, at=BASE_TIME + timedelta(hours=3)
    )
    with blog.app.app_context():
        removed = db.session.get(Comment, ben.id)
        assert removed is not None
        removed.status = CommentStatus.DELETED
        db.session.commit()
    page = client.get(post.url).text
    assert threads(page) == [(ann.id, [(-ben.id, [(cy.id, [])])])]
    placeholder = item(page, ben)
    assert "This comment has been removed." in placeholder.text()
    assert "And who asks whom." not in page
    own = [child for child in placeholder.children if isinstance(child, Node) and child.tag == "p"]
    assert [child.text() for child in own] == ["This comment has been removed."]
    assert "2 Comments:" in page


@pytest.mark.parametrize("status", [CommentStatus.DELETED, CommentStatus.SPAM])
def test_a_removed_top_comment_keeps_its_thread_and_its_place_in_the_pages(make_app, blog, status):
    reader = make_app(COMMENTS_PER_PAGE=2).test_client()
    post = blog.post()
    tops = [
        blog.comment(post, body=f"Top {i}", at=BASE_TIME + timedelta(hours=i + 1)) for i in range(4)
    ]
    late = BASE_TIME + timedelta(days=1)
    kept = blog.comment(post, body="Still worth reading", reply_to=tops[1], at=late)
    # An answer that was itself removed keeps nothing on the page.
    blog.comment(post, body="Removed answer", reply_to=tops[2], at=late, status=status)
    with blog.app.app_context():
        for top in (tops[1], tops[2]):
            removed = db.session.get(Comment, top.id)
            assert removed is not None
            removed.status = status
        db.session.commit()
    newest = reader.get(post.url).text
    assert threads(newest) == [(-tops[1].id, [(kept.id, [])]), (tops[3].id, [])]
    assert "Top 1" not in newest and "Removed answer" not in newest
    assert "3 Comments:" in newest  # Top 0, Top 3 and the reply
    older = re.search(r'<a class="older-comments" href="([^"]+)"', newest)
    assert older is not None
    page = reader.get(older.group(1).replace("&amp;", "&")).text
    assert threads(page) == [(tops[0].id, [])]
    assert 'class="newer-comments"' in page
    # A link to the reply lands on the page of its thread.
    assert f'id="c{kept.id}"' in reader.get(f"{post.url}?showComment={kept.millis}").text


def test_no_reply_links_when_comments_are_closed(client, blog, talk):
    post, _, _ = talk
    blog.settings(comment_policy=CommentPolicy.CLOSED)
    page = client.get(post.url).text
    assert "comment-reply" not in page
    assert len(threads(page)[0][1]) == 1


# --- pages of threads ------------------------------------------------------------------


PER_PAGE = 2


@pytest.fixture
def reader(make_app):  # type: ignore[no-untyped-def]
    return make_app(COMMENTS_PER_PAGE=PER_PAGE).test_client()


@pytest.fixture
def long_talk(blog):  # type: ignore[no-untyped-def]
    """Five threads an hour apart; the first gets replies late, after all the others."""
    post = blog.post(title="A long talk")
    tops = [
        blog.comment(post, body=f"Thread {i}", name=f"T{i}", at=BASE_TIME + timedelta(hours=i + 1))
        for i in range(5)
    ]
    late = BASE_TIME + timedelta(days=2)
    first = blog.comment(post, body="Late reply", name="R1", reply_to=tops[0], at=late)
    second = blog.comment(
        post, body="Later reply", name="R2", reply_to=first, at=late + timedelta(hours=1)
    )
    return post, tops, first, second


def walk_all(client, url: str | None) -> list[list[tuple[int, list]]]:  # type: ignore[no-untyped-def,type-arg]
    pages = []
    while url:
        page = client.get(url).text
        pages.insert(0, threads(page))
        found = re.search(r'<a class="older-comments" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    return pages


def test_pages_are_cut_between_threads_never_inside_one(reader, long_talk):
    post, tops, first, second = long_talk
    pages = walk_all(reader, post.url)
    assert pages == [
        [(tops[0].id, [(first.id, [(second.id, [])])])],
        [(tops[1].id, []), (tops[2].id, [])],
        [(tops[3].id, []), (tops[4].id, [])],
    ]
    assert "7 Comments:" in reader.get(post.url).text


def test_comment_links_to_replies_land_on_the_page_of_their_thread(reader, long_talk):
    post, tops, first, second = long_talk
    for reply in (first, second):
        page = reader.get(f"{post.url}?showComment={reply.millis}")
        assert page.status_code == 200
        assert f'id="c{reply.id}"' in page.text
        assert threads(page.text)[0][0] == tops[0].id
    # The feed's links to replies, too.
    feed = feedparser.parse(reader.get(f"/feeds/{post.id}/comments/default").data)
    links = [entry.link for entry in feed.entries]
    reply_links = [link for link in links if link.endswith((f"#c{first.id}", f"#c{second.id}"))]
    assert len(reply_links) == 2
    for link in reply_links:
        path, _, anchor = link.removeprefix(SITE).partition("#")
        assert f'id="{anchor}"' in reader.get(path).text


def test_the_reply_page_shows_the_thread_of_the_comment_answered(reader, long_talk):
    post, tops, first, _ = long_talk
    page = reader.get(f"{post.url}?reply={first.id}").text
    assert threads(page)[0][0] == tops[0].id
    line = parse_html(page).one("p", class_="replying-to")
    assert "Replying to R1" in re.sub(r"\s+", " ", line.text())


def test_paging_by_a_reply_number_pages_by_its_thread(reader, long_talk):
    post, tops, first, _ = long_talk
    newer = reader.get(f"{post.url}?comments-after={first.id}").text
    assert [number for number, _ in threads(newer)] == [tops[1].id, tops[2].id]


# --- authoring area --------------------------------------------------------------------


def test_the_settings_page_sets_the_thread_depth(app, auth, client, admin):
    auth.login("admin")
    page = client.get("/manage/settings").text
    form = parse_html(page).one("form")
    data = form_values(form)
    assert data["thread_depth"] == "4"
    for bad in ("0", "11", "deep"):
        refused = client.post("/manage/settings", data={**data, "thread_depth": bad})
        assert refused.status_code == 422, bad
    saved = client.post("/manage/settings", data={**data, "thread_depth": "2"})
    assert saved.status_code == 303
    with app.app_context():
        from kmblog.settings import get_settings

        assert get_settings().thread_depth == 2


def test_the_moderation_queue_says_whom_a_held_reply_answers(auth, client, blog, admin, talk):
    post, ann, _ = talk
    blog.comment(post, body="Held answer", reply_to=ann, status=CommentStatus.PENDING)
    auth.login("admin")
    page = client.get("/manage/comments").text
    assert "Held answer" in page
    assert "(a reply to Ann)" in re.sub(r"\s+", " ", page)


# --- feeds -----------------------------------------------------------------------------


def in_reply_to(entry) -> dict[str, str] | None:  # type: ignore[no-untyped-def]
    """An entry's thr:in-reply-to (RFC 4685) as feedparser reads it, if it has one."""
    return entry.get("thr_in-reply-to")


@pytest.mark.parametrize("feed", ["/feeds/comments/default", "/feeds/{post_id}/comments/default"])
def test_a_reply_in_the_comment_feeds_names_the_comment_it_answers(client, talk, feed):
    post, ann, ben = talk
    parsed = feedparser.parse(client.get(feed.format(post_id=post.id)).data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entries = {entry.id.rsplit("-", 1)[1]: entry for entry in parsed.entries}
    assert in_reply_to(entries[str(ann.id)]) is None
    answered = in_reply_to(entries[str(ben.id)])
    assert answered is not None
    # The parent's own Atom id and its permalink, as its entry gives them.
    assert answered["ref"] == entries[str(ann.id)].id
    assert answered["href"] == entries[str(ann.id)].link
    assert answered["type"] == "text/html"
    # RSS (Blogger's alt=rss) has no place for it, and still lists the reply.
    rss = feedparser.parse(client.get(feed.format(post_id=post.id) + "?alt=rss").data)
    assert not rss.bozo and len(rss.entries) == len(parsed.entries)


def test_a_reply_asked_to_be_confirmed_keeps_its_parent(make_app, blog, talk, monkeypatch):
    """Without the page's script and with a minimum time set, the blog asks to press
    Publish once more: the form comes back still answering the same comment."""
    post, ann, ben = talk
    reader = make_app(COMMENT_MIN_SECONDS=3).test_client()
    first = send(reader, f"{post.url}?reply={ben.id}", body="Confirmed answer", name="Gil")
    assert first.status_code == 200
    assert "Please check your comment below" in first.text
    form = form_values(parse_html(first.text).one("form", class_="comment-form"))
    assert form["parent"] == str(ben.id)
    line = parse_html(first.text).one("p", class_="replying-to")
    assert "Replying to Ben" in re.sub(r"\s+", " ", line.text())
    later = time.time() + 5  # the reader took their time over it
    monkeypatch.setattr(formtimer, "time", SimpleNamespace(time=lambda: later))
    again = reader.post(post.url, data=form)
    assert again.status_code == 303
    page = reader.get(again.headers["Location"].removeprefix(SITE).split("#")[0]).text
    new_id = int(again.headers["Location"].rsplit("#c", 1)[1])
    assert threads(page) == [(ann.id, [(ben.id, [(new_id, [])])])]
