"""Feeds that lose nothing (issue 17): a blog moved from Blogger serves its old entry and
feed ids, so subscribers see no old post as new; native posts keep ids of their own; the
Blogger export is valid Atom; a second Blogger blog is refused, or merged on request.

The ids are read back with feedparser from the served feeds and compared with the ids
in the export files themselves (tests/blogger_files.py reads them, not the importer).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.models import Comment, Page, Post, Role, Settings
from tests.blogger_files import SAMPLES, expected, sample
from tests.conftest import _reset_tables
from tests.test_migrations import flask

ROOT = Path(__file__).resolve().parent
ATOM_RNG = ROOT / "schemas" / "atom.rng"
SCHEMATRON = "http://www.ascc.net/xml/schematron"
RNG = "http://relaxng.org/ns/structure/1.0"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}
BLOGGER = "tag:blogger.com,1999:blog-"
FIRST, SECOND = SAMPLES


def import_file(runner, path: Path, *options: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["import", "blogger", *options, str(path)])


def imported(runner, name: str, *options: str, path: Path | None = None) -> str:  # type: ignore[no-untyped-def]
    result = import_file(runner, path or sample(name), *options)
    assert result.exit_code == 0, result.output
    return str(result.output)


def read_feed(client, path: str):  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    return parsed


def entry_ids(parsed) -> set[str]:  # type: ignore[no-untyped-def]
    return {entry.id for entry in parsed.entries}


def settings_row(app) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with app.app_context():
        settings = db.session.get(Settings, 1)
        assert settings is not None
        return {
            column.key: getattr(settings, column.key)
            for column in Settings.__table__.columns
            if column.key not in {"content_version", "changed_at"}
        }


_emptied = iter(range(10_000, 1_000_000, 10_000))


def emptied(migrated: dict[str, object], **settings: object) -> dict[str, object]:
    """The settings of a freshly migrated blog, with a content version never used
    before: pages cached for the blog as it was must not answer for the new one."""
    return {**migrated, "content_version": next(_emptied), **settings}


def counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Post, Page, Comment)
        }


# --- imported blogs serve Blogger's ids -------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_an_imported_blog_serves_its_blogger_entry_and_feed_ids(app, client, runner, name):
    want = expected(sample(name))
    imported(runner, name)
    blog = f"{BLOGGER}{want.blog_id}"

    posts = read_feed(client, "/feeds/posts/default")
    assert posts.feed.id == blog
    assert entry_ids(posts) == {item.atom_id for item in want.of("post", draft=False)}

    comments = read_feed(client, "/feeds/comments/default")
    assert comments.feed.id == f"{blog}.comments"
    assert entry_ids(comments) == {item.atom_id for item in want.of("comment")}

    # One post's comments, at its old Blogger address, under Blogger's own feed id.
    post = next(
        p
        for p in want.of("post", draft=False)
        if any(c.reply_to == p.blogger_id for c in want.of("comment"))
    )
    replies = read_feed(client, f"/feeds/{post.blogger_id}/comments/default")
    assert replies.feed.id == f"{blog}.post{post.blogger_id}..comments"
    assert entry_ids(replies) == {
        c.atom_id for c in want.of("comment") if c.reply_to == post.blogger_id
    }

    # The RSS form carries the same ids as guids.
    rss = read_feed(client, "/feeds/posts/default?alt=rss")
    assert entry_ids(rss) == entry_ids(posts)


def test_a_native_post_written_after_the_import_keeps_its_own_stable_id(app, blog, client, runner):
    imported(runner, FIRST)
    native = blog.post("Mapping what the team knows", body="Start with the questions.")
    reply = blog.comment(native, "Which questions first?", name="Lena")
    with app.app_context():
        own = db.session.get(Settings, 1).atom_id  # type: ignore[union-attr]
    assert not own.startswith(BLOGGER)  # ours, not Blogger's
    post_id, comment_id = f"{own}.post-{native.id}", f"{own}.comment-{reply.id}"
    assert post_id in entry_ids(read_feed(client, "/feeds/posts/default"))
    assert comment_id in entry_ids(read_feed(client, "/feeds/comments/default"))

    # Neither a changed title nor a second (merged) Blogger blog moves them.
    blog.settings(title="Knowledge in Practice", description="Renamed")
    imported(runner, SECOND, "--merge")
    posts = read_feed(client, "/feeds/posts/default")
    assert post_id in entry_ids(posts)
    assert comment_id in entry_ids(read_feed(client, "/feeds/comments/default"))
    own_comments = read_feed(client, f"/feeds/{native.id}/comments/default")
    assert own_comments.feed.id == f"{post_id}.comments"
    assert entry_ids(own_comments) == {comment_id}


def test_a_blog_imported_before_its_ids_were_kept_gets_them_from_the_migration(
    app, client, runner, database_url
):
    """Migration 0015 fills in the ids of rows imported before it, in Blogger's form:
    the test database is taken back to 0014 (which drops the ids) and up again."""
    imported(runner, FIRST)
    want = expected(sample(FIRST))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # no connection holds the tables while they change
    for step in (["db", "downgrade", "0014"], ["db", "upgrade"]):
        result = flask(*step, database_url=database_url)
        assert result.returncode == 0, f"{step}: {result.stderr}"
    with app.app_context():
        db.engine.dispose()
        stored = set(db.session.scalars(select(Post.atom_id)))
    assert stored == {item.atom_id for item in want.of("post")}
    served = entry_ids(read_feed(client, "/feeds/posts/default"))
    assert served == {item.atom_id for item in want.of("post", draft=False)}
    comments = entry_ids(read_feed(client, "/feeds/comments/default"))
    assert comments == {item.atom_id for item in want.of("comment")}


# --- a second Blogger blog --------------------------------------------------------------


def test_a_second_blogger_blog_is_refused_and_nothing_changes(app, runner):
    imported(runner, FIRST)
    before_settings, before_counts = settings_row(app), counts(app)
    result = import_file(runner, sample(SECOND))
    assert result.exit_code != 0
    first, second = expected(sample(FIRST)), expected(sample(SECOND))
    assert "another Blogger blog" in result.output
    assert second.blog_id in result.output and first.blog_id in result.output
    assert "--merge" in result.output
    assert settings_row(app) == before_settings
    assert counts(app) == before_counts


def test_a_second_blogger_blog_is_merged_on_request_keeping_the_first(app, client, runner):
    first, second = expected(sample(FIRST)), expected(sample(SECOND))
    imported(runner, FIRST)
    before_settings = settings_row(app)
    output = imported(runner, SECOND, "--merge")
    # The report says what was merged and what was kept.
    assert f"Merged: Blogger blog {second.blog_id} was added" in output
    assert f"from Blogger blog {first.blog_id}" in output
    assert "kept: this blog's settings and feed ids" in output
    assert "settings not applied: title" in output
    assert "settings applied: none" in output
    assert f"posts published: {len(second.of('post', draft=False))}" in output
    assert settings_row(app) == before_settings  # title, time zone, ids: the first blog's

    # Both blogs' entries keep their own Blogger ids; the feeds keep the first blog's.
    posts = read_feed(client, "/feeds/posts/default")
    assert posts.feed.id == f"{BLOGGER}{first.blog_id}"
    assert entry_ids(posts) == {
        item.atom_id for want in (first, second) for item in want.of("post", draft=False)
    }
    comments = read_feed(client, "/feeds/comments/default")
    assert comments.feed.id == f"{BLOGGER}{first.blog_id}.comments"
    assert entry_ids(comments) == {
        item.atom_id for want in (first, second) for item in want.of("comment")
    }
    merged_post = next(
        p
        for p in second.of("post", draft=False)
        if any(c.reply_to == p.blogger_id for c in second.of("comment"))
    )
    replies = read_feed(client, f"/feeds/{merged_post.blogger_id}/comments/default")
    assert replies.feed.id == f"{BLOGGER}{second.blog_id}.post{merged_post.blogger_id}..comments"

    # Importing either file again changes nothing, with or without the option.
    after = counts(app)
    for name, options in ((FIRST, ()), (SECOND, ("--merge",)), (FIRST, ("--merge",))):
        imported(runner, name, *options)
        assert counts(app) == after
        assert settings_row(app) == before_settings


def test_the_upload_page_refuses_a_second_blog_and_merges_on_the_box(app, blog, client, auth):
    blog.author("boss", password="correct horse battery", role=Role.ADMIN)
    auth.login("boss")
    first, second = expected(sample(FIRST)), expected(sample(SECOND))

    def send(name: str, merge: bool = False):  # type: ignore[no-untyped-def]
        form: dict[str, object] = {
            "export": (io.BytesIO(sample(name).read_bytes()), "export.xml"),
            "csrf_token": auth.csrf_token("/manage/transfer/"),
        }
        if merge:
            form["merge"] = "y"
        return client.post("/manage/transfer/import", data=form, content_type="multipart/form-data")

    assert send(FIRST).status_code == 200
    before_settings, before_counts = settings_row(app), counts(app)
    refused = send(SECOND)
    assert refused.status_code == 409
    assert "another Blogger blog" in refused.text and "Merge box" in refused.text
    assert settings_row(app) == before_settings and counts(app) == before_counts

    merged = send(SECOND, merge=True)
    assert merged.status_code == 200
    assert f"Merged: Blogger blog {second.blog_id}" in merged.text
    assert settings_row(app) == before_settings
    assert counts(app)["Post"] == before_counts["Post"] + len(second.of("post"))
    assert settings_row(app)["title"] == first.title


# --- the export ---------------------------------------------------------------------------


def _schematron_failures(document: etree._ElementTree) -> list[str]:
    """RFC 4287's Schematron rules (annotations in the schema) evaluated with XPath."""
    schema = etree.parse(str(ATOM_RNG))
    failures = []
    for rule in schema.iter(f"{{{SCHEMATRON}}}rule"):
        for node in document.xpath(f"//{rule.get('context')}", namespaces=ATOM):
            for check in rule.iter(f"{{{SCHEMATRON}}}assert"):
                if not node.xpath(f"boolean({check.get('test')})", namespaces=ATOM):
                    failures.append(f"{node.findtext('atom:id', '', ATOM)}: {check.text}")
    return failures


def fill_blog(blog, runner) -> None:  # type: ignore[no-untyped-def]
    """Native posts and comments (one by an author with no e-mail), both samples."""
    blog.author("boss", display_name="Blog Owner", role=Role.ADMIN, email="owner@example.org")
    plan = blog.post("A KM plan in five questions", body="What do we **need** to know?")
    blog.post("Half a thought", body="Still drafting.", draft=True)
    blog.comment(plan, "Useful, <b>very</b>.", name="Lena", url="https://example.net/lena")
    blog.comment(plan, "An anonymous remark.")
    imported(runner, FIRST)
    imported(runner, SECOND, "--merge")


def export_file(runner, path: Path) -> bytes:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["export", "blogger", str(path), "--base-url", "http://kip.test"])
    assert result.exit_code == 0, result.output
    return path.read_bytes()


def test_the_blogger_export_is_valid_atom(app, blog, runner, tmp_path):
    fill_blog(blog, runner)
    data = export_file(runner, tmp_path / "export.xml")
    document = etree.parse(io.BytesIO(data))
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    assert schema.validate(document), schema.error_log
    assert _schematron_failures(document) == []
    root = document.getroot()
    # Every entry names its author (not only through the feed's).
    entries = root.findall("atom:entry", ATOM)
    assert entries and all(e.find("atom:author/atom:name", ATOM) is not None for e in entries)
    assert root.xpath("atom:link[@rel='self']/@href", namespaces=ATOM) == [
        "http://kip.test/manage/transfer/export/blogger.xml"
    ]
    assert root.findtext("atom:author/atom:name", "", ATOM) == "Blog Owner"
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(entries)
    assert all(entry.get("author") for entry in parsed.entries)


def test_the_schema_refuses_what_rfc_4287_refuses(app, blog, runner, tmp_path):
    """The checks above can fail: the export without its feed id, or an entry without
    its author in a feed without one, is refused."""
    fill_blog(blog, runner)
    data = export_file(runner, tmp_path / "export.xml")
    schema = etree.RelaxNG(etree.parse(str(ATOM_RNG)))
    no_id = etree.parse(io.BytesIO(data))
    no_id.getroot().remove(no_id.getroot().find("atom:id", ATOM))
    assert not schema.validate(no_id)
    no_author = etree.parse(io.BytesIO(data))
    no_author.getroot().remove(no_author.getroot().find("atom:author", ATOM))
    entry = no_author.getroot().find("atom:entry", ATOM)
    entry.remove(entry.find("atom:author", ATOM))
    assert schema.validate(no_author)  # Schematron rules, not the grammar's
    failures = _schematron_failures(no_author)
    assert len(failures) == 2, failures
    assert "atom:feed must have an atom:author" in failures[0]
    assert "atom:entry must have an atom:author" in failures[1]


def test_the_downloaded_export_names_its_own_address(app, blog, client, auth):
    blog.author("boss", password="correct horse battery", role=Role.ADMIN)
    auth.login("boss")
    data = client.get("/manage/transfer/export/blogger.xml").data
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0
    links = {link.rel: link.href for link in parsed.feed.links}
    server = app.config["SERVER_NAME"]
    assert links["self"] == f"http://{server}/manage/transfer/export/blogger.xml"


def test_export_then_import_into_an_empty_blog_keeps_the_ids(
    app, blog, client, runner, migrated, tmp_path
):
    fill_blog(blog, runner)

    def served() -> dict[str, object]:
        posts = read_feed(client, "/feeds/posts/default")
        comments = read_feed(client, "/feeds/comments/default")
        return {
            "posts feed": posts.feed.id,
            "posts": entry_ids(posts),
            "comments feed": comments.feed.id,
            "comments": entry_ids(comments),
        }

    before = served()
    export_file(runner, tmp_path / "export.xml")
    with app.app_context():
        _reset_tables(emptied(migrated))
    assert counts(app) == {"Post": 0, "Page": 0, "Comment": 0}
    imported_again = import_file(runner, tmp_path / "export.xml")
    assert imported_again.exit_code == 0, imported_again.output
    assert served() == before


def test_a_blog_never_on_blogger_keeps_its_feed_ids_when_moved_to_an_empty_blog(
    app, blog, client, runner, migrated, tmp_path
):
    plan = blog.post("A KM plan in five questions", body="What do we **need** to know?")
    blog.comment(plan, "Which need comes first?", name="Lena")

    def served() -> dict[str, object]:
        posts = read_feed(client, "/feeds/posts/default")
        comments = read_feed(client, "/feeds/comments/default")
        # The post's number here: a new one after the move on PostgreSQL, whose
        # sequences go on counting.
        with app.app_context():
            number = db.session.scalar(select(Post.id).where(Post.title == plan.title))
        replies = read_feed(client, f"/feeds/{number}/comments/default")
        return {
            "posts feed": posts.feed.id,
            "posts": entry_ids(posts),
            "comments feed": comments.feed.id,
            "comments": entry_ids(comments),
            "post's comments feed": replies.feed.id,
        }

    before = served()
    assert not str(before["posts feed"]).startswith(BLOGGER)  # ours
    export_file(runner, tmp_path / "export.xml")
    with app.app_context():
        _reset_tables(emptied(migrated, atom_id="tag:kmblog,2026:blog-another"))
    output = imported(runner, "x", path=tmp_path / "export.xml")
    assert "the Atom ids of the kmblog it came from" in output
    assert served() == before

    # A blog that already has posts of its own keeps its ids, and says so.
    with app.app_context():
        _reset_tables(emptied(migrated, atom_id="tag:kmblog,2026:blog-busy"))
    blog.post("Already here", author_id=blog.author())
    output = imported(runner, "x", path=tmp_path / "export.xml")
    assert "keeps its own Atom ids" in output
    assert read_feed(client, "/feeds/posts/default").feed.id == "tag:kmblog,2026:blog-busy"


def test_the_json_export_carries_the_atom_ids(app, runner, tmp_path):
    want = expected(sample(FIRST))
    imported(runner, FIRST)
    out = tmp_path / "blog.json"
    result = runner.invoke(args=["export", "json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert {post["atom_id"] for post in data["posts"]} == {i.atom_id for i in want.of("post")}
    assert {c["atom_id"] for c in data["comments"]} == {i.atom_id for i in want.of("comment")}
