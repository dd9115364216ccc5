"""A post's public revision history (issue 18): every published change kept, listed with
its note on /YYYY/MM/slug/history, compared word by word, and followed by the feed."""

from __future__ import annotations

from datetime import datetime, timedelta

import feedparser
import pytest
from sqlalchemy import delete, select

from kmblog.extensions import db
from kmblog.models import PostRevision
from kmblog.rendering import text_diff
from tests.factories import BASE_TIME
from tests.html_tree import parse_html
from tests.test_editor import POSTS_FEED, edit, new_post, stored, unsafe_markup


@pytest.fixture
def signed_in(auth, writer):  # type: ignore[no-untyped-def]
    assert auth.login("writer").status_code == 303
    return writer


@pytest.fixture
def reader(app):  # type: ignore[no-untyped-def]
    """A second browser that is not signed in."""
    return app.test_client()


def revisions(app, post_id: int) -> list[PostRevision]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalars(
            select(PostRevision)
            .where(PostRevision.post_id == post_id)
            .order_by(PostRevision.number)
        ).all()
        db.session.expunge_all()
        return list(found)


def history_url(app, post_id: int) -> str:  # type: ignore[no-untyped-def]
    row = stored(app, post_id)
    assert row is not None
    return f"/{row['year']:04d}/{row['month']:02d}/{row['slug']}/history"


def post_url(app, post_id: int) -> str:  # type: ignore[no-untyped-def]
    return history_url(app, post_id).removesuffix("/history") + ".html"


def listed(page: str) -> list[str]:
    """The history's lines, newest first, as a reader reads them."""
    return [
        " ".join(item.text().split())
        for item in parse_html(page).find_all("ul", class_="revision-list")[0].find_all("li")
    ]


def diff_marks(page: str) -> tuple[list[str], list[str]]:
    """The deleted and the inserted pieces the history's diff shows."""
    section = parse_html(page).find_all("section", class_="revision-diff")
    assert section, "no diff on the page"
    diff = section[0].find_all("div", class_="diff")[-1]
    return (
        [node.text() for node in diff.find_all("del")],
        [node.text() for node in diff.find_all("ins")],
    )


def entry_updated(reader, title: str) -> datetime:  # type: ignore[no-untyped-def]
    """The Atom `updated` of the post's entry, read by feedparser."""
    feed = feedparser.parse(reader.get(POSTS_FEED).data)
    entry = next(e for e in feed.entries if e.title == title)
    return datetime.fromisoformat(entry.updated)


def publish_and_edit_twice(client) -> int:  # type: ignore[no-untyped-def]
    post_id = new_post(
        client, "publish", title="Mapping knowledge flows", body="Start with the people."
    )
    assert (
        edit(
            client,
            post_id,
            body="Start with the people and their questions.",
            change_note="Named what people ask.",
        ).status_code
        == 303
    )
    assert (
        edit(
            client,
            post_id,
            body="Start with the teams and their questions.",
            change_note="Teams, not people.",
        ).status_code
        == 303
    )
    return post_id


def test_publishing_then_editing_twice_keeps_three_revisions(app, client, signed_in):
    """The first publication is revision 1; each published change adds one, with its note
    and who made it."""
    post_id = publish_and_edit_twice(client)
    kept = revisions(app, post_id)
    assert [r.number for r in kept] == [1, 2, 3]
    assert [r.body_source for r in kept] == [
        "Start with the people.",
        "Start with the people and their questions.",
        "Start with the teams and their questions.",
    ]
    assert [r.note for r in kept] == ["", "Named what people ask.", "Teams, not people."]
    assert all(r.author_id == signed_in and not r.typo for r in kept)
    assert "<p>Start with the teams" in kept[2].body_html  # the sanitised HTML, as stored
    assert kept[0].created_at <= kept[1].created_at <= kept[2].created_at


def test_the_history_page_lists_revisions_with_their_notes(app, client, reader, signed_in):
    post_id = publish_and_edit_twice(client)
    page = reader.get(post_url(app, post_id))
    # The post's "Updated" line: the newest note, and the way to the history.
    note = parse_html(page.text).find_all("p", class_="change-note")
    assert len(note) == 1 and "Teams, not people." in note[0].text()
    links = [a.get("href") for a in note[0].find_all("a")]
    assert links == [history_url(app, post_id)]

    history = reader.get(history_url(app, post_id))
    assert history.status_code == 200
    assert "Set-Cookie" not in history.headers  # cached like every reader's page
    lines = listed(history.text)
    assert len(lines) == 3
    assert lines[0].startswith("Revision 3") and lines[0].endswith("Teams, not people.")
    assert lines[1].startswith("Revision 2") and lines[1].endswith("Named what people ask.")
    assert lines[2].startswith("Revision 1") and "first published" in lines[2]
    assert all(", by Dave Author" in line for line in lines)  # who made each


def test_the_diff_shows_deleted_and_inserted_words(app, client, reader, signed_in):
    post_id = publish_and_edit_twice(client)
    url = history_url(app, post_id)
    # By default: the newest against the one before.
    deleted, inserted = diff_marks(reader.get(url).text)
    assert (deleted, inserted) == (["people"], ["teams"])
    # Any two, chosen with the form's two selects.
    page = reader.get(f"{url}?from=1&to=3").text
    form = parse_html(page).find_all("form", class_="compare-revisions")[0]
    selected = {
        select.get("name"): [o.get("value") for o in select.find_all("option") if o.has("selected")]
        for select in form.find_all("select")
    }
    assert selected == {"from": ["1"], "to": ["3"]}
    deleted, inserted = diff_marks(page)
    assert (deleted, inserted) == (["people."], ["teams and their questions."])
    # Backwards works too: what the later text lost is what the earlier had.
    deleted, inserted = diff_marks(reader.get(f"{url}?from=3&to=2").text)
    assert (deleted, inserted) == (["teams"], ["people"])


def test_a_typo_fix_is_kept_without_a_note(app, client, reader, signed_in):
    post_id = publish_and_edit_twice(client)
    response = edit(
        client,
        post_id,
        body="Start with the teams and thier questions.",
        change_note="Something readers should not see.",
        typo="y",
    )
    assert response.status_code == 303
    kept = revisions(app, post_id)
    assert [(r.number, r.typo, r.note) for r in kept][-1] == (4, True, "")
    history = reader.get(history_url(app, post_id)).text
    assert listed(history)[0].startswith("Revision 4")
    assert listed(history)[0].endswith("a typo fix")
    assert "Something readers should not see." not in history
    post_page = reader.get(post_url(app, post_id)).text
    assert "Something readers should not see." not in post_page
    note = parse_html(post_page).find_all("p", class_="change-note")[0].text()
    assert "Teams, not people." in note  # the note stays the last one written


HOSTILE = (
    'Before <script>alert("diff")</script> after.\n\n'
    "<img src=x onerror=alert(1)>\n\n"
    '[x](javascript:alert(1)) </del><ins onclick="alert(2)">'
)


def test_hostile_text_in_a_revision_is_inert_in_the_diff(app, client, reader, signed_in):
    post_id = new_post(client, "publish", title="Safe diffs", body="A plain first text.")
    assert edit(client, post_id, body=HOSTILE, change_note="<b>bold</b> note").status_code == 303
    page = reader.get(history_url(app, post_id)).text
    assert unsafe_markup(page) == []
    _, inserted = diff_marks(page)
    # Shown as text, exactly as typed.
    assert '<script>alert("diff")</script>' in "".join(inserted)
    assert '</del><ins onclick="alert(2)">' in "".join(inserted)
    assert "&lt;b&gt;bold&lt;/b&gt; note" in page


def test_the_atom_entry_updated_follows_each_public_revision(app, client, reader, signed_in):
    """Each published change, typo fixes too (as WordPress's modified date does), moves
    the entry's `updated` to the time of that revision."""
    post_id = new_post(client, "publish", title="Living document", body="One.")
    times = [entry_updated(reader, "Living document")]
    for body, typo in (("Two.", None), ("Three.", None), ("Thre3.", "y")):
        assert edit(client, post_id, body=body, typo=typo).status_code == 303
        times.append(entry_updated(reader, "Living document"))
    assert times == sorted(times) and len(set(times)) == 4
    kept = revisions(app, post_id)
    assert [r.created_at for r in kept] == times


def test_drafts_keep_no_public_revision(app, client, reader, signed_in):
    post_id = new_post(client, title="Not yet", body="First words.")
    assert edit(client, post_id, body="More words.").status_code == 303
    assert edit(client, post_id, body="Still more words.").status_code == 303
    assert revisions(app, post_id) == []
    assert edit(client, post_id, "publish").status_code == 303
    kept = revisions(app, post_id)
    assert [(r.number, r.body_source) for r in kept] == [(1, "Still more words.")]
    # Unpublished: its history is gone with it; saved as a draft meanwhile: nothing kept.
    url = history_url(app, post_id)
    assert edit(client, post_id, "unpublish").status_code == 303
    assert edit(client, post_id, body="Private rework.").status_code == 303
    assert reader.get(url).status_code == 404
    assert len(revisions(app, post_id)) == 1


def test_a_scheduled_post_has_one_revision_until_its_time(app, client, signed_in):
    later = (datetime.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    post_id = new_post(client, "publish", title="Soon", body="Draft one.", publish_at=later)
    assert edit(client, post_id, body="Draft two.").status_code == 303
    kept = revisions(app, post_id)
    assert [(r.number, r.body_source) for r in kept] == [(1, "Draft two.")]
    row = stored(app, post_id)
    assert row is not None and kept[0].created_at == row["published_at"]


def test_a_save_that_changes_nothing_readers_read_adds_no_revision(app, client, signed_in):
    post_id = new_post(client, "publish", title="Labels only", body="Same text.")
    assert edit(client, post_id, labels="Tools").status_code == 303
    assert len(revisions(app, post_id)) == 1


def test_a_post_without_a_history_starts_one_from_its_text_when_edited(
    app, blog, client, reader, signed_in
):
    """An imported post has no stored revision: its text shows as revision 1, and its
    first edit keeps that text before the change."""
    post = blog.post(title="Imported essay", body="The old words.", author_id=signed_in)
    with app.app_context():
        db.session.execute(delete(PostRevision).where(PostRevision.post_id == post.id))
        db.session.commit()
    url = history_url(app, post.id)
    lines = listed(reader.get(url).text)
    assert len(lines) == 1 and lines[0].startswith("Revision 1")
    assert edit(client, post.id, body="The new words.", change_note="Reworded.").status_code == 303
    kept = revisions(app, post.id)
    assert [(r.number, r.body_source, r.note) for r in kept] == [
        (1, "The old words.", ""),
        (2, "The new words.", "Reworded."),
    ]
    assert kept[0].created_at == BASE_TIME
    assert diff_marks(reader.get(url).text) == (["old"], ["new"])


@pytest.mark.parametrize(
    ("query", "status"),
    [("?from=abc", 400), ("?to=99", 400), ("?from=-1", 400), ("?from=1&to=1", 200)],
)
def test_bad_revision_numbers_get_a_clear_400(app, client, reader, signed_in, query, status):
    post_id = new_post(client, "publish", title="Numbers", body="Text.")
    assert edit(client, post_id, body="Text two.").status_code == 303
    response = reader.get(history_url(app, post_id) + query)
    assert response.status_code == status
    if status == 400:
        assert "revision" in response.text


def test_an_old_address_redirects_to_the_history_at_the_new_one(app, client, reader, signed_in):
    post_id = new_post(client, "publish", title="First name", body="Text.")
    old = history_url(app, post_id)
    assert edit(client, post_id, slug="second-name").status_code == 303
    response = reader.get(old + "?from=1")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(history_url(app, post_id) + "?from=1")


def test_the_editor_offers_the_typo_box_for_published_posts_only(app, client, signed_in):
    post_id = new_post(client, title="Box", body="Text.")
    assert "typo" not in client.get(f"/manage/posts/{post_id}/edit").text
    assert edit(client, post_id, "publish").status_code == 303
    page = client.get(f"/manage/posts/{post_id}/edit").text
    boxes = [i for i in parse_html(page).find_all("input") if i.get("name") == "typo"]
    assert len(boxes) == 1 and boxes[0].get("type") == "checkbox"
    label = [lab for lab in parse_html(page).find_all("label") if lab.get("for") == "typo"]
    assert label and label[0].text() == "This is a typo fix (no note shown)"


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '"><svg onload=alert(1)>',
        "</del><script>alert(1)</script><del>",
        "&lt;script&gt; already escaped",
        "[x](javascript:alert(1))",
    ],
)
def test_text_diff_carries_no_markup_of_either_text(payload):
    """Whatever either revision holds, the diff's only tags are its own <del> and <ins>,
    and its text reads back as typed."""
    shown = str(text_diff(f"Plain start.\n{payload}\nsame end", f"{payload} added\nsame end"))
    tags = {node.tag for node in parse_html(f"<div>{shown}</div>").iter()} - {"#document", "div"}
    assert tags <= {"del", "ins"}
    text = parse_html(f"<div>{shown}</div>").text()
    assert payload in text
