"""Build a fresh benchmark blog fast: bulk inserts of posts, labels and comments."""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import content
from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from kmblog.models import (
    Comment,
    CommentStatus,
    Label,
    Post,
    PostKind,
    PostStatus,
    Role,
    Settings,
    User,
    post_labels,
)
from kmblog.rendering import clean_text, render_comment, render_post
from kmblog.slugs import make_slug

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".data"
CHUNK = 5_000
YEARS = 10
# Comments of the two posts the runner benchmarks by name: exact counts.
HOT_COMMENTS = (500, 50)
# No other post reaches this many comments, so "the post with 500 comments" is unique.
OTHER_POST_CAP = 400


@dataclass(frozen=True)
class Size:
    """How big a benchmark blog is."""

    posts: int
    comments: int
    labels: int


SIZES = {
    "small": Size(posts=100, comments=1_000, labels=20),
    "large": Size(posts=10_000, comments=200_000, labels=300),
    "huge": Size(posts=100_000, comments=1_000_000, labels=1_000),
}


def default_url(size: str) -> str:
    """The SQLite file a size is kept in when no --database-url is given."""
    return f"sqlite:///{DATA_DIR / f'{size}.sqlite'}"


def upgrade_schema(url: str) -> None:
    """Apply the migrations with the project's own `flask db upgrade`."""
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "flask", "--app", "kmblog", "db", "upgrade"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        sys.exit(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")


def empty_blog(conn: Connection) -> None:
    """Delete every author, post, label and comment (the settings row stays)."""
    tables = ["post_labels", "comments", "post_redirects", "posts", "labels", "users"]
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        conn.exec_driver_sql("UPDATE posts SET companion_id = NULL")
        for table in tables:
            conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - fixed names


def bulk_insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    """executemany in chunks; returns the number of rows inserted."""
    total = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.execute(insert(table), batch)
            total += len(batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
        total += len(batch)
    return total


def post_times(count: int, now: datetime, rng: random.Random) -> list[datetime]:
    """`count` distinct whole-second UTC times over the last YEARS years, oldest first."""
    end = int(now.timestamp()) - 3600
    start = end - YEARS * 365 * 24 * 3600
    step = (end - start) / count
    stamps: list[int] = []
    for i in range(count):
        stamp = int(start + i * step + rng.random() * step * 0.9)
        stamps.append(max(stamp, stamps[-1] + 1) if stamps else stamp)
    return [datetime.fromtimestamp(stamp, UTC) for stamp in stamps]


def comment_counts(size: Size, hot: dict[int, int], rng: random.Random) -> list[int]:
    """Comments per post: most posts a few, a few posts many, exact totals."""
    counts = [0] * size.posts
    for index, wanted in hot.items():
        counts[index] = wanted
    others = [i for i in range(size.posts) if i not in hot]
    remaining = size.comments - sum(hot.values())
    weights = [rng.lognormvariate(0, 1.3) for _ in others]
    for index, n in Counter(rng.choices(others, weights=weights, k=remaining)).items():
        counts[index] = n
    # Move the excess of any post over the cap to random quiet posts.
    excess = 0
    for index in others:
        if counts[index] > OTHER_POST_CAP:
            kept = rng.randint(OTHER_POST_CAP // 2, OTHER_POST_CAP)
            excess += counts[index] - kept
            counts[index] = kept
    while excess:
        index = rng.choice(others)
        if counts[index] < 20:
            counts[index] += 1
            excess -= 1
    return counts


def seed(conn: Connection, size: Size, rng: random.Random) -> dict[str, float]:
    """Insert authors, labels, posts with their labels, and comments; returns timings."""
    timings: dict[str, float] = {}
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()

    bodies = [(clean_text(body), render_post(body)) for body in content.POST_BODIES]
    comment_bodies = [(clean_text(body), render_comment(body)) for body in content.COMMENT_BODIES]
    timings["render"] = time.perf_counter() - started

    first_day = now - timedelta(days=YEARS * 366)
    bulk_insert(
        conn,
        User.__table__,  # type: ignore[arg-type]
        (
            {
                "id": number,
                "username": username,
                "display_name": display,
                "email": None,
                "password_hash": None,
                "role": Role(role),
                "bio": "Writes about knowledge management.",
                "active": True,
                "session_version": 1,
                "created_at": first_day,
            }
            for number, (username, display, role) in enumerate(content.AUTHORS, start=1)
        ),
    )

    names = content.label_names(size.labels)
    bulk_insert(
        conn,
        Label.__table__,  # type: ignore[arg-type]
        ({"id": i, "name": name, "slug": make_slug(name)} for i, name in enumerate(names, 1)),
    )

    mark = time.perf_counter()
    times = post_times(size.posts, now, rng)
    slugs_taken: set[tuple[int, int, str]] = set()
    slug_cache: dict[str, str] = {}
    label_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(names))]
    label_rows: list[dict[str, int]] = []

    def post_rows() -> Iterator[dict[str, Any]]:
        for index, published in enumerate(times):
            post_id = index + 1
            topic = content.TOPICS[rng.randrange(len(content.TOPICS))]
            pattern = content.TITLE_PATTERNS[rng.randrange(len(content.TITLE_PATTERNS))]
            title = pattern.format(topic=topic)
            title = title[0].upper() + title[1:]
            wanted = slug_cache.get(title) or slug_cache.setdefault(title, make_slug(title))
            slug, n = wanted, 1
            while (published.year, published.month, slug) in slugs_taken:
                n += 1
                slug = f"{wanted}-{n}"
            slugs_taken.add((published.year, published.month, slug))
            source, html = bodies[index % len(bodies)]
            roll = rng.random()
            kind = PostKind.PLAN if roll < 0.02 else PostKind.STRATEGY if roll < 0.04 else None
            for label_index in set(
                rng.choices(range(len(names)), label_weights, k=rng.randint(1, 3))
            ):
                label_rows.append({"post_id": post_id, "label_id": label_index + 1})
            yield {
                "id": post_id,
                "title": title,
                "slug": slug,
                "year": published.year,
                "month": published.month,
                "body_source": source,
                "body_html": html,
                "summary": "",
                "status": PostStatus.PUBLISHED,
                "kind": kind or PostKind.ARTICLE,
                "published_at": published,
                "created_at": published,
                "updated_at": published,
                "comments_open": True,
                "author_id": 1 + index % len(content.AUTHORS),
                "companion_id": None,
                "change_note": "",
            }

    bulk_insert(conn, Post.__table__, post_rows())  # type: ignore[arg-type]
    bulk_insert(conn, post_labels, label_rows)
    timings["posts"] = time.perf_counter() - mark

    mark = time.perf_counter()
    # The hot posts sit among the newest, as a lively discussion would.
    hot = {size.posts - 3: HOT_COMMENTS[0], size.posts - 7: HOT_COMMENTS[1]}
    counts = comment_counts(size, hot, rng)
    last = now.timestamp() - 60
    plan: list[tuple[float, int, int, int]] = []
    for index, count in enumerate(counts):
        start = times[index].timestamp()
        for _ in range(count):
            when = start + 60 + rng.expovariate(1 / (3 * 86400))
            if when > last:  # a recent post: its comments fall between then and now
                when = start + rng.random() * max(last - start, 0)
            plan.append((math.floor(when), index + 1, rng.randrange(12), rng.randrange(10)))
    plan.sort()

    def comment_rows() -> Iterator[dict[str, Any]]:
        for comment_id, (when, post_id, body, name) in enumerate(plan, start=1):
            source, html = comment_bodies[body % len(comment_bodies)]
            author, url = content.COMMENTER_NAMES[name % len(content.COMMENTER_NAMES)]
            yield {
                "id": comment_id,
                "post_id": post_id,
                "author_name": author,
                "author_url": url,
                "user_id": None,
                "body_source": source,
                "body_html": html,
                "created_at": datetime.fromtimestamp(when, UTC),
                "status": CommentStatus.PUBLISHED,
                "ip_hash": "",
            }

    bulk_insert(conn, Comment.__table__, comment_rows())  # type: ignore[arg-type]
    timings["comments"] = time.perf_counter() - mark

    conn.execute(
        update(Settings)
        .where(Settings.id == 1)
        .values(title="A Knowledge Management Blog", timezone="UTC", posts_per_page=10)
    )
    bump_content_version(conn, now)
    return timings


def bump_content_version(conn: Connection, now: datetime) -> None:
    """Raise the settings' content version (when the schema has one): bulk inserts skip
    the app's flush hook, and caches or ETags keyed by the version must not outlive a seed."""
    columns = {column["name"] for column in inspect(conn).get_columns("settings")}
    if "content_version" not in columns:
        return
    table = Table("settings", MetaData(), autoload_with=conn)
    values: dict[str, Any] = {"content_version": table.c.content_version + 1}
    if "changed_at" in columns:
        values["changed_at"] = now if conn.dialect.name != "sqlite" else now.replace(tzinfo=None)
    conn.execute(update(table).values(values))


def main() -> None:
    """Parse arguments, migrate, refuse or empty a used database, seed, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default bench/.data/SIZE.sqlite)")
    parser.add_argument("--force", action="store_true", help="empty a blog that has posts")
    parser.add_argument("--seed", type=int, default=2009, help="random seed")
    args = parser.parse_args()
    url = args.database_url or default_url(args.size)
    if make_url(url).get_backend_name() == "sqlite":
        database = make_url(url).database
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    upgrade_schema(url)
    migrated = time.perf_counter() - started
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
                conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
            existing = conn.scalar(select(func.count()).select_from(Post))
            if existing:
                if not args.force:
                    sys.exit(f"{url} already has {existing} posts; use --force to empty it")
                empty_blog(conn)
            timings = seed(conn, SIZES[args.size], random.Random(args.seed))  # noqa: S311 - test data
            if conn.dialect.name == "postgresql":
                for table in ("users", "labels", "posts", "comments"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
        mark = time.perf_counter()
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.commit()
            timings["analyze"] = time.perf_counter() - mark
            counts = {
                table: conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                for table in ("users", "labels", "posts", "post_labels", "comments")
            }
    finally:
        engine.dispose()
    total = time.perf_counter() - started
    print(f"seeded {args.size} blog at {url}")
    print(f"  migrate {migrated:.1f}s, " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    print("  rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    print(f"  total {total:.1f}s")


if __name__ == "__main__":
    main()
