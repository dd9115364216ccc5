"""/sitemap.xml and /robots.txt: what search engines are told to crawl and to leave
alone, read with the tools crawlers' own code uses (urllib.robotparser; the
ultimate-sitemap-parser against a real gunicorn server)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.robotparser import RobotFileParser

import pytest
from defusedxml import ElementTree
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import insert, select
from usp.objects.sitemap import IndexXMLSitemap, PagesXMLSitemap
from usp.tree import sitemap_tree_for_homepage

from kmblog.extensions import db
from kmblog.models import Label, Page, Post, PostStatus, User, utcnow
from tests.factories import BASE_TIME, BlogBuilder
from tests.live_server import ROOT as PROJECT
from tests.live_server import gunicorn

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
ROOT = "http://blog.test"
# "media": uploaded images, shown in posts and welcome in image search.
READER_BLUEPRINTS = {"blog", "feeds", "seo", "assets", "media"}
# The protocol's own schema (sitemaps.org, 0.9), as the npm package "sitemap" ships it.
SCHEMA = PROJECT / "node_modules" / "sitemap" / "schema" / "sitemap.xsd"


def add_page(app: Flask, slug: str, published: datetime | None, updated: datetime) -> None:
    """A standalone page; `published` None makes it a draft, a future time schedules it."""
    with app.app_context():
        author = db.session.scalars(select(User)).first()
        assert author is not None
        db.session.add(
            Page(
                title=slug.title(),
                slug=slug,
                body_source="About us.",
                body_html="<p>About us.</p>",
                status=PostStatus.DRAFT if published is None else PostStatus.PUBLISHED,
                author=author,
                published_at=published,
                created_at=updated,
                updated_at=updated,
            )
        )
        db.session.commit()


def touch(app: Flask, post_id: int, updated: datetime) -> None:
    """An edit to a post at `updated`."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        assert post is not None
        post.updated_at = updated
        db.session.commit()


def urlset(response: Any) -> dict[str, str | None]:
    """A sitemap file's addresses and their lastmod, checked to be a sitemap at all."""
    assert response.status_code == 200
    assert response.content_type == "application/xml; charset=utf-8"
    tree = ElementTree.fromstring(response.data)
    assert tree.tag == f"{{{NS['sm']}}}urlset"
    found: dict[str, str | None] = {}
    for url in tree.findall("sm:url", NS):
        address = url.findtext("sm:loc", namespaces=NS)
        assert address is not None and address not in found, address
        found[address] = url.findtext("sm:lastmod", namespaces=NS)
    return found


def index(response: Any) -> list[str]:
    """A sitemap index's file addresses."""
    assert response.status_code == 200
    tree = ElementTree.fromstring(response.data)
    assert tree.tag == f"{{{NS['sm']}}}sitemapindex"
    return [loc.text or "" for loc in tree.findall("sm:sitemap/sm:loc", NS)]


def path(address: str) -> str:
    assert address.startswith(ROOT), address
    return address.removeprefix(ROOT)


@pytest.fixture
def content(app: Flask, blog: BlogBuilder) -> dict[str, Any]:
    """Two visible labelled posts (one edited later), a draft, a scheduled post with a
    label of its own, a published page, a draft page and a scheduled page."""
    # Made first: the label only it carries comes first in the labels' order.
    later = blog.post(
        title="Coming soon", labels=("Embargoed",), published=utcnow() + timedelta(days=2)
    )
    first = blog.post(title="Knowledge audits", labels=("Tools", "KM Strategy & Plans"))
    second = blog.post(
        title="Taxonomies", labels=("Tools",), published=BASE_TIME + timedelta(days=3)
    )
    touch(app, first.id, BASE_TIME + timedelta(days=10, seconds=1, microseconds=500))
    draft = blog.post(title="Unfinished", labels=("Tools",), draft=True)
    add_page(app, "about", BASE_TIME, BASE_TIME + timedelta(days=1))
    add_page(app, "draft-page", None, BASE_TIME)
    add_page(app, "soon-page", utcnow() + timedelta(days=2), BASE_TIME)
    return {"first": first, "second": second, "draft": draft, "later": later}


def test_the_sitemap_lists_every_address_a_reader_may_open(client, content):
    """Home, pages, labels and posts with the time each last changed; never a draft or a
    scheduled post, page, or a label only they carry."""
    found = urlset(client.get("/sitemap.xml"))
    first, second = content["first"], content["second"]
    edited = "2009-07-09T15:07:01+00:00"  # the first post's edit, to the second
    assert found == {
        f"{ROOT}/": edited,
        f"{ROOT}/p/about.html": "2009-06-30T15:07:00+00:00",
        f"{ROOT}/search/label/KM%20Strategy%20&%20Plans": edited,
        f"{ROOT}/search/label/Tools": edited,
        f"{ROOT}{first.url}": edited,
        f"{ROOT}{second.url}": "2009-07-02T15:07:00+00:00",
    }
    # The addresses the sitemap gives are the pages themselves.
    for address in found:
        assert client.get(path(address)).status_code == 200, address


def test_a_post_counts_as_changed_when_it_appears(client, blog):
    """A post scheduled after its last edit changed for readers when it was published."""
    post = blog.post(title="Written early")
    touch(client.application, post.id, BASE_TIME - timedelta(days=5))
    assert urlset(client.get("/sitemap.xml"))[f"{ROOT}{post.url}"] == "2009-06-29T15:07:00+00:00"


def test_a_scheduled_post_enters_the_sitemap_when_its_time_comes(blog, make_app):
    """No write happens at the post's time: the cached sitemap moves with the clock."""
    reader = make_app(PAGE_VERSION_RECHECK_SECONDS=3600).test_client()
    blog.post(title="Already out")
    due = utcnow() + timedelta(seconds=1.5)
    soon = blog.post(title="Due soon", labels=("Fresh",), published=due)
    assert f"{ROOT}{soon.url}" not in urlset(reader.get("/sitemap.xml"))
    assert f"{ROOT}{soon.url}" not in urlset(reader.get("/sitemap.xml"))  # cached
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.1)
    found = urlset(reader.get("/sitemap.xml"))
    assert f"{ROOT}{soon.url}" in found
    assert f"{ROOT}/search/label/Fresh" in found


def test_past_the_limit_the_sitemap_is_an_index_of_numbered_files(make_app, content):
    """Home, a page, two labels and two posts are six addresses: with three a file, an
    index of two files that together hold what one file held, each address once."""
    whole = urlset(make_app().test_client().get("/sitemap.xml"))
    client = make_app(SITEMAP_MAX_URLS=3).test_client()
    files = index(client.get("/sitemap.xml"))
    assert files == [f"{ROOT}/sitemap-1.xml", f"{ROOT}/sitemap-2.xml"]
    parts = [urlset(client.get(path(address))) for address in files]
    assert [len(part) for part in parts] == [3, 3]
    assert {**parts[0], **parts[1]} == whole
    for missing in ("/sitemap-0.xml", "/sitemap-3.xml", "/sitemap-01.xml"):
        assert client.get(missing).status_code == 404
    # A blog that fits one file has one address for it.
    assert make_app().test_client().get("/sitemap-1.xml").status_code == 404


def test_a_hostile_label_is_escaped_text_in_the_sitemap(client, blog):
    """A label's name reaches the XML only as an escaped, percent-encoded address."""
    blog.post(labels=('<script>"x"</script>',))
    found = urlset(client.get("/sitemap.xml"))
    assert f"{ROOT}/search/label/%3Cscript%3E%22x%22%3C/script%3E" in found


def robots(client: FlaskClient) -> RobotFileParser:
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response.content_type == "text/plain; charset=utf-8"
    parser = RobotFileParser()
    parser.parse(response.text.splitlines())
    return parser


def sample_path(rule: str) -> str:
    """An address a rule answers, its variables filled in."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule)


def test_robots_names_the_sitemap_and_closes_the_authoring_area(client, content):
    parser = robots(client)
    assert parser.site_maps() == [f"{ROOT}/sitemap.xml"]
    for closed in (
        "/manage/",
        "/manage/posts/new",
        "/manage/transfer/",
        "/login",
        "/comments/1/edit",
        "/comments/form-timer",
        "/mail/unsubscribe/token",
    ):
        assert not parser.can_fetch("Googlebot", f"{ROOT}{closed}"), closed
    for address in urlset(client.get("/sitemap.xml")):
        assert parser.can_fetch("Googlebot", address), address
    for public in ("/sitemap.xml", "/feeds/posts/default", "/2009/06/", "/search?q=km"):
        assert parser.can_fetch("Googlebot", f"{ROOT}{public}"), public


def test_robots_closes_every_address_outside_the_readers_blueprints(app, client):
    """A new authoring or private address is caught here, not by a crawler."""
    parser = robots(client)
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0] if "." in rule.endpoint else ""
        if "GET" not in (rule.methods or set()) or blueprint in READER_BLUEPRINTS:
            continue
        if rule.endpoint == "static":
            continue
        address = f"{ROOT}{sample_path(rule.rule)}"
        assert not parser.can_fetch("*", address), f"{rule.rule} ({rule.endpoint})"


@pytest.mark.parametrize("address", ["/sitemap.xml", "/sitemap-2.xml", "/robots.txt"])
def test_sitemap_and_robots_are_cached_like_any_page(make_app, content, count_queries, address):
    """No cookie; the second reader costs the one query that dates the blog; a matching
    ETag gets 304."""
    client = make_app(SITEMAP_MAX_URLS=3, PAGE_VERSION_RECHECK_SECONDS=0).test_client()
    first = client.get(address)
    assert first.status_code == 200
    assert "Set-Cookie" not in first.headers
    with count_queries() as queries:
        again = client.get(address)
    assert len(queries) == 1
    assert again.data == first.data
    assert "Set-Cookie" not in again.headers
    etag = first.headers["ETag"]
    assert client.get(address, headers={"If-None-Match": etag}).status_code == 304


def grow(blog: BlogBuilder, posts: int, labels: int) -> None:
    for i in range(posts):
        blog.post(
            title=f"Series post {i}",
            labels=tuple(f"Label {j}" for j in range(i % labels + 1)),
            published=BASE_TIME + timedelta(days=i),
        )


def test_query_counts_do_not_grow_with_the_blog(make_app, app, blog, count_queries):
    """Each sitemap file costs the same few queries on a small and a bigger blog."""
    client = make_app(PAGE_CACHE=False, SITEMAP_MAX_URLS=20).test_client()

    def measure() -> dict[str, int]:
        counts = {}
        for address in ("/sitemap.xml", "/sitemap-1.xml", "/sitemap-2.xml", "/robots.txt"):
            client.get(address)
            with count_queries() as queries:
                assert client.get(address).status_code == 200, address
            counts[address] = len(queries)
        return counts

    grow(blog, 22, labels=2)
    add_page(app, "about", BASE_TIME, BASE_TIME)
    small = measure()
    grow(blog, 40, labels=8)
    assert measure() == small
    # Dating the blog, sizing the sitemap, then at most one query a kind of address.
    assert max(small.values()) <= 5, small


def test_a_crawler_reads_the_sitemap_from_robots_txt(app, content, tmp_path):
    """ultimate-sitemap-parser, as a crawler would: robots.txt, then the index it names,
    then each file, against a real gunicorn server."""
    with app.app_context():
        expected = {
            label.name for label in db.session.scalars(select(Label)) if label.name != "Embargoed"
        }
    log = tmp_path / "server.log"
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with gunicorn(database, log, workers=1, KMBLOG_SITEMAP_MAX_URLS="4") as base:
        tree = sitemap_tree_for_homepage(base + "/", use_known_paths=False)
        pages = {page.url: page.last_modified for page in tree.all_pages()}
    indexes = [s for s in tree.all_sitemaps() if isinstance(s, IndexXMLSitemap)]
    files = [s for s in tree.all_sitemaps() if isinstance(s, PagesXMLSitemap)]
    assert [s.url for s in indexes] == [f"{base}/sitemap.xml"], log.read_text()
    assert sorted(s.url for s in files) == [f"{base}/sitemap-1.xml", f"{base}/sitemap-2.xml"]
    first = content["first"]
    edited = datetime(2009, 7, 9, 15, 7, 1, tzinfo=UTC)
    assert pages[f"{base}/"] == edited
    assert pages[f"{base}{first.url}"] == edited
    assert pages[f"{base}{content['second'].url}"] == BASE_TIME + timedelta(days=3)
    assert pages[f"{base}/p/about.html"] == BASE_TIME + timedelta(days=1)
    labels = {url.removeprefix(f"{base}/search/label/") for url in pages if "/label/" in url}
    assert {name.replace("%20", " ").replace("%26", "&") for name in labels} == expected
    assert len(pages) == 6


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """sitemaps.org's sitemap.xsd; left out with one line when npm could not bring it,
    an error where the tools from npm are required (CI)."""
    if not SCHEMA.exists():
        reason = f"{SCHEMA.relative_to(PROJECT)} not found: npm ci (make install)"
        if os.environ.get("KMBLOG_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def valid_urlset(schema: etree.XMLSchema, data: bytes) -> list[str]:
    """A sitemap file checked against the protocol's schema; its addresses."""
    tree = etree.fromstring(data)
    assert schema.validate(tree), schema.error_log
    return [loc.text or "" for loc in tree.iterfind("sm:url/sm:loc", NS)]


def valid_index(schema: etree.XMLSchema, data: bytes) -> list[str]:
    """A sitemap index checked as siteindex.xsd does: <sitemapindex> of at most 50,000
    <sitemap> entries, each a <loc> and an optional <lastmod>. siteindex.xsd gives those
    two the same types as sitemap.xsd gives a <url>'s, so the entries, renamed, are
    checked against the schema itself."""
    tree = etree.fromstring(data)
    assert tree.tag == f"{{{NS['sm']}}}sitemapindex"
    entries = list(tree)
    assert 0 < len(entries) <= 50_000
    urlset = etree.Element(f"{{{NS['sm']}}}urlset", nsmap={None: NS["sm"]})
    for entry in entries:
        assert entry.tag == f"{{{NS['sm']}}}sitemap"
        assert [child.tag.partition("}")[2] for child in entry] in (["loc"], ["loc", "lastmod"])
        url = etree.SubElement(urlset, f"{{{NS['sm']}}}url")
        url.extend(list(entry))
    assert schema.validate(urlset), schema.error_log
    return [loc.text or "" for loc in urlset.iterfind("sm:url/sm:loc", NS)]


def test_every_sitemap_file_is_valid_against_the_protocols_schema(make_app, content, schema):
    """One file, and an index of files, as a search engine's own check would read them."""
    whole = valid_urlset(schema, make_app().test_client().get("/sitemap.xml").data)
    assert len(whole) == 6
    client = make_app(SITEMAP_MAX_URLS=4).test_client()
    files = valid_index(schema, client.get("/sitemap.xml").data)
    parts = [valid_urlset(schema, client.get(path(address)).data) for address in files]
    assert sorted(sum(parts, [])) == sorted(whole)


def test_a_blog_of_60000_posts_gets_an_index_of_valid_files(app, blog, schema):
    """Past the protocol's 50,000 addresses a file: an index of two files that list every
    public post once, and no draft or scheduled post."""
    blog.post(title="Unfinished", draft=True)
    blog.post(title="Coming soon", published=utcnow() + timedelta(days=2))
    with app.app_context():
        author = db.session.scalars(select(User)).one()
        stamp = BASE_TIME
        db.session.execute(
            insert(Post),
            [
                {
                    "title": f"Bulk post {i}",
                    "slug": f"bulk-post-{i}",
                    "year": 2009,
                    "month": 7,
                    "status": PostStatus.PUBLISHED,
                    "published_at": stamp,
                    "updated_at": stamp,
                    "author_id": author.id,
                }
                for i in range(60_000)
            ],
        )
        db.session.commit()
    client = app.test_client()
    files = valid_index(schema, client.get("/sitemap.xml").data)
    assert files == [f"{ROOT}/sitemap-1.xml", f"{ROOT}/sitemap-2.xml"]
    listed = [valid_urlset(schema, client.get(path(address)).data) for address in files]
    assert [len(part) for part in listed] == [50_000, 60_001 - 50_000]
    addresses = sum(listed, [])
    posts = [address for address in addresses if address.startswith(f"{ROOT}/2009/07/bulk-")]
    assert len(posts) == len(set(posts)) == 60_000
    assert not any("unfinished" in address or "coming-soon" in address for address in addresses)
