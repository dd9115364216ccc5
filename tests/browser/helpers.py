"""What the browser tests do again and again: reach a field with Tab, check focus shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# Focus shows as an outline or a box shadow; "none"/0px would leave a keyboard user lost.
FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.value || el.name || "").trim().slice(0, 40),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    style: style.outlineStyle + " " + style.outlineWidth + " " + el.matches(":focus"),
    shadow: style.boxShadow !== "none",
  };
}"""


def navigate(page: Any, act: Callable[[], object]) -> None:
    """Do what leads to another page (a click, Enter) and wait until that page has
    loaded. A mark left on the old page tells them apart, so that nothing is read from
    the old page, even when the new one has the same address."""
    page.evaluate("() => { window.kmblogOldPage = true; }")
    act()
    page.wait_for_function("() => !window.kmblogOldPage && document.readyState === 'complete'")


def tab_to(page: Any, selector: str, limit: int = 150) -> list[str]:
    """Press Tab until the element matching `selector` has focus; every stop on the way
    must show its focus. Returns the stops, for messages."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_STYLE)
        stop = f"{focused['tag']} {focused['text']!r}"
        stops.append(stop)
        assert focused["outline"] or focused["shadow"], f"focus is invisible on {stop}: {focused}"
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"Tab never reached {selector}; stops: {stops}")


def scroll_width(page: Any) -> int:
    return int(page.evaluate("() => document.scrollingElement.scrollWidth"))


def shoot(page: Any, folder: Path, name: str) -> Path:
    """A screenshot of what the reader sees (the window, not the whole page)."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 5_000, f"{name}: the screenshot looks empty"
    return path
