"""Untrusted text to safe HTML: the only module that calls markdown or bleach.

Posts are Markdown, rendered first and then sanitised with an allowlist. Comments are
plain text with a few inline tags allowed (as Blogger's comment form had), turned into
paragraphs and links; their renderer does no Markdown, so it stays linear in the input
length whatever a visitor types. Both results are stored at save time.
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as etree

import bleach
import bleach.sanitizer
import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

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
    "div": ["class"],
    "code": ["class"],
    "ol": ["start"],
}  # fmt: skip
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
POST_MARKDOWN_CONFIG = {"markdown.extensions.toc": {"baselevel": 3}}


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
    return parts.scheme.lower() in {"http", "https"} and bool(parts.netloc)


def _allowed_post_attribute(tag: str, name: str, value: str) -> bool:
    """POST_ATTRIBUTES, and for addresses a second opinion on the scheme: bleach reads
    "javascript:1" as a host and a port, Python's urlsplit as the scheme it is."""
    if name not in POST_ATTRIBUTES.get(tag, ()):
        return False
    if name in {"href", "src"}:
        address = "".join(ch for ch in value if ch > " ")
        try:
            scheme = urlsplit(address).scheme.lower()
        except ValueError:
            return False
        return not scheme or scheme in SAFE_URL_SCHEMES
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
    return True


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


def render_post(source: str, images: Mapping[str, ImageVariants] | None = None) -> str:
    """An author's Markdown to sanitised HTML. `images` gives the stored sizes of the
    uploaded images it shows, by address (kmblog.media.services.image_variants)."""
    extensions: list[str | Extension] = list(POST_MARKDOWN_EXTENSIONS)
    if images:
        extensions.append(_UploadedImagesExtension(images))
    html = markdown.markdown(
        clean_text(source),
        extensions=extensions,
        extension_configs=POST_MARKDOWN_CONFIG,
    )
    return bleach.clean(
        html,
        tags=POST_TAGS,
        attributes=_allowed_post_attribute,
        protocols=SAFE_URL_SCHEMES,
        strip=True,
        strip_comments=True,
    )


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


class _ImportCleaners(threading.local):
    """bleach Cleaners for imported HTML, made once per thread (a Cleaner is not
    thread-safe, and making one per item costs more than cleaning a comment). Their
    attribute checks note what they refuse in `dropped`."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self.post = bleach.sanitizer.Cleaner(
            tags=POST_TAGS,
            attributes=self._noting(_allowed_post_attribute),
            protocols=SAFE_URL_SCHEMES,
            strip=True,
            strip_comments=True,
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


_import_cleaners = _ImportCleaners()


def render_imported_post(source: str) -> tuple[str, Counter[str]]:
    """HTML from another blog (a Blogger export) to sanitised HTML, by the posts'
    allowlist, and a count of what was dropped ("<embed>", "style= on <div>")."""
    text = clean_text(source)
    cleaners = _import_cleaners
    cleaners.dropped = _dropped_tags(text, POST_TAGS)
    cleaned = cleaners.post.clean(text)
    return cleaned, cleaners.dropped


_BARE_LINK = re.compile(r'(<a href="[^"]*")>')


def render_imported_comment(source: str) -> tuple[str, Counter[str]]:
    """A comment's HTML from another blog to sanitised HTML, by the comments' allowlist
    (links get rel="nofollow ugc noopener" as typed ones do), and what was dropped."""
    text = clean_text(source)
    cleaners = _import_cleaners
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
            if "a" in writer.inline or "code" in writer.inline:
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
    return (scheme in {"http", "https"} and bool(parts.netloc)) or (
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
            f"{commenter_card(comment.author_name, comment.author_url)} said...</p>\n"
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
