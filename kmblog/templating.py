"""Filters and globals for templates: formatting only, never a query of their own
(the settings row they read for the time zone is loaded once per request)."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, url_for

from kmblog import timefmt
from kmblog.context import to_local
from kmblog.models import Post
from kmblog.rendering import as_html, commenter_link


def post_url(post: Post, external: bool = False) -> str:
    year, month, slug = post.path_parts
    return url_for("blog.post", year=year, month=month, slug=slug, _external=external)


def label_url(name: str, external: bool = False) -> str:
    return url_for("blog.label", name=name, _external=external)


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(lambda moment: timefmt.clock(to_local(moment)), "clock")
    app.add_template_filter(lambda moment: timefmt.long_date(to_local(moment)), "long_date")
    app.add_template_filter(lambda moment: timefmt.day_header(to_local(moment)), "day_header")
    app.add_template_filter(lambda moment: to_local(moment).isoformat(), "local_iso")
    app.add_template_filter(as_html, "stored_html")
    app.add_template_filter(timefmt.month_name, "month_name")
    app.add_template_global(post_url)
    app.add_template_global(label_url)
    app.add_template_global(commenter_link)

    @app.context_processor
    def blog_title() -> dict[str, Any]:
        # Error pages may be drawn before (or without) the settings row being read.
        return {"blog_title": g.settings.title if "settings" in g else "kmblog"}
