"""Safe embeds: a YouTube or Vimeo video becomes a click-to-load placeholder, in a
post's Markdown, in an imported Blogger post and after `flask rerender`; nothing on the
page loads from the video's host, and the CSP allows exactly the two players' frames.
(The click itself, in a real browser: tests/browser/test_embeds.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest
from sqlalchemy import select

from kmblog.extensions import db
from kmblog.models import Page, Post
from kmblog.rendering import render_imported_post, render_post
from tests.blogger_files import NS, entry, export, sample
from tests.conftest import _reset_tables
from tests.html_tree import Node, hazards, parse_html
from tests.test_sessions import csp_directives

ROOT = Path(__file__).resolve().parent.parent
VIDEO_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com", "vimeo.com")


def placeholders(markup: str) -> list[Node]:
    return parse_html(markup).find_all("div", class_="video-embed")


def shown_video(markup: str) -> tuple[str, str, str]:
    """(host, id, link) of the one placeholder in `markup`; fails unless there is one,
    and unless it is our plain box: no frame, no image, nothing fetched from anywhere."""
    found = placeholders(markup)
    assert len(found) == 1, markup
    box = found[0]
    assert not box.find_all("iframe") and not box.find_all("img"), markup
    assert not any(node.has("src") for node in box.iter()), markup
    link = box.one("a", class_="video-embed-link")
    assert " ".join(link.text().split()) in {"Play video on YouTube", "Play video on Vimeo"}
    return box.get("data-video-host", ""), box.get("data-video-id", ""), link.get("href", "")


def no_video(markup: str) -> None:
    assert "video-embed" not in markup, markup
    assert "data-video" not in markup, markup


# --- Markdown: a video address on its own line ---------------------------------------

YOUTUBE = ("youtube", "dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
SHORT = ("youtube", "a1B2c3D4e_-", "https://www.youtube.com/watch?v=a1B2c3D4e_-")
VIMEO = ("vimeo", "76979871", "https://vimeo.com/76979871")


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", YOUTUBE),
        ("https://youtube.com/watch?v=dQw4w9WgXcQ", YOUTUBE),
        ("http://m.youtube.com/watch?v=dQw4w9WgXcQ", YOUTUBE),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL1", YOUTUBE),
        ("https://www.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", YOUTUBE),
        ("https://youtu.be/dQw4w9WgXcQ", YOUTUBE),
        ("https://youtu.be/dQw4w9WgXcQ?si=Ab12cd&t=7", YOUTUBE),
        ("https://www.youtube.com/shorts/a1B2c3D4e_-", SHORT),
        ("https://youtube.com/shorts/a1B2c3D4e_-/", SHORT),
        ("https://vimeo.com/76979871", VIMEO),
        ("https://www.vimeo.com/76979871/", VIMEO),
        ("  https://youtu.be/dQw4w9WgXcQ  ", YOUTUBE),
        ("<https://youtu.be/dQw4w9WgXcQ>", YOUTUBE),
        ("HTTPS://YOUTU.BE/dQw4w9WgXcQ", YOUTUBE),
    ],
)
def test_a_video_address_on_its_own_line_becomes_a_placeholder(line, want):
    html = render_post(f"Before the talk.\n\n{line}\n\nAfter the talk.")
    assert shown_video(html) == want
    tree = parse_html(html)
    # The words around it are untouched paragraphs.
    assert [p.text() for p in tree.find_all("p")] == ["Before the talk.", "After the talk."]
    assert hazards(tree) == []


def test_several_videos_in_one_post_each_get_a_placeholder():
    html = render_post(
        "https://youtu.be/dQw4w9WgXcQ\n\nText.\n\nhttps://vimeo.com/76979871\n\n"
        "* a list item\n\nhttps://www.youtube.com/shorts/a1B2c3D4e_-"
    )
    assert [
        (box.get("data-video-host"), box.get("data-video-id")) for box in placeholders(html)
    ] == [
        ("youtube", "dQw4w9WgXcQ"),
        ("vimeo", "76979871"),
        ("youtube", "a1B2c3D4e_-"),
    ]


@pytest.mark.parametrize(
    "source",
    [
        "Watch https://youtu.be/dQw4w9WgXcQ before the workshop.",
        "Watch [the talk](https://youtu.be/dQw4w9WgXcQ) before the workshop.",
        "[https://youtu.be/dQw4w9WgXcQ](https://youtu.be/dQw4w9WgXcQ) and more words",
        "The talk:\nhttps://youtu.be/dQw4w9WgXcQ\nis long.",
        "> https://youtu.be/dQw4w9WgXcQ quoted with words",
        "* https://youtu.be/dQw4w9WgXcQ",
        "`https://youtu.be/dQw4w9WgXcQ`",
        "    https://youtu.be/dQw4w9WgXcQ",
        "```\nhttps://youtu.be/dQw4w9WgXcQ\n```",
        "[Our own link text](https://youtu.be/dQw4w9WgXcQ)",
    ],
)
def test_an_address_inside_other_text_stays_as_written(source):
    html = render_post(source)
    no_video(html)
    assert "youtu.be/dQw4w9WgXcQ" in html
    for link in parse_html(html).find_all("a"):
        assert link.get("href") == "https://youtu.be/dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "line",
    [
        # Not the hosts we embed, or pretending to be them.
        "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
        "https://evil.example/youtu.be/dQw4w9WgXcQ",
        "https://youtu.be.evil.example/dQw4w9WgXcQ",
        "https://user@youtu.be/dQw4w9WgXcQ",
        "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
        "https://notvimeo.com/76979871",
        "https://player.vimeo.com/video/76979871",  # a player, not a page to watch
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        # Schemes other than http(s).
        "javascript:alert(1)//https://youtu.be/dQw4w9WgXcQ",
        "javascript://youtu.be/dQw4w9WgXcQ",
        "ftp://youtu.be/dQw4w9WgXcQ",
        "data:text/html,https://youtu.be/dQw4w9WgXcQ",
        "//youtu.be/dQw4w9WgXcQ",
        # Ids that are not a video's id.
        "https://youtu.be/dQw4w9WgXc",
        "https://youtu.be/dQw4w9WgXcQQ",
        "https://youtu.be/dQw4w9WgX%22",
        "https://youtu.be/dQw4w9W.gXc",
        "https://youtu.be/",
        'https://youtu.be/dQw4w9WgX"><script>alert(1)</script>',
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&v=a1B2c3D4e_-",
        "https://www.youtube.com/watch?v=",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ%27onload=alert(1)",
        "https://www.youtube.com/watch?v=../../../x",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ/extra",
        "https://www.youtube.com/watch/dQw4w9WgXcQ",
        "https://vimeo.com/channels/staffpicks/76979871",
        "https://vimeo.com/76979871abc",
        "https://vimeo.com/0",
        "https://vimeo.com/-1",
        "https://vimeo.com/1234567890123",
        "https://vimeo.com/7697%0A9871",
    ],
)
def test_a_bad_or_hostile_address_is_not_embedded(line):
    html = render_post(f"{line}\n\nmore")
    no_video(html)
    assert hazards(parse_html(html)) == []


def test_markup_written_to_look_like_a_placeholder_is_sanitised_as_usual():
    html = render_post(
        '<div class="video-embed" data-video-host="youtube" data-video-id="x">'
        '<iframe src="https://evil.example/"></iframe></div>\n\n'
        '<a title="<p>https://youtu.be/dQw4w9WgXcQ</p>" href="/x">x</a>'
    )
    assert "data-video" not in html
    assert "iframe" not in html
    assert "evil.example" not in html


# --- the page around it -------------------------------------------------------------


def test_the_published_page_shows_the_placeholder_and_loads_nothing_from_the_host(client, blog):
    post = blog.post(body="An interview on KM strategy.\n\nhttps://youtu.be/dQw4w9WgXcQ")
    page = client.get(post.url)
    assert page.status_code == 200
    assert shown_video(page.text)[:2] == ("youtube", "dQw4w9WgXcQ")
    tree = parse_html(page.text)
    # The script that turns a click into the player is ours, from this site.
    scripts = [script.get("src", "") for script in tree.find_all("script")]
    assert any(re.fullmatch(r"/assets/js/video-embeds\.[0-9a-f]{10}\.js", s) for s in scripts)
    # Nothing that a browser fetches on its own names a video host: only the link
    # the reader may follow.
    for node in tree.iter():
        for name in ("src", "srcset", "data", "poster", "action"):
            assert not any(host in node.get(name, "") for host in VIDEO_HOSTS), node.label()
        if node.tag == "link":
            assert not any(host in node.get("href", "") for host in VIDEO_HOSTS)
    # The home page shows the whole post, so it holds the placeholder too.
    assert shown_video(client.get("/").text)[:2] == ("youtube", "dQw4w9WgXcQ")


def test_the_csp_allows_frames_from_the_two_players_and_nothing_else(client, blog):
    post = blog.post(body="https://vimeo.com/76979871")
    for path in ("/", post.url, "/feeds/posts/default", "/login"):
        policy = client.get(path).headers["Content-Security-Policy"]
        directives = csp_directives(policy)
        assert sorted(directives["frame-src"]) == [
            "https://player.vimeo.com",
            "https://www.youtube-nocookie.com",
        ], policy
        # Nothing else opens the door to other frames or to the players' scripts.
        assert "child-src" not in directives
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]


def test_the_script_checks_ids_as_the_server_does_and_opens_only_the_private_players():
    script = (ROOT / "static" / "js" / "video-embeds.js").read_text()
    assert "/^[A-Za-z0-9_-]{11}$/" in script
    assert "/^[1-9][0-9]{0,11}$/" in script
    frames = set(re.findall(r"`(https://[^`]*)`", script))
    assert frames == {
        "https://www.youtube-nocookie.com/embed/${id}?autoplay=1",
        "https://player.vimeo.com/video/${id}?dnt=1&autoplay=1",
    }
    assert "innerHTML" not in script


def test_a_feed_reader_gets_a_link_to_the_video(client, blog):
    blog.post(title="The interview", body="https://youtu.be/dQw4w9WgXcQ")
    feed = feedparser.parse(client.get("/feeds/posts/default").data)
    content = feed.entries[0].content[0].value
    assert shown_video(content)[2] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


# --- posts stored before: flask rerender ---------------------------------------------


def test_rerender_turns_video_lines_of_stored_posts_into_placeholders(app, client, runner, blog):
    post = blog.post(body="Before.\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ")
    before_embeds = "<p>Before.</p>\n<p>https://www.youtube.com/watch?v=dQw4w9WgXcQ</p>"
    with app.app_context():
        db.session.get(Post, post.id).body_html = before_embeds
        db.session.commit()
    assert placeholders(client.get(post.url).text) == []
    result = runner.invoke(args=["rerender"])
    assert result.exit_code == 0, result.output
    assert shown_video(client.get(post.url).text)[:2] == ("youtube", "dQw4w9WgXcQ")


# --- Blogger imports ----------------------------------------------------------------


def test_the_real_2008_sample_keeps_its_youtube_video_and_names_the_dropped_host(client, runner):
    """blogger-2008-minima.xml holds a 2008 YouTube Flash player (<object> with <param>
    and <embed>) and a Truveo Flash <embed>."""
    result = runner.invoke(args=["import", "blogger", str(sample("blogger-2008-minima.xml"))])
    assert result.exit_code == 0, result.output
    page = client.get("/2008/04/rolling-in-hawaii.html")
    assert page.status_code == 200
    assert shown_video(page.text) == (
        "youtube",
        "yk0kiWqhdVc",
        "https://www.youtube.com/watch?v=yk0kiWqhdVc",
    )
    assert "It's not much, but I enjoy it." in page.text
    assert "  <embed> from xml.truveo.com: 1" in result.output.splitlines()
    assert "youtube" not in result.output.lower()
    assert "<object>" not in result.output and "<param>" not in result.output


PLAYERS = (
    '<div class="separator" style="clear: both; text-align: center;">'
    '<iframe width="320" height="266" class="YOUTUBE-iframe-video" '
    'data-thumbnail-src="https://i.ytimg.com/vi/dQw4w9WgXcQ/0.jpg" '
    'src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=player_embedded" '
    'frameborder="0" allowfullscreen></iframe></div>'
    "<p>Then the second half:</p>"
    '<p><iframe src="//www.youtube-nocookie.com/embed/a1B2c3D4e_-?rel=0"></iframe></p>'
    '<iframe src="https://player.vimeo.com/video/76979871?title=0" width="640"></iframe>'
    '<iframe allowfullscreen="allowfullscreen" src="https://www.blogger.com/video.g?'
    'token=AD6v5dx" class="b-hbp-video"></iframe>'
    '<iframe src="https://www.blogger.com/video.g?token=other"></iframe>'
    '<iframe src="https://maps.example.com/embed?pb=1"></iframe>'
    '<iframe src="https://www.youtube.com/embed/bad"></iframe>'
    '<embed src="https://flash.example.net/player.swf">'
    '<object data="javascript:alert(1)"><param name="movie" value="javascript:alert(2)">'
    "</object>"
    "<p>The end.</p>"
)


def test_a_blogger_export_with_players_imports_them_as_placeholders(client, runner, tmp_path):
    path = tmp_path / "players.xml"
    path.write_bytes(
        export(entry("post", "901", "Two talks", PLAYERS, path="/2011/03/two-talks.html"))
    )
    result = runner.invoke(args=["import", "blogger", str(path)])
    assert result.exit_code == 0, result.output
    page = client.get("/2011/03/two-talks.html")
    assert page.status_code == 200
    body = parse_html(page.text).one("div", class_="post-body")
    assert [
        (b.get("data-video-host"), b.get("data-video-id")) for b in placeholders(page.text)
    ] == [
        ("youtube", "dQw4w9WgXcQ"),
        ("youtube", "a1B2c3D4e_-"),
        ("vimeo", "76979871"),
    ]
    assert hazards(body) == []
    assert "ytimg" not in page.text and "blogger.com/video" not in page.text
    text = " ".join(body.text().split())
    assert "Then the second half:" in text and "The end." in text
    # A placeholder alone in a paragraph takes the paragraph's place (no <div> in <p>).
    assert not any(box.parent and box.parent.tag == "p" for box in placeholders(page.text))
    report = result.output.splitlines()
    assert "Dropped by sanitising (not allowed on this blog):" in report
    for line in (
        "  <iframe> from www.blogger.com: 2",
        "  <iframe> from maps.example.com: 1",
        "  <iframe> from www.youtube.com: 1",  # an id that is no video's
        "  <embed> from flash.example.net: 1",
        "  <object> from an address without a host: 1",
    ):
        assert line in report, result.output


def test_imported_pages_keep_their_videos_too(client, runner, tmp_path):
    path = tmp_path / "page.xml"
    content = '<p>Our webinar:</p><iframe src="https://player.vimeo.com/video/76979871"></iframe>'
    path.write_bytes(export(entry("page", "902", "Webinars", content, path="/p/webinars.html")))
    assert runner.invoke(args=["import", "blogger", str(path)]).exit_code == 0
    assert shown_video(client.get("/p/webinars.html").text)[:2] == ("vimeo", "76979871")


def test_rerender_keeps_imported_videos(app, client, runner, tmp_path):
    path = tmp_path / "players.xml"
    path.write_bytes(export(entry("post", "903", "A talk", PLAYERS, path="/2011/03/a-talk.html")))
    assert runner.invoke(args=["import", "blogger", str(path)]).exit_code == 0
    with app.app_context():
        stored = db.session.scalars(select(Post)).one()
        first = stored.body_html
        stored.body_html = "stale"
        pages = db.session.scalars(select(Page)).all()
        db.session.commit()
    assert pages == []
    assert runner.invoke(args=["rerender"]).exit_code == 0
    with app.app_context():
        again = db.session.scalars(select(Post)).one().body_html
    assert again == first
    assert len(placeholders(client.get("/2011/03/a-talk.html").text)) == 3


@pytest.mark.parametrize(
    "source",
    [
        # A player's markup inside an attribute is text, not a player.
        '<a href="/x" title="<iframe src=//www.youtube.com/embed/dQw4w9WgXcQ></iframe>">x</a>',
        '<img alt="<iframe src=https://player.vimeo.com/video/1></iframe>" src="/a.png">',
        # Script around or inside a player goes.
        '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" onload="alert(1)">'
        "<script>alert(2)</script></iframe>",
        '<iframe srcdoc="<script>alert(1)</script>" '
        'src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>',
        '<iframe src="javascript:alert(1)//https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>',
        '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"',
        "<object><param name=src value=https://www.youtube.com/v/dQw4w9WgXcQ>"
        "<embed src=javascript:alert(1)></object><svg onload=alert(1)>",
    ],
)
def test_hostile_html_around_players_is_made_harmless(source):
    html, _dropped = render_imported_post(source)
    assert hazards(parse_html(html)) == []
    for box in placeholders(html):
        assert box.get("data-video-host") in {"youtube", "vimeo"}
        assert re.fullmatch(r"[A-Za-z0-9_-]{11}|[1-9][0-9]*", box.get("data-video-id", ""))
    assert "kmblog-video" not in html


# --- the Blogger export ---------------------------------------------------------------


def test_the_blogger_export_writes_players_that_import_as_the_same_videos(
    app, client, runner, blog, migrated, tmp_path
):
    """Blogger runs no script of ours: the export holds the privacy-enhanced players,
    and importing that file gives the same placeholders back."""
    post = blog.post(
        title="Two talks",
        body="First:\n\nhttps://youtu.be/dQw4w9WgXcQ\n\nSecond:\n\nhttps://vimeo.com/76979871",
    )
    path = tmp_path / "export.xml"
    result = runner.invoke(args=["export", "blogger", str(path), "--base-url", "http://kip.test"])
    assert result.exit_code == 0, result.output
    # Read with ElementTree: feedparser's own sanitiser would take the iframes out.
    entries = ElementTree.parse(path).getroot().findall("a:entry", NS)  # noqa: S314 - ours
    content = next(
        e.findtext("a:content", "", NS)
        for e in entries
        if e.findtext("a:title", "", NS) == "Two talks"
    )
    frames = parse_html(content).find_all("iframe")
    assert [frame.get("src") for frame in frames] == [
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://player.vimeo.com/video/76979871?dnt=1",
    ]
    assert placeholders(content) == []
    before = [
        (b.get("data-video-host"), b.get("data-video-id"))
        for b in placeholders(client.get(post.url).text)
    ]
    with app.app_context():
        _reset_tables(migrated)
    result = runner.invoke(args=["import", "blogger", str(path)])
    assert result.exit_code == 0, result.output
    assert "Dropped" not in result.output
    after = [
        (b.get("data-video-host"), b.get("data-video-id"))
        for b in placeholders(client.get(post.url).text)
    ]
    assert after == before == [("youtube", "dQw4w9WgXcQ"), ("vimeo", "76979871")]
