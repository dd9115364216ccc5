"""An HTML tree from the standard library's html.parser, and what in it could run script.

The one HTML tree of the tests: pages are read with parse_html, then searched with
Node.find_all / find / one; the security checks below look for markup that could run.

html.parser tokenizes leniently, as a browser does, and hands attribute values over
already HTML-unescaped (character references decoded once, the way a browser reads
them); the checks below therefore see `href="&#106;avascript:..."` as "javascript:...".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import overload

VOID_ELEMENTS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link",
        "meta", "param", "source", "track", "wbr",
    }
)  # fmt: skip

# Elements untrusted text must never produce: they run script, load other documents or
# plugins, restyle the page, or change where the page's links and forms go.
SCRIPTING_ELEMENTS = frozenset(
    {
        "applet", "base", "embed", "frame", "frameset", "iframe", "isindex", "link", "math",
        "meta", "noembed", "noframes", "noscript", "object", "param", "plaintext", "portal",
        "script", "style", "svg", "template", "xmp",
    }
)  # fmt: skip
# Form controls: the layout has its own (comment form, search box, sign-out button), and
# untrusted text may add none (a fake sign-in form, a formaction button, a hijacked id).
FORM_ELEMENTS = frozenset({"button", "form", "input", "keygen", "select", "textarea"})
BANNED_ELEMENTS = SCRIPTING_ELEMENTS | FORM_ELEMENTS

# Attributes whose value is an address a browser may load or navigate to.
URL_ATTRIBUTES = frozenset(
    {
        "action", "background", "cite", "codebase", "data", "dynsrc", "formaction", "href",
        "longdesc", "lowsrc", "ping", "poster", "src", "xlink:href",
    }
)  # fmt: skip
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")
# Whitespace and control characters, which browsers skip or strip inside a scheme.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f-\x9f\s\ufeff\u200b-\u200d\u2060]+")


@dataclass
class Node:
    """An element as html.parser saw it (attribute names lower-cased, values unescaped)."""

    tag: str
    attrs: list[tuple[str, str]]
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = field(default=None, repr=False, compare=False)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of attribute `name` (as a browser reads it), or `default`."""
        return next((value for key, value in self.attrs if key == name), default)

    def has(self, name: str) -> bool:
        """Whether the element has attribute `name` (a boolean one such as checked)."""
        return any(key == name for key, _ in self.attrs)

    def classes(self) -> list[str]:
        return (self.get("class") or "").split()

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        """Elements `tag` (any tag for "*") whose attributes include `attrs` (class_ for
        class, matched as one of the classes)."""
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        return [
            node
            for node in self.iter()
            if node is not self
            and (tag == "*" or node.tag == tag)
            and all(
                value in node.classes() if key == "class" else node.get(key) == value
                for key, value in wanted.items()
            )
        ]

    def find(self, tag: str, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def one(self, tag: str, **attrs: str) -> Node:
        """The first element `find` finds; an AssertionError when there is none."""
        found = self.find(tag, **attrs)
        assert found is not None, f"no <{tag}> with {attrs} in {self.label()}"
        return found

    def label(self) -> str:
        """tag#id.class, for messages."""
        node_id = self.get("id")
        classes = self.classes()
        return self.tag + (f"#{node_id}" if node_id else "") + (f".{classes[0]}" if classes else "")

    def ancestors(self, up_to: Node) -> list[Node]:
        """The elements from just below `up_to` down to this one's parent."""
        found = []
        node = self.parent
        while node is not None and node is not up_to and node.tag != "#document":
            found.append(node)
            node = node.parent
        return found[::-1]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [])
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, [(name, value or "") for name, value in attrs], parent=self.open[-1])
        self.open[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.open.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, [(name, value or "") for name, value in attrs], parent=self.open[-1])
        self.open[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse_html(markup: str) -> Node:
    """The tree of `markup`, under a "#document" node."""
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    return builder.root


# Noncharacters and lone surrogates: no feed can carry them, so an app may drop them.
_DROPPABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def words(text: str) -> str:
    """Text with runs of whitespace made one space, for comparing what is shown; without
    the characters XML cannot carry (an app may keep or drop them: both compare equal)."""
    return " ".join(_DROPPABLE.sub("", text).split())


def script_url(value: str) -> bool:
    """True when a browser could run `value` (an unescaped attribute value) as script."""
    return _IGNORED_IN_SCHEME.sub("", value).lower().startswith(SCRIPT_SCHEMES)


def attribute_hazards(element: Node) -> list[str]:
    """The attributes of `element` that run script or restyle the page."""
    found = []
    for name, value in element.attrs:
        scripting = name.startswith("on") or name in ("style", "srcdoc")
        if scripting or (name in URL_ATTRIBUTES and script_url(value)):
            found.append(f"{name}={value!r}")
    return found


def hazards(region: Node, banned: frozenset[str] = BANNED_ELEMENTS) -> list[str]:
    """Everything inside `region` (not counting itself) that untrusted text must not make:
    banned elements, on* / style / srcdoc attributes, script addresses."""
    found = []
    for element in region.iter():
        if element is region:
            continue
        attrs = attribute_hazards(element)
        if element.tag in banned or attrs:
            path = [region, *element.ancestors(region)]
            where = " > ".join([*(node.label() for node in path), element.tag])
            if element.tag in banned:
                found.append(f"<{element.tag}> at {where}")
            found.extend(f"{attr} at {where}" for attr in attrs)
    return found


def _tag_and_class(node: Node) -> str:
    classes = node.classes()
    return node.tag + (f".{classes[0]}" if classes else "")


# Attributes of a <meta> in <head> that only describe the page (its description, link-card
# properties): such an element does nothing, and how many a page has depends on what it
# shows (one article:tag a label, og:image when there is a picture). A <meta> with
# http-equiv or charset, or anything else, is still counted.
_DESCRIBING = frozenset({"name", "property", "content"})


def _page_metadata(element: Node) -> bool:
    return (
        element.tag == "meta"
        and element.parent is not None
        and element.parent.tag == "head"
        and {name for name, _ in element.attrs} <= _DESCRIBING
    )


def census(page: Node, elements: frozenset[str] = BANNED_ELEMENTS) -> Counter[str]:
    """What a whole page holds that could run script, load things or post data: each
    element of `elements` and each hazardous attribute, keyed by where it sits (tags and
    first classes, no ids, so that two pages of one kind compare equal)."""
    counted: Counter[str] = Counter()
    for element in page.iter():
        attrs = attribute_hazards(element) if element.attrs else []
        if element.tag not in elements and not attrs:
            continue
        if _page_metadata(element):
            continue
        where = " > ".join([*map(_tag_and_class, element.ancestors(page)), element.tag])
        if element.tag in elements:
            details = [f"{k}={v}" for k, v in element.attrs if k in ("http-equiv", "rel", "type")]
            counted[" ".join([where, *details])] += 1
        for attr in attrs:
            counted[f"{where} [{attr}]"] += 1
    return counted


def census_difference(
    page: Node, baseline: Counter[str], elements: frozenset[str] = BANNED_ELEMENTS
) -> list[str]:
    """How `page` differs from a page of the same kind made without untrusted text (whose
    census, over the same `elements`, is `baseline`)."""
    seen = census(page, elements)
    extra = seen - baseline
    missing = baseline - seen
    return [f"extra {key} (x{n})" for key, n in extra.items()] + [
        f"missing {key} (x{n})" for key, n in missing.items()
    ]
