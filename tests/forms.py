"""Reading forms off pages as a browser would: hidden fields, field values, field errors."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient

from tests.html_tree import Node, parse_html


def hidden_field(page: str, name: str, where: str = "the page") -> str:
    """The value of the input `name` (csrf_token, shown...) on `page`; it must have one."""
    pattern = rf'<input\b[^>]*\sname="{re.escape(name)}"[^>]*\svalue="([^"]+)"'
    match = re.search(pattern, page)
    assert match, f"no {name} field with a value on {where}"
    return html.unescape(match.group(1))


def form_values(form: Node) -> dict[str, str]:
    """What a browser would send for `form` (without the button)."""
    values: dict[str, str] = {}
    for node in form.iter():
        name = node.get("name")
        if not name:
            continue
        if node.tag == "input":
            kind = node.get("type", "text")
            if kind in {"submit", "button"} or (kind == "checkbox" and not node.has("checked")):
                continue
            values[name] = node.get("value", "on")
        elif node.tag == "textarea":
            values[name] = node.text().removeprefix("\r\n").removeprefix("\n")
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = [o for o in options if o.has("selected")] or options[:1]
            values[name] = chosen[0].get("value", chosen[0].text()) if chosen else ""
    return values


def field_error(page: str, field_id: str) -> str:
    """The error shown next to a field, tied to it by aria-describedby ("" if none)."""
    root = parse_html(page)
    fields = [n for n in root.iter() if n.get("id") == field_id and n.tag != "label"]
    assert fields, f"no field {field_id} on the page"
    if f"{field_id}-error" not in fields[0].get("aria-describedby", ""):
        return ""
    return " ".join(n.text() for n in root.iter() if n.get("id") == f"{field_id}-error")


def comment_form_fields(page: str, where: str = "the page") -> dict[str, str]:
    """The hidden fields a browser sends back with the comment form on `page`: its timer,
    and the CSRF token that only a signed-in author's form carries."""
    fields = {"shown": hidden_field(page, "shown", where)}
    if re.search(r'<input\b[^>]*\sname="csrf_token"', page):
        fields["csrf_token"] = hidden_field(page, "csrf_token", where)
    return fields


def shown_comment_fields(client: FlaskClient, url: str, **request: Any) -> dict[str, str]:
    """Open the post at `url` as a reader does and read its comment form's hidden fields
    (`request`: the test client's options, such as environ_base)."""
    page = client.get(url, **request)
    assert page.status_code == 200, url
    return comment_form_fields(page.text, url)
