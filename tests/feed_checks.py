"""The rules a feed validator applies, checked with real parsers.

No W3C feed validator runs here: the W3C's (Python) is not published on PyPI, and no
Python 3 package of it installs from the registry. So each feed is read three ways:
lxml validates Atom against RFC 4287's RELAX NG schema (tests/schemas/atom.rng);
feedparser must read it without complaint (bozo 0); and the rules the schema leaves to
prose or Schematron, which the W3C validator checks, are checked here one by one:

- the self link is the address fetched, query included, with the feed's own type;
- every entry has an author (or the feed has one), with a name;
- ids (feed and entries) are unique absolute IRIs (tag: URIs per RFC 4151);
- Atom dates are RFC 3339, RSS dates RFC 822 (with a four-digit year);
- text constructs (titles, subtitle, summaries) are plain text (type "text"), never
  markup a reader would interpret; person names are text;
- RSS: the channel has a title, a link to the blog's page and a description; each item
  a guid (unique), a pubDate, a title and its author in dc:creator.

check_feed() returns the problems found, as readable lines; an empty list passes.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
OPENSEARCH = "http://a9.com/-/spec/opensearchrss/1.0/"
NS = {"a": ATOM, "dc": DC, "os": OPENSEARCH}
_SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "schemas" / "atom.rng")))
# RFC 3339 section 5.6, date-time.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
# RFC 822 section 5 as RSS 2.0 uses it (four-digit years, as the validators want).
RFC822 = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? (?:[+-]\d{4}|UT|GMT|[ECMP][SD]T|Z)$"
)
# RFC 4151: tag:authority,date:specific.
TAG_URI = re.compile(r"^tag:[A-Za-z0-9.@-]+,\d{4}(?:-\d{2}(?:-\d{2})?)?:\S+$")
TEXT_CONSTRUCTS = ("title", "subtitle", "summary", "rights")


def _absolute_iri(value: str) -> bool:
    if value != value.strip() or any(ch.isspace() for ch in value):
        return False
    if value.startswith("tag:"):
        return bool(TAG_URI.match(value))
    parts = urlsplit(value)
    if parts.scheme in {"http", "https"}:
        return bool(parts.netloc)
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value))


def _rfc3339(value: str | None) -> bool:
    if value is None or not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


def _rfc822(value: str | None) -> bool:
    if value is None or not RFC822.match(value):
        return False
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def check_feed(data: bytes, fetched: str, page_url: str | None = None) -> list[str]:
    """Problems with the feed `data` fetched at address `fetched` (query and all);
    `page_url`, when given, is the page the feed's alternate / channel link must name."""
    try:
        root = etree.fromstring(data)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    parsed = feedparser.parse(data)
    problems = [] if not parsed.bozo else [f"feedparser: {parsed.get('bozo_exception')}"]
    if root.tag == f"{{{ATOM}}}feed":
        if parsed.version != "atom10":
            problems.append(f"feedparser reads {parsed.version!r}, not atom10")
        problems += _check_atom(root, fetched, page_url)
    elif root.tag == "rss":
        if parsed.version != "rss20":
            problems.append(f"feedparser reads {parsed.version!r}, not rss20")
        problems += _check_rss(root, fetched, page_url)
    else:
        problems.append(f"neither Atom nor RSS: <{root.tag}>")
    return problems


def _check_atom(root: etree._Element, fetched: str, page_url: str | None) -> list[str]:
    problems = []
    if not _SCHEMA.validate(root):
        problems += [f"RELAX NG (RFC 4287): {error.message}" for error in _SCHEMA.error_log]
    selves = root.findall("a:link[@rel='self']", NS)
    if len(selves) != 1:
        problems.append(f"{len(selves)} self links")
    for link in selves:
        if link.get("href") != fetched:
            problems.append(f"self link {link.get('href')!r} is not the address {fetched!r}")
        if link.get("type") != "application/atom+xml":
            problems.append(f"self link type {link.get('type')!r}")
    alternates = [
        link.get("href") for link in root.findall("a:link", NS) if link.get("rel") == "alternate"
    ]
    if page_url is not None and alternates != [page_url]:
        problems.append(f"alternate links {alternates} are not [{page_url!r}]")
    feed_has_author = root.find("a:author/a:name", NS) is not None
    ids = [root.findtext("a:id", None, NS)]
    problems += _text_constructs(root, "feed")
    for place, element in [("feed", root)] + [
        (f"entry {i}", entry) for i, entry in enumerate(root.findall("a:entry", NS))
    ]:
        for name in ("updated", "published"):
            value = element.findtext(f"a:{name}", None, NS)
            if (value is not None or name == "updated") and not _rfc3339(value):
                problems.append(f"{place}: {name} {value!r} is not RFC 3339")
        for link in element.findall("a:link", NS):
            if not _absolute_iri(link.get("href", "")):
                problems.append(f"{place}: link {link.get('href')!r} is not absolute")
        if element is root:
            continue
        ids.append(element.findtext("a:id", None, NS))
        names = [name.text or "" for name in element.findall("a:author/a:name", NS)]
        if not names and not feed_has_author:
            problems.append(f"{place}: no author, and the feed has none")
        if any(not name.strip() for name in names):
            problems.append(f"{place}: an author with an empty name")
        problems += _text_constructs(element, place)
    for value in ids:
        if value is None or not _absolute_iri(value):
            problems.append(f"id {value!r} is not an absolute IRI")
    if len(set(ids)) != len(ids):
        problems.append("ids repeat")
    return problems


def _text_constructs(element: etree._Element, place: str) -> list[str]:
    problems = []
    for name in TEXT_CONSTRUCTS:
        for construct in element.findall(f"a:{name}", NS):
            kind = construct.get("type", "text")
            if kind != "text":
                problems.append(f"{place}: {name} has type {kind!r}, not plain text")
            if len(construct):
                problems.append(f"{place}: {name} holds elements")
    return problems


def _check_rss(root: etree._Element, fetched: str, page_url: str | None) -> list[str]:
    problems = []
    if root.get("version") != "2.0":
        problems.append(f"rss version {root.get('version')!r}")
    channel = root.find("channel")
    if channel is None:
        return problems + ["no channel"]
    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel has no {name}")
    link = channel.findtext("link")
    if page_url is not None and link != page_url:
        problems.append(f"channel link {link!r} is not the blog page {page_url!r}")
    selves = channel.findall("a:link[@rel='self']", NS)
    if len(selves) != 1:
        problems.append(f"{len(selves)} atom:link self links")
    for self_link in selves:
        if self_link.get("href") != fetched:
            problems.append(f"self link {self_link.get('href')!r} is not the address {fetched!r}")
        if self_link.get("type") != "application/rss+xml":
            problems.append(f"self link type {self_link.get('type')!r}")
    for name in ("lastBuildDate", "pubDate"):
        value = channel.findtext(name)
        if value is not None and not _rfc822(value):
            problems.append(f"channel {name} {value!r} is not RFC 822")
    guids = []
    for i, item in enumerate(channel.findall("item")):
        if not (item.findtext("title") or item.findtext("description")):
            problems.append(f"item {i}: neither title nor description")
        guid = item.findtext("guid")
        if guid is None or not _absolute_iri(guid):
            problems.append(f"item {i}: guid {guid!r}")
        guids.append(guid)
        if not _rfc822(item.findtext("pubDate")):
            problems.append(f"item {i}: pubDate {item.findtext('pubDate')!r} is not RFC 822")
        if not (item.findtext("dc:creator", None, NS) or "").strip():
            problems.append(f"item {i}: no dc:creator")
        if not _absolute_iri(item.findtext("link") or ""):
            problems.append(f"item {i}: link {item.findtext('link')!r}")
    if len(set(guids)) != len(guids):
        problems.append("guids repeat")
    return problems
