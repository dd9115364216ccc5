"""The post editor over HTTP: templates, drafts, preview, scheduling, addresses, pairing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import feedparser
import pytest
from sqlalchemy import select, update

from kmblog.change_signal import change_signal
from kmblog.extensions import db
from kmblog.models import Comment, Label, Post
from tests.forms import field_error, form_values
from tests.html_tree import parse_html

SITE = "http://blog.test"
NEW = "/manage/posts/new"
POSTS_FEED = "/feeds/posts/default"
ATOM = "{http://www.w3.org/2005/Atom}"

PLAN_HEADINGS = [
    "The organisation's goals",
    "Knowledge needs",
    "Kinds of knowledge",
    "Knowledge assets to leverage",
    "Processes and tools",
    "Software that fits",
]
STRATEGY_HEADINGS = [
    "A shared vision",
    "Consensus of senior management",
    "The variety of KM chosen",
    "Leveraging the assets",
    "Execution: enabling sharing and innovation",
]

RICH_MARKDOWN = """\
## Knowledge needs

Start from the goals, not the tools.[^why] See [the APQC](https://www.apqc.org/ "APQC").

![A knowledge map](https://example.org/images/map.png)

### Assets

| Asset | Owner |
|:------|------:|
| Lessons learned | PMO |
| Expert directory | HR |

```python
def knowledge_needs(goals):
    return [g for g in goals if g.needs_knowledge]
```

[^why]: Tools chosen first rarely fit the work.
"""

HOSTILE_MARKDOWN = """\
Before <script>alert(1)</script> after.

<img src=x onerror=alert(1)>

[x](javascript:alert(1))
"""


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def signed_in(auth, writer):  # type: ignore[no-untyped-def]
    """The writer, signed in on `client`."""
    assert auth.login("writer").status_code == 303
    return writer


@pytest.fixture
def reader(app):  # type: ignore[no-untyped-def]
    """A second browser that is not signed in."""
    return app.test_client()


# --- HTML helpers -----------------------------------------------------------------------


def editor_form(page: str) -> dict[str, str]:
    """The editor's fields as shown on `page`."""
    for form in parse_html(page).find_all("form"):
        values = form_values(form)
        if "title" in values:
            return values
    raise AssertionError("the page has no editor form")


def post_body(page: str) -> str:
    """The raw HTML of the first <div class="post-body">…</div> on the page."""
    start = page.index('<div class="post-body')
    depth = 0
    for match in re.compile(r"<div\b|</div>").finditer(page, start):
        depth += 1 if match.group(0) == "<div" else -1
        if depth == 0:
            return page[start : match.end()]
    raise AssertionError("unclosed post-body")


def flashes(page: str) -> list[str]:
    return [n.text() for n in parse_html(page).find_all("p", class_="flash")]


def _json_ld_block(script_type: str | None, text: str) -> bool:
    if script_type != "application/ld+json":
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def unsafe_markup(markup: str) -> list[str]:
    """Scripts, event handlers and javascript: addresses in `markup`."""
    found = []
    for node in parse_html(markup).iter():
        # The app's own scripts come from its fingerprinted /assets/, and its JSON-LD is a
        # data block browsers never run (as long as it is whole JSON: text that broke out
        # of it would leave it unparseable); anything else was injected.
        if (
            node.tag == "script"
            and not node.get("src", "").startswith("/assets/")
            and not _json_ld_block(node.get("type"), node.text())
        ):
            found.append(f"<script>{node.text()}")
        for name, value in node.attrs:
            if name.startswith("on"):
                found.append(f"{node.tag} {name}")
            if name in {"href", "src"} and "javascript:" in re.sub(r"\s", "", value).lower():
                found.append(f"{node.tag} {name}={value}")
    return found


# --- editor helpers ---------------------------------------------------------------------


def submit(client, page: str, action: str, target: str | None = None, **changes: Any):  # type: ignore[no-untyped-def]
    """Fill in the editor shown at `page` like a browser and press the `action` button.

    A change to None leaves the field out (an unticked box)."""
    shown = client.get(page)
    assert shown.status_code == 200, page
    buttons = [b.get("value") for b in parse_html(shown.text).find_all("button", name="action")]
    assert action in buttons, f"no {action} button on {page}: {buttons}"
    data = {**editor_form(shown.text), **changes, "action": action}
    data = {name: value for name, value in data.items() if value is not None}
    return client.post(target or page.split("?")[0], data=data)


def new_post(client, action: str = "save", kind: str = "article", **changes: Any) -> int:  # type: ignore[no-untyped-def]
    """Make a post in the editor; return its id."""
    changes.setdefault("title", "Knowledge needs come first")
    changes.setdefault("body", "Start from the goals, not from the tools.")
    response = submit(client, f"{NEW}?kind={kind}", action, NEW, **changes)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/manage/posts/(\d+)/edit", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def edit(client, post_id: int, action: str = "save", **changes: Any):  # type: ignore[no-untyped-def]
    return submit(client, f"/manage/posts/{post_id}/edit", action, **changes)


def stored(app, post_id: int) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    """The post's row (and label names) as the database has it."""
    with app.app_context():
        post = db.session.get(Post, post_id)
        if post is None:
            return None
        row = {column.key: getattr(post, column.key) for column in Post.__table__.columns}
        row["labels"] = sorted(label.name for label in post.labels)
        return row


def url_of(app, post_id: int) -> str:  # type: ignore[no-untyped-def]
    row = stored(app, post_id)
    assert row is not None and row["year"] is not None, "the post has no address"
    return f"/{row['year']:04d}/{row['month']:02d}/{row['slug']}.html"


def set_published_at(app, post_id: int, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    """Let time pass: move the post's publish time, as the clock would. The app's page
    version watch knew when the post was due (test_caching waits for that with the real
    clock); the change signal tells it that the due time moved."""
    with app.app_context():
        db.session.execute(update(Post).where(Post.id == post_id).values(published_at=moment))
        db.session.commit()
        signal = change_signal(db.engine)
        if signal is not None:
            signal.raise_()


def local_input(moment: datetime, zone: str = "UTC") -> str:
    """A datetime-local field's value for `moment` in the blog's time zone."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def fetch_feed(client, url: str = POSTS_FEED) -> feedparser.FeedParserDict:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def feed_titles(client, url: str = POSTS_FEED) -> list[str]:  # type: ignore[no-untyped-def]
    return [entry.title for entry in fetch_feed(client, url).entries]


def home_titles(client) -> list[str]:  # type: ignore[no-untyped-def]
    page = parse_html(client.get("/").text)
    return [h.text().strip() for h in page.find_all("h3", class_="post-title")]


# --- templates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "title", "headings"),
    [
        ("plan", "KM Plan: ", PLAN_HEADINGS),
        ("strategy", "KM Strategy: ", STRATEGY_HEADINGS),
        ("article", "", []),
    ],
)
def test_new_post_starts_from_the_template_of_its_kind(
    app, client, signed_in, kind, title, headings
):
    """The plan and strategy templates fill the body with their sections; the kind is kept."""
    form = editor_form(client.get(f"{NEW}?kind={kind}").text)
    assert form["kind"] == kind
    assert form["title"] == title
    assert re.findall(r"^## (.+)$", form["body"], re.MULTILINE) == headings
    if kind == "article":
        assert form["body"] == ""

    post_id = new_post(client, kind=kind, title=f"{title}Acme Engineering", body=form["body"])
    row = stored(app, post_id)
    assert row is not None
    assert row["kind"].value == kind
    assert row["body_source"].strip() == form["body"].strip()


# --- drafts and preview -----------------------------------------------------------------


def test_a_saved_draft_is_not_shown_to_readers(app, client, reader, signed_in):
    """Save keeps a draft on the dashboard only: not on the home page nor in the feed."""
    response = submit(client, NEW, "save", title="Draft about knowledge needs", body="Not yet.")
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert "Saved as a draft." in flashes(page.text)
    post_id = int(response.headers["Location"].split("/")[3])
    row = stored(app, post_id)
    assert row is not None and row["status"].value == "draft" and row["year"] is None

    assert "Draft about knowledge needs" in client.get("/manage/?state=drafts").text
    assert "Draft about knowledge needs" not in client.get("/manage/?state=published").text
    assert "Draft about knowledge needs" not in home_titles(reader)
    assert feed_titles(reader) == []


def test_preview_of_a_new_post_renders_it_without_saving(blog, client, signed_in):
    """Preview shows the rendered Markdown, keeps the text in the form and creates nothing."""
    body = "## Knowledge needs\n\nWho needs to know *what*?"
    response = submit(client, NEW, "preview", title="Needs first", body=body)
    assert response.status_code == 200
    preview = post_body(response.text)
    # A post not saved yet: its ids begin "p-" (saved, with its number: "p7-").
    assert '<h4 id="p-knowledge-needs">Knowledge needs</h4>' in preview
    assert "<em>what</em>" in preview
    form = editor_form(response.text)
    assert form["body"] == body
    assert form["title"] == "Needs first"
    assert blog.count(Post) == 0


def test_preview_of_an_existing_post_changes_nothing(app, blog, client, reader, signed_in):
    """Previewing changes to a published post leaves the stored post and its page as they were."""
    post = blog.post(title="Knowledge assets", body="The old text.", author_id=signed_in)
    before = stored(app, post.id)
    response = edit(client, post.id, "preview", title="Renamed", body="**The new text.**")
    assert response.status_code == 200
    assert "<strong>The new text.</strong>" in post_body(response.text)
    assert stored(app, post.id) == before
    page = reader.get(post.url).text
    assert "The old text." in page
    assert "The new text." not in page


def test_preview_and_published_page_render_the_same_html(client, reader, app, signed_in):
    """What the author previews is exactly what readers get for the same Markdown; a
    post not saved yet only names its ids "p-…" until it has a number ("p7-…")."""
    response = submit(client, NEW, "preview", title="Rich post", body=RICH_MARKDOWN)
    assert response.status_code == 200
    previewed = post_body(response.text)
    # The preview really holds every construct, so the comparison means something.
    for construct in (
        "<table>",
        "<pre><code",
        'href="https://www.apqc.org/"',
        'src="https://example.org/images/map.png"',
        'id="p-fn:why"',
        '<h4 id="p-knowledge-needs">',
    ):
        assert construct in previewed, construct

    post_id = new_post(client, "publish", title="Rich post", body=RICH_MARKDOWN)
    published = post_body(reader.get(url_of(app, post_id)).text)
    assert published == previewed.replace('"p-', f'"p{post_id}-').replace('"#p-', f'"#p{post_id}-')
    # Saved, its preview is the published page to the byte.
    again = edit(client, post_id, "preview", title="Rich post", body=RICH_MARKDOWN)
    assert post_body(again.text) == published


# --- scheduling and publishing ------------------------------------------------------------


def test_a_scheduled_post_appears_when_its_time_comes(app, client, reader, signed_in):
    """A future publish time schedules the post; once the time has passed readers see it."""
    later = datetime.now(UTC) + timedelta(days=2)
    response = submit(
        client, NEW, "publish", title="Scheduled plan", body="Soon.", publish_at=local_input(later)
    )
    assert response.status_code == 303
    post_id = int(response.headers["Location"].split("/")[3])
    assert any(
        "scheduled" in message
        for message in flashes(client.get(f"/manage/posts/{post_id}/edit").text)
    )
    url = url_of(app, post_id)

    assert "Scheduled plan" in client.get("/manage/?state=scheduled").text
    assert "Scheduled plan" not in client.get("/manage/?state=published").text
    assert "Scheduled plan" not in client.get("/manage/?state=drafts").text
    assert reader.get(url).status_code == 404
    assert "Scheduled plan" not in home_titles(reader)
    assert "Scheduled plan" not in feed_titles(reader)

    set_published_at(app, post_id, datetime.now(UTC) - timedelta(minutes=1))

    assert reader.get(url).status_code == 200
    assert "Scheduled plan" in home_titles(reader)
    assert "Scheduled plan" in feed_titles(reader)
    assert "Scheduled plan" in client.get("/manage/?state=published").text


def test_publish_at_is_read_in_the_blog_time_zone(app, blog, client, reader, signed_in):
    """A local evening time in Los Angeles is stored as the next morning UTC, dated locally."""
    blog.settings(timezone="America/Los_Angeles")
    post_id = new_post(client, "publish", title="Late post", publish_at="2009-06-30T22:30")
    row = stored(app, post_id)
    assert row is not None
    assert row["published_at"] == datetime(2009, 7, 1, 5, 30, tzinfo=UTC)
    assert url_of(app, post_id) == "/2009/06/late-post.html"
    page = reader.get("/2009/06/late-post.html").text
    assert "TUESDAY, JUNE 30, 2009" in page
    assert "10:30 PM" in page


def test_publish_now_gives_a_dated_address_from_the_title(app, client, reader, signed_in):
    """Publishing puts the post at /YYYY/MM/slug.html, the slug made from its title."""
    post_id = new_post(client, "publish", title="Knowledge Needs: Who & When?")
    row = stored(app, post_id)
    assert row is not None
    local = row["published_at"].astimezone(UTC)
    url = f"/{local.year:04d}/{local.month:02d}/knowledge-needs-who-when.html"
    assert url_of(app, post_id) == url
    assert abs(row["published_at"] - datetime.now(UTC)) < timedelta(minutes=1)
    assert "Saved and published." in flashes(client.get(f"/manage/posts/{post_id}/edit").text)
    page = reader.get(url)
    assert page.status_code == 200
    assert "Knowledge Needs: Who &amp; When?" in page.text
    assert [link["href"] for link in fetch_feed(reader).entries[0].links] == [SITE + url]


def test_the_same_title_in_the_same_month_gets_a_numbered_slug(app, client, reader, signed_in):
    """Two posts with one title in one month get knowledge-needs and knowledge-needs-2."""
    first = new_post(
        client, "publish", title="Knowledge needs", body="First.", publish_at="2009-06-03T09:00"
    )
    second = new_post(
        client, "publish", title="Knowledge needs", body="Second.", publish_at="2009-06-20T09:00"
    )
    assert url_of(app, first) == "/2009/06/knowledge-needs.html"
    assert url_of(app, second) == "/2009/06/knowledge-needs-2.html"
    assert "First." in post_body(reader.get("/2009/06/knowledge-needs.html").text)
    assert "Second." in post_body(reader.get("/2009/06/knowledge-needs-2.html").text)


# --- addresses of published posts -------------------------------------------------------


def test_a_changed_slug_keeps_every_old_address_redirecting(blog, client, reader, signed_in):
    """Each new slug answers 200; every address the post had before 301s to the newest."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    assert post.url == "/2009/06/knowledge-assets.html"

    assert edit(client, post.id, slug="assets-we-hold").status_code == 303
    assert reader.get("/2009/06/assets-we-hold.html").status_code == 200
    old = reader.get(post.url)
    assert old.status_code == 301
    assert old.headers["Location"] in (
        "/2009/06/assets-we-hold.html",
        SITE + "/2009/06/assets-we-hold.html",
    )

    assert edit(client, post.id, slug="assets-to-leverage").status_code == 303
    newest = "/2009/06/assets-to-leverage.html"
    assert reader.get(newest).status_code == 200
    for older in (post.url, "/2009/06/assets-we-hold.html"):
        response = reader.get(older)
        assert response.status_code == 301, older
        assert response.headers["Location"].removeprefix(SITE) == newest


def test_a_new_publish_date_in_another_month_moves_the_address(
    app, blog, client, reader, signed_in
):
    """Moving a published post to another month gives it that month's address; the old one 301s."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    response = edit(client, post.id, "save", publish_at="2009-08-14T10:00")
    assert response.status_code == 303
    row = stored(app, post.id)
    assert row is not None
    assert row["published_at"] == datetime(2009, 8, 14, 10, 0, tzinfo=UTC)
    new_url = "/2009/08/knowledge-assets.html"
    assert reader.get(new_url).status_code == 200
    old = reader.get(post.url)
    assert old.status_code == 301
    assert old.headers["Location"].removeprefix(SITE) == new_url


def test_editing_a_published_post_updates_its_feed_entry_but_not_its_id(
    blog, client, reader, signed_in
):
    """An edit moves the Atom entry's updated time; its id stays; the change note is shown."""
    post = blog.post(title="Knowledge assets", body="Version one.", author_id=signed_in)
    before = fetch_feed(reader).entries[0]

    response = edit(client, post.id, body="Version two.", change_note="Added the HR directory.")
    assert response.status_code == 303

    after = fetch_feed(reader).entries[0]
    assert after.id == before.id
    assert after.updated_parsed > before.updated_parsed
    assert "Version two." in after.content[0].value
    page = reader.get(post.url).text
    note = parse_html(page).find_all("p", class_="change-note")
    assert len(note) == 1
    assert "Added the HR directory." in note[0].text()


def test_unpublish_hides_the_post_and_publishing_again_restores_its_address(
    app, blog, client, reader, signed_in
):
    """Unpublished: 404 and out of the feed; published again: back at the same address."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    assert edit(client, post.id, "unpublish").status_code == 303
    assert reader.get(post.url).status_code == 404
    assert feed_titles(reader) == []
    assert "Knowledge assets" in client.get("/manage/?state=drafts").text

    assert edit(client, post.id, "publish").status_code == 303
    assert url_of(app, post.id) == post.url
    assert reader.get(post.url).status_code == 200
    assert feed_titles(reader) == ["Knowledge assets"]
    row = stored(app, post.id)
    assert row is not None and row["published_at"] == post.published_at


def test_delete_asks_first_then_removes_the_post_and_its_comments(
    app, auth, blog, client, reader, signed_in
):
    """GET asks for confirmation and deletes nothing; POST deletes the post and its comments."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    blog.comment(post, body="Useful.")
    blog.comment(post, body="Agreed.")
    path = f"/manage/posts/{post.id}/delete"

    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Delete “Knowledge assets”?" in confirm.text
    assert stored(app, post.id) is not None

    response = auth.post_form(path, {})
    assert response.status_code == 303
    assert stored(app, post.id) is None
    assert blog.count(Comment) == 0
    assert reader.get(post.url).status_code == 404
    assert feed_titles(reader) == []
    assert feed_titles(reader, "/feeds/comments/default") == []


def test_a_post_made_after_a_delete_inherits_nothing_from_it(app, auth, blog, client, signed_in):
    """The next post never shows the deleted post's comments, labels or old addresses."""
    gone = blog.post(title="Knowledge assets", labels=("Assets",), author_id=signed_in)
    blog.comment(gone, body="A comment on the deleted post.")
    assert edit(client, gone.id, slug="assets-we-hold").status_code == 303
    assert auth.post_form(f"/manage/posts/{gone.id}/delete", {}).status_code == 303

    fresh = new_post(client, "publish", title="A fresh start", body="New.")
    page = client.get(url_of(app, fresh)).text
    assert "A comment on the deleted post." not in page
    assert "0 Comments:" in page
    assert stored(app, fresh)["labels"] == []  # type: ignore[index]
    assert client.get(gone.url).status_code == 404
    assert client.get("/2009/06/assets-we-hold.html").status_code == 404


# --- companions -----------------------------------------------------------------------


def test_a_strategy_and_its_plan_link_to_each_other(app, client, reader, signed_in):
    """Pairing a strategy with a plan links each page to the other."""
    plan = new_post(client, "publish", kind="plan", title="KM Plan: Acme")
    strategy = new_post(
        client, "publish", kind="strategy", title="KM Strategy: Acme", companion_id=str(plan)
    )
    plan_url, strategy_url = url_of(app, plan), url_of(app, strategy)

    strategy_links = [
        (a.get("href"), a.text())
        for a in parse_html(reader.get(strategy_url).text).find_all("a")
        if "The plan behind this strategy" in a.text()
    ]
    assert strategy_links == [(plan_url, "The plan behind this strategy: KM Plan: Acme")]
    plan_links = [
        (a.get("href"), a.text())
        for a in parse_html(reader.get(plan_url).text).find_all("a")
        if "The strategy for this plan" in a.text()
    ]
    assert plan_links == [(strategy_url, "The strategy for this plan: KM Strategy: Acme")]
    # The plan's editor names the strategy, with a way to its editor.
    plan_editor = parse_html(client.get(f"/manage/posts/{plan}/edit").text)
    named = plan_editor.one("p", class_="companion-strategies").find_all("a")
    assert [(a.get("href"), a.text()) for a in named] == [
        (f"/manage/posts/{strategy}/edit", "KM Strategy: Acme")
    ]


def companion_links(reader, url: str) -> list[tuple[str | None, str]]:  # type: ignore[no-untyped-def]
    """The companion links of a post page: (address, text)."""
    page = parse_html(reader.get(url).text)
    return [
        (a.get("href"), a.text())
        for box in page.find_all("*", class_="companion-link")
        for a in box.find_all("a")
    ]


def test_a_plan_serves_several_strategies_and_lists_them_all(app, client, reader, signed_in):
    """Pairing a second strategy with a plan keeps the first: nothing is unpaired."""
    plan = new_post(client, "publish", kind="plan", title="KM Plan: Acme")
    first = new_post(
        client, "publish", kind="strategy", title="Strategy: Sales", companion_id=str(plan)
    )
    second = new_post(
        client, "publish", kind="strategy", title="Strategy: Research", companion_id=str(plan)
    )
    new_post(client, "save", kind="strategy", title="Strategy: Draft", companion_id=str(plan))
    assert stored(app, first)["companion_id"] == plan  # type: ignore[index]
    assert stored(app, second)["companion_id"] == plan  # type: ignore[index]
    plan_url = url_of(app, plan)

    # Readers see the published ones, in the order they were published.
    page = parse_html(reader.get(plan_url).text)
    assert "The strategies for this plan:" in page.one("div", class_="companion-link").text()
    assert companion_links(reader, plan_url) == [
        (url_of(app, first), "Strategy: Sales"),
        (url_of(app, second), "Strategy: Research"),
    ]
    for strategy, title in ((first, "Sales"), (second, "Research")):
        assert companion_links(reader, url_of(app, strategy)) == [
            (plan_url, "The plan behind this strategy: KM Plan: Acme")
        ], title
    # Editing the first strategy (its plan unchanged) keeps both pairings.
    assert edit(client, first, body="Revised.").status_code == 303
    assert stored(app, second)["companion_id"] == plan  # type: ignore[index]
    # The plan's editor offers no companion of its own to pick, and names all three.
    plan_editor = client.get(f"/manage/posts/{plan}/edit").text
    assert "companion_id" not in editor_form(plan_editor)
    named = parse_html(plan_editor).one("p", class_="companion-strategies").find_all("a")
    assert [a.text() for a in named] == ["Strategy: Draft", "Strategy: Research", "Strategy: Sales"]


def test_a_plans_page_costs_the_same_queries_with_two_strategies_or_six(
    app, client, make_app, count_queries, signed_in
):
    """Its strategies come in one query, however many there are."""
    reader = make_app(PAGE_CACHE=False, PAGE_VERSION_RECHECK_SECONDS=0).test_client()
    costs = []
    for n in (2, 6):
        plan = new_post(client, "publish", kind="plan", title=f"A plan for {n}")
        for i in range(n):
            new_post(client, "publish", kind="strategy", title=f"S{n}.{i}", companion_id=str(plan))
        url = url_of(app, plan)
        reader.get(url)  # the app's first request reads what every later one keeps
        with count_queries() as queries:
            page = reader.get(url).text
        assert len(companion_links(reader, url)) == n
        assert f"S{n}.{n - 1}" in page
        costs.append(len(queries))
    assert costs[0] == costs[1]


def test_a_strategy_moved_to_another_plan_leaves_the_others_alone(app, client, reader, signed_in):
    """A strategy follows one plan: choosing another moves it alone."""
    acme = new_post(client, "publish", kind="plan", title="KM Plan: Acme")
    other = new_post(client, "publish", kind="plan", title="KM Plan: Other")
    moving = new_post(client, "publish", kind="strategy", title="Moving", companion_id=str(acme))
    staying = new_post(client, "publish", kind="strategy", title="Staying", companion_id=str(acme))
    assert edit(client, moving, companion_id=str(other)).status_code == 303
    assert stored(app, moving)["companion_id"] == other  # type: ignore[index]
    assert stored(app, staying)["companion_id"] == acme  # type: ignore[index]
    assert companion_links(reader, url_of(app, acme)) == [
        (url_of(app, staying), "The strategy for this plan: Staying")
    ]
    # "None" unpairs it, as the author asked.
    assert edit(client, moving, companion_id="0").status_code == 303
    assert stored(app, moving)["companion_id"] is None  # type: ignore[index]
    assert companion_links(reader, url_of(app, other)) == []


def test_a_plan_made_another_kind_asks_before_its_strategies_lose_it(
    app, client, reader, signed_in
):
    """Never a silent unlink: the editor warns and saves only once the box is ticked."""
    plan = new_post(client, "publish", kind="plan", title="KM Plan: Acme")
    strategy = new_post(
        client, "publish", kind="strategy", title="Strategy: Sales", companion_id=str(plan)
    )
    before = stored(app, plan)
    asked = edit(client, plan, kind="article", title="Now an essay", body="Changed my mind.")
    assert asked.status_code == 409
    warning = parse_html(asked.text).one("div", class_="form-error")
    assert "Strategy: Sales" in warning.text()
    values = editor_form(asked.text)
    assert values["title"] == "Now an essay" and values["body"] == "Changed my mind."
    assert "unpair_strategies" not in values  # shown, not ticked
    assert stored(app, plan) == before
    assert stored(app, strategy)["companion_id"] == plan  # type: ignore[index]

    # Sent again as it was (the box left unticked): asked again, nothing saved.
    again = client.post(f"/manage/posts/{plan}/edit", data={**values, "action": "save"})
    assert again.status_code == 409
    assert stored(app, plan) == before

    confirmed = client.post(
        f"/manage/posts/{plan}/edit", data={**values, "unpair_strategies": "y", "action": "save"}
    )
    assert confirmed.status_code == 303
    assert stored(app, plan)["kind"].value == "article"  # type: ignore[index]
    assert stored(app, strategy)["companion_id"] is None  # type: ignore[index]
    assert companion_links(reader, url_of(app, strategy)) == []


def test_deleting_a_plan_names_its_strategies_first(app, auth, client, reader, signed_in):
    plan = new_post(client, "publish", kind="plan", title="KM Plan: Acme")
    strategy = new_post(
        client, "publish", kind="strategy", title="Strategy: Sales", companion_id=str(plan)
    )
    page = parse_html(client.get(f"/manage/posts/{plan}/delete").text)
    assert "“Strategy: Sales”" in page.one("p", class_="form-error").text()
    assert auth.post_form(f"/manage/posts/{plan}/delete", {}).status_code == 303
    assert stored(app, strategy)["companion_id"] is None  # type: ignore[index]
    assert companion_links(reader, url_of(app, strategy)) == []


@pytest.mark.parametrize(
    ("kind", "companion_kind"),
    [
        ("strategy", "article"),
        ("article", "plan"),
        ("plan", "plan"),
        ("strategy", "strategy"),
        # A plan names no companion: its strategies name it.
        ("plan", "strategy"),
    ],
)
def test_pairing_with_the_wrong_kind_is_refused_and_changes_nothing(
    app, blog, client, signed_in, kind, companion_kind
):
    """Only a plan and a strategy pair: anything else is refused with a message."""
    other = new_post(client, "publish", kind=companion_kind, title=f"The {companion_kind}")
    # A plan and a strategy exist too, so the companion list is on the form.
    new_post(client, "publish", kind="plan", title="Some plan")
    new_post(client, "publish", kind="strategy", title="Some strategy")
    existing = new_post(client, "save", kind=kind, title=f"Existing {kind}", body="Kept.")
    before = stored(app, existing)
    posts_before = blog.count(Post)

    for page, target in ((f"{NEW}?kind={kind}", NEW), (f"/manage/posts/{existing}/edit", None)):
        response = submit(
            client,
            page,
            "save",
            target,
            kind=kind,
            title="Paired wrongly",
            body="My text.",
            companion_id=str(other),
        )
        assert response.status_code == 422, page
        assert field_error(response.text, "companion_id"), page
        assert editor_form(response.text)["body"] == "My text."
    assert blog.count(Post) == posts_before
    assert stored(app, existing) == before
    assert stored(app, other)["companion_id"] is None  # type: ignore[index]


@pytest.mark.parametrize(
    ("kinds", "kind", "title"),
    [("plans", "plan", "KM Plan: Acme"), ("strategies", "strategy", "KM Strategy: Acme")],
)
def test_readers_can_list_plans_and_strategies_and_follow_their_feeds(
    app, client, reader, signed_in, kinds, kind, title
):
    """/plans/ and /strategies/ and their feeds hold only posts of that kind."""
    wanted = new_post(client, "publish", kind=kind, title=title)
    for other_kind in {"plan", "strategy", "article"} - {kind}:
        new_post(client, "publish", kind=other_kind, title=f"An {other_kind}")
    new_post(client, "save", kind=kind, title=f"Draft {kind}")

    listing = reader.get(f"/{kinds}/")
    assert listing.status_code == 200
    assert home_titles(reader) != []
    titles = [
        h.text().strip() for h in parse_html(listing.text).find_all("h3", class_="post-title")
    ]
    assert titles == [title]

    feed = fetch_feed(reader, f"/feeds/{kinds}/default")
    assert [entry.title for entry in feed.entries] == [title]
    assert feed.entries[0].link == SITE + url_of(app, wanted)


# --- hostile Markdown -------------------------------------------------------------------


def test_hostile_markdown_is_neutralised_on_the_page_in_preview_and_in_the_feed(
    app, client, reader, signed_in
):
    """Scripts, event handlers and javascript: links never reach a reader or the author."""
    preview = submit(client, NEW, "preview", title="Hostile", body=HOSTILE_MARKDOWN)
    assert preview.status_code == 200
    preview_body = post_body(preview.text)
    assert "after." in preview_body
    assert unsafe_markup(preview_body) == []
    assert unsafe_markup(preview.text) == []

    post_id = new_post(client, "publish", title="Hostile", body=HOSTILE_MARKDOWN)
    page = reader.get(url_of(app, post_id)).text
    assert "after." in post_body(page)
    assert unsafe_markup(page) == []

    xml = ElementTree.fromstring(reader.get(POSTS_FEED).data)  # noqa: S314 - our own feed
    contents = [c.text or "" for c in xml.iter(f"{ATOM}content")]
    assert len(contents) == 1
    assert "after." in contents[0]
    assert unsafe_markup(contents[0]) == []


# --- the summary ------------------------------------------------------------------------


def _description(page: str) -> str:
    """The page's <meta name="description">."""
    found = parse_html(page).one("head").one("meta", name="description").get("content")
    assert found is not None
    return found


def test_the_author_writes_a_summary_that_describes_the_post(app, client, reader, signed_in):
    """The editor has a summary field with its help and limit; what the author writes
    there describes the post, and without it the first paragraph does."""
    page = parse_html(client.get(NEW).text)
    field = page.one("textarea", name="summary")
    assert field.get("maxlength") == "300"
    assert "about 160 characters" in page.one("span", id="summary-help").text().lower()
    summary = "Why a knowledge audit comes before any software choice."
    post_id = new_post(
        client,
        "publish",
        title="Audit first",
        body="An audit lists what people need to know.\n\nThen the rest.",
        summary=f"  {summary} ",
    )
    assert stored(app, post_id)["summary"] == summary  # type: ignore[index]
    assert editor_form(client.get(f"/manage/posts/{post_id}/edit").text)["summary"] == summary
    assert _description(reader.get(url_of(app, post_id)).text) == summary
    # Cleared, the first paragraph describes the post again.
    assert edit(client, post_id, summary="").status_code == 303
    shown = reader.get(url_of(app, post_id)).text
    assert _description(shown) == "An audit lists what people need to know."


# --- errors, CSRF and GET ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("title", "", "A post needs a title."),
        ("title", "   ", "A post needs a title."),
        ("title", "t" * 301, "Field cannot be longer than 300 characters."),
        ("slug", "Not A Slug!", "Use lower-case letters, digits and hyphens."),
        ("publish_at", "next tuesday", "Not a valid datetime value."),
        ("kind", "manifesto", "Not a valid choice."),
        ("summary", "s" * 301, "Keep the summary to 300 characters or fewer."),
    ],
)
def test_a_refused_new_post_keeps_what_was_typed_and_saves_nothing(
    blog, client, signed_in, field_name, value, message
):
    """An invalid field is refused (422) with its message beside it; the text stays."""
    body = "## Knowledge needs\n\nA long text the author must not lose & retype."
    changes = {"title": "Knowledge needs", "body": body, "labels": "Planning", field_name: value}
    response = submit(client, NEW, "publish", NEW, **changes)
    assert response.status_code == 422
    assert message in field_error(response.text, field_name)
    form = editor_form(response.text)
    assert form["body"] == body
    assert form["labels"] == "Planning"
    if field_name != "title":
        assert form["title"] == "Knowledge needs"
    assert blog.count(Post) == 0
    assert blog.count(Label) == 0


def test_a_refused_edit_keeps_what_was_typed_and_changes_nothing(app, blog, client, signed_in):
    """Clearing the title of a published post is refused; the post stays as it was."""
    post = blog.post(title="Knowledge assets", body="Old.", author_id=signed_in)
    before = stored(app, post.id)
    response = edit(client, post.id, "save", title="", body="New text typed.")
    assert response.status_code == 422
    assert "A post needs a title." in field_error(response.text, "title")
    assert editor_form(response.text)["body"] == "New text typed."
    assert stored(app, post.id) == before


@pytest.mark.parametrize("token", [None, "", "stale"])
def test_the_editor_with_a_bad_csrf_token_saves_nothing(app, blog, client, signed_in, token):
    """A missing, empty or stale token: 400, no post made, the existing one unchanged."""
    post = blog.post(title="Knowledge assets", body="Old.", author_id=signed_in)
    before = stored(app, post.id)
    for page in (NEW, f"/manage/posts/{post.id}/edit"):
        response = submit(client, page, "save", csrf_token=token, title="Forged", body="Forged.")
        assert response.status_code == 400, page
    assert blog.count(Post) == 1
    assert stored(app, post.id) == before


def test_an_expired_editor_form_gives_the_author_their_text_back(blog, client, signed_in):
    """The editor promises "what you typed is still here" when its token has expired."""
    post = blog.post(title="Knowledge assets", body="Old.", author_id=signed_in)
    for page in (NEW, f"/manage/posts/{post.id}/edit"):
        response = submit(client, page, "save", csrf_token="stale", body="Hours of writing.")
        assert response.status_code == 400, page
        assert "what you typed is still here" in response.text, page
        assert editor_form(response.text)["body"] == "Hours of writing.", page


@pytest.mark.parametrize("token", ["", "stale"])
def test_delete_with_a_bad_csrf_token_deletes_nothing(app, blog, client, signed_in, token):
    """A forged or missing token cannot delete a post."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    response = client.post(f"/manage/posts/{post.id}/delete", data={"csrf_token": token})
    assert response.status_code == 400
    assert stored(app, post.id) is not None


def test_get_requests_never_change_anything(app, blog, client, reader, signed_in):
    """Opening editor and delete pages, even with button values in the URL, changes nothing."""
    post = blog.post(title="Knowledge assets", author_id=signed_in)
    draft = blog.post(title="A draft", draft=True, author_id=signed_in)
    before = (stored(app, post.id), stored(app, draft.id))
    for path in (
        f"{NEW}?kind=plan&action=publish&title=x",
        f"/manage/posts/{post.id}/edit?action=unpublish",
        f"/manage/posts/{draft.id}/edit?action=publish",
        f"/manage/posts/{post.id}/delete",
        f"/manage/posts/{post.id}/delete?confirm=yes",
    ):
        assert client.get(path).status_code == 200, path
    assert blog.count(Post) == 2
    assert (stored(app, post.id), stored(app, draft.id)) == before
    assert reader.get(post.url).status_code == 200


def test_an_author_cannot_change_or_delete_another_authors_post(
    app, auth, blog, admin, client, signed_in
):
    """Posting to another author's editor or delete page is forbidden and changes nothing."""
    theirs = blog.post(title="The admin's post", author_id=admin)
    before = stored(app, theirs.id)
    for path in (f"/manage/posts/{theirs.id}/edit", f"/manage/posts/{theirs.id}/delete"):
        response = auth.post_form(
            path,
            {"title": "Hijacked", "body": "x", "kind": "article", "action": "publish"},
            form_page=NEW,
        )
        assert response.status_code == 403, path
    assert stored(app, theirs.id) == before


# --- labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "typed"),
    [
        ("KM Strategy", "km strategy"),
        ("Communities of Practice", "COMMUNITIES OF PRACTICE"),
        ("Änderungsmanagement", "änderungsmanagement"),
        ("Wissensbilanz", "WISSENSBILANZ"),
    ],
)
def test_labels_typed_in_another_case_reuse_the_existing_label(
    app, blog, client, reader, signed_in, existing, typed
):
    """A known label in another case is the same label; unknown ones are created as typed."""
    first = new_post(client, "publish", title="First", labels=existing)
    second = new_post(client, "publish", title="Second", labels=f"{typed}, Tacit Knowledge")
    assert stored(app, second)["labels"] == sorted([existing, "Tacit Knowledge"])  # type: ignore[index]
    assert stored(app, first)["labels"] == [existing]  # type: ignore[index]
    with app.app_context():
        names = sorted(db.session.scalars(select(Label.name)))
    assert names == sorted([existing, "Tacit Knowledge"])
    label_page = reader.get(f"/search/label/{existing}").text
    titles = [h.text().strip() for h in parse_html(label_page).find_all("h3", class_="post-title")]
    assert sorted(titles) == ["First", "Second"]


def test_the_editor_offers_existing_labels(blog, client, signed_in):
    """Existing labels are offered as suggestions in the label field's list."""
    blog.post(labels=("KM Strategy", "Tacit Knowledge"), author_id=signed_in)
    page = parse_html(client.get(NEW).text)
    options = [o.get("value") for o in page.find_all("option") if o.has("value")]
    assert {"KM Strategy", "Tacit Knowledge"} <= set(options)
    assert page.find_all("input", id="labels")[0].get("list") == "label-names"


def test_labels_that_differ_only_in_punctuation_are_both_created(app, client, signed_in):
    """ "C#" is a new label beside "C++", though both names make the same URL slug."""
    new_post(client, "publish", title="First", labels="C++")
    second = new_post(client, "publish", title="Second", labels="C#")
    assert stored(app, second)["labels"] == ["C#"]  # type: ignore[index]
    with app.app_context():
        names = sorted(db.session.scalars(select(Label.name)))
    assert names == ["C#", "C++"]
