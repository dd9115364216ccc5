"""The reader's pages, through HTTP: what each shows, paging, and what stays hidden."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from kmblog.models import CommentStatus, utcnow
from tests.factories import BASE_TIME
from tests.html_tree import parse_html, words
from tests.test_comments import post_comment


def older_link(html: str) -> str | None:
    match = re.search(r'class="older-link" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def newer_link(html: str) -> str | None:
    match = re.search(r'class="newer-link" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def titles(html: str) -> list[str]:
    return re.findall(r'<h3 class="post-title[^"]*"><a href="[^"]+">([^<]+)</a>', html)


def test_home_shows_posts_under_day_headers_with_footer(client, blog):
    """Newest first, under "MONDAY, JUNE 29, 2009", with author, time, labels and count."""
    blog.settings(timezone="America/Los_Angeles")
    post = blog.post(
        title="Knowledge needs first",
        body="Start from **goals**.",
        labels=("KM Planning", "Goals"),
        published=datetime(2009, 6, 30, 3, 7, tzinfo=UTC),  # 8:07 PM on the 29th in LA
    )
    blog.comment(post)
    blog.comment(post, name="Dave")
    html = client.get("/").text
    assert "MONDAY, JUNE 29, 2009" in html
    assert "Knowledge needs first" in html
    assert "<strong>goals</strong>" in html
    assert re.search(r"Posted by\s*<a[^>]*>Dave Author</a>\s*at\s*<a[^>]*><time[^>]*>8:07 PM", html)
    assert re.search(r"Labels:.*Goals</a>,.*KM Planning</a>", html, re.S)
    assert f'href="{post.url}#comments">2 comments</a>' in html


def test_comment_count_is_singular_for_one_and_counts_published_only(client, blog):
    post = blog.post()
    blog.comment(post)
    blog.comment(post, status=CommentStatus.PENDING)
    blog.comment(post, status=CommentStatus.SPAM)
    assert ">1 comment</a>" in client.get("/").text
    page = client.get(post.url).text
    assert "1 Comment:" in page


def test_posts_on_one_day_share_one_header(client, blog):
    blog.post(title="Morning", published=BASE_TIME)
    blog.post(title="Evening", published=BASE_TIME + timedelta(hours=5))
    html = client.get("/").text
    assert html.count("MONDAY, JUNE 29, 2009") == 1
    assert titles(html) == ["Evening", "Morning"]


def test_older_and_newer_posts_walk_every_post_once(client, blog):
    """Keyset paging: following "Older Posts" visits every post once, newest first."""
    posts = blog.posts(12)
    blog.settings(posts_per_page=5)
    expected = [post.title for post in reversed(posts)]
    seen: list[str] = []
    url: str | None = "/"
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += titles(response.text)
        pages.append(url)
        url = older_link(response.text)
    assert seen == expected
    assert len(pages) == 3
    assert pages[1].startswith("/search?updated-max=")
    # ...and "Newer Posts" from the last page leads back through the same pages.
    last = client.get(pages[-1]).text
    back = client.get(newer_link(last)).text
    assert titles(back) == expected[5:10]
    front = client.get(newer_link(back)).text
    assert titles(front) == expected[:5]
    assert newer_link(front) is None


def test_paging_keeps_posts_that_share_a_publication_time(client, blog):
    """Posts published in the same second are neither skipped nor repeated."""
    for i in range(4):
        blog.post(title=f"Twin {i}", published=BASE_TIME)
    first = client.get("/search?max-results=2").text
    second = client.get(older_link(first)).text
    assert sorted(titles(first) + titles(second)) == [f"Twin {i}" for i in range(4)]


def test_max_results_is_capped_and_bad_values_fall_back(client, blog):
    blog.posts(3)
    assert len(titles(client.get("/search?max-results=2").text)) == 2
    for value in ("0", "-5", "abc", "99999999999999999999"):
        response = client.get(f"/search?max-results={value}")
        assert response.status_code == 200
        assert len(titles(response.text)) == 3


def test_blogger_style_updated_max_is_understood(client, blog):
    blog.post(title="Old", published=datetime(2009, 1, 1, tzinfo=UTC))
    blog.post(title="New", published=datetime(2009, 7, 1, tzinfo=UTC))
    html = client.get("/search?updated-max=2009-06-01T00:00:00-07:00&max-results=7").text
    assert titles(html) == ["Old"]


@pytest.mark.parametrize(
    "query",
    [
        "updated-max=not-a-date",
        "updated-max=2009-13-45T00:00:00",
        "updated-max=9999-12-31T23:59:59-14:00",
        "updated-max=0001-01-01T00:00:00%2B14:00",
        "updated-max=2009-07-01T00:00:00Z&cursor-id=99999999999999999999",
        "updated-max=2009-07-01T00:00:00Z&cursor-id=-1",
    ],
)
def test_a_malformed_paging_cursor_is_a_400_page(client, blog, query):
    blog.post()
    response = client.get(f"/search?{query}")
    assert response.status_code == 400
    assert "That request could not be understood" in response.text


def test_a_post_number_too_big_for_the_database_is_a_404(client):
    assert client.get("/feeds/99999999999999999999/comments/default").status_code == 404


def test_post_page_shows_post_comments_form_and_neighbours(client, blog):
    older, middle, newer = blog.posts(3)
    blog.settings(timezone="America/Los_Angeles")
    blog.comment(
        middle,
        body="Tacit knowledge travels with people.",
        name="Dave",
        at=datetime(2009, 7, 24, 3, 7, tzinfo=UTC),
    )
    blog.comment(middle, body="Agreed.")
    html = client.get(middle.url).text
    assert middle.title in html
    assert "2 Comments:" in html
    assert re.search(
        r"At <a[^>]*><time[^>]*>July 23, 2009 at 8:07 PM</time></a>,"
        r"\s*(?:<span[^>]*>)?Dave(?:</span>)?\s+said...",
        html,
    )
    assert re.search(r"Anonymous(?:</span>)?\s+said...", html)
    assert "Tacit knowledge travels with people." in html
    assert "Post a Comment" in html
    assert 'name="shown"' in html and 'name="csrf_token"' not in html  # a reader's form
    assert "Subscribe to:" in html and "Post Comments (Atom)</a>" in html
    assert f'class="newer-link" href="{newer.url}"' in html
    assert f'class="older-link" href="{older.url}"' in html
    assert 'class="home-link" href="/"' in html


def test_first_and_last_posts_have_one_neighbour(client, blog):
    older, newer = blog.posts(2)
    assert "newer-link" not in client.get(newer.url).text
    assert "older-link" not in client.get(older.url).text


def test_a_post_without_comments_says_zero(client, blog):
    assert "0 Comments:" in client.get(blog.post().url).text


@pytest.mark.parametrize(
    "url",
    [
        "/2009/06/no-such-post.html",
        "/2009/13/",
        "/2009/00/",
        "/profile/nobody",
        "/nowhere",
        "/search/label/No Such Label",
        "/2009_13_01_archive.html",
    ],
)
def test_unknown_addresses_get_the_blog_404_page(client, blog, url):
    blog.post()
    response = client.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Go to the home page" in response.text


def test_post_under_the_wrong_month_is_not_found(client, blog):
    post = blog.post(published=datetime(2009, 6, 29, 12, tzinfo=UTC))
    assert client.get(post.url.replace("/06/", "/07/")).status_code == 404


def test_drafts_and_scheduled_posts_are_hidden_everywhere(client, blog):
    blog.author("writer")
    blog.post(title="Visible post", labels=("KM Strategy",))
    blog.post(title="Secret draft", labels=("KM Strategy",), draft=True)
    future = blog.post(
        title="Tomorrow's post", labels=("KM Strategy",), published=utcnow() + timedelta(days=1)
    )
    for url in [
        "/",
        "/search/label/KM Strategy",
        "/search?q=post",
        f"/{future.url[1:5]}/",
        future.url[:9],
        "/profile/writer",
        "/feeds/posts/default",
        "/feeds/posts/default/-/KM Strategy",
    ]:
        text = client.get(url).text
        assert "Secret draft" not in text, url
        assert "Tomorrow" not in text, url
    assert client.get(future.url).status_code == 404
    # The sidebar counts only the visible post.
    assert 'KM Strategy</a> <span class="count">(1)</span>' in client.get("/").text


def test_a_scheduled_post_appears_once_its_time_comes(client, blog, app):
    soon = blog.post(title="Scheduled piece", published=utcnow() + timedelta(days=1))
    assert client.get(soon.url).status_code == 404
    # Move the clock forward by moving the post's time back: no cron job is involved.
    from kmblog.extensions import db
    from kmblog.models import Post

    with app.app_context():
        db.session.get(Post, soon.id).published_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(soon.url).status_code == 200
    assert "Scheduled piece" in client.get("/").text


def test_label_page_shows_banner_and_only_that_label(client, blog):
    blog.post(title="About strategy", labels=("KM Strategy",))
    blog.post(title="About tools", labels=("Tools",))
    response = client.get("/search/label/KM%20Strategy")
    assert response.status_code == 200
    assert "Showing posts with label <strong>KM Strategy</strong>." in response.text
    assert "Show all posts" in response.text
    assert titles(response.text) == ["About strategy"]


def test_label_names_are_matched_case_insensitively_with_a_redirect(client, blog):
    blog.post(labels=("KM Strategy",))
    response = client.get("/search/label/km strategy")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/search/label/KM%20Strategy")


def test_label_pages_page_by_keyset_too(client, blog):
    for i in range(4):
        blog.post(title=f"Labelled {i}", labels=("Tools",), published=BASE_TIME + timedelta(days=i))
    blog.post(title="Unlabelled", published=BASE_TIME + timedelta(days=10))
    first = client.get("/search/label/Tools?max-results=3").text
    assert titles(first) == ["Labelled 3", "Labelled 2", "Labelled 1"]
    link = older_link(first)
    assert link.startswith("/search/label/Tools?")
    assert titles(client.get(link).text) == ["Labelled 0"]


def test_archive_year_and_month_pages(client, blog):
    blog.post(title="June piece", published=datetime(2009, 6, 15, 12, tzinfo=UTC))
    blog.post(title="July piece", published=datetime(2009, 7, 15, 12, tzinfo=UTC))
    blog.post(title="Next year", published=datetime(2010, 1, 15, 12, tzinfo=UTC))
    assert titles(client.get("/2009/").text) == ["July piece", "June piece"]
    month = client.get("/2009/06/").text
    assert titles(month) == ["June piece"]
    assert "Showing posts from <strong>June 2009</strong>" in month
    assert titles(client.get("/2011/").text) == []


def test_blogger_archive_file_names_redirect_to_the_month(client):
    response = client.get("/2009_06_01_archive.html")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/2009/06/")


def test_search_matches_titles_and_bodies_of_published_posts(client, blog):
    blog.post(title="Shared vision", body="Managers must agree.")
    blog.post(title="Tools last", body="Choose software after the **vision**.")
    blog.post(title="Unrelated", body="Nothing here.")
    blog.post(title="Vision draft", draft=True)
    html = client.get("/search?q=VISION").text
    assert sorted(titles(html)) == ["Shared vision", "Tools last"]
    assert "Showing posts matching the search for <strong>VISION</strong>" in html
    # Every word must match.
    assert titles(client.get("/search?q=vision+managers").text) == ["Shared vision"]
    # LIKE wildcards are plain characters.
    assert titles(client.get("/search?q=%25").text) == []
    assert "No posts match your search." in client.get("/search?q=zzzz").text


def test_search_results_page_with_the_query_kept(client, blog):
    for i in range(3):
        blog.post(title=f"Strategy {i}", published=BASE_TIME + timedelta(days=i))
    first = client.get("/search?q=strategy&max-results=2").text
    link = older_link(first)
    assert parse_qs(urlsplit(link).query)["q"] == ["strategy"]
    assert titles(client.get(link).text) == ["Strategy 0"]


def test_sidebar_has_about_archive_labels_and_feed(client, blog):
    blog.settings(about="A blog about planning knowledge work.")
    blog.post(labels=("Tools",), published=datetime(2009, 6, 1, 12, tzinfo=UTC))
    blog.post(labels=("Tools", "Vision"), published=datetime(2009, 6, 2, 12, tzinfo=UTC))
    blog.post(published=datetime(2008, 11, 2, 12, tzinfo=UTC))
    html = client.get("/").text
    assert "A blog about planning knowledge work." in html
    # The newest year with its months; an older year on one line (tests/test_sidebar.py).
    archive = parse_html(html).one("section", class_="archive")
    assert [(words(item.text()), item.one("a").get("href")) for item in archive.find_all("li")] == [
        ("2009 (2) June (2)", "/2009/"),
        ("June (2)", "/2009/06/"),
        ("2008 (1)", "/2008/"),
    ]
    assert 'href="/search/label/Tools">Tools</a> <span class="count">(2)</span>' in html
    assert 'href="/search/label/Vision">Vision</a> <span class="count">(1)</span>' in html
    assert "Posts (Atom)</a>" in html


def test_sidebar_is_on_every_page(client, blog):
    blog.author("writer")
    post = blog.post(labels=("Tools",))
    for url in [
        "/",
        post.url,
        "/search/label/Tools",
        "/2009/",
        "/2009/06/",
        "/search?q=x",
        "/profile/writer",
        "/labels/",
    ]:
        assert "Blog Archive" in client.get(url).text, url


def test_profile_page_lists_the_authors_posts(client, blog):
    other = blog.author("dokafor")
    author = blog.author("mhollis", display_name="Margaret Hollis", bio="Writes on KM.")
    blog.post(title="Her post", author_id=author)
    blog.post(title="Someone else's", author_id=other)
    html = client.get("/profile/mhollis").text
    assert "Margaret Hollis" in html
    assert "Writes on KM." in html
    assert "Her post" in html
    assert "Someone else" not in html


def test_pages_use_only_assets_served_by_the_app(client, blog):
    post = blog.post(labels=("Tools",))
    for url in ["/", post.url, "/nowhere"]:
        html = client.get(url).text
        for src in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not src.startswith("//")
            if src.startswith("http"):
                # Only links a reader follows (none here are assets) may leave the site.
                assert "stylesheet" not in src
        # The canonical link names the page's own absolute address, the Webmention and
        # Pingback links the blog's own endpoints: none of them loads anything.
        loaded = re.sub(
            r'<link rel="(?:canonical|webmention|pingback)" href="http://blog\.test/[^"]*">',
            "",
            html,
        )
        assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', loaded)
    with client.get("/static/css/kmblog.css") as css:
        assert css.status_code == 200
        rules = re.sub(r"/\*.*?\*/", "", css.text, flags=re.S)
    assert "@import" not in rules
    assert "//" not in rules  # no url() to another host


def test_the_blog_has_an_icon_where_browsers_look_for_it(client):
    """Browsers ask for /favicon.ico where a page names no icon (a feed shown as XML)."""
    linked = re.search(r'<link rel="icon" href="([^"]+)"', client.get("/").text)
    assert linked is not None
    for url in ["/favicon.ico", linked.group(1)]:
        with client.get(url) as icon:
            assert icon.status_code == 200, url
            assert icon.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}, url
            assert icon.data.startswith(b"\x00\x00\x01\x00"), url  # an ICO file


def test_pages_are_readable_on_a_phone(client):
    assert (
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        in client.get("/").text
    )


def test_a_server_error_shows_the_blog_500_page(app, client, monkeypatch):
    from kmblog.blog import views

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(views, "list_posts", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "exploded" not in response.text and "Traceback" not in response.text


# HTML's valid global date and time string: seconds optional, at most three digits of
# a fraction (isoformat writes six), then Z or an offset.
HTML_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?(Z|[+-]\d\d:\d\d)")


def test_every_time_element_holds_a_valid_html_datetime(client, blog):
    """A comment sent through the form is stamped to the microsecond; its <time> says
    at most milliseconds, as HTML allows."""
    blog.settings(timezone="America/Los_Angeles")
    post = blog.post(published=utcnow().replace(microsecond=654321) - timedelta(hours=1))
    post_comment(client, post.url, body="Stamped to the microsecond.")
    stamps = [
        stamp
        for page in (post.url, "/")
        for stamp in re.findall(r'<time datetime="([^"]+)"', client.get(page).text)
    ]
    assert any("." in stamp for stamp in stamps), stamps  # a fraction was written
    for stamp in stamps:
        assert HTML_DATETIME.fullmatch(stamp), stamp


def test_a_blog_without_a_tagline_still_describes_its_pages(client, blog):
    """Both real Blogger samples come without a description; search engines and
    Lighthouse's SEO audit ask every page for one."""
    blog.settings(title="Field Notes", description="")
    post = blog.post(labels=("Maps",))
    for path in ("/", "/search/label/Maps", post.url):
        found = re.findall(r'<meta name="description" content="([^"]*)"', client.get(path).text)
        assert len(found) == 1 and found[0], (path, found)
