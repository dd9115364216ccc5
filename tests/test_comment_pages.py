"""A post's comments a page at a time: the newest page first, keyset links to older and
newer pages, and comment links (feeds, Blogger's showComment) that find their comment."""

from __future__ import annotations

import re
from datetime import timedelta

import feedparser
import pytest

from kmblog.models import CommentStatus
from tests.factories import BASE_TIME, CommentRef
from tests.test_comments import post_comment

PER_PAGE = 3
SITE = "http://blog.test"
_COMMENT_ITEM = re.compile(r'<li id="c(\d+)" class="comment p-comment h-cite">')


def shown(html: str) -> list[int]:
    """The comments a page shows, in page order."""
    return [int(found) for found in _COMMENT_ITEM.findall(html)]


def pager_link(html: str, name: str) -> str | None:
    """The address of the "Older comments" / "Newer comments" link, if there is one."""
    found = re.search(rf'<a class="{name}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.fixture
def reader(make_app):  # type: ignore[no-untyped-def]
    return make_app(COMMENTS_PER_PAGE=PER_PAGE).test_client()


@pytest.fixture
def thread(blog):  # type: ignore[no-untyped-def]
    """A post with 8 published comments, an hour apart, and a removed one among them
    (it stays in the table, out of every page and count)."""
    post = blog.post(title="A long thread")
    comments = []
    for i in range(9):
        status = CommentStatus.DELETED if i == 4 else None
        at = BASE_TIME + timedelta(hours=i + 1)
        comment = blog.comment(post, body=f"Point {i}", at=at, status=status)
        if status is None:
            comments.append(comment)
    return post, comments


def test_the_post_shows_its_newest_comments_and_counts_them_all(reader, thread):
    post, comments = thread
    page = reader.get(post.url).text
    assert shown(page) == [c.id for c in comments[-PER_PAGE:]]
    assert "8 Comments:" in page
    assert pager_link(page, "newer-comments") is None
    assert pager_link(page, "older-comments") is not None


def test_older_and_newer_links_walk_every_comment_once(reader, thread):
    post, comments = thread
    seen: list[int] = []
    url: str | None = post.url
    pages = 0
    while url:
        page = reader.get(url)
        assert page.status_code == 200, url
        seen = shown(page.text) + seen
        url = pager_link(page.text, "older-comments")
        pages += 1
    assert seen == [c.id for c in comments]
    assert pages == 3  # 8 comments, 3 a page

    # From the oldest page back to the newest by "Newer comments".
    url = f"{post.url}?comments-after=0"  # 0 is not a comment number
    assert reader.get(url).status_code == 400
    oldest = reader.get(f"{post.url}?showComment={comments[0].millis}").text
    seen = shown(oldest)
    url = pager_link(oldest, "newer-comments")
    assert pager_link(oldest, "older-comments") is None
    while url:
        page = reader.get(url).text
        seen += shown(page)
        url = pager_link(page, "newer-comments")
    assert seen == [c.id for c in comments]


def test_a_comment_link_from_the_feed_opens_a_page_with_that_comment(reader, thread):
    post, comments = thread
    feed = feedparser.parse(reader.get(f"/feeds/{post.id}/comments/default").data)
    assert len(feed.entries) == len(comments)
    for entry in feed.entries:
        assert entry.link.startswith(f"{SITE}{post.url}?showComment=")
        path, _, anchor = entry.link.removeprefix(SITE).partition("#")
        page = reader.get(path).text
        assert shown(page)[0] == int(anchor.removeprefix("c")), entry.link


def test_a_new_comment_shows_on_the_post_at_once(reader, thread):
    post, comments = thread
    reader.get(post.url)
    response = post_comment(reader, post.url, body="A late thought.")
    assert response.status_code == 303
    new_id = int(response.headers["Location"].rsplit("#c", 1)[1])
    page = reader.get(post.url).text
    assert shown(page)[-1] == new_id
    assert "9 Comments:" in page


@pytest.mark.parametrize(
    "query, message",
    [
        ("comments-before=x", "The comments-before value is not a comment number."),
        ("comments-after=-3", "The comments-after value is not a comment number."),
        ("comments-before=99999999999999999999", "not a comment number"),
        ("showComment=soon", "The showComment time is not a number of milliseconds."),
        ("showComment=999999999999999999", "not a number of milliseconds"),
        ("comments-before=1&showComment=1", "Give one of"),
    ],
)
def test_a_bad_comment_page_address_is_a_400_that_says_why(reader, thread, query, message):
    post, _ = thread
    response = reader.get(f"{post.url}?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_a_page_of_comments_that_is_gone_leads_to_the_post(reader, blog, thread):
    post, comments = thread
    other = blog.post(title="Another post")
    stranger: CommentRef = blog.comment(other, body="Elsewhere")
    for query in (
        f"comments-before={comments[0].id}",  # nothing older
        f"comments-after={stranger.id}",  # a comment of another post
        f"showComment={comments[-1].millis + 1}",  # after the newest comment
    ):
        response = reader.get(f"{post.url}?{query}")
        assert response.status_code == 302, query
        assert response.headers["Location"].endswith(f"{post.url}#comments")
