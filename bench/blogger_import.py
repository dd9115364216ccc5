"""Generate a Blogger export of 2,000 posts and 20,000 comments, import it into an
empty database with `flask import blogger` in a child process, and report the wall
time and the child's peak memory (ru_maxrss).

    .venv/bin/python bench/blogger_import.py                      # SQLite, bench/.data/
    .venv/bin/python bench/blogger_import.py --database-url postgresql+psycopg://...

The PostgreSQL database must be one of its own (its public schema is dropped and made
again), never `test`. The issue's bar: under 60 s and under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
BLOG = "tag:blogger.com,1999:blog-4242424242424242424"
KIND = "http://schemas.google.com/g/2005#kind"
KIND_TERM = "http://schemas.google.com/blogger/2008/kind#"
LABEL_SCHEME = "http://www.blogger.com/atom/ns#"
LABELS = [
    "KM Strategy", "KM Plans", "knowledge sharing", "Communities of Practice", "tacit knowledge",
    "lessons learned", "Intranets", "search", "taxonomy", "Storytelling",
]  # fmt: skip
# Sentences written for this benchmark; posts and comments are drawn from them.
SENTENCES = [
    "A knowledge map starts with the questions people ask every week.",
    "Write down who answers them, and where the answers are kept.",
    "A community of practice needs a sponsor, a rhythm and a reason to meet.",
    "Lessons learned are only learned when the next project reads them.",
    "Search works when the words in documents are the words of the people who search.",
    "A taxonomy is a promise about how things will be found later.",
    "Stories carry context that a procedure leaves out.",
    "Measure what changes in the work, not how many pages were written.",
]


def _html_body(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(3, 8)):
        sentences = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(2, 5)))
        parts.append(f'<div style="text-align: left;">{sentences}</div><br />')
    parts.append('<a href="https://example.org/km">More on this</a>')
    return "".join(parts)


def generate(path: Path, posts: int, comments: int, seed: int = 7) -> None:
    """Write the export, streaming: nothing large is held in memory."""
    rng = random.Random(seed)  # noqa: S311 - sample text, not secrets
    start = datetime(2005, 1, 3, 9, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:app="http://purl.org/atom/app#" '
            'xmlns:thr="http://purl.org/syndication/thread/1.0">\n'
            f"<id>{BLOG}.archive</id><title>Bench blog</title>\n"
        )
        for name, value in (("BLOG_NAME", "Bench blog"), ("BLOG_TIME_ZONE", "UTC")):
            out.write(
                f"<entry><id>{BLOG}.settings.{name}</id>"
                f'<category scheme="{KIND}" term="{KIND_TERM}settings"/>'
                f"<content>{value}</content></entry>\n"
            )
        times = []
        for n in range(posts):
            moment = start + timedelta(hours=17 * n)
            times.append(moment)
            stamp = moment.isoformat(timespec="milliseconds")
            labels = "".join(
                f'<category scheme="{LABEL_SCHEME}" term="{label}"/>'
                for label in rng.sample(LABELS, 2)
            )
            draft = n % 50 == 49
            link = (
                ""
                if draft
                else f'<link rel="alternate" type="text/html" '
                f'href="http://bench.example.org/{moment:%Y/%m}/post-{n}.html"/>'
            )
            out.write(
                f"<entry><id>{BLOG}.post-{10**15 + n}</id><published>{stamp}</published>"
                f"<updated>{stamp}</updated>"
                + ("<app:control><app:draft>yes</app:draft></app:control>" if draft else "")
                + f'<category scheme="{KIND}" term="{KIND_TERM}post"/>{labels}'
                f'<title type="text">Notes on knowledge, part {n}</title>'
                f'<content type="html">{escape(_html_body(rng))}</content>{link}'
                f"<author><name>Author {n % 3}</name></author></entry>\n"
            )
        for n in range(comments):
            post = rng.randrange(posts)
            moment = times[post] + timedelta(minutes=7 * (n % 500) + 1)
            stamp = moment.isoformat(timespec="milliseconds")
            name = "Anonymous" if n % 3 == 0 else f"Reader {n % 97}"
            uri = "" if n % 3 == 0 else f"<uri>https://reader{n % 97}.example.net/</uri>"
            body = escape(f"{rng.choice(SENTENCES)}<br /><b>{rng.choice(SENTENCES)}</b>")
            out.write(
                f"<entry><id>{BLOG}.post-{2 * 10**15 + n}</id><published>{stamp}</published>"
                f"<updated>{stamp}</updated>"
                f'<category scheme="{KIND}" term="{KIND_TERM}comment"/>'
                f'<title type="text">comment</title><content type="html">{body}</content>'
                f"<author><name>{name}</name>{uri}</author>"
                f'<thr:in-reply-to ref="{BLOG}.post-{10**15 + post}"/></entry>\n'
            )
        out.write("</feed>\n")


def flask(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "kmblog"}
    return subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, check=True, text=True,
        stdout=subprocess.PIPE, stderr=None,
    )  # fmt: skip


def fresh_database(url: str | None) -> str:
    if url is None:
        database = DATA / "blogger-import.sqlite"
        database.unlink(missing_ok=True)
        url = f"sqlite:///{database}"
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    flask("db", "upgrade", database_url=url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--comments", type=int, default=20000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    export = DATA / f"blogger-{args.posts}-{args.comments}.xml"
    generate(export, args.posts, args.comments)
    url = fresh_database(args.database_url)
    print(f"export: {export} ({export.stat().st_size / 1e6:.1f} MB)", flush=True)
    began = time.perf_counter()
    # The progress bar and the report go straight to the terminal.
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "kmblog"}
    subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "flask", "import", "blogger", str(export)],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    # ru_maxrss of the children: the largest, the import (the upgrade child is smaller).
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"database: {url.split('@')[-1]}")
    print(f"wall time: {seconds:.1f} s   peak memory of the import: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
