"""Untrusted text to safe HTML: the only module that calls markdown or bleach.

Posts are Markdown, rendered first and then sanitised with an allowlist. Comments are
plain text with a few inline tags allowed (as Blogger's comment form had), turned into
paragraphs and links; their renderer does no Markdown, so it stays linear in the input
length whatever a visitor types. Both results are stored at save time.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, urlsplit
from xml.etree import ElementTree as etree

import bleach
import bleach.sanitizer
import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

from kmblog.models import SourceFormat

if TYPE_CHECKING:
    # The stubs' name for the class bleach vendors (bleach's copy is not in them).
    from html5lib.filters.base import Filter
else:
    from bleach.html5lib_shim import Filter

# Control characters other than tab and newline, and the noncharacters U+FFFE and
# U+FFFF, break XML (feeds) and mean nothing on a page; lone surrogates cannot be
# encoded at all. All go from every stored text.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

POST_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div",
        "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s",
        "small", "source", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
POST_ATTRIBUTES = {
    "a": ["href", "title", "id", "rel"],
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height", "srcset", "sizes", "loading", "decoding"],
    # Only as render_post makes them for uploaded images (see _allowed_post_attribute).
    "source": ["type", "srcset", "sizes"],
    "td": ["align", "colspan", "rowspan"],
    "th": ["align", "colspan", "rowspan"],
    "h1": ["id"], "h2": ["id"], "h3": ["id"], "h4": ["id"], "h5": ["id"], "h6": ["id"],
    "li": ["id"],
    "sup": ["id"],
    # Classes only as Markdown makes them (see _ALLOWED_CLASSES): a class of an
    # author's choosing could pose as one of the page's own (a microformats2 "h-entry").
    "div": ["class"],
    "span": ["class"],
    "code": ["class"],
    "ol": ["start"],
}  # fmt: skip
# The classes Markdown's extensions write: the table of contents and its title, the
# footnotes, a fenced block's language ("language-python").
_ALLOWED_CLASSES = {
    "div": re.compile(r"toc|footnote"),
    "span": re.compile(r"toc-title"),
    "code": re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}"),
}
COMMENT_TAGS = frozenset({"a", "b", "blockquote", "br", "code", "em", "i", "p", "strong"})
COMMENT_ATTRIBUTES = {"a": ["href", "rel"]}

POST_MARKDOWN_EXTENSIONS = [
    "markdown.extensions.fenced_code",
    "markdown.extensions.tables",
    "markdown.extensions.footnotes",
    "markdown.extensions.sane_lists",
    "markdown.extensions.toc",
]
# A post's own headings sit under its title (an <h3>, as on Blogger): Markdown's "#"
# becomes <h3>, "##" <h4>, and so on, so that headings only ever go one level deeper
# (axe-core's heading-order rule; the comments' <h4> follows a post's sections).
# The table of contents lists the sections ("#") and their parts ("##"), under a title.
POST_MARKDOWN_CONFIG = {
    "markdown.extensions.toc": {
        "baselevel": 3,
        "toc_depth": "3-4",
        "title": "Contents",
        "title_class": "toc-title",
    }
}
# A post gets its table of contents where its author writes this on a line of its own,
# or, with at least AUTO_TOC_HEADINGS sections and parts ("#" and "##" headings) and no
# marker, just before its first heading: a long post's readers see its shape at once.
TOC_MARKER = "[TOC]"
AUTO_TOC_HEADINGS = 4
# How fast a post is read, for "6 min read": a common figure for adults reading
# non-fiction on a screen.
WORDS_PER_MINUTE = 230


def clean_text(text: str) -> str:
    """Normalise line ends and drop control characters; applied to every stored text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", text)


def clean_line(text: str) -> str:
    """clean_text() for one-line fields (names, titles): no line breaks, no edge spaces."""
    return " ".join(clean_text(text).split())


def is_safe_url(url: str) -> bool:
    """True for an absolute http(s) address, the only kind shown as a commenter's link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in {"http", "https"}
        and bool(parts.netloc)
        and not _has_credentials(parts)
    )


def _has_credentials(parts: SplitResult) -> bool:
    """An address with a user name or password before its host: HTML does not allow
    one in a link ("https://bank.example@evil.example/" reads as the bank's address but
    leads elsewhere)."""
    return "@" in parts.netloc


def _allowed_post_attribute(tag: str, name: str, value: str) -> bool:
    """POST_ATTRIBUTES, and for addresses a second opinion on the scheme: bleach reads
    "javascript:1" as a host and a port, Python's urlsplit as the scheme it is."""
    if name not in POST_ATTRIBUTES.get(tag, ()):
        return False
    if name in {"href", "src"}:
        address = "".join(ch for ch in value if ch > " ")
        try:
            parts = urlsplit(address)
        except ValueError:
            return False
        scheme = parts.scheme.lower()
        return (not scheme or scheme in SAFE_URL_SCHEMES) and not _has_credentials(parts)
    if name == "srcset":
        # Candidate lists name our own uploads only: an address elsewhere would be a
        # request to another site that no src= shows the author.
        return all(_MEDIA_CANDIDATE.fullmatch(part.strip()) for part in value.split(","))
    if name == "loading":
        return value in {"lazy", "eager"}
    if name == "decoding":
        return value in {"async", "sync", "auto"}
    if name == "type":
        return value in {"image/webp"}
    if name == "class":
        return bool(_ALLOWED_CLASSES[tag].fullmatch(value))
    return True


class _MendPostHtml(Filter):
    """What the allowlist lets through but HTML forbids, or readers' tools stumble on,
    mended after sanitising (Blogger's editor wrote all of it; raw HTML in Markdown can):

    - an <img> without alt text gets one: its title, else empty (the file name is no
      text to read out; the Nu HTML Checker and Lighthouse require the attribute);
    - an <img> by http:// asks for https://, as browsers already do on a page served
      over https (they upgrade such "mixed content"), so no page asks insecurely;
    - a <br> directly inside a list, between its items, goes: a list holds only items.
    """

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # The stream comes from a parsed tree: every start tag has its end tag.
        open_tags: list[str] = []
        for token in super().__iter__():
            kind, name = token["type"], token.get("name")
            if kind == "StartTag":
                open_tags.append(name)
            elif kind == "EndTag" and open_tags:
                open_tags.pop()
            elif kind == "EmptyTag" and name == "br" and open_tags[-1:] in (["ul"], ["ol"]):
                continue
            elif kind == "EmptyTag" and name == "img":
                _mend_image(token["data"])
            yield token


def _mend_image(attributes: dict[tuple[str | None, str], str]) -> None:
    attributes.setdefault((None, "alt"), attributes.get((None, "title"), ""))
    src = attributes.get((None, "src"), "")
    if src[:7].lower() == "http://":
        attributes[(None, "src")] = "https://" + src[7:]


# An uploaded image's address (kmblog/media names them) and a srcset candidate of one.
MEDIA_PATH = re.compile(r"/media/[0-9a-f]{64}(?:-[0-9]+)?\.(?:jpg|png|webp)")
_MEDIA_CANDIDATE = re.compile(MEDIA_PATH.pattern + r" [0-9]+w")
# How wide an image is shown: the whole column on a phone, at most the post column's
# 760 CSS pixels elsewhere (static/css: .outer is 860px with the sidebar beside it).
IMAGE_SIZES = "(max-width: 760px) 100vw, 760px"


@dataclass(frozen=True)
class ImageVariants:
    """An uploaded image's stored sizes, as kmblog.media gives them to render_post:
    the largest's width and height, and (address, width) pairs in the classic format
    (JPEG or PNG) and in WebP, narrowest first."""

    width: int
    height: int
    classic: tuple[tuple[str, int], ...]
    webp: tuple[tuple[str, int], ...]


def _srcset(candidates: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{url} {width}w" for url, width in candidates)


class _UploadedImages(Treeprocessor):
    """Markdown's <img> of an uploaded image becomes a <picture>: WebP for browsers that
    take it, JPEG or PNG for the others, each at every stored width for the browser to
    choose from, with the size known before loading (no layout shift) and loaded lazily."""

    def __init__(self, md: markdown.Markdown, images: Mapping[str, ImageVariants]) -> None:
        super().__init__(md)
        self.images = images

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag != "img":
                    continue
                variants = self.images.get(child.get("src", ""))
                if variants is None:
                    continue
                child.set("srcset", _srcset(variants.classic))
                child.set("sizes", IMAGE_SIZES)
                child.set("width", str(variants.width))
                child.set("height", str(variants.height))
                child.set("loading", "lazy")
                child.set("decoding", "async")
                picture = etree.Element("picture")
                picture.tail, child.tail = child.tail, None
                etree.SubElement(
                    picture,
                    "source",
                    {"type": "image/webp", "srcset": _srcset(variants.webp), "sizes": IMAGE_SIZES},
                )
                parent.remove(child)
                picture.append(child)
                parent.insert(index, picture)


class _UploadedImagesExtension(Extension):
    def __init__(self, images: Mapping[str, ImageVariants]) -> None:
        super().__init__()
        self.images = images

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's name
        # After inline patterns (which make the <img>), before prettifying.
        md.treeprocessors.register(_UploadedImages(md, self.images), "uploaded_images", 5)


# ---- anchors: headings, footnotes, the table of contents --------------------------
#
# Every id in a post's HTML begins with the post's own prefix (post_anchors: "p42-"),
# added as the HTML is sanitised, whoever wrote the id (Markdown or the author's raw
# HTML): the home page shows many posts, each with its footnote "fn:1" and its section
# "introduction", and a post's page has ids of its own ("comments", "c17") that no post
# may take. The post's links to its own ids ("#fn:1", the table of contents') get the
# same prefix, so they land in the same post wherever it is shown; a link to any other
# fragment is left as written. A prefix is letters, digits and a final "-", so one
# post's ids can never spell another's.

# A post not saved yet (the editor's preview of a new post), a standalone page (shown
# alone, never beside another), and a series' description (on its page, above posts).
NEW_POST_ANCHORS = "p-"
PAGE_ANCHORS = "pg-"
SERIES_ANCHORS = "s-"


def post_anchors(post_id: int | None) -> str:
    """The prefix of every id in a post's HTML: "p42-", or "p-" before it has an id."""
    return NEW_POST_ANCHORS if post_id is None else f"p{int(post_id)}-"


class _PrefixAnchors(Filter):
    """Each id gets the prefix of the post being rendered (_cleaners.anchors); an id
    used twice, or one that HTML forbids (empty, with spaces), goes. A link to one of the
    post's ids follows it."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        prefix = _cleaners.anchors
        # Whole, because a link may come before the id it names (the table of
        # contents); a post is bounded by the editor's limit.
        tokens = list(super().__iter__())
        ids: set[str] = set()
        for token in tokens:
            if token["type"] not in {"StartTag", "EmptyTag"}:
                continue
            attributes = token["data"]
            value = attributes.pop((None, "id"), None)
            if value and value not in ids and not any(ch.isspace() for ch in value):
                ids.add(value)
                attributes[(None, "id")] = prefix + value
        for token in tokens:
            if token["type"] == "StartTag" and token["name"] == "a":
                href = token["data"].get((None, "href"), "")
                if href.startswith("#") and href[1:] in ids:
                    token["data"][(None, "href")] = f"#{prefix}{href[1:]}"
            yield token


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _is_toc_marker(element: etree.Element) -> bool:
    return element.tag == "p" and (element.text or "").strip() == TOC_MARKER and not len(element)


class _AutomaticToc(Treeprocessor):
    """A marker for the table of contents before the first heading of a post with
    AUTO_TOC_HEADINGS sections and parts or more; an author's marker in a post with no
    headings goes (it would be an empty list). Runs before the toc extension, which puts
    the table where the marker is."""

    def run(self, root: etree.Element) -> None:
        markers = [element for element in root.iter("p") if _is_toc_marker(element)]
        listed = [element for element in root.iter() if element.tag in {"h1", "h2"}]
        if markers:
            if not listed:
                for parent in list(root.iter()):
                    for child in list(parent):
                        if child in markers:
                            parent.remove(child)
            return
        if len(listed) < AUTO_TOC_HEADINGS:
            return
        children = list(root)
        first = next((i for i, child in enumerate(children) if child.tag in _HEADINGS), 0)
        marker = etree.Element("p")
        marker.text = TOC_MARKER
        root.insert(first, marker)


class _AutomaticTocExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's name
        # After the footnotes (50) and inline patterns (20), before the toc (5).
        md.treeprocessors.register(_AutomaticToc(md), "automatic_toc", 6)


def absolute_fragments(stored: str, page_url: str) -> str:
    """Stored HTML with its links within the post ("#p42-fn:1") made absolute on the
    post's address, for feeds: a feed reader shows a post away from its page."""
    return stored.replace('href="#', f'href="{escape(page_url)}#')


@dataclass(frozen=True)
class ReadingTime:
    """How long a post is: its words, as a reader reads them (not its markup)."""

    words: int

    @property
    def minutes(self) -> int:
        """At WORDS_PER_MINUTE, rounded up: any text at all takes a minute."""
        return -(-self.words // WORDS_PER_MINUTE)

    @property
    def label(self) -> str:
        """ "6 min read"; empty for a post without words."""
        return f"{self.minutes} min read" if self.words else ""

    @property
    def summary(self) -> str:
        """ "1,380 words · 6 min read", for the editor."""
        words = f"{self.words:,} word{'' if self.words == 1 else 's'}"
        return f"{words} · {self.label}" if self.words else words


# A word: letters or digits, with the apostrophes, hyphens and points inside it
# ("don't", "well-known", "3.5").
_WORD = re.compile(r"\w+(?:['’.\-]\w+)*")
# What is no words of the post: its table of contents (a repeat of its headings) and the
# marks of its footnotes (the notes themselves are read).
_NOT_READ = re.compile(r'<div class="toc">.*?</div>|<sup id="[^"]*fnref[^"]*">.*?</sup>', re.DOTALL)


def reading_time(stored: str) -> ReadingTime:
    """The words of HTML this module stored, as readers read them, for "6 min read"."""
    return ReadingTime(len(_WORD.findall(html_text(_NOT_READ.sub("", stored)))))


_RELATIVE_MEDIA = re.compile(r'(["\s,])(/media/[0-9a-f]{64})')


def absolute_media(stored: str, base_url: str) -> str:
    """Stored HTML with its uploaded images' addresses (src and srcset) made absolute on
    `base_url` ("https://blog.example"), for what is read away from the blog: feeds and
    the Blogger export."""
    if "/media/" not in stored:
        return stored
    base = base_url.rstrip("/")
    return _RELATIVE_MEDIA.sub(lambda found: f"{found[1]}{base}{found[2]}", stored)


def media_paths(source: str) -> set[str]:
    """The addresses of uploaded images that a post's text names ("/media/<hash>.jpg")."""
    return set(MEDIA_PATH.findall(source))


def render_post(
    source: str,
    images: Mapping[str, ImageVariants] | None = None,
    anchors: str = NEW_POST_ANCHORS,
) -> str:
    """An author's Markdown to sanitised HTML; a YouTube or Vimeo address alone in its
    paragraph becomes a click-to-load video (video_placeholder). `images` gives the
    stored sizes of the uploaded images it shows, by address
    (kmblog.media.services.image_variants); `anchors` begins each of its ids
    (post_anchors). Footnotes go at its end, a table of contents where TOC_MARKER is
    (or, in a long post, before its first heading)."""
    extensions: list[str | Extension] = [*POST_MARKDOWN_EXTENSIONS, _AutomaticTocExtension()]
    if images:
        extensions.append(_UploadedImagesExtension(images))
    html = markdown.markdown(
        clean_text(source),
        extensions=extensions,
        extension_configs=POST_MARKDOWN_CONFIG,
    )
    cleaners = _cleaners
    cleaners.anchors = anchors
    cleaned = str(cleaners.authored.clean(html))
    return _VIDEO_LINE.sub(_video_line, cleaned)


# ---- videos: click-to-load placeholders -------------------------------------------
#
# A video is never embedded as the host's own markup: the stored HTML holds our
# placeholder, built here *after* sanitising from a host we name and an id that
# matched a strict pattern, so the allowlists stay as they are (no iframe, no data-
# attributes for authors). Nothing in it loads from the host; static/js/video-embeds.js
# puts the host's privacy-enhanced player in its place when the reader clicks, and the
# CSP (kmblog/security.py) allows frames from those two players and nothing else.

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_VIMEO_ID = re.compile(r"[1-9][0-9]{0,11}")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
_YOUTUBE_PLAYER_HOSTS = _YOUTUBE_HOSTS | {"youtube-nocookie.com", "www.youtube-nocookie.com"}
_VIMEO_HOSTS = frozenset({"vimeo.com", "www.vimeo.com"})


@dataclass(frozen=True)
class Video:
    """A video on one of the hosts we embed: "youtube" or "vimeo", and its id (checked)."""

    host: str
    id: str

    @property
    def host_name(self) -> str:
        return "YouTube" if self.host == "youtube" else "Vimeo"

    @property
    def watch_url(self) -> str:
        """The video's own page, for readers without JavaScript (and feed readers)."""
        if self.host == "youtube":
            return f"https://www.youtube.com/watch?v={self.id}"
        return f"https://vimeo.com/{self.id}"


def _web_address(url: str, allow_relative_scheme: bool = False) -> tuple[str, str, str] | None:
    """(host, path, query) of an http(s) address with no user, password or port;
    None for anything else (javascript:, a host hidden behind "user@", a bad port)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not (scheme in {"http", "https"} or (allow_relative_scheme and not scheme)):
        return None
    if parts.username is not None or parts.password is not None or port is not None:
        return None
    return (parts.hostname or "", parts.path, parts.query)


def _youtube(video_id: str) -> Video | None:
    return Video("youtube", video_id) if _YOUTUBE_ID.fullmatch(video_id) else None


def _vimeo(video_id: str) -> Video | None:
    return Video("vimeo", video_id) if _VIMEO_ID.fullmatch(video_id) else None


def video_from_link(url: str) -> Video | None:
    """The video a watch address names: youtube.com/watch?v=ID, youtu.be/ID,
    youtube.com/shorts/ID or vimeo.com/ID; None for any other address."""
    found = _web_address(url)
    if found is None:
        return None
    host, path, query = found
    if host in _YOUTUBE_HOSTS and path == "/watch":
        ids = parse_qs(query).get("v", [])
        return _youtube(ids[0]) if len(ids) == 1 else None
    if host in _YOUTUBE_HOSTS and path.startswith("/shorts/"):
        return _youtube(path.removeprefix("/shorts/").removesuffix("/"))
    if host == "youtu.be":
        return _youtube(path.removeprefix("/"))
    if host in _VIMEO_HOSTS:
        return _vimeo(path.removeprefix("/").removesuffix("/"))
    return None


def video_from_player(url: str) -> Video | None:
    """The video an embedded player's address names (as Blogger posts hold them):
    youtube.com/embed/ID, youtube-nocookie.com/embed/ID, the old Flash player's
    youtube.com/v/ID, player.vimeo.com/video/ID; None for any other address."""
    found = _web_address(url, allow_relative_scheme=True)
    if found is None:
        return None
    host, path, _query = found
    if host in _YOUTUBE_PLAYER_HOSTS and path.startswith("/embed/"):
        return _youtube(path.removeprefix("/embed/"))
    if host in _YOUTUBE_HOSTS and path.startswith("/v/"):
        # The Flash player's options followed the id in its path: /v/ID&hl=en&fs=1.
        return _youtube(path.removeprefix("/v/").partition("&")[0])
    if host == "player.vimeo.com" and path.startswith("/video/"):
        return _vimeo(path.removeprefix("/video/"))
    return None


def video_placeholder(video: Video) -> str:
    """Our markup for a video: a box with "Play video", the host's name, and a link to
    the video's page. Host and id are checked (Video); escaped all the same."""
    host, video_id = escape(video.host), escape(video.id)
    return (
        f'<div class="video-embed" data-video-host="{host}" data-video-id="{video_id}">'
        f'<a class="video-embed-link" href="{escape(video.watch_url)}">'
        '<span class="video-embed-title">Play video</span> '
        f'<span class="video-embed-host"><span class="visually-hidden">on </span>'
        f"{escape(video.host_name)}</span></a></div>"
    )


# Our placeholder as video_placeholder() writes it (its inside holds no <div>).
_PLACEHOLDER = re.compile(
    r'<div class="video-embed" data-video-host="(?P<host>[a-z]+)" '
    r'data-video-id="(?P<id>[^"]*)">.*?</div>',
    re.DOTALL,
)


def videos_as_players(stored: str) -> str:
    """Stored HTML with each video placeholder written as the host's privacy-enhanced
    player, for the Blogger export: Blogger (or another blog) runs no script of ours,
    and our importer reads these players back as the same placeholders."""

    def player(match: re.Match[str]) -> str:
        maker = {"youtube": _youtube, "vimeo": _vimeo}.get(match["host"])
        video = maker(match["id"]) if maker else None
        if video is None:
            return match.group(0)
        src = (
            f"https://www.youtube-nocookie.com/embed/{video.id}"
            if video.host == "youtube"
            else f"https://player.vimeo.com/video/{video.id}?dnt=1"
        )
        return (
            f'<iframe width="560" height="315" src="{escape(src)}" '
            f'title="{escape(video.host_name)} video player" allowfullscreen></iframe>'
        )

    return _PLACEHOLDER.sub(player, stored) if "video-embed" in stored else stored


# A paragraph of sanitised HTML that is an address and nothing else: typed bare, or as
# Markdown's <autolink> (a link whose text is its address).
_VIDEO_LINE = re.compile(
    r"<p>\s*(?:(?P<bare>https?://[^\s<>\"]+)|<a href=\"(?P<href>[^\"<>]+)\">(?P=href)</a>)\s*</p>",
    re.IGNORECASE,
)


def _video_line(match: re.Match[str]) -> str:
    address = html.unescape(match["bare"] or match["href"])
    video = video_from_link(address)
    return match.group(0) if video is None else video_placeholder(video)


_START_TAG = re.compile(r"<([a-zA-Z][^\s/>]*)")


def _dropped_tags(source: str, allowed: frozenset[str]) -> Counter[str]:
    """Start tags of `source` outside `allowed`, counted (for the import report)."""
    found = Counter(tag.lower() for tag in _START_TAG.findall(source))
    return Counter({f"<{tag}>": n for tag, n in found.items() if tag not in allowed})


def _allowed_comment_attribute(tag: str, name: str, value: str) -> bool:
    """COMMENT_ATTRIBUTES without rel (render_imported_comment adds ours) and with
    linkable addresses only."""
    if tag == "a" and name == "rel":
        return False
    return name in COMMENT_ATTRIBUTES.get(tag, ()) and (name != "href" or _is_safe_link(value))


# bleach calls an attribute check with the tag, the attribute's name and its value.
AttributeCheck = Callable[[str, str, str], bool]


class _Cleaners(threading.local):
    """bleach Cleaners for imported HTML and authors' posts, made once per thread (a
    Cleaner is not thread-safe, and making one per item costs more than cleaning a
    comment). The import's attribute checks note what they refuse in `dropped`."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        # The id prefix of the post being rendered (render_post).
        self.anchors = NEW_POST_ANCHORS
        self.authored = bleach.sanitizer.Cleaner(
            tags=POST_TAGS,
            attributes=_allowed_post_attribute,
            protocols=SAFE_URL_SCHEMES,
            strip=True,
            strip_comments=True,
            filters=[_MendPostHtml, _PrefixAnchors],
        )
        self.post = bleach.sanitizer.Cleaner(
            tags=POST_TAGS,
            attributes=self._noting(_allowed_post_attribute),
            protocols=SAFE_URL_SCHEMES,
            strip=True,
            strip_comments=True,
            filters=[_MendPostHtml],
        )
        self.comment = bleach.sanitizer.Cleaner(
            tags=COMMENT_TAGS,
            attributes=self._noting(_allowed_comment_attribute),
            protocols=SAFE_URL_SCHEMES,
            strip=True,
            strip_comments=True,
        )

    def _noting(self, check: AttributeCheck) -> AttributeCheck:
        def allowed(tag: str, name: str, value: str) -> bool:
            if check(tag, name, value):
                return True
            if not (tag == "a" and name == "rel"):
                self.dropped[f"{name}= on <{tag}>"] += 1
            return False

        return allowed


_cleaners = _Cleaners()


def render_imported_post(source: str) -> tuple[str, Counter[str]]:
    """HTML from another blog (a Blogger export) to sanitised HTML, by the posts'
    allowlist, and a count of what was dropped ("<embed> from xml.truveo.com",
    "style= on <div>"). Embedded YouTube and Vimeo players become click-to-load videos
    (video_placeholder); any other embedded thing is dropped and counted by its host."""
    text = clean_text(source)
    text, videos, dropped_embeds = _take_embeds(text)
    cleaners = _cleaners
    cleaners.dropped = _dropped_tags(text, POST_TAGS)
    cleaners.dropped.update(dropped_embeds)
    cleaned = cleaners.post.clean(text)
    return _put_videos(cleaned, videos), cleaners.dropped


# An embedded player, whole: an <iframe> or <object> to its end tag (or the end of the
# text, as a browser reads an unclosed one), or an <embed>. An <embed> inside an <object>
# (Blogger's Flash-era markup) is part of its object. Found with a pattern only to be
# taken out: whatever it misses, bleach still removes.
_EMBED_ELEMENT = re.compile(
    r"<(?P<tag>iframe|object)\b[^>]*>.*?(?:</(?P=tag)\s*>|\Z)"
    r"|<(?P<void>embed)\b[^>]*>(?:\s*</embed\s*>)?",
    re.IGNORECASE | re.DOTALL,
)
# Where each kind of element names what it shows.
_EMBED_ADDRESS_ATTRIBUTES = {"iframe": "src", "embed": "src", "object": "data"}


class _EmbedAddresses(HTMLParser):
    """The addresses an embedded element's tags name, in order (iframe/embed src,
    object data, a <param name="movie"> or "src" value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        if tag == "param":
            if named.get("name", "").lower() in {"movie", "src"}:
                self.addresses.append(named.get("value", ""))
        elif tag in _EMBED_ADDRESS_ATTRIBUTES:
            self.addresses.append(named.get(_EMBED_ADDRESS_ATTRIBUTES[tag], ""))


def _take_embeds(text: str) -> tuple[str, dict[str, Video], Counter[str]]:
    """`text` with each embedded element replaced by a marker (a video we embed) or by
    nothing (anything else); the videos by marker; what was dropped, by host."""
    # A marker is an element the allowlist keeps, so that it is found again only where
    # it is an element: inside an attribute's value its "<" comes out as "&lt;". Its id
    # is unguessable, so nothing in the post can pose as one.
    nonce = secrets.token_hex(8)
    videos: dict[str, Video] = {}
    dropped: Counter[str] = Counter()

    def take(match: re.Match[str]) -> str:
        parser = _EmbedAddresses()
        parser.feed(match.group(0))
        parser.close()
        addresses = [address.strip() for address in parser.addresses if address.strip()]
        for address in addresses:
            video = video_from_player(address)
            if video is not None:
                name = f"kmblog-video-{nonce}-{len(videos)}"
                # Unquoted here, so that it breaks no quoting around it; quoted as
                # bleach writes it out.
                videos[f'<a id="{name}"></a>'] = video
                return f"<a id={name}></a>"
        tag = (match["tag"] or match["void"]).lower()
        host = _address_host(addresses[0]) if addresses else "no address"
        dropped[f"<{tag}> from {host}"] += 1
        return ""

    return _EMBED_ELEMENT.sub(take, text), videos, dropped


def _address_host(address: str) -> str:
    try:
        return urlsplit(address).hostname or "an address without a host"
    except ValueError:
        return "an address without a host"


def _put_videos(cleaned: str, videos: dict[str, Video]) -> str:
    """Sanitised HTML with each marker replaced by its video's placeholder (a marker
    that is a paragraph's only content replaces the paragraph: no <div> inside <p>)."""
    for marker, video in videos.items():
        placeholder = video_placeholder(video)
        cleaned, alone = re.subn(rf"<p>\s*{re.escape(marker)}\s*</p>", placeholder, cleaned)
        if not alone:
            cleaned = cleaned.replace(marker, placeholder)
        # A player written inside an attribute's value (a title) is text there, not a
        # player: its marker, escaped, goes without a trace.
        name = re.escape(marker.removeprefix('<a id="').removesuffix('"></a>'))
        cleaned = re.sub(rf"(?:<|&lt;)a id={name}(?:>|&gt;)(?:<|&lt;)/a(?:>|&gt;)", "", cleaned)
    return cleaned


def render_body(
    source: str,
    source_format: SourceFormat,
    images: Mapping[str, ImageVariants] | None = None,
    *,
    anchors: str,
) -> str:
    """A post's or page's body as readers see it, by its own format: an imported HTML
    body is sanitised as on import, never read as Markdown (which would turn its
    indented lines into code and its underscores into emphasis). `anchors` begins the
    ids of a Markdown body: post_anchors(post id), or PAGE_ANCHORS."""
    if source_format == SourceFormat.HTML:
        return render_imported_post(source)[0]
    return render_post(source, images, anchors)


_BARE_LINK = re.compile(r'(<a href="[^"]*")>')


def render_imported_comment(source: str) -> tuple[str, Counter[str]]:
    """A comment's HTML from another blog to sanitised HTML, by the comments' allowlist
    (links get rel="nofollow ugc noopener" as typed ones do), and what was dropped."""
    text = clean_text(source)
    cleaners = _cleaners
    # Blogger wrote upper-case <BR/> and <B>; HTML does not care, the count should not.
    cleaners.dropped = _dropped_tags(text, COMMENT_TAGS)
    cleaned = cleaners.comment.clean(text)
    return _BARE_LINK.sub(rf'\1 rel="{LINK_REL}">', cleaned), cleaners.dropped


# The few tags a commenter may type, as Blogger allowed; anything else is shown as text.
_COMMENT_TOKEN = re.compile(
    r"""<(?P<close>/?)(?P<tag>b|i|em|strong|code|blockquote)\s*>"""
    r"""|<a\s+href\s*=\s*(?:"(?P<dq>[^"<>]*)"|'(?P<sq>[^'<>]*)'|(?P<bare>[^\s"'<>]+))\s*>"""
    r"""|(?P<close_a></a\s*>)"""
    r"""|(?P<paragraph>\n[ \t]*\n\s*)"""
    r"""|(?P<newline>\n)"""
    r"""|(?P<url>\bhttps?://[^\s<>"']+[^\s<>"'.,;:!?)\]])""",
    re.IGNORECASE,
)
_MAX_INLINE_DEPTH = 8
_MAX_QUOTE_DEPTH = 4


class _CommentWriter:
    """Builds a comment's HTML token by token, keeping every tag balanced.

    One pass over the text with one regular expression: the cost is linear in the
    length of the comment whatever it holds (Python-Markdown and html5lib are not).
    """

    def __init__(self) -> None:
        self.out: list[str] = []
        self.inline: list[str] = []
        self.quotes = 0
        self.in_paragraph = False

    def text(self, text: str) -> None:
        if not text:
            return
        self._open_paragraph()
        self.out.append(str(escape(text)))

    def _open_paragraph(self) -> None:
        if not self.in_paragraph:
            self.out.append("<p>")
            self.in_paragraph = True

    def close_paragraph(self) -> None:
        while self.inline:
            self.out.append(f"</{self.inline.pop()}>")
        if self.in_paragraph:
            self.out.append("</p>")
            self.in_paragraph = False

    def newline(self) -> None:
        if self.in_paragraph:
            self.out.append("<br>")

    def open_inline(self, tag: str, html: str, typed: str) -> None:
        if len(self.inline) >= _MAX_INLINE_DEPTH or (tag == "a" and "a" in self.inline):
            self.text(typed)
            return
        self._open_paragraph()
        self.inline.append(tag)
        self.out.append(html)

    def close_inline(self, tag: str, typed: str) -> None:
        if tag not in self.inline:
            self.text(typed)
            return
        while self.inline:
            open_tag = self.inline.pop()
            self.out.append(f"</{open_tag}>")
            if open_tag == tag:
                break

    def open_quote(self, typed: str) -> None:
        if self.quotes >= _MAX_QUOTE_DEPTH:
            self.text(typed)
            return
        self.close_paragraph()
        self.out.append("<blockquote>")
        self.quotes += 1

    def close_quote(self, typed: str) -> None:
        if not self.quotes:
            self.text(typed)
            return
        self.close_paragraph()
        self.out.append("</blockquote>")
        self.quotes -= 1

    def finish(self) -> str:
        self.close_paragraph()
        self.out.extend("</blockquote>" for _ in range(self.quotes))
        return "".join(self.out)


def render_comment(source: str) -> str:
    """A reader's comment to sanitised HTML: paragraphs, line breaks, a few inline tags.

    Tags outside the allowlist are shown as the text that was typed, not dropped, so a
    reader who writes about `<script>` sees their words. Bare web addresses become links.
    """
    text = clean_text(source).strip()
    writer = _CommentWriter()
    position = 0
    for match in _COMMENT_TOKEN.finditer(text):
        writer.text(text[position : match.start()])
        position = match.end()
        typed = match.group(0)
        if match["paragraph"]:
            writer.close_paragraph()
        elif match["newline"]:
            writer.newline()
        elif match["url"]:
            if "a" in writer.inline or "code" in writer.inline or not _is_safe_link(typed):
                writer.text(typed)
            else:
                url = typed
                writer.open_inline("a", _link_open(url), typed)
                writer.text(url)
                writer.close_inline("a", "")
        elif match["close_a"]:
            writer.close_inline("a", typed)
        elif match["tag"]:
            tag = match["tag"].lower()
            closing = bool(match["close"])
            if tag == "blockquote":
                (writer.close_quote if closing else writer.open_quote)(typed)
            elif closing:
                writer.close_inline(tag, typed)
            else:
                writer.open_inline(tag, f"<{tag}>", typed)
        else:
            href = html.unescape(match["dq"] or match["sq"] or match["bare"] or "").strip()
            if _is_safe_link(href):
                writer.open_inline("a", _link_open(href), typed)
            else:
                writer.text(typed)
    writer.text(text[position:])
    # Our writer only emits allowlisted tags; bleach checks that once more, cheaply,
    # since the markup it is given is flat and balanced.
    return bleach.clean(
        writer.finish(),
        tags=COMMENT_TAGS,
        attributes=COMMENT_ATTRIBUTES,
        protocols=SAFE_URL_SCHEMES,
        strip=True,
    )


def _is_safe_link(href: str) -> bool:
    """http(s) addresses with a host, and mailto: addresses, may be linked in comments."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    return (scheme in {"http", "https"} and bool(parts.netloc) and not _has_credentials(parts)) or (
        scheme == "mailto" and bool(parts.path)
    )


def _link_open(href: str) -> str:
    return str(Markup('<a href="{}" rel="{}">').format(href, LINK_REL))


def commenter_link(name: str, url: str) -> Markup:
    """A commenter's name as HTML: a link to their site only when the address is http(s)."""
    shown = escape(name or "Anonymous")
    if url and is_safe_url(url):
        # An f-string of escaped parts: Markup.format costs five times as much, for each
        # of a page's hundred comments.
        return Markup(f'<a href="{escape(url)}" rel="{LINK_REL}">{shown}</a>')  # noqa: S704
    return shown


def commenter_card(name: str, url: str) -> Markup:
    """commenter_link() as the comment's microformats2 author, an h-card: its name is the
    element's text and its address the link's (both implied, so the name stays one
    element as it was); no link, no address, as with commenter_link."""
    shown = escape(name or "Anonymous")
    if url and is_safe_url(url):
        return Markup(  # noqa: S704 - escaped parts, as in commenter_link
            f'<a class="p-author h-card" href="{escape(url)}" rel="{LINK_REL}">{shown}</a>'
        )
    return Markup(f'<span class="p-author h-card">{shown}</span>')  # noqa: S704 - escaped


# After the name of a commenter who answered from Mastodon or another fediverse server.
_VIA_FEDIVERSE = ' <span class="comment-via">(via the fediverse)</span>'


# A moment as a <time> element with a microformats2 class ("dt-published"), or none.
TimeTag = Callable[[datetime, str], str]


def comment_items(
    threads: Iterable[Any],
    said_at: TimeTag,
    can_reply: bool = False,
    own: Container[int] = frozenset(),
    own_links: Callable[[int], str] | None = None,
    permalink: Callable[[Any], str] | None = None,
) -> Markup:
    """Each thread of a post page as its <li>: "At <time>, NAME said...", its text, a
    Reply link (when `can_reply`), and the replies under it in a nested list.

    `threads` are kmblog.blog.services.CommentNode: a comment row, its replies, the
    comment it answers when it is placed beside it, and whether it is a placeholder for
    a removed comment. Built here rather than in a template loop, which cost 25
    microseconds a comment (three quarters of a post page with a hundred comments):
    names and addresses are escaped by commenter_card, Blogger ids and names escaped,
    bodies are this module's stored output, ids are numbers and `said_at` gives a
    <time> element of digits and month names. The comments in `own` (the visitor's
    own, still theirs to change) get `own_links` (the Edit and Delete links, our own
    markup).

    Each shown comment is also a microformats2 `p-comment h-cite` (author h-card,
    dt-published, e-content, and its `permalink`, an address of our own making, as a
    hidden u-url), its replies nested inside it as the page nests them, so that
    IndieWeb readers and Webmention senders read the thread as people see it. A removed
    comment's placeholder is no h-cite: its replies read as comments on the post.
    """
    items: list[str] = []
    for node in threads:
        _comment_item(node, said_at, can_reply, own, own_links, permalink, items)
    return Markup("".join(items))  # noqa: S704 - escaped or our own output, as above


def _comment_item(
    node: Any,
    said_at: TimeTag,
    can_reply: bool,
    own: Container[int],
    own_links: Callable[[int], str] | None,
    permalink: Callable[[Any], str] | None,
    out: list[str],
) -> None:
    comment = node.comment
    number = int(comment.id)
    if node.removed:
        out.append(
            f'<li id="c{number}" class="comment comment-removed">\n'
            '<p class="comment-author">This comment has been removed.</p>\n'
        )
    else:
        anchor = (
            f'<span id="c{escape(comment.blogger_id)}" class="blogger-anchor"></span>'
            if comment.blogger_id
            else ""
        )
        url = (
            f'<data class="u-url" value="{escape(permalink(comment))}"></data>'
            if permalink is not None
            else ""
        )
        out.append(
            f'<li id="c{number}" class="comment p-comment h-cite">{anchor}{url}\n'
            f'<p class="comment-author">At <a href="#c{number}">'
            f"{said_at(comment.created_at, 'dt-published')}</a>,\n"
            f"{commenter_card(comment.author_name, comment.author_url)} said..."
            f"{_via(comment)}</p>\n"
        )
        if node.answers is not None:
            answered = node.answers
            # Placed beside the comment it answers (the thread is only so deep): the
            # nesting no longer says which one, so its address does.
            in_reply_to = (
                f'<data class="u-in-reply-to" value="{escape(permalink(answered))}"></data>'
                if permalink is not None
                else ""
            )
            out.append(
                f'<p class="comment-context">In reply to <a href="#c{int(answered.id)}">'
                f"@{escape(answered.author_name or 'Anonymous')}</a>{in_reply_to}</p>\n"
            )
        out.append(f'<div class="comment-body e-content">{comment.body_html}</div>\n')
        out.append(_comment_footer(comment, said_at, own, own_links))
        if can_reply:
            name = escape(comment.author_name or "Anonymous")
            out.append(
                f'<p class="comment-actions"><a class="comment-reply" '
                f'href="?reply={number}#comment-form" rel="nofollow" '
                f'data-reply-to="{number}" data-reply-name="{name}">Reply'
                f'<span class="visually-hidden"> to {name}</span></a></p>\n'
            )
    if node.replies:
        out.append('<ol class="comment-replies">\n')
        for reply in node.replies:
            _comment_item(reply, said_at, can_reply, own, own_links, permalink, out)
        out.append("</ol>\n")
    out.append("</li>\n")


def _via(comment: Any) -> str:
    """ "(via the fediverse)" after a reply from Mastodon and its kin (kmblog/federation);
    " via Webmention" after one from another site, linked to it (kmblog/webmention)."""
    if getattr(comment, "via_fediverse", False):
        return _VIA_FEDIVERSE
    if getattr(comment, "origin", None) != "webmention":
        return ""
    url = getattr(comment, "origin_url", None) or ""
    via = (
        f'<a href="{escape(url)}" rel="{LINK_REL}">Webmention</a>'
        if is_safe_url(url)
        else "Webmention"
    )
    return f' <span class="comment-via">via {via}</span>'


def mention_link(title: str, url: str) -> Markup:
    """A page that links to a post ("Links to this post"): its title, linked to it when
    the address is http(s); the title is escaped."""
    return commenter_link(title or url, url)


def _comment_footer(
    comment: Any,
    said_at: TimeTag,
    own: Container[int],
    own_links: Callable[[int], str] | None,
) -> str:
    """'Edited <time>' under a comment its commenter changed, and the commenter's own
    links while they may change it; empty for most comments."""
    parts = []
    if comment.edited_at is not None:
        parts.append(
            f'<span class="comment-edited">Edited {said_at(comment.edited_at, "dt-updated")}</span>'
        )
    if own_links is not None and comment.id in own:
        parts.append(own_links(int(comment.id)))
    return f'<p class="comment-footer">{" · ".join(parts)}</p>\n' if parts else ""


def as_html(stored: str) -> Markup:
    """Mark HTML that this module produced and stored as safe for templates."""
    return Markup(stored)  # noqa: S704 - only ever given our own sanitised output


# Runs of whitespace and runs of anything else: a word-level diff keeps both, so the
# text reads back exactly as written between its marks.
_DIFF_TOKEN = re.compile(r"\s+|\S+")
# Above this many words in a changed block, the block is shown as deleted then inserted
# whole: difflib's matching is quadratic in the worst case, and a reader's request must
# not pay for a pathological pair of revisions.
MAX_WORD_DIFF_TOKENS = 4000


def text_diff(old: str, new: str) -> Markup:
    """Two texts (a post's Markdown or imported HTML source, as typed) as one escaped
    text with deleted words in <del> and inserted words in <ins>, for a <pre>-like block.

    Lines are matched first (difflib, the standard library's), then the words of each
    changed block. Every piece of either text is escaped: the diff carries no markup of
    the revisions, only its own <del> and <ins>.
    """
    old_lines = clean_text(old).splitlines(keepends=True)
    new_lines = clean_text(new).splitlines(keepends=True)
    parts: list[str] = []
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if tag == "equal":
            parts.append(str(escape(before)))
        elif tag == "replace":
            parts.append(_word_diff(before, after))
        else:
            parts.append(_marked("del", before) + _marked("ins", after))
    return Markup("".join(parts))  # noqa: S704 - every piece escaped above


def _word_diff(old: str, new: str) -> str:
    old_words, new_words = _DIFF_TOKEN.findall(old), _DIFF_TOKEN.findall(new)
    if len(old_words) + len(new_words) > MAX_WORD_DIFF_TOKENS:
        return _marked("del", old) + _marked("ins", new)
    parts: list[str] = []
    matcher = SequenceMatcher(None, old_words, new_words, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        before, after = "".join(old_words[i1:i2]), "".join(new_words[j1:j2])
        if tag == "equal":
            parts.append(str(escape(before)))
        else:
            parts.append(_marked("del", before) + _marked("ins", after))
    return "".join(parts)


def _marked(tag: str, text: str) -> str:
    """`text` escaped inside <del> or <ins>; nothing for no text."""
    return f"<{tag}>{escape(text)}</{tag}>" if text else ""


def plain_excerpt(source: str, length: int = 80) -> str:
    """The first words of a text, for titles of comment feed entries."""
    text = clean_line(source)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)?[^>]*>")
# Tags inside a line of text: dropped without a space ("<b>last</b>." reads "last.").
# Any other tag (a paragraph, a line break, a list item, an image) separates words.
_INLINE_TAGS = frozenset(
    {
        "a", "abbr", "b", "cite", "code", "del", "em", "i", "ins", "kbd", "mark", "q", "s",
        "small", "span", "strong", "sub", "sup", "u",
    }
)  # fmt: skip


def _tag_gap(match: re.Match[str]) -> str:
    return "" if (match.group(2) or "").lower() in _INLINE_TAGS else " "


def html_text(stored: str) -> str:
    """HTML this module stored, as one line of plain text: entities decoded, words
    that blocks separate kept apart, inline markup gone without a trace."""
    return clean_line(html.unescape(_TAG.sub(_tag_gap, stored)))


def html_excerpt(stored: str, length: int = 80) -> str:
    """The first words of HTML this module stored, as plain text (export titles)."""
    return plain_excerpt(html_text(stored), length)


DESCRIPTION_LENGTH = 160
_FIRST_PARAGRAPH = re.compile(r"<p[\s>](.*?)</p>", re.DOTALL)


def post_description(summary: str, body_html: str, length: int = DESCRIPTION_LENGTH) -> str:
    """A post's description as plain text: the summary its author wrote, else the first
    paragraph of its stored HTML, cut at a word near `length` characters. Used by the meta
    description, OpenGraph, the summary feeds and search results alike."""
    text = clean_line(summary)
    if not text:
        found = _FIRST_PARAGRAPH.search(body_html)
        text = html_text(found.group(1) if found else body_html)
    if len(text) <= length:
        return text
    cut = text[: length - 1]
    # Cut at the last space when there is one in the second half, so no word is split.
    space = cut.rfind(" ")
    if space > length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


class _FirstImage(HTMLParser):
    """Stops at the first <img> with an address."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.src is None and tag == "img":
            self.src = next((value for name, value in attrs if name == "src" and value), None)


def first_image(body_html: str) -> str | None:
    """The address of the first image in a post's stored HTML, as written there
    (relative or absolute, entities decoded); None when it has none. For link cards
    (og:image) and structured data: the picture a post is shown with elsewhere."""
    if "<img" not in body_html:
        return None  # most posts: no parse at all
    parser = _FirstImage()
    # Fed whole: the stored HTML is ours (sanitised, bounded by the editor's limit).
    parser.feed(body_html)
    parser.close()
    return parser.src


@dataclass(frozen=True)
class ShownImage:
    """An image a post shows: its address as written in the stored HTML (relative or
    absolute, entities decoded), its alt text, and its size when the HTML gives it."""

    src: str
    alt: str
    width: int | None
    height: int | None


def _dimension(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 0 < len(value) <= 6 else None


class _Images(HTMLParser):
    """Every <img> with an address, in order, each address once."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, ShownImage] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = dict(attrs)
        src = values.get("src")
        if src and src not in self.found:
            self.found[src] = ShownImage(
                src,
                clean_line(values.get("alt") or ""),
                _dimension(values.get("width")),
                _dimension(values.get("height")),
            )


def shown_images(body_html: str) -> list[ShownImage]:
    """The images in a post's stored HTML, for what shows them apart from the text (the
    fediverse's attachments)."""
    if "<img" not in body_html:
        return []
    parser = _Images()
    parser.feed(body_html)
    parser.close()
    return list(parser.found.values())
