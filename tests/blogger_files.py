"""Blogger exports for the import and export tests: the two real samples in
tests/fixtures/blogger (copies of the workplace's shared/fixtures/blogger, so that the
suite stands alone wherever it is cloned; see the README there), what the tests expect
of them (read from the files with a plain parser of our own, not the importer), and small
exports written here for the cases the samples lack (anonymous and named commenters,
broken and foreign files).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("KMBLOG_BLOGGER_FIXTURES", ROOT / "tests" / "fixtures" / "blogger"))
SAMPLES = ("blogger-2008-minima.xml", "blogger-2018-trimmed.xml")

NS = {
    "a": "http://www.w3.org/2005/Atom",
    "app": "http://purl.org/atom/app#",
    "thr": "http://purl.org/syndication/thread/1.0",
}
KIND = "http://schemas.google.com/g/2005#kind"
LABELS = "http://www.blogger.com/atom/ns#"


@dataclass
class Item:
    kind: str
    blogger_id: str
    title: str
    draft: bool
    path: str  # "/2008/04/about-me.html", "/p/test-page.html", or "" for drafts
    labels: list[str]
    author: str
    author_uri: str
    reply_to: str  # a comment's post id
    query_and_anchor: str  # a comment's "?showComment=...#c..."
    atom_id: str = ""  # its whole Atom id, as the file has it (space around it trimmed)


@dataclass
class Expected:
    title: str
    blog_id: str = ""  # the Blogger blog's number, from the feed's own id
    items: list[Item] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)

    def of(self, kind: str, draft: bool | None = None) -> list[Item]:
        return [
            item
            for item in self.items
            if item.kind == kind and (draft is None or item.draft == draft)
        ]


def sample(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), (
        f"the Blogger sample {path} is missing: the tests read tests/fixtures/blogger "
        "(or the folder KMBLOG_BLOGGER_FIXTURES names)"
    )
    return path


def expected(path: Path) -> Expected:
    """What a Blogger export holds, read with ElementTree (the 2018 sample needs its
    undeclared app: prefix declared first, which this test-side reader does by hand)."""
    text = path.read_text(encoding="utf-8")
    if "xmlns:app=" not in text:
        text = text.replace("<feed ", f'<feed xmlns:app="{NS["app"]}" ', 1)
    root = ElementTree.fromstring(text)  # noqa: S314 - our own test fixture
    feed_id = (root.findtext("a:id", "", NS) or "").strip()
    result = Expected(title="", blog_id=feed_id.partition("blog-")[2].partition(".")[0])
    for entry in root.findall("a:entry", NS):
        kind = ""
        labels = []
        for category in entry.findall("a:category", NS):
            if category.get("scheme") == KIND:
                kind = category.get("term", "").rpartition("#")[2]
            elif category.get("scheme") == LABELS:
                labels.append(category.get("term", ""))
        entry_id = (entry.findtext("a:id", "", NS) or "").strip()
        if kind == "settings":
            value = (entry.findtext("a:content", "", NS) or "").strip()
            result.settings[entry_id.rpartition(".settings.")[2]] = value
            if entry_id.endswith(".settings.BLOG_NAME"):
                result.title = value
            continue
        if kind not in {"post", "page", "comment"}:
            continue
        alternate = next(
            (
                link.get("href", "")
                for link in entry.findall("a:link", NS)
                if link.get("rel") == "alternate"
            ),
            "",
        )
        path_match = re.search(
            r"(/\d{4}/\d{2}/[^/?#]+\.html|/p/[^/?#]+\.html)([?#].*)?$", alternate
        )
        reply = entry.find("thr:in-reply-to", NS)
        result.items.append(
            Item(
                kind=kind,
                blogger_id=entry_id.rpartition("-")[2],
                title=" ".join((entry.findtext("a:title", "", NS) or "").split()),
                draft=(entry.findtext("app:control/app:draft", "", NS) or "").strip() == "yes",
                path=path_match[1] if path_match else "",
                labels=labels,
                author=(entry.findtext("a:author/a:name", "", NS) or "").strip(),
                author_uri=(entry.findtext("a:author/a:uri", "", NS) or "").strip(),
                reply_to=(reply.get("ref", "") if reply is not None else "").rpartition("-")[2],
                query_and_anchor=(path_match[2] or "") if path_match else "",
                atom_id=entry_id,
            )
        )
    return result


# --- small exports written for these tests ------------------------------------------

BLOG = "tag:blogger.com,1999:blog-555000111"
HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:app="http://purl.org/atom/app#" '
    'xmlns:thr="http://purl.org/syndication/thread/1.0">\n'
    f"<id>{BLOG}.archive</id><title>Knowledge in Practice</title>\n"
)
KIND_TERM = "http://schemas.google.com/blogger/2008/kind#"


def entry(
    kind: str,
    item_id: str,
    title: str = "",
    content: str = "",
    published: str = "2011-03-04T10:00:00.000Z",
    path: str = "",
    labels: tuple[str, ...] = (),
    author: str = "Ana Writer",
    uri: str = "",
    reply_to: str = "",
    draft: bool = False,
    answers: str = "",
) -> str:
    """One Blogger entry, with content escaped as Blogger does (type="html"); a comment
    with `answers` is a threaded reply to that comment (Blogger's rel="related" link)."""
    escaped = content.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    parts = [
        f"<entry><id>{BLOG}.{'page' if kind == 'page' else 'post'}-{item_id}</id>",
        f"<published>{published}</published><updated>{published}</updated>",
        "<app:control><app:draft>yes</app:draft></app:control>" if draft else "",
        f'<category scheme="{KIND}" term="{KIND_TERM}{kind}"/>',
        *(f'<category scheme="{LABELS}" term="{label}"/>' for label in labels),
        f'<title type="text">{title}</title><content type="html">{escaped}</content>',
        f'<link rel="alternate" type="text/html" href="http://kip.example.org{path}"/>'
        if path
        else "",
        f'<link rel="related" type="application/atom+xml" href="https://www.blogger.com/feeds/'
        f'{BLOG.rpartition("-")[2]}/{reply_to}/comments/default/{answers}"/>'
        if answers
        else "",
        f"<author><name>{author}</name>{f'<uri>{uri}</uri>' if uri else ''}</author>",
        f'<thr:in-reply-to ref="{BLOG}.post-{reply_to}"/>' if reply_to else "",
        "</entry>\n",
    ]
    return "".join(parts)


def export(*entries: str) -> bytes:
    return (HEAD + "".join(entries) + "</feed>\n").encode()
