"""Threaded replies through Blogger's format: a reply links to the comment it answers
(`<link rel="related" href=".../comments/default/<comment id>">`, as Blogger exports
it), import puts it back in its thread, and export -> import -> export is identical."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus
from tests.blogger_files import NS, entry, export
from tests.conftest import _reset_tables
from tests.factories import BASE_TIME
from tests.test_blogger_export import export_text, without_stamp


def threads_by_blogger_id(app) -> dict[str, tuple[str | None, str | None, int]]:  # type: ignore[no-untyped-def]
    """Each comment's Blogger id -> (its parent's, its thread top's, its depth)."""
    with app.app_context():
        comments = list(db.session.scalars(select(Comment)))
        by_id = {comment.id: comment.blogger_id or str(comment.id) for comment in comments}
        return {
            by_id[c.id]: (
                by_id.get(c.parent_id) if c.parent_id else None,
                by_id.get(c.root_id) if c.root_id else None,
                c.depth,
            )
            for c in comments
        }


def related(root: ElementTree.Element) -> dict[str, str]:
    """Comment id -> the href of its rel="related" link, for every entry that has one."""
    found = {}
    for item in root.findall("a:entry", NS):
        for link in item.findall("a:link", NS):
            if link.get("rel") == "related":
                found[(item.findtext("a:id", "", NS) or "").rpartition("-")[2]] = link.get(
                    "href", ""
                )
    return found


def test_a_threaded_reply_round_trips_identically(app, blog, runner, migrated, tmp_path):
    blog.settings(thread_depth=2)
    post = blog.post("Communities of practice")
    top = blog.comment(post, "Who moderates?", name="Ann")
    at = BASE_TIME + timedelta(hours=2)
    first = blog.comment(post, "A volunteer.", name="Ben", reply_to=top, at=at)
    second = blog.comment(post, "Paid?", reply_to=first, at=at + timedelta(hours=1))
    third = blog.comment(
        post, "Sometimes.", name="Ben", reply_to=second, at=at + timedelta(hours=2), thread_depth=2
    )
    removed = blog.comment(post, "Gone", name="Cy", at=at + timedelta(hours=3))
    orphan = blog.comment(post, "Kept", reply_to=removed, at=at + timedelta(hours=4))
    with app.app_context():
        gone = db.session.get(Comment, removed.id)
        assert gone is not None
        gone.status = CommentStatus.DELETED
        db.session.commit()
    before = threads_by_blogger_id(app)

    first_text = export_text(runner, tmp_path / "first.xml")
    links = related(ElementTree.fromstring(first_text))  # noqa: S314 - our own export
    blog_id = first_text.split("tag:blogger.com,1999:blog-", 1)[1].split(".", 1)[0]
    feeds = f"https://www.blogger.com/feeds/{blog_id}/{post.id}/comments/default"
    assert links == {
        str(first.id): f"{feeds}/{top.id}",
        str(second.id): f"{feeds}/{first.id}",
        str(third.id): f"{feeds}/{second.id}",
        # The comment it answers is not published, so not in the file: no link.
    }
    assert str(orphan.id) not in links

    with app.app_context():
        _reset_tables(migrated)
    blog.settings(thread_depth=2)
    result = runner.invoke(args=["import", "blogger", str(tmp_path / "first.xml")])
    assert result.exit_code == 0, result.output
    after = threads_by_blogger_id(app)
    for reply in (first, second, third):
        assert after[str(reply.id)] == before[str(reply.id)], reply
    assert after[str(third.id)] == (str(second.id), str(top.id), 2)
    # Exported as a comment on the post (its parent was not published), so imported so.
    assert after[str(orphan.id)] == (None, None, 0)

    second_text = export_text(runner, tmp_path / "second.xml")
    assert without_stamp(second_text) == without_stamp(first_text)


def test_blogger_replies_listed_before_their_comment_find_it(app, runner, tmp_path):
    """Blogger lists comments newest first: a reply comes before the comment it answers.
    A reply to a comment that is not in the file, or on another post, stays a comment on
    its post, and the report says so."""
    file = tmp_path / "threads.xml"
    file.write_bytes(
        export(
            entry("post", "100", "Maps", "Body", path="/2011/03/maps.html"),
            entry("post", "200", "Tools", "Body", path="/2011/03/tools.html"),
            entry(
                "comment",
                "13",
                content="Later",
                reply_to="100",
                answers="12",
                published="2011-03-04T13:00:00.000Z",
            ),
            entry(
                "comment",
                "12",
                content="Reply",
                reply_to="100",
                answers="11",
                published="2011-03-04T12:00:00.000Z",
            ),
            entry(
                "comment", "11", content="Top", reply_to="100", published="2011-03-04T11:00:00.000Z"
            ),
            entry("comment", "21", content="Lost", reply_to="100", answers="999"),
            entry("comment", "22", content="Astray", reply_to="200", answers="11"),
        )
    )
    result = runner.invoke(args=["import", "blogger", str(file)])
    assert result.exit_code == 0, result.output
    assert "kept as a comment on the post: 2" in result.output
    assert threads_by_blogger_id(app) == {
        "11": (None, None, 0),
        "12": ("11", "11", 1),
        "13": ("12", "11", 2),
        "21": (None, None, 0),
        "22": (None, None, 0),
    }
    # Importing again changes nothing.
    again = runner.invoke(args=["import", "blogger", str(file)])
    assert again.exit_code == 0, again.output
    assert len(threads_by_blogger_id(app)) == 5
