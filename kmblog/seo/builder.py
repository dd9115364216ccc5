"""The sitemap protocol's XML (sitemaps.org, 0.9), built as a tree: every address is
element text, escaped by the serialiser, never pasted into markup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from xml.etree import ElementTree

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"


def w3c_datetime(moment: datetime) -> str:
    """W3C Datetime, as the protocol's lastmod wants it: UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _document(root: str, child: str, entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    tree = ElementTree.Element(root, xmlns=NAMESPACE)
    for address, changed_at in entries:
        entry = ElementTree.SubElement(tree, child)
        ElementTree.SubElement(entry, "loc").text = address
        if changed_at is not None:
            ElementTree.SubElement(entry, "lastmod").text = w3c_datetime(changed_at)
    document: bytes = ElementTree.tostring(tree, encoding="utf-8", xml_declaration=True)
    return document


def build_urlset(entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    """A sitemap: addresses with the time each last changed."""
    return _document("urlset", "url", entries)


def build_index(addresses: Iterable[str]) -> bytes:
    """A sitemap index: the addresses of the sitemap files."""
    return _document("sitemapindex", "sitemap", ((address, None) for address in addresses))
