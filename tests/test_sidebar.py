"""The sidebar stays short on a big blog, as Blogger's does: the newest year's months and
the other years on a line each, the most used labels and a link to the page of all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kmblog.blog.services import SIDEBAR_LABELS
from tests.html_tree import Node, parse_html, words


@dataclass(frozen=True)
class Entry:
    """One line of a list: its link's text and address, the count shown after it."""

    text: str
    href: str
    count: str
    item: Node


def entries(listing: Node) -> list[Entry]:
    """The lines of `listing` (a <ul>), not those of the lists nested in it."""
    found = []
    for item in listing.children:
        if isinstance(item, Node) and item.tag == "li":
            link, count = item.one("a"), item.one("span", class_="count")
            found.append(Entry(words(link.text()), link.get("href", ""), count.text(), item))
    return found


def sidebar(html: str) -> Node:
    return parse_html(html).one("aside", class_="sidebar")


def widget(html: str, name: str) -> Node:
    return sidebar(html).one("section", class_=name)


def label_index(html: str) -> Node:
    """The page of all labels' own part."""
    return parse_html(html).one("section", class_="label-index")


def status_banner(html: str) -> str:
    return words(parse_html(html).one("p", class_="status-banner").text())


# Labels named so that the most used are not simply the first in the alphabet: every
# seventh is on one post, the others on two or three.
TOPICS = [f"Topic {i:02d}" for i in range(SIDEBAR_LABELS + 5)]
RARE = TOPICS[::7]
COMMON = [name for name in TOPICS if name not in RARE]


def many_labels(blog) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A blog with more labels than the sidebar shows; each label's count."""
    blog.post(title="Everything at once", labels=tuple(TOPICS))
    blog.post(title="The common ones", labels=tuple(COMMON))
    blog.post(title="A few favourites", labels=tuple(COMMON[:4]))
    counts = dict.fromkeys(TOPICS, 1)
    for name in COMMON:
        counts[name] += 1
    for name in COMMON[:4]:
        counts[name] += 1
    return counts


def test_the_sidebar_shows_the_most_used_labels_and_a_link_to_all(client, blog):
    """Only the SIDEBAR_LABELS most used labels, alphabetical, with their counts; then
    "All labels (N)", which leads to the page of every label."""
    assert len(COMMON) == SIDEBAR_LABELS
    counts = many_labels(blog)
    labels = widget(client.get("/").text, "labels")
    shown = entries(labels.one("ul"))
    assert [entry.text for entry in shown] == COMMON  # alphabetical, the rare ones left out
    for entry in shown:
        assert entry.count == f"({counts[entry.text]})", entry.text
    all_labels = labels.one("p", class_="all-labels")
    assert words(all_labels.text()) == f"All labels ({len(TOPICS)})"
    page = client.get(all_labels.one("a").get("href", ""))
    assert page.status_code == 200
    assert label_index(page.text).one("h2").text() == "All labels"


def test_the_page_of_all_labels_lists_every_label_and_each_leads_to_its_posts(client, blog):
    counts = many_labels(blog)
    listed = entries(label_index(client.get("/labels/").text).one("ul"))
    assert [entry.text for entry in listed] == TOPICS
    assert {entry.text: entry.count for entry in listed} == {
        name: f"({count})" for name, count in counts.items()
    }
    for entry in listed:
        page = client.get(entry.href)
        assert page.status_code == 200, entry.href
        assert status_banner(page.text).startswith(f"Showing posts with label {entry.text}.")
    # Found by the label pages and feeds whether or not the sidebar shows them.
    for name in RARE:
        assert client.get(f"/feeds/posts/default/-/{name}").status_code == 200, name


def test_the_page_of_all_labels_is_in_the_blogs_look_with_its_feeds(client, blog):
    blog.settings(title="The KM Depot")
    blog.post(labels=("Tools",))
    tree = parse_html(client.get("/labels/").text)
    assert words(tree.one("title").text()) == "The KM Depot: All labels"
    assert tree.one("aside", class_="sidebar").one("section", class_="labels")
    feeds = {link.get("title"): link.get("href") for link in tree.find_all("link", rel="alternate")}
    assert feeds == {
        "The KM Depot - Atom": "/feeds/posts/default",
        "The KM Depot - Comments - Atom": "/feeds/comments/default",
    }


def test_a_new_label_shows_on_the_page_of_all_labels_at_once(client, blog):
    """The page is cached like every reader's page, and never stale."""
    blog.post(labels=("Tools",))
    assert client.get("/labels/").headers["ETag"]
    blog.post(labels=("Vision",))
    listed = entries(label_index(client.get("/labels/").text).one("ul"))
    assert [entry.text for entry in listed] == ["Tools", "Vision"]


def test_a_blog_without_labels_says_so_on_the_page_of_all_labels(client, blog):
    blog.post()
    index = label_index(client.get("/labels/").text)
    assert index.find("ul") is None
    assert "No posts have labels yet." in words(index.text())


def test_a_small_blog_shows_all_its_labels_and_no_link_to_all(client, blog):
    blog.post(labels=("Tools", "Vision"))
    blog.post(labels=("Tools",))
    labels = widget(client.get("/").text, "labels")
    shown = entries(labels.one("ul"))
    assert [(entry.text, entry.count) for entry in shown] == [("Tools", "(2)"), ("Vision", "(1)")]
    assert labels.find("p", class_="all-labels") is None
    assert "All labels" not in words(labels.text())


def test_equally_used_labels_make_the_cut_alphabetically(client, blog):
    """One label more than the sidebar shows, all on one post: the last one waits on the
    page of all labels, the same in every process."""
    names = [f"Shared {i:02d}" for i in range(SIDEBAR_LABELS + 1)]
    blog.post(labels=tuple(reversed(names)))
    labels = widget(client.get("/").text, "labels")
    assert [entry.text for entry in entries(labels.one("ul"))] == names[:-1]
    assert words(labels.one("p", class_="all-labels").text()) == f"All labels ({len(names)})"


def test_the_archive_opens_the_newest_year_and_lists_the_others_on_a_line(client, blog):
    """The newest year with its months (counts); every other year its link and count,
    its months left out of the page."""
    dates = [
        (2009, 6, 1),
        (2009, 6, 20),
        (2009, 3, 5),
        (2008, 11, 2),
        (2008, 2, 14),
        (2008, 2, 15),
        (2007, 12, 31),
    ]
    for year, month, day in dates:
        blog.post(
            title=f"Written {year}-{month:02d}-{day:02d}",
            published=datetime(year, month, day, 12, tzinfo=UTC),
        )
    archive = widget(client.get("/").text, "archive")
    years = entries(archive.one("ul"))
    assert [(year.text, year.href, year.count) for year in years] == [
        ("2009", "/2009/", "(3)"),
        ("2008", "/2008/", "(3)"),
        ("2007", "/2007/", "(1)"),
    ]
    months = entries(years[0].item.one("ul"))
    assert [(month.text, month.href, month.count) for month in months] == [
        ("June", "/2009/06/", "(2)"),
        ("March", "/2009/03/", "(1)"),
    ]
    for older in years[1:]:
        assert older.item.find("ul") is None, older.text
    links = [link.get("href") for link in archive.find_all("a")]
    assert links == ["/2009/", "/2009/06/", "/2009/03/", "/2008/", "/2007/"]
    # Nothing to open or close: no control nested in another (axe: nested-interactive).
    assert archive.find("details") is None
    for year in years:
        page = client.get(year.href)
        assert page.status_code == 200, year.href
        assert status_banner(page.text) == f"Showing posts from {year.text}. Show all posts"
        shown = [words(title.text()) for title in parse_html(page.text).find_all("h3")]
        wanted = sum(1 for made in dates if str(made[0]) == year.text)
        assert len(shown) == wanted and all(year.text in title for title in shown), shown


def test_a_years_page_leads_to_its_months(client, blog):
    """An older year's months, gone from the sidebar, are under its page's banner."""
    for month in (2, 2, 11):
        blog.post(published=datetime(2008, month, 14, 12, tzinfo=UTC))
    blog.post(title="Next year", published=datetime(2009, 1, 5, 12, tzinfo=UTC))
    html = client.get("/2008/").text
    assert sidebar(html).find("a", href="/2008/11/") is None
    months = parse_html(html).one("nav", class_="year-months")
    assert months.get("aria-label") == "Months of 2008"
    listed = entries(months.one("ul"))
    assert [(month.text, month.href, month.count) for month in listed] == [
        ("November", "/2008/11/", "(1)"),
        ("February", "/2008/02/", "(2)"),
    ]
    for month in listed:
        page = client.get(month.href)
        assert page.status_code == 200, month.href
        assert status_banner(page.text) == f"Showing posts from {month.text} 2008. Show all posts"
    # A month's page, and a year with no posts, have no such list.
    for url in ("/2008/11/", "/2007/"):
        assert parse_html(client.get(url).text).find("nav", class_="year-months") is None, url
