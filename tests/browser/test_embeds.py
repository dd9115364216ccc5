"""Click-to-load videos in real Chromium: a Blogger export with a YouTube player, imported
through the authoring area, shows a placeholder; the page asks nothing of another host
until the reader clicks, and then only the privacy-enhanced player. The machine is
offline: every request to another host is recorded and answered here (page.route), so
the test sees where the browser went without going there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.blogger_files import entry, export
from tests.browser.conftest import PHONE
from tests.browser.helpers import scroll_width, shoot
from tests.browser.test_accessibility import EVERY_IMPACT, axe_violations

ADDRESS = "/2011/03/two-interviews-on-km-strategy.html"
PLAYERS = (
    "<p>Two interviews on knowledge strategy.</p>"
    '<div class="separator" style="clear: both; text-align: center;">'
    '<iframe width="320" height="266" class="YOUTUBE-iframe-video" '
    'data-thumbnail-src="https://i.ytimg.com/vi/dQw4w9WgXcQ/0.jpg" '
    'src="https://www.youtube.com/embed/dQw4w9WgXcQ?feature=player_embedded" '
    'frameborder="0" allowfullscreen></iframe></div>'
    "<p>And the second one:</p>"
    '<iframe src="https://player.vimeo.com/video/76979871" width="640"></iframe>'
    '<iframe src="https://www.blogger.com/video.g?token=AD6v5dx" class="b-hbp-video"></iframe>'
)
PLAYER_PAGE = "<!doctype html><html lang='en'><title>player</title><p>A stand-in player.</p>"


@pytest.fixture(scope="module")
def imported(browser: Any, server: str, author_state: str, tmp_path_factory: Any) -> str:
    """The export, imported once through the Import and export page; its report."""
    path = tmp_path_factory.mktemp("embeds") / "interviews.xml"
    path.write_bytes(
        export(entry("post", "7101", "Two interviews on KM strategy", PLAYERS, path=ADDRESS))
    )
    context = browser.new_context(base_url=server, storage_state=author_state)
    page = context.new_page()
    page.goto("/manage/transfer/")
    page.get_by_label("Blogger export file (.xml)").set_input_files(str(path))
    page.get_by_role("button", name="Import the Blogger export").click()
    report = page.locator(".import-report").text_content() or ""
    context.close()
    return report


class Requests:
    """Every request a page makes, and an answer of our own to each one that leaves
    the blog's host (none reaches the network)."""

    def __init__(self, page: Any, server: str) -> None:
        self.ours = urlsplit(server).netloc
        self.seen: list[str] = []
        page.on("request", lambda request: self.seen.append(request.url))
        page.route(re.compile(r"^https?://"), self._answer)

    def _answer(self, route: Any) -> None:
        if urlsplit(route.request.url).netloc == self.ours:
            route.continue_()
        else:
            route.fulfill(status=200, content_type="text/html", body=PLAYER_PAGE)

    def elsewhere(self) -> list[str]:
        """The requests to any host other than the blog's."""
        return [url for url in self.seen if urlsplit(url).netloc != self.ours]


@pytest.fixture
def watched(new_context: Any, server: str) -> Iterator[tuple[Any, Requests]]:
    page = new_context().new_page()
    yield page, Requests(page, server)


def test_the_import_report_names_the_dropped_host(imported):
    lines = imported.splitlines()
    assert "  posts published: 1" in lines
    assert "  <iframe> from www.blogger.com: 1" in lines
    assert "youtube" not in imported.lower() and "vimeo" not in imported.lower()


def test_no_request_leaves_the_blog_until_the_reader_clicks_play(imported, watched):
    page, requests = watched
    page.goto(ADDRESS)
    page.wait_for_load_state("networkidle")
    boxes = page.locator(".post-body .video-embed")
    assert boxes.count() == 2
    assert requests.elsewhere() == []
    assert page.locator("iframe").count() == 0
    # Scrolled into view, hovered and focused: still nothing from the hosts.
    boxes.first.scroll_into_view_if_needed()
    boxes.first.hover()
    page.get_by_role("link", name="Play video on YouTube").focus()
    page.wait_for_timeout(300)
    assert requests.elsewhere() == []

    page.get_by_role("link", name="Play video on YouTube").click()
    frame = page.locator(".video-embed iframe")
    frame.wait_for()
    src = frame.get_attribute("src") or ""
    assert src.startswith("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
    assert frame.get_attribute("title") == "YouTube video player"
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.tagName === 'IFRAME'"
    )
    page.wait_for_load_state("networkidle")
    # The browser asked for the private player, and for nothing else elsewhere: not
    # youtube.com, not its thumbnails, not Vimeo (whose box was not clicked).
    hosts = {urlsplit(url).netloc for url in requests.elsewhere()}
    assert hosts == {"www.youtube-nocookie.com"}, requests.elsewhere()
    assert page.url.endswith(ADDRESS)  # the page stayed; the link was not followed
    assert page.locator(".video-embed iframe").count() == 1


def test_the_vimeo_box_opens_from_the_keyboard_without_tracking(imported, watched):
    page, requests = watched
    page.goto(ADDRESS)
    page.get_by_role("link", name="Play video on Vimeo").focus()
    page.keyboard.press("Enter")
    frame = page.locator(".video-embed iframe")
    frame.wait_for()
    assert frame.get_attribute("src") == "https://player.vimeo.com/video/76979871?dnt=1&autoplay=1"
    page.wait_for_load_state("networkidle")
    assert {urlsplit(url).netloc for url in requests.elsewhere()} == {"player.vimeo.com"}
    assert any("dnt=1" in url for url in requests.elsewhere())


def test_without_javascript_the_box_is_a_link_to_the_video(imported, new_context, server):
    page = new_context(java_script_enabled=False).new_page()
    requests = Requests(page, server)
    page.goto(ADDRESS)
    assert requests.elsewhere() == []
    page.get_by_role("link", name="Play video on YouTube").click()
    page.wait_for_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    assert requests.elsewhere() == ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]


def test_a_post_with_placeholders_has_no_accessibility_violations(imported, new_context):
    # Only this context bypasses the CSP, so that the injected axe script may run.
    page = new_context(bypass_csp=True).new_page()
    page.goto(ADDRESS)
    assert axe_violations(page, EVERY_IMPACT) == []
    page.get_by_role("link", name="Play video on YouTube").focus()
    assert axe_violations(page, EVERY_IMPACT) == []


def test_the_box_fits_a_phone(imported, new_context, screenshots):
    page = new_context(viewport=PHONE).new_page()
    page.goto(ADDRESS)
    box = page.locator(".video-embed").first
    box.scroll_into_view_if_needed()
    size = box.bounding_box()
    assert size is not None and size["width"] <= PHONE["width"]
    assert abs(size["width"] / size["height"] - 16 / 9) < 0.05
    assert scroll_width(page) <= PHONE["width"]
    shoot(page, screenshots, "video-placeholder-phone")
