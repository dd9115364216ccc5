"""Footnotes and tables of contents: their links land in their own post wherever it is
shown (its page, the home page beside other posts, a feed reader), and what they need
from the allowlist lets nothing hostile through."""

from __future__ import annotations

from collections import Counter

import feedparser
import pytest

from kmblog.rendering import AUTO_TOC_HEADINGS, render_post
from tests.html_tree import Node, hazards, parse_html
from tests.security.payloads import PAYLOADS

SITE = "http://blog.test"

NOTED = """\
Knowledge maps show who knows what.[^who] They age fast.[^age]

[^who]: A directory of experts is the simplest one.
[^age]: Review them [every quarter](https://example.org/review).
"""

LONG = """\
Why a plan comes first.

# Goals

Start from what the organisation wants.

## Measures

How the goals are known to be met.[^m]

# Knowledge needs

Who needs to know what.

# Assets

What is known already.

[^m]: Few, and agreed.
"""


def ids_of(root: Node) -> list[str]:
    return [node.get("id", "") for node in root.iter() if node.has("id")]


def fragment_links(root: Node) -> list[str]:
    return [
        node.get("href", "")[1:]
        for node in root.find_all("a")
        if node.get("href", "").startswith("#")
    ]


# --- rendering --------------------------------------------------------------------------


def test_footnotes_link_both_ways_under_the_posts_own_prefix():
    html = parse_html(render_post(NOTED, anchors="p7-"))

    refs = [sup.one("a").get("href") for sup in html.find_all("sup")]
    assert refs == ["#p7-fn:who", "#p7-fn:age"]
    notes = html.one("div", class_="footnote")
    assert [li.get("id") for li in notes.find_all("li")] == ["p7-fn:who", "p7-fn:age"]
    backs = [a.get("href") for a in notes.find_all("a") if a.get("href", "").startswith("#")]
    assert backs == ["#p7-fnref:who", "#p7-fnref:age"]
    assert set(fragment_links(html)) <= set(ids_of(html))
    assert "Review them" in notes.text()


def test_a_long_post_gets_its_contents_before_its_first_heading():
    html = parse_html(render_post(LONG, anchors="p3-"))

    toc = html.one("div", class_="toc")
    assert toc.one("span", class_="toc-title").text() == "Contents"
    entries = [(a.text(), a.get("href")) for a in toc.find_all("a")]
    assert entries == [
        ("Goals", "#p3-goals"),
        ("Measures", "#p3-measures"),
        ("Knowledge needs", "#p3-knowledge-needs"),
        ("Assets", "#p3-assets"),
    ]
    for _, href in entries:
        assert html.one("*", id=href[1:]).tag in {"h3", "h4"}
    # After the opening paragraph, before the first section.
    blocks = [c for c in html.children if isinstance(c, Node)]
    assert [b.tag for b in blocks[:3]] == ["p", "div", "h3"]
    assert blocks[1] is toc


def test_a_short_post_gets_no_contents_unless_its_author_asks():
    three = "\n\n".join(f"# Part {n}\n\nText." for n in range(1, AUTO_TOC_HEADINGS))
    assert 'class="toc"' not in render_post(three)

    asked = render_post("In brief.\n\n[TOC]\n\n" + three)
    toc = parse_html(asked).one("div", class_="toc")
    assert [a.text() for a in toc.find_all("a")] == [f"Part {n}" for n in range(1, 4)]
    assert "[TOC]" not in asked


def test_a_contents_marker_without_headings_leaves_nothing_behind():
    html = render_post("Just a note.\n\n[TOC]\n\nAnd more.")
    assert "toc" not in html and "[TOC]" not in html
    assert "And more." in html


def test_every_id_gets_the_prefix_and_links_to_other_places_stay_as_written():
    html = parse_html(
        render_post(
            "# Comments\n\nSee [below](#comments), [the form](#comment-form) and [top](#main).\n\n"
            '<a id="comment-form">raw</a> <sup id="csrf_token">1</sup> <h3 id="comments">x</h3>'
            ' <li id="a b">spaced</li>',
            anchors="p12-",
        )
    )
    # No id of the page's own (comments, comment-form) nor a form field's can be taken.
    assert ids_of(html) == ["p12-comments", "p12-comment-form", "p12-csrf_token"]
    assert fragment_links(html) == ["p12-comments", "p12-comment-form", "main"]


def test_prefixes_of_different_posts_never_spell_each_others_ids():
    """ "p1-" + "2-x" must not be "p12-" + "x": the prefix ends at its first "-"."""
    first = ids_of(parse_html(render_post('<h3 id="2-x">a</h3>', anchors="p1-")))
    second = ids_of(parse_html(render_post('<h3 id="x">a</h3>', anchors="p12-")))
    assert first == ["p1-2-x"] and second == ["p12-x"]
    assert not set(first) & set(second)


@pytest.mark.parametrize(
    ("markup", "kept"),
    [
        ('<div class="toc">x</div>', 'class="toc"'),
        ('<div class="footnote">x</div>', 'class="footnote"'),
        ('<span class="toc-title">x</span>', 'class="toc-title"'),
        ("```python\nx = 1\n```", 'class="language-python"'),
    ],
)
def test_the_classes_markdown_writes_are_kept(markup, kept):
    assert kept in render_post(markup)


@pytest.mark.parametrize(
    "markup",
    [
        '<div class="h-entry"><span class="p-name">A fake title</span></div>',
        '<div class="footnote h-entry">x</div>',
        '<div class="toc visually-hidden">x</div>',
        '<span class="toc-title skip-link">x</span>',
        '<code class="language-x" onclick="alert(1)">x</code>',
        '<code class="language-">x</code>',
        '<p class="flash">A fake message</p>',
        '<a class="footnote-ref" href="#fn:1" onclick="alert(1)">1</a>',
        '<sup id="fnref:1" onmouseover="alert(1)" style="color:red">1</sup>',
        '<div class="toc" style="position:fixed;inset:0">x</div>',
        '<li id="fn:1" data-x="1" role="button" tabindex="0">x</li>',
    ],
)
def test_hostile_attributes_on_footnote_and_contents_markup_are_dropped(markup):
    html = render_post(markup)
    tree = parse_html(html)
    assert hazards(tree) == []
    for node in tree.iter():
        for name, value in node.attrs:
            assert name in {"id", "href", "class"}, (name, html)
            if name == "class":
                assert value in {"toc", "footnote", "toc-title", "language-x"}, html


@pytest.mark.parametrize(("pid", "payload"), PAYLOADS, ids=[pid for pid, _ in PAYLOADS])
def test_hostile_markdown_in_footnotes_headings_and_contents_stays_inert(pid, payload):
    source = f"[TOC]\n\n# {payload}\n\nText.[^n] [{payload}](#fn:n)\n\n## Part\n\n[^n]: {payload}\n"
    tree = parse_html(render_post(source, anchors="p5-"))
    assert hazards(tree) == []
    assert all(i.startswith("p5-") for i in ids_of(tree)), ids_of(tree)


# --- pages and feeds ----------------------------------------------------------------------


@pytest.fixture
def two_noted_posts(blog):  # type: ignore[no-untyped-def]
    first = blog.post(title="Maps of knowledge", body=LONG + "\n" + NOTED)
    second = blog.post(title="Experts", body=LONG.replace("Goals", "Aims") + "\n" + NOTED)
    return first, second


def assert_links_land_in_their_own_post(page: Node, posts: list[Node]) -> None:
    counted = Counter(ids_of(page))
    assert [i for i, n in counted.items() if n > 1] == []
    for post in posts:
        body = post.one("div", class_="post-body")
        targets = fragment_links(body)
        assert len(targets) >= 8  # contents, references, back-references
        assert set(targets) <= set(ids_of(body))


def test_two_posts_with_footnotes_on_the_home_page_keep_their_own_notes(client, two_noted_posts):
    page = parse_html(client.get("/").text)
    posts = page.find_all("article", class_="post")
    assert len(posts) == 2
    assert_links_land_in_their_own_post(page, posts)
    first, second = two_noted_posts
    # Each post's first note is its own: the same words, different ids.
    assert page.find("li", id=f"p{first.id}-fn:who") is not None
    assert page.find("li", id=f"p{second.id}-fn:who") is not None


def test_a_post_page_with_footnotes_and_contents_has_no_id_twice(client, two_noted_posts):
    first, _ = two_noted_posts
    page = parse_html(client.get(first.url).text)
    assert_links_land_in_their_own_post(page, page.find_all("article", class_="post"))
    assert page.one("section", id="comments").tag == "section"


def test_the_feed_carries_footnote_and_contents_links_to_the_post(client, two_noted_posts):
    first, second = two_noted_posts
    feed = feedparser.parse(client.get("/feeds/posts/default").data)
    assert not feed.bozo, feed.bozo_exception
    for ref, entry in zip((second, first), feed.entries, strict=True):
        content = parse_html(entry.content[0].value)
        links = [a.get("href", "") for a in content.find_all("a")]
        inside = [href for href in links if "#" in href]
        assert len(inside) >= 8
        assert {href.partition("#")[0] for href in inside} == {SITE + ref.url}
        page_ids = set(ids_of(parse_html(client.get(ref.url).text)))
        assert {href.partition("#")[2] for href in inside} <= page_ids
