"""What a page tells search engines, link cards and the fediverse about itself, read back
the way they read it: OpenGraph and JSON-LD by extruct (the parser Scrapy's projects
use), the Twitter/X card, canonical link and the rest of <head> by an HTML parser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import extruct
import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Comment, CommentStatus, Post, User
from kmblog.rendering import post_description
from tests.factories import BASE_TIME, PostRef
from tests.forms import field_error, form_values
from tests.html_tree import Node, parse_html
from tests.security.payloads import params

SITE = "http://blog.test"
ZONE = "America/Los_Angeles"  # -07:00 in June: every date must carry it


@dataclass
class Head:
    """A page's metadata as the parsers read it."""

    canonical: list[str]
    description: list[str]
    open_graph: list[tuple[str, str]]
    twitter: dict[str, str]
    json_ld: list[dict[str, Any]]
    meta: list[Node]
    scripts: list[Node]

    def og(self, name: str) -> str:
        values = self.og_all(name)
        assert len(values) == 1, f"{name}: {values}"
        return values[0]

    def og_all(self, name: str) -> list[str]:
        return [value for key, value in self.open_graph if key == name]

    def ld(self, kind: str) -> dict[str, Any]:
        found = [data for data in self.json_ld if data.get("@type") == kind]
        assert len(found) == 1, f"{kind}: {[d.get('@type') for d in self.json_ld]}"
        return found[0]

    def named(self, name: str) -> list[str]:
        return [m.get("content", "") for m in self.meta if m.get("name") == name]


def read_head(html: str, url: str) -> Head:
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "opengraph"], uniform=False)
    open_graph = [pair for found in data["opengraph"] for pair in found["properties"]]
    head = parse_html(html).one("head")
    meta = head.find_all("meta")
    return Head(
        canonical=[link.get("href", "") for link in head.find_all("link", rel="canonical")],
        description=[m.get("content", "") for m in meta if m.get("name") == "description"],
        open_graph=[(key, value) for key, value in open_graph],
        twitter={
            m.get("name", ""): m.get("content", "")
            for m in meta
            if m.get("name", "").startswith("twitter:")
        },
        json_ld=data["json-ld"],
        meta=meta,
        scripts=parse_html(html).find_all("script"),
    )


def get_head(client, url: str) -> Head:  # type: ignore[no-untyped-def]
    response = client.get(url, follow_redirects=True)
    assert response.status_code == 200, url
    return read_head(response.text, SITE + url)


def when(value: str) -> datetime:
    """An ISO 8601 date and time that must carry its offset."""
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, value
    return moment


@pytest.fixture
def los_angeles(blog):  # type: ignore[no-untyped-def]
    blog.settings(timezone=ZONE, description="Notes on planning knowledge work.")


def _post_with_comments(blog, **post_args: Any) -> PostRef:  # type: ignore[no-untyped-def]
    post = blog.post(**post_args)
    blog.comment(post, body="Tools come <b>last</b>.", name="Ann", url="https://ann.example/")
    blog.comment(post, body="Agreed & noted.", at=BASE_TIME + timedelta(hours=3))
    blog.comment(post, body="Held back.", name="Spam", status=CommentStatus.PENDING)
    return post


# --- a post --------------------------------------------------------------------------


def test_a_posts_cards_and_json_ld_match_the_post(client, blog, los_angeles):
    """OpenGraph, the Twitter/X card and the BlogPosting name the post's title, its
    author's summary, dates with their offset, author, labels, picture and comments."""
    author = blog.author("dee", display_name="Dee Planner")
    post = _post_with_comments(
        blog,
        title="Planning before tools",
        summary="Why a KM plan starts from the work, not from software.",
        body="The first paragraph.\n\n![A whiteboard plan](/static/plan.png)\n\nMore.",
        labels=("KM Strategy", "Tools"),
        author_id=author,
    )
    head = get_head(client, post.url)
    address = SITE + post.url
    summary = "Why a KM plan starts from the work, not from software."

    assert head.canonical == [address]
    assert head.description == [summary]
    assert head.og("og:type") == "article"
    assert head.og("og:title") == "Planning before tools"
    assert head.og("og:url") == address
    assert head.og("og:description") == summary
    assert head.og("og:site_name") == "A Knowledge Management Blog"
    assert head.og("og:image") == f"{SITE}/static/plan.png"
    assert when(head.og("article:published_time")) == post.published_at
    assert when(head.og("article:published_time")).utcoffset() == timedelta(hours=-7)
    assert when(head.og("article:modified_time")) >= post.published_at  # type: ignore[operator]
    assert head.og_all("article:tag") == ["KM Strategy", "Tools"]
    assert head.og("article:author") == f"{SITE}/profile/dee"
    assert head.twitter == {
        "twitter:card": "summary_large_image",
        "twitter:title": "Planning before tools",
        "twitter:description": summary,
        "twitter:image": f"{SITE}/static/plan.png",
    }

    posting = head.ld("BlogPosting")
    assert posting["@context"] == "https://schema.org"
    assert posting["headline"] == "Planning before tools"
    assert posting["description"] == summary
    assert posting["url"] == address
    assert posting["mainEntityOfPage"] == {"@type": "WebPage", "@id": address}
    assert when(posting["datePublished"]) == post.published_at
    assert when(posting["dateModified"]) >= when(posting["datePublished"])
    assert posting["author"] == {
        "@type": "Person",
        "name": "Dee Planner",
        "url": f"{SITE}/profile/dee",
    }
    assert posting["publisher"]["name"] == "A Knowledge Management Blog"
    assert posting["keywords"] == ["KM Strategy", "Tools"]
    assert posting["image"] == f"{SITE}/static/plan.png"
    # The two published comments, as the page shows them; never the one held back.
    assert posting["commentCount"] == 2
    comments = posting["comment"]
    assert [c["@type"] for c in comments] == ["Comment", "Comment"]
    assert [c["author"]["name"] for c in comments] == ["Ann", "Anonymous"]
    assert comments[0]["author"]["url"] == "https://ann.example/"
    assert "url" not in comments[1]["author"]
    assert [c["text"] for c in comments] == ["Tools come last.", "Agreed & noted."]
    assert [when(c["dateCreated"]) for c in comments] == [
        BASE_TIME + timedelta(hours=1),
        BASE_TIME + timedelta(hours=3),
    ]
    assert all(c["url"].startswith(address + "?showComment=") for c in comments)
    # One BlogPosting, nothing else claiming to be the page.
    assert len(head.json_ld) == 1


def test_without_a_summary_a_post_is_described_by_its_first_paragraph(client, blog):
    first = (
        "Knowledge management begins with the questions people ask at work every day, "
        "long before anyone picks a wiki, a portal or a search engine to answer them "
        "for the whole firm."
    )
    post = blog.post(title="Questions first", body=f"{first}\n\nA second paragraph entirely.")
    head = get_head(client, post.url)
    description = head.og("og:description")
    assert head.description == [description]
    assert head.twitter["twitter:description"] == description
    assert head.ld("BlogPosting")["description"] == description
    assert len(description) <= 160
    assert description.endswith("…")
    assert first.startswith(description[:-1])
    assert "second paragraph" not in description
    # No picture: a small card, and no image anywhere.
    assert head.twitter["twitter:card"] == "summary"
    assert "twitter:image" not in head.twitter
    assert head.og_all("og:image") == []
    assert "image" not in head.ld("BlogPosting")
    assert "comment" not in head.ld("BlogPosting")
    assert head.ld("BlogPosting")["commentCount"] == 0


def test_a_post_image_given_as_an_absolute_address_stays_as_it_is(client, blog):
    post = blog.post(body="Look: ![chart](https://img.example/chart.png) and ![b](/b.png)")
    head = get_head(client, post.url)
    assert head.og("og:image") == "https://img.example/chart.png"


# --- the home page, labels and archives ------------------------------------------------


def test_the_home_page_is_a_blog_with_its_posts(client, blog, los_angeles):
    older = blog.post(title="Older thoughts", published=BASE_TIME)
    newer = blog.post(title="Newer thoughts", published=BASE_TIME + timedelta(days=1))
    head = get_head(client, "/")
    assert head.canonical == [f"{SITE}/"]
    assert head.description == ["Notes on planning knowledge work."]
    assert head.og("og:type") == "website"
    assert head.og("og:url") == f"{SITE}/"
    assert head.twitter["twitter:card"] == "summary"
    found = head.ld("Blog")
    assert found["name"] == "A Knowledge Management Blog"
    assert found["url"] == f"{SITE}/"
    assert found["description"] == "Notes on planning knowledge work."
    listed = found["blogPost"]
    assert [p["headline"] for p in listed] == ["Newer thoughts", "Older thoughts"]
    assert [p["url"] for p in listed] == [SITE + newer.url, SITE + older.url]
    assert when(listed[1]["datePublished"]) == older.published_at


def test_a_label_page_has_its_breadcrumbs(client, blog):
    blog.post(labels=("KM Strategy",))
    blog.post(labels=("KM Strategy", "Tools"))
    head = get_head(client, "/search/label/KM%20Strategy")
    address = f"{SITE}/search/label/KM%20Strategy"
    assert head.canonical == [address]
    assert head.og("og:url") == address
    assert head.og("og:type") == "website"
    assert "2 posts" in head.description[0] and "KM Strategy" in head.description[0]
    crumbs = head.ld("BreadcrumbList")["itemListElement"]
    assert [(c["position"], c["name"], c["item"]) for c in crumbs] == [
        (1, "A Knowledge Management Blog", f"{SITE}/"),
        (2, "Labels", f"{SITE}/labels/"),
        (3, "KM Strategy", address),
    ]


def test_archive_pages_have_their_breadcrumbs(client, blog):
    blog.post(published=BASE_TIME)  # June 2009
    blog.post(published=BASE_TIME + timedelta(days=10))  # July 2009
    month = get_head(client, "/2009/07/")
    assert month.canonical == [f"{SITE}/2009/07/"]
    assert "1 post " in month.description[0] and "July 2009" in month.description[0]
    crumbs = month.ld("BreadcrumbList")["itemListElement"]
    assert [(c["position"], c["name"], c["item"]) for c in crumbs] == [
        (1, "A Knowledge Management Blog", f"{SITE}/"),
        (2, "2009", f"{SITE}/2009/"),
        (3, "July 2009", f"{SITE}/2009/07/"),
    ]
    year = get_head(client, "/2009/")
    assert year.canonical == [f"{SITE}/2009/"]
    assert "2 posts" in year.description[0]
    assert [c["name"] for c in year.ld("BreadcrumbList")["itemListElement"]] == [
        "A Knowledge Management Blog",
        "2009",
    ]


def test_other_pages_describe_themselves(client, blog):
    author = blog.author("dee", display_name="Dee Planner", bio="Writes about KM plans.")
    blog.post(labels=("Tools",), author_id=author)
    profile = get_head(client, "/profile/dee")
    assert profile.canonical == [f"{SITE}/profile/dee"]
    assert profile.description == ["Writes about KM plans."]
    labels = get_head(client, "/labels/")
    assert labels.canonical == [f"{SITE}/labels/"]
    assert labels.description == [
        "All 1 label of A Knowledge Management Blog, each with its number of posts."
    ]
    plans = get_head(client, "/plans/")
    assert plans.canonical == [f"{SITE}/plans/"]
    assert plans.description[0].startswith("All KM Plans")
    for head in (profile, labels, plans):
        assert head.og("og:type") == "website"
        assert head.og("og:url") == head.canonical[0]


# --- one address a page ----------------------------------------------------------------


def test_query_variants_and_paged_pages_name_the_one_address(make_app, blog):
    """Comment pages, reply links, Blogger's ?m=1 and ?showComment=, tracking
    parameters, and the older pages of the home page, a label, an archive and a profile
    all name the address of the page they belong to."""
    client = make_app(COMMENTS_PER_PAGE=2).test_client()
    author = blog.author("dee")
    posts = [
        blog.post(labels=("Tools",), published=BASE_TIME + timedelta(days=n), author_id=author)
        for n in range(4)
    ]
    post = posts[1]
    comments = [
        blog.comment(post, name=f"C{n}", at=BASE_TIME + timedelta(days=1, hours=n))
        for n in range(5)
    ]
    address = SITE + post.url
    older = "updated-max=2009-07-01T00:00:00%2B00:00&max-results=1"
    variants = {
        address: [
            post.url,
            f"{post.url}?showComment={comments[0].millis}",
            f"{post.url}?comments-before={comments[-1].id}",
            f"{post.url}?comments-after={comments[0].id}",
            f"{post.url}?reply={comments[2].id}",
            f"{post.url}?m=1",
            f"{post.url}?utm_source=newsletter&utm_medium=email&fbclid=abc",
        ],
        f"{SITE}/": ["/", "/?m=1", "/?utm_campaign=x", f"/search?{older}", "/search?q=+"],
        f"{SITE}/search/label/Tools": ["/search/label/Tools", f"/search/label/Tools?{older}"],
        f"{SITE}/2009/07/": ["/2009/07/", f"/2009/07/?{older}"],
        f"{SITE}/2009/": ["/2009/?max-results=2"],
        f"{SITE}/profile/dee": ["/profile/dee", f"/profile/dee?{older}"],
        f"{SITE}/search?q=series+post": [
            "/search?q=series+post",
            "/search?q=++series+++post+&start-index=2&max-results=1",
            f"/search?q=series+post&{older}",
        ],
    }
    for canonical, urls in variants.items():
        for url in urls:
            head = get_head(client, url)
            assert head.canonical == [canonical], url
            assert head.og("og:url") == canonical, url


def test_the_canonical_link_is_the_same_for_every_visitor(client, blog, auth, writer):
    """Cached pages go to every reader: what a visitor carries (a session, any cookie)
    changes nothing in the head."""
    post = blog.post(title="Same for all")
    blog.comment(post, name="Ann")
    reader = get_head(client, post.url)
    client.set_cookie("tracking", "abc", domain="blog.test")
    assert get_head(client, post.url) == reader
    auth.login("writer")
    author = get_head(client, post.url)
    assert author.canonical == reader.canonical
    assert author.open_graph == reader.open_graph
    assert author.json_ld == reader.json_ld


# --- search results ------------------------------------------------------------------


def test_search_results_show_each_posts_description(client, blog):
    blog.post(
        title="Taxonomy owners",
        summary="Who keeps a taxonomy alive.",
        body="Taxonomy needs owners.\n\nA long body nobody needs in a result list.",
    )
    blog.post(title="Taxonomy reviews", body="Review the taxonomy yearly.\n\nThen again.")
    page = parse_html(client.get("/search?q=taxonomy").text)
    results = {
        article.one("h3").text().strip(): article.one("p", class_="post-summary").text()
        for article in page.find_all("article", class_="post")
    }
    assert results == {
        "Taxonomy owners": "Who keeps a taxonomy alive.",
        "Taxonomy reviews": "Review the taxonomy yearly.",
    }
    assert "nobody needs" not in client.get("/search?q=taxonomy").text


# --- hostile text --------------------------------------------------------------------

HOSTILE = params(
    "script-after-script",
    "script-after-title",
    "double-quote-script",
    "single-quote-img",
    "double-quote-autofocus",
    "both-quotes-img",
    "quote-entities",
    "textarea-then-quote",
    "fullwidth-brackets",
)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_stays_text_in_the_head(app, client, blog, payload):
    """A hostile title, summary, label, commenter's name and comment: each is read back
    as the very text stored, and none adds an element or an attribute to the page."""
    post = blog.post(
        title=f"T {payload}",
        summary=f"S {payload}",
        body=f"B {payload}",
        labels=(f"L {payload}",),
    )
    blog.comment(post, body=f"C {payload}", name=f"N {payload}")
    with app.app_context():
        stored = db.session.get(Post, post.id)
        assert stored is not None
        title, label = stored.title, stored.labels[0].name
        description = post_description(stored.summary, stored.body_html)
        comment = db.session.scalars(select(Comment)).one()
        name = comment.author_name
    response = client.get(post.url)
    head = read_head(response.text, SITE + post.url)

    # The page's scripts: its own files and one JSON-LD block, nothing more.
    kinds = sorted(s.get("type") or s.get("src", "")[:8] for s in head.scripts)
    assert kinds.count("application/ld+json") == 1
    assert set(kinds) == {"/assets/", "application/ld+json"}
    ld_text = next(s.text() for s in head.scripts if s.get("type") == "application/ld+json")
    assert "<" not in ld_text and ">" not in ld_text and "&" not in ld_text
    posting = json.loads(ld_text)
    assert head.json_ld == [posting]
    assert posting["headline"] == title
    assert posting["description"] == description
    assert posting["keywords"] == [label]
    assert posting["comment"][0]["author"]["name"] == name
    assert posting["comment"][0]["text"].startswith("C ")

    # Attributes hold the text whole; no element gained an attribute of its own.
    assert head.og("og:title") == title
    assert head.og("og:description") == description
    assert head.og_all("article:tag") == [label]
    assert head.twitter["twitter:title"] == title
    for meta in head.meta:
        assert {key for key, _ in meta.attrs} <= {"charset", "name", "content", "property"}
    for node in parse_html(response.text).one("head").iter():
        assert not any(key.startswith("on") for key, _ in node.attrs)


# --- the fediverse handle ------------------------------------------------------------

ACCOUNT = "/manage/account"


def _save_account(auth, **changes: str):  # type: ignore[no-untyped-def]
    """Send the account form as a browser would, with `changes` typed in."""
    shown = auth.client.get(ACCOUNT)
    assert shown.status_code == 200
    form = parse_html(shown.text).one("main").one("form")
    return auth.client.post(ACCOUNT, data={**form_values(form), **changes})


def _handle_of(app, username: str) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        return user.fediverse_creator, user.email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("@dee@mastodon.social", "@dee@mastodon.social"),
        ("dee@Mastodon.Social", "@dee@mastodon.social"),
        ("  @Dee_Planner@social.example.org ", "@Dee_Planner@social.example.org"),
        ("@dee.p@bücher.example", "@dee.p@xn--bcher-kva.example"),
    ],
)
def test_an_author_sets_their_fediverse_handle(app, auth, writer, typed, stored):
    auth.login("writer")
    response = _save_account(auth, fediverse_creator=typed)
    assert response.status_code == 303
    assert _handle_of(app, "writer")[0] == stored
    assert f'value="{stored}"' in auth.client.get(ACCOUNT).text


@pytest.mark.parametrize(
    "typed",
    [
        "dee",
        "@dee",
        "@dee@",
        "@@mastodon.social",
        "@dee@localhost",
        "@dee@mastodon",
        "@de e@mastodon.social",
        "@dee@mastodon.social@other.example",
        "https://mastodon.social/@dee",
        '@dee@mastodon.social"><script>alert(1)</script>',
        "@<b>dee</b>@mastodon.social",
        "@dee..x@mastodon.social",
        "@" + "d" * 65 + "@mastodon.social",
        "@dee@" + "a" * 64 + ".example",
    ],
)
def test_a_bad_fediverse_handle_is_refused_and_nothing_changes(app, auth, writer, typed):
    auth.login("writer")
    assert _save_account(auth, fediverse_creator="@dee@mastodon.social").status_code == 303
    refused = _save_account(auth, fediverse_creator=typed, email="new@example.org")
    assert refused.status_code == 422
    error = field_error(refused.text, "fediverse_creator")
    assert "@name@server.example" in error
    # Nothing saved: not the handle, not the address sent with it.
    assert _handle_of(app, "writer") == ("@dee@mastodon.social", None)


def test_the_handle_credits_its_author_on_their_posts_only(app, blog, auth, writer):
    other = blog.post(title="By someone else")
    mine = blog.post(title="By the writer", author_id=writer)
    client = app.test_client()  # a reader; `auth` signs the writer in on its own client
    auth.login("writer")
    # A reader's copy of the page is cached before the handle is set...
    assert get_head(client, mine.url).named("fediverse:creator") == []
    assert _save_account(auth, fediverse_creator="@writer@mastodon.social").status_code == 303
    # ...and the new handle reaches readers at once.
    assert get_head(client, mine.url).named("fediverse:creator") == ["@writer@mastodon.social"]
    assert get_head(client, other.url).named("fediverse:creator") == []
    # Shown nowhere else: not on the home page, the profile, or the other post.
    for url in ("/", "/profile/writer", other.url, "/search?q=writer"):
        assert "mastodon.social" not in client.get(url).text, url
    # Cleared, it is gone.
    assert _save_account(auth, fediverse_creator="").status_code == 303
    assert _handle_of(app, "writer")[0] is None
    assert get_head(client, mine.url).named("fediverse:creator") == []


def test_the_account_page_explains_the_handle(auth, writer):
    auth.login("writer")
    page = parse_html(auth.client.get(ACCOUNT).text)
    field = page.one("input", name="fediverse_creator")
    assert field.get("maxlength") == "320"
    help_text = page.one("span", id="fediverse_creator-help").text()
    assert "@name@server.example" in help_text
