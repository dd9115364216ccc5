"""Series ("Part 2 of 5"): a series' page and feed, a post's place in its series, the
sitemap, the cache, and the authoring pages that make, rename, order and delete them.

Only published, visible posts count for readers: drafts and scheduled posts are never
listed, numbered, linked or fed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Post, Series, SeriesPost, utcnow
from tests.conftest import PASSWORD, AuthActions
from tests.factories import BASE_TIME, BlogBuilder, PostRef, SeriesRef
from tests.feed_checks import check_feed
from tests.forms import field_error, form_values
from tests.html_tree import hazards, parse_html
from tests.security.payloads import params
from tests.test_metadata import get_head
from tests.test_microformats import only_item, read
from tests.test_query_counts import MAX_QUERIES

SITE = "http://blog.test"
DAY = timedelta(days=1)


def titles_listed(client, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The post titles a series' page lists, in its order."""
    response = client.get(path)
    assert response.status_code == 200, path
    page = parse_html(response.text)
    listed = page.one("ol", class_="series-posts")
    return [link.text() for link in listed.find_all("a", class_="u-url")]


def series_part(client, url: str) -> str:  # type: ignore[no-untyped-def]
    """The "Part n of m in ..." line of a post's page ("" when there is none)."""
    found = parse_html(client.get(url).text).find("p", class_="series-part")
    return " ".join(found.text().split()) if found is not None else ""


def series_links(client, url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A post's previous and next links in its series: rel -> address."""
    pager = parse_html(client.get(url).text).find("nav", class_="series-pager")
    if pager is None:
        return {}
    return {link.get("rel", ""): link.get("href", "") for link in pager.find_all("a")}


def series_id(app, slug: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalars(select(Series.id).where(Series.slug == slug)).one()


def order_in(app, series: SeriesRef) -> list[int]:  # type: ignore[no-untyped-def]
    """The ids of a series' posts in its stored order, drafts too."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(SeriesPost.post_id)
                .where(SeriesPost.series_id == series.id)
                .order_by(SeriesPost.position, SeriesPost.post_id)
            )
        )


@pytest.fixture
def five_parts(blog: BlogBuilder) -> tuple[SeriesRef, list[PostRef]]:
    """A series of five posts in an order that is not their date order: four published
    over the days, the third of the series a draft, and one scheduled for later."""
    oldest = blog.post(title="Agree the goals", published=BASE_TIME + 2 * DAY)
    newest = blog.post(title="Count the assets", published=BASE_TIME + 5 * DAY)
    draft = blog.post(title="Unfinished thoughts", draft=True)
    middle = blog.post(title="Choose the tools", published=BASE_TIME + 3 * DAY)
    later = blog.post(title="Not yet out", published=utcnow() + 30 * DAY)
    order = [newest, oldest, draft, middle, later]
    series = blog.series(
        "From Plan to Practice", tuple(order), description="Four steps, in *order*."
    )
    return series, order


# --- readers: the series' page ----------------------------------------------------------------


def test_the_series_page_lists_its_visible_posts_in_the_authors_order(client, five_parts):
    series, _ = five_parts

    assert titles_listed(client, series.url) == [
        "Count the assets",
        "Agree the goals",
        "Choose the tools",
    ]
    page = client.get(series.url).text
    assert "Unfinished thoughts" not in page
    assert "Not yet out" not in page
    tree = parse_html(page)
    numbers = [n.text() for n in tree.find_all("span", class_="series-number")]
    assert numbers == ["Part 1:", "Part 2:", "Part 3:"]
    assert "A series of 3 posts" in tree.one("p", class_="status-banner").text()
    # The author's description, rendered from Markdown.
    assert "<em>order</em>" in page


def test_a_series_without_a_visible_post_has_no_page_and_no_feed(client, blog):
    draft = blog.post(title="Only a draft", draft=True)
    scheduled = blog.post(title="Only later", published=utcnow() + DAY)
    hidden = blog.series("Coming soon", (draft, scheduled))
    empty = blog.series("Nothing yet")

    for path in (hidden.url, hidden.feed, empty.url, empty.feed, "/series/no-such.html"):
        assert client.get(path).status_code == 404, path
    assert client.get("/feeds/series/no-such/default").status_code == 404


def test_a_post_says_its_part_and_links_the_parts_before_and_after_it(client, five_parts):
    series, (newest, oldest, draft, middle, later) = five_parts

    assert series_part(client, newest.url) == "Part 1 of 3 in From Plan to Practice"
    # The draft between them neither counts nor is linked.
    assert series_part(client, oldest.url) == "Part 2 of 3 in From Plan to Practice"
    assert series_part(client, middle.url) == "Part 3 of 3 in From Plan to Practice"
    part = parse_html(client.get(oldest.url).text).one("p", class_="series-part")
    assert part.one("a").get("href") == series.url

    assert series_links(client, newest.url) == {"next": oldest.url}
    assert series_links(client, oldest.url) == {"prev": newest.url, "next": middle.url}
    assert series_links(client, middle.url) == {"prev": oldest.url}


def test_a_post_in_no_series_says_nothing_of_series(client, blog, five_parts):
    alone = blog.post(title="A post on its own")
    assert series_part(client, alone.url) == ""
    assert series_links(client, alone.url) == {}


def test_a_series_of_one_visible_post_has_no_pager(client, blog):
    only = blog.post(title="The only part")
    blog.series("Just started", (only, blog.post(title="Draft part", draft=True)))
    assert series_part(client, only.url) == "Part 1 of 1 in Just started"
    assert series_links(client, only.url) == {}


@pytest.mark.parametrize(
    "payload", params("script-plain", "img-onerror", "svg-onload", "tpl-jinja-multiply-spaced")
)
def test_hostile_series_titles_and_descriptions_stay_text(client, blog, payload):
    post = blog.post(title="Part one")
    series = blog.series(f"Series {payload}", (post,), description=f"About {payload}")

    assert hazards(parse_html(client.get(series.url).text).one("main")) == []
    part = parse_html(client.get(post.url).text).one("p", class_="series-part")
    assert hazards(part) == []
    assert f"Series {payload}" in part.text()
    assert (
        payload in parse_html(client.get(series.url).text).one("h2", class_="series-title").text()
    )
    if "{{" in payload:
        assert "4011" not in client.get(series.url).text
    feed = feedparser.parse(client.get(series.feed).data)
    assert feed.feed.title.endswith(f"Series {payload}")


# --- readers: the feed, the head, microformats, the sitemap -----------------------------------


def test_the_series_feed_has_its_visible_posts_newest_first_and_passes_the_checks(
    client, five_parts
):
    series, (newest, oldest, _draft, middle, _later) = five_parts
    page_url = SITE + series.url

    for variant in ("", "?alt=rss", "?max-results=2", "?start-index=2&max-results=1"):
        url = SITE + series.feed + variant
        response = client.get(url)
        assert response.status_code == 200, url
        assert check_feed(response.data, url, page_url) == [], url

    feed = feedparser.parse(client.get(series.feed).data)
    assert feed.bozo == 0
    assert feed.feed.title == "A Knowledge Management Blog: From Plan to Practice"
    assert feed.feed.subtitle == "Four steps, in order."
    assert [entry.link for entry in feed.entries] == [
        SITE + post.url for post in (newest, middle, oldest)
    ]
    paged = feedparser.parse(client.get(series.feed + "?max-results=2").data)
    assert len(paged.entries) == 2
    assert paged.feed.opensearch_totalresults == "3"


def test_the_series_page_advertises_its_feed_and_describes_itself(client, blog, five_parts):
    series, _ = five_parts
    page = parse_html(client.get(series.url).text)
    feeds = {
        link.get("href"): link.get("title")
        for link in page.one("head").find_all("link", rel="alternate")
    }
    assert feeds[series.feed] == "A Knowledge Management Blog - From Plan to Practice - Atom"

    head = get_head(client, series.url)
    assert head.canonical == [SITE + series.url]
    assert head.og("og:url") == SITE + series.url
    assert head.description == ["Four steps, in order."]
    crumbs = head.ld("BreadcrumbList")["itemListElement"]
    assert [(c["name"], c["item"]) for c in crumbs] == [
        ("A Knowledge Management Blog", f"{SITE}/"),
        ("From Plan to Practice", SITE + series.url),
    ]
    # Without a description of its author's, a line of ours.
    plain = blog.series("Plain", (blog.post(title="Plain part"),))
    assert get_head(client, plain.url).description == [
        "1 post in the series “Plain” on A Knowledge Management Blog, in reading order."
    ]
    assert get_head(client, plain.url + "?utm_source=x").canonical == [SITE + plain.url]


def test_the_series_page_is_an_h_feed_of_its_entries_in_order(client, five_parts):
    series, (newest, oldest, _draft, middle, _later) = five_parts
    feed = only_item(read(client, series.url), "h-feed")
    assert feed["properties"]["name"] == ["A Knowledge Management Blog: From Plan to Practice"]
    entries = feed["children"]
    assert [entry["properties"]["url"] for entry in entries] == [
        [SITE + post.url] for post in (newest, oldest, middle)
    ]
    assert entries[0]["properties"]["name"] == ["Count the assets"]
    assert entries[0]["properties"]["author"][0]["type"] == ["h-card"]
    assert "published" in entries[0]["properties"]


def test_the_sitemap_lists_series_with_a_visible_post(client, blog, five_parts):
    series, _ = five_parts
    hidden = blog.series("Drafts only", (blog.post(title="Draft", draft=True),))
    sitemap = client.get("/sitemap.xml").text
    assert f"<loc>{SITE}{series.url}</loc>" in sitemap
    assert hidden.url not in sitemap


def test_a_sitemap_split_over_files_keeps_each_series_once(make_app, blog):
    posts = blog.posts(3)
    made = [blog.series(f"Series {n}", (post,)) for n, post in enumerate(posts)]
    client = make_app(SITEMAP_MAX_URLS=2).test_client()
    listed = []
    for number in range(1, 5):
        response = client.get(f"/sitemap-{number}.xml")
        if response.status_code == 404:
            break
        listed += [line for line in response.text.split("<loc>") if "/series/" in line]
    assert sorted(loc.split("</loc>")[0] for loc in listed) == sorted(
        SITE + series.url for series in made
    )


# --- cost and cache ---------------------------------------------------------------------------


@pytest.fixture
def uncached(make_app):  # type: ignore[no-untyped-def]
    return make_app(PAGE_CACHE=False, PAGE_VERSION_RECHECK_SECONDS=0).test_client()


def queries_for(client, count_queries, url: str) -> int:  # type: ignore[no-untyped-def]
    client.get(url)  # the sidebar of this version, built once
    with count_queries() as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_a_series_page_costs_the_same_few_queries_however_long_the_series(
    uncached, blog, count_queries
):
    short = blog.series("Short", tuple(blog.posts(2, labels=("KM",))))
    long = blog.series(
        "Long", tuple(blog.posts(25, start=BASE_TIME + 10 * DAY, labels=("KM", "Tools")))
    )
    counts = {
        path: queries_for(uncached, count_queries, path)
        for path in (short.url, long.url, short.feed, long.feed)
    }
    assert counts[short.url] == counts[long.url] <= MAX_QUERIES, counts
    # The page version, and the series with its posts and their authors in one query.
    assert counts[short.url] == 2, counts
    assert counts[short.feed] == counts[long.feed] <= MAX_QUERIES, counts


def test_a_post_in_a_series_costs_one_query_more_and_a_post_in_none_nothing(
    uncached, blog, count_queries
):
    alone = blog.post(title="Alone", labels=("KM",))
    parts = blog.posts(6, start=BASE_TIME + DAY, labels=("KM",))
    blog.series("Six parts", tuple(parts))
    before_any_series = queries_for(uncached, count_queries, alone.url)

    in_series = [queries_for(uncached, count_queries, post.url) for post in parts]
    # A post in no series: its series is joined with the post (blog.services.find_post),
    # so nothing is added; one in a series: one query for its parts' titles and addresses.
    assert queries_for(uncached, count_queries, alone.url) == before_any_series
    assert set(in_series) == {before_any_series + 1}, in_series
    assert max(in_series) <= MAX_QUERIES


def test_changing_the_order_changes_the_cached_pages(app, make_app, blog):
    client = make_app(PAGE_VERSION_RECHECK_SECONDS=0).test_client()
    first, second = blog.post(title="First"), blog.post(title="Second")
    series = blog.series("Ordered", (first, second))
    page = client.get(series.url)
    assert (
        client.get(series.url, headers={"If-None-Match": page.headers["ETag"]}).status_code == 304
    )
    assert series_part(client, first.url) == "Part 1 of 2 in Ordered"

    with app.app_context():
        from kmblog.pages.services import Direction
        from kmblog.series.services import move_in_series

        stored = db.session.get(Series, series.id)
        assert stored is not None
        assert move_in_series(stored, first.id, Direction.DOWN, utcnow())

    again = client.get(series.url, headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 200
    assert titles_listed(client, series.url) == ["Second", "First"]
    assert series_part(client, first.url) == "Part 2 of 2 in Ordered"


def test_unpublishing_or_deleting_a_post_takes_it_out_of_the_count(app, client, blog, auth, admin):
    parts = blog.posts(3)
    series = blog.series("Three", tuple(parts))
    auth.login("admin")
    edit = f"/manage/posts/{parts[1].id}/edit"
    fields = form_values(parse_html(auth.client.get(edit).text).one("form", method="post"))
    assert auth.client.post(edit, data={**fields, "action": "unpublish"}).status_code == 303
    assert series_part(client, parts[2].url) == "Part 2 of 2 in Three"
    assert order_in(app, series) == [post.id for post in parts]  # still in it, as a draft

    delete = f"/manage/posts/{parts[0].id}/delete"
    assert auth.post_form(delete, {}).status_code == 303
    assert order_in(app, series) == [parts[1].id, parts[2].id]
    assert series_part(client, parts[2].url) == "Part 1 of 1 in Three"


# --- authors ----------------------------------------------------------------------------------


def make_series(auth: AuthActions, title: str, **fields: str) -> Any:
    return auth.post_form("/manage/series/new", {"title": title, **fields})


def test_an_author_makes_renames_and_deletes_a_series(app, client, blog, auth, writer):
    post = blog.post(title="Part of it", author_id=writer)
    auth.login("writer")
    assert auth.client.get("/manage/series/").status_code == 200

    made = make_series(
        auth, "Planning <Basics>", description="What **to** do.\n\n<script>x()</script>"
    )
    assert made.status_code == 303
    number = series_id(app, "planning-basics")
    assert made.headers["Location"].endswith(f"/manage/series/{number}/edit")
    with app.app_context():
        stored = db.session.get(Series, number)
        assert stored is not None
        assert "<script" not in stored.description_html
        assert "<strong>to</strong>" in stored.description_html

    # The post joins it from the editor.
    edit = f"/manage/posts/{post.id}/edit"
    fields = form_values(parse_html(auth.client.get(edit).text).one("form", method="post"))
    assert auth.client.post(edit, data={**fields, "series_id": str(number)}).status_code == 303
    assert titles_listed(client, "/series/planning-basics.html") == ["Part of it"]

    renamed = auth.post_form(
        f"/manage/series/{number}/edit",
        {"title": "Planning Basics, Revised", "description": "", "slug": "moved"},
    )
    assert renamed.status_code == 303
    # Renamed, at the same address (its links keep working).
    assert series_part(client, post.url) == "Part 1 of 1 in Planning Basics, Revised"
    assert client.get("/series/moved.html").status_code == 404

    deleted = auth.post_form(f"/manage/series/{number}/delete", {})
    assert deleted.status_code == 303
    assert client.get("/series/planning-basics.html").status_code == 404
    assert series_part(client, post.url) == ""
    assert client.get(post.url).status_code == 200


def test_a_new_series_needs_a_title_and_a_good_address(app, auth, writer):
    auth.login("writer")
    refused = make_series(auth, "   ")
    assert refused.status_code == 422
    assert field_error(refused.text, "title") == "A series needs a title."
    bad_slug = make_series(auth, "Fine", slug="Not A Slug!")
    assert bad_slug.status_code == 422
    assert "lower-case" in field_error(bad_slug.text, "slug")
    assert make_series(auth, "Same name").status_code == 303
    assert make_series(auth, "Same name").status_code == 303
    with app.app_context():
        slugs = set(db.session.scalars(select(Series.slug)))
    assert slugs == {"same-name", "same-name-2"}
    expired = auth.client.post("/manage/series/new", data={"title": "No token"})
    assert expired.status_code == 400
    assert 'value="No token"' in expired.text


def test_up_and_down_buttons_reorder_a_series_without_script(app, client, blog, auth, admin):
    parts = blog.posts(3)
    series = blog.series("Order me", tuple(parts))
    auth.login("admin")
    editor = f"/manage/series/{series.id}/edit"
    page = parse_html(auth.client.get(editor).text)
    row = page.one("tr", id=f"post-{parts[2].id}")
    form = row.one("form")
    assert form.find("button", value="down").has("disabled")  # the last cannot go down

    moved = auth.client.post(form.get("action"), data={**form_values(form), "direction": "up"})
    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(f"#post-{parts[2].id}")
    assert order_in(app, series) == [parts[0].id, parts[2].id, parts[1].id]
    moved = auth.post_form(
        f"/manage/series/{series.id}/posts/{parts[2].id}/move", {"direction": "up"}, editor
    )
    assert order_in(app, series) == [parts[2].id, parts[0].id, parts[1].id]
    # At the top already: nothing moves.
    auth.post_form(
        f"/manage/series/{series.id}/posts/{parts[2].id}/move", {"direction": "up"}, editor
    )
    assert order_in(app, series) == [parts[2].id, parts[0].id, parts[1].id]
    assert titles_listed(client, series.url) == [parts[2].title, parts[0].title, parts[1].title]

    bad = auth.post_form(
        f"/manage/series/{series.id}/posts/{parts[0].id}/move", {"direction": "sideways"}, editor
    )
    assert bad.status_code == 400
    taken = auth.post_form(f"/manage/series/{series.id}/posts/{parts[0].id}/remove", {}, editor)
    assert taken.status_code == 303
    assert order_in(app, series) == [parts[2].id, parts[1].id]
    assert client.get(parts[0].url).status_code == 200
    # Without a token the buttons do nothing.
    no_token = auth.client.post(
        f"/manage/series/{series.id}/posts/{parts[1].id}/move", data={"direction": "up"}
    )
    assert no_token.status_code == 400
    assert order_in(app, series) == [parts[2].id, parts[1].id]


def test_the_editor_moves_a_post_between_series_and_out(app, blog, auth, admin):
    post = blog.post(title="Wanderer")
    first = blog.series("First", (blog.post(title="Already here"),))
    second = blog.series("Second")
    auth.login("admin")
    edit = f"/manage/posts/{post.id}/edit"

    def save(**changes: str) -> int:
        form = parse_html(auth.client.get(edit).text).one("form", method="post")
        fields = {**form_values(form), **changes}
        fields = {key: value for key, value in fields.items() if value is not None}
        return int(auth.client.post(edit, data=fields).status_code)

    assert save(series_id=str(first.id)) == 303
    assert order_in(app, first)[-1] == post.id  # joins at the end
    select_field = parse_html(auth.client.get(edit).text).one("select", id="series_id")
    chosen = [o.get("value") for o in select_field.find_all("option") if o.has("selected")]
    assert chosen == [str(first.id)]
    assert save(series_id=str(second.id)) == 303
    assert post.id not in order_in(app, first)
    assert order_in(app, second) == [post.id]
    # Saved by a client that sends no series choice (no select shown): it stays.
    form = parse_html(auth.client.get(edit).text).one("form", method="post")
    without = {key: value for key, value in form_values(form).items() if key != "series_id"}
    assert auth.client.post(edit, data=without).status_code == 303
    assert order_in(app, second) == [post.id]
    assert save(series_id="0") == 303
    assert order_in(app, second) == []
    assert save(series_id="999999") == 422


def test_a_new_post_can_join_a_series_as_it_is_written(app, blog, auth, admin):
    series = blog.series("Started", (blog.post(title="One"),))
    auth.login("admin")
    form = parse_html(auth.client.get("/manage/posts/new").text).one("form", method="post")
    fields = {**form_values(form), "title": "Two", "body": "More.", "series_id": str(series.id)}
    assert (
        auth.client.post("/manage/posts/new", data={**fields, "action": "publish"}).status_code
        == 303
    )
    with app.app_context():
        made = db.session.scalars(select(Post).where(Post.title == "Two")).one()
        assert made.series_entry is not None and made.series_entry.series_id == series.id
    assert titles_listed(auth.client, series.url) == ["One", "Two"]


def test_authors_change_only_their_own_series(app, client, blog, auth, admin, writer):
    other = blog.author("other", password=PASSWORD)
    theirs = blog.series(
        "Theirs", (blog.post(title="Their part", author_id=other),), author_id=other
    )
    mine = blog.series("Mine", author_id=writer)
    own_post = blog.post(title="My post", author_id=writer)
    auth.login("writer")

    for path in (
        f"/manage/series/{theirs.id}/edit",
        f"/manage/series/{theirs.id}/delete",
    ):
        assert auth.client.get(path).status_code == 403, path
    editor = f"/manage/series/{mine.id}/edit"
    for path, data in (
        (f"/manage/series/{theirs.id}/edit", {"title": "Taken over"}),
        (f"/manage/series/{theirs.id}/delete", {}),
        (f"/manage/series/{theirs.id}/posts/{own_post.id}/move", {"direction": "up"}),
        (f"/manage/series/{theirs.id}/posts/{own_post.id}/remove", {}),
    ):
        assert auth.post_form(path, data, editor).status_code == 403, path
    with app.app_context():
        assert db.session.get(Series, theirs.id).title == "Theirs"  # type: ignore[union-attr]

    # The editor offers only their own series, and refuses another's number.
    edit = f"/manage/posts/{own_post.id}/edit"
    options = parse_html(auth.client.get(edit).text).one("select", id="series_id")
    assert [o.text() for o in options.find_all("option")] == ["None", "Mine"]
    form = form_values(parse_html(auth.client.get(edit).text).one("form", method="post"))
    refused = auth.client.post(edit, data={**form, "series_id": str(theirs.id)})
    assert refused.status_code == 422
    assert field_error(refused.text, "series_id") == "Choose one of the series listed."
    assert order_in(app, theirs) != [] and own_post.id not in order_in(app, theirs)
    # The list shows theirs too, without an edit link.
    listing = parse_html(auth.client.get("/manage/series/").text)
    row = listing.one("tr", id=f"series-{theirs.id}")
    assert row.find("a", href=f"/manage/series/{theirs.id}/edit") is None


def test_a_post_put_in_a_series_by_an_admin_stays_there_when_its_author_saves_it(
    app, blog, auth, admin, writer
):
    post = blog.post(title="Writer's post", author_id=writer)
    series = blog.series("Admin's series", (post,), author_id=admin)
    auth.login("writer")
    edit = f"/manage/posts/{post.id}/edit"
    form = form_values(parse_html(auth.client.get(edit).text).one("form", method="post"))
    assert form["series_id"] == str(series.id)
    assert auth.client.post(edit, data=form).status_code == 303
    assert order_in(app, series) == [post.id]


@pytest.mark.parametrize(
    "path",
    [
        "/manage/series/",
        "/manage/series/new",
        "/manage/series/1/edit",
        "/manage/series/1/delete",
    ],
)
def test_the_series_pages_are_for_signed_in_authors(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "path",
    [
        "/manage/series/0/edit",
        "/manage/series/2147483648/edit",
        "/manage/series/99999999999999999999/delete",
    ],
)
def test_a_series_number_that_names_nothing_is_a_404(auth, admin, path):
    auth.login("admin")
    assert auth.client.get(path).status_code == 404


def test_moving_a_post_number_that_names_nothing_changes_nothing(app, blog, auth, admin):
    parts = blog.posts(2)
    series = blog.series("Two", tuple(parts))
    auth.login("admin")
    editor = f"/manage/series/{series.id}/edit"
    for post_id in ("0", "2147483648", "999999"):
        response = auth.post_form(
            f"/manage/series/{series.id}/posts/{post_id}/move", {"direction": "up"}, editor
        )
        assert response.status_code in {303, 404}, post_id
    assert order_in(app, series) == [post.id for post in parts]


# --- the JSON export --------------------------------------------------------------------------


def test_the_json_export_holds_each_series_with_its_posts_in_order(app, runner, blog, tmp_path):
    parts = blog.posts(3)
    series = blog.series("Exported", (parts[2], parts[0], parts[1]), description="About *it*.")
    out = tmp_path / "blog.json"
    result = runner.invoke(args=["export", "json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    (exported,) = data["series"]
    assert exported["title"] == "Exported"
    assert exported["slug"] == series.slug
    assert exported["path"] == series.url
    assert exported["description_source"] == "About *it*."
    assert exported["post_ids"] == [parts[2].id, parts[0].id, parts[1].id]


# --- the command line -------------------------------------------------------------------------


def test_rerender_renders_series_descriptions_again(app, runner, client, blog):
    series = blog.series("Kept", (blog.post(title="Part"),), description="Plain *words*.")
    with app.app_context():
        stored = db.session.get(Series, series.id)
        assert stored is not None
        stored.description_html = "<p>stale</p>"
        db.session.commit()
    assert "stale" in client.get(series.url).text
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    page = client.get(series.url).text
    assert "stale" not in page
    assert "<em>words</em>" in page


def test_the_demo_blog_has_a_series_of_four_articles(runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    listed = titles_listed(client, "/series/from-plan-to-practice.html")
    assert len(listed) == 4
    assert listed[0].startswith("Writing a KM Plan")
    part = series_part(client, "/2009/04/taking-stock-an-inventory-of-knowledge-assets.html")
    assert part == "Part 2 of 4 in From Plan to Practice"
