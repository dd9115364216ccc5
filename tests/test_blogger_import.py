"""Importing a Blogger export: the two real samples, every old link, and bad files."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import func, select

from kmblog.extensions import db
from kmblog.models import Comment, Label, Page, Post, PostStatus, Settings, User
from tests.blogger_files import SAMPLES, entry, expected, export, sample
from tests.html_tree import parse_html

SITE = "http://blog.test"


def run_import(runner, path: Path):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["import", "blogger", str(path)])


def imported(runner, name: str):  # type: ignore[no-untyped-def]
    result = run_import(runner, sample(name))
    assert result.exit_code == 0, result.output
    return result


def content_version(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Settings, 1).content_version


def table_counts(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Post, Page, Comment, Label, User)
        }


# --- the real samples ------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_imports_its_posts_drafts_pages_and_comments(app, runner, name):
    want = expected(sample(name))
    result = imported(runner, name)
    published, drafts = want.of("post", draft=False), want.of("post", draft=True)
    pages, page_drafts = want.of("page", draft=False), want.of("page", draft=True)
    comments = want.of("comment")
    assert f"posts published: {len(published)}" in result.output
    assert f"post drafts: {len(drafts)}" in result.output
    assert f"pages published: {len(pages)}" in result.output
    assert f"page drafts: {len(page_drafts)}" in result.output
    assert f"comments: {len(comments)}" in result.output
    with app.app_context():
        posts = {p.blogger_id: p for p in db.session.scalars(select(Post))}
        assert set(posts) == {item.blogger_id for item in want.of("post")}
        for item in want.of("post"):
            post = posts[item.blogger_id]
            assert post.title == item.title
            # Labels keep their case and spaces ("Previously Unpublished").
            assert sorted(label.name for label in post.labels) == sorted(item.labels)
            assert post.author.display_name == item.author
            assert post.status == (PostStatus.DRAFT if item.draft else PostStatus.PUBLISHED)
        stored_pages = {p.blogger_id: p for p in db.session.scalars(select(Page))}
        assert {i: p.title for i, p in stored_pages.items()} == {
            item.blogger_id: item.title for item in want.of("page")
        }
        stored_comments = {c.blogger_id: c for c in db.session.scalars(select(Comment))}
        assert set(stored_comments) == {item.blogger_id for item in comments}
        for item in comments:
            comment = stored_comments[item.blogger_id]
            assert comment.post.blogger_id == item.reply_to
            assert comment.display_name == item.author
            assert comment.author_url == item.author_uri
        settings = db.session.get(Settings, 1)
        assert settings.title == want.title
        assert settings.timezone == want.settings["BLOG_TIME_ZONE"]
        description = want.settings["BLOG_DESCRIPTION"]
        assert settings.description == ("" if description == "None" else description)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_published_post_keeps_its_blogger_address(app, client, runner, name):
    want = expected(sample(name))
    imported(runner, name)
    for item in want.of("post", draft=False):
        assert item.path, f"{item.title} has no address in the sample"
        page = client.get(item.path)
        assert page.status_code == 200, item.path
        assert item.title in page.text
        for label in item.labels:
            assert label in page.text
    home = client.get("/").text
    for item in want.of("post", draft=True):
        assert item.title not in home
    # Pages are no posts: never among the posts; a published one is in the sidebar's
    # Pages box, a draft nowhere.
    posts = parse_html(home).one("main").text()
    sidebar = parse_html(home).one("aside", class_="sidebar").text()
    for item in want.of("page"):
        assert item.title not in posts
        assert (item.title in sidebar) == (not item.draft), item.title


@pytest.mark.parametrize("per_page", [100, 1])
@pytest.mark.parametrize("name", SAMPLES)
def test_old_comment_links_land_on_the_comment(app, client, runner, name, per_page):
    """Blogger's showComment=<milliseconds> opens the page of comments that starts with
    the comment, also when the post has more comments than a page shows."""
    app.config["COMMENTS_PER_PAGE"] = per_page
    want = expected(sample(name))
    imported(runner, name)
    posts_by_id = {item.blogger_id: item for item in want.of("post")}
    for item in want.of("comment"):
        post = posts_by_id[item.reply_to]
        query, _, anchor = item.query_and_anchor.partition("#")
        assert query.startswith("?showComment=") and anchor == f"c{item.blogger_id}"
        page = client.get(post.path + query)
        assert page.status_code == 200
        assert f'id="{anchor}"' in page.text
        assert item.author in page.text


def test_2018_sample_is_repaired_and_says_so(app, runner):
    result = imported(runner, "blogger-2018-trimmed.xml")
    assert "Warning: the file uses the prefix 'app:' without declaring it" in result.output


def test_sanitising_report_names_what_was_dropped_and_pages_lack_it(app, client, runner):
    want = expected(sample("blogger-2008-minima.xml"))
    result = imported(runner, "blogger-2008-minima.xml")
    assert "<embed>" in result.output
    assert "style= on <div>" in result.output
    for item in want.of("post", draft=False):
        body = client.get(item.path).text
        assert "<embed" not in body
        assert "style=" not in body


@pytest.mark.parametrize("name", SAMPLES)
def test_importing_the_same_file_twice_changes_nothing(app, runner, name):
    imported(runner, name)
    counts, version = table_counts(app), content_version(app)
    result = imported(runner, name)
    assert "posts published: 0" in result.output
    assert "post: already imported" in result.output
    assert table_counts(app) == counts
    # Not one write: caches and ETags stay valid.
    assert content_version(app) == version


def test_authors_are_created_disabled_without_a_password(app, runner):
    want = expected(sample("blogger-2018-trimmed.xml"))
    imported(runner, "blogger-2018-trimmed.xml")
    with app.app_context():
        users = list(db.session.scalars(select(User)))
    assert {user.display_name for user in users} == {item.author for item in want.of("post")}
    assert all(user.password_hash is None and not user.active for user in users)


def test_an_existing_author_is_matched_by_name(app, blog, runner):
    want = expected(sample("blogger-2008-minima.xml"))
    author = want.of("post")[0].author
    author_id = blog.author("jj", display_name=author)
    result = imported(runner, "blogger-2008-minima.xml")
    assert f"authors matched: {author}" in result.output
    with app.app_context():
        assert {p.author_id for p in db.session.scalars(select(Post))} == {author_id}


# --- addresses an imported blog had on Blogger -------------------------------------


def test_pages_answer_at_p_slug_and_drafts_do_not(app, client, runner):
    want = expected(sample("blogger-2018-trimmed.xml"))
    imported(runner, "blogger-2018-trimmed.xml")
    (page,) = want.of("page", draft=False)
    assert client.get(page.path).status_code == 200
    assert page.title in client.get(page.path).text
    with app.app_context():
        draft_slug = db.session.scalars(select(Page.slug).where(Page.published_at.is_(None))).one()
    assert client.get(f"/p/{draft_slug}.html").status_code == 404
    feed = feedparser.parse(client.get("/feeds/posts/default").data)
    assert page.title not in {e.title for e in feed.entries}


def test_old_per_post_comment_feed_answers_by_blogger_id(app, client, runner):
    want = expected(sample("blogger-2008-minima.xml"))
    imported(runner, "blogger-2008-minima.xml")
    for post in want.of("post", draft=False):
        replies = [c for c in want.of("comment") if c.reply_to == post.blogger_id]
        response = client.get(f"/feeds/{post.blogger_id}/comments/default")
        assert response.status_code == 200
        feed = feedparser.parse(response.data)
        assert feed.version == "atom10"
        assert sorted(e.author for e in feed.entries) == sorted(c.author for c in replies)
        rss = feedparser.parse(
            client.get(f"/feeds/{post.blogger_id}/comments/default?alt=rss").data
        )
        assert rss.version == "rss20"
        assert len(rss.entries) == len(replies)


def test_old_feed_parameters_keep_answering(app, client, runner):
    want = expected(sample("blogger-2008-minima.xml"))
    imported(runner, "blogger-2008-minima.xml")
    published = want.of("post", draft=False)
    rss = client.get("/feeds/posts/default?alt=rss")
    assert rss.headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(rss.data)
    assert parsed.version == "rss20" and not parsed.bozo
    assert {e.title for e in parsed.entries} == {item.title for item in published}
    one = feedparser.parse(client.get("/feeds/posts/default?max-results=1").data).entries
    rest = feedparser.parse(client.get("/feeds/posts/default?start-index=2").data).entries
    assert len(one) == 1 and len(rest) == len(published) - 1
    assert one[0].title not in {e.title for e in rest}
    comments = feedparser.parse(client.get("/feeds/comments/default?alt=rss&max-results=2").data)
    assert comments.version == "rss20" and len(comments.entries) == 2
    assert client.get("/feeds/posts/default?start-index=999999999").status_code == 400
    assert client.get("/rss.xml").headers["Location"].endswith("/feeds/posts/default?alt=rss")
    assert client.get("/atom.xml").status_code == 301


def test_mobile_switch_and_archive_files_redirect(app, client, runner):
    want = expected(sample("blogger-2008-minima.xml"))
    imported(runner, "blogger-2008-minima.xml")
    path = want.of("post", draft=False)[0].path
    mobile = client.get(f"{path}?m=1")
    assert mobile.status_code == 301 and mobile.headers["Location"] == path
    assert client.get("/?m=0").headers["Location"] == "/"
    year, month = path.split("/")[1:3]
    archive = client.get(f"/{year}_{month}_01_archive.html")
    assert archive.status_code == 301
    assert client.get(archive.headers["Location"]).status_code == 200
    assert want.of("post", draft=False)[0].title in client.get(archive.headers["Location"]).text


# --- commenters the samples lack, and bad files -----------------------------------


def test_anonymous_and_named_commenters(app, client, runner, tmp_path):
    file = tmp_path / "kip.xml"
    file.write_bytes(
        export(
            entry("post", "71", "Tacit knowledge", "Ask the people who do the work.",
                  path="/2011/03/tacit-knowledge.html", labels=("KM basics",)),
            entry("comment", "9001", content="Agreed <b>entirely</b>.", author="Anonymous",
                  reply_to="71", published="2011-03-05T09:00:00.000Z"),
            entry("comment", "9002", content="See my notes.", author="Lena Ortiz",
                  uri="https://lena.example.net/", reply_to="71",
                  published="2011-03-06T09:00:00.000Z"),
            entry("comment", "9003", content="Lost.", reply_to="404"),
        )
    )  # fmt: skip
    result = run_import(runner, file)
    assert result.exit_code == 0, result.output
    assert "comment: its post is not in the file: 1" in result.output
    page = client.get("/2011/03/tacit-knowledge.html").text
    assert re.search(r"Anonymous(?:</span>)?\s+said", page)
    assert re.search(
        r'<a [^>]*href="https://lena.example.net/" rel="nofollow ugc noopener">Lena Ortiz</a>', page
    )
    assert "<b>entirely</b>" in page
    assert 'id="c9001"' in page and 'id="c9002"' in page


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<rss version='2.0'><channel><title>x</title></channel></rss>", "not an Atom feed"),
        (
            b"<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:uuid:1</id>"
            b"<entry><id>urn:uuid:2</id></entry></feed>",
            "not a Blogger blog",
        ),
        (b"just some text, not XML", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (
            b"<!DOCTYPE feed [<!ENTITY a 'aaaa'>]><feed xmlns='http://www.w3.org/2005/Atom'/>",
            "refused for safety",
        ),
    ],
)
def test_a_file_that_is_not_a_blogger_export_is_refused(app, runner, tmp_path, content, message):
    file = tmp_path / "other.xml"
    file.write_bytes(content)
    counts, version = table_counts(app), content_version(app)
    result = run_import(runner, file)
    assert result.exit_code == 1
    assert message in result.output and "Nothing was imported" in result.output
    assert table_counts(app) == counts and content_version(app) == version


def test_a_file_broken_after_many_entries_writes_nothing(app, runner, tmp_path):
    entries = [
        entry("post", str(n), f"Post {n}", "Body", path=f"/2012/01/post-{n}.html")
        for n in range(1, 1200)
    ]
    file = tmp_path / "broken.xml"
    file.write_bytes(export(*entries)[:-20] + b"<entry><oops></entry>")
    result = run_import(runner, file)
    assert result.exit_code == 1 and "not well-formed XML" in result.output
    assert table_counts(app)["Post"] == 0


def test_progress_is_reported_as_the_file_is_read(app, tmp_path):
    """The command line's progress bar moves with the bytes read, up to the whole file."""
    from kmblog.blogger.importer import import_blogger
    from kmblog.models import utcnow

    path = sample("blogger-2008-minima.xml")
    seen: list[int] = []
    with app.app_context(), path.open("rb") as stream:
        import_blogger(stream, utcnow(), progress=seen.append)
    assert len(seen) >= 2
    assert sum(seen) == path.stat().st_size


def test_hostile_html_in_an_export_is_made_harmless(app, client, runner, tmp_path):
    hostile = (
        '<p onclick="steal()">Read <a href="javascript:steal()">this</a></p>'
        '<img src="x" onerror="steal()"><script>steal()</script>'
        '<iframe src="https://evil.example/"></iframe>'
    )
    file = tmp_path / "hostile.xml"
    file.write_bytes(
        export(
            entry("post", "81", "Harmless now", hostile, path="/2011/04/harmless-now.html"),
            entry("page", "82", "About", hostile, path="/p/about.html"),
            entry("comment", "9101", content=hostile, author="Mallory", reply_to="81",
                  uri="javascript:steal()"),
        )
    )  # fmt: skip
    result = run_import(runner, file)
    assert result.exit_code == 0, result.output
    assert "<script>" in result.output and "<iframe>" in result.output
    for path in ("/2011/04/harmless-now.html", "/p/about.html"):
        page = client.get(path).text
        assert "Mallory" in page or path.startswith("/p/")
        for bad in ("<script>steal", "onclick=", "onerror=", "javascript:", "<iframe"):
            assert bad not in page, (path, bad)
