"""What each benchmarked page costs in-process, one request at a time, cache off.

wrk's figures on a shared 2-core machine swing by 2x between runs; the CPU time of one
request, taken over a few hundred requests in one thread with no server and no client
in the way, holds still to a few percent. This prints, per URL of `run.py`, the median
and 90th percentile of that time and the number of SQL queries, for one or more sizes:

    .venv/bin/python bench/pagecost.py --size small --size huge

or of a blog seeded elsewhere (PostgreSQL), named by its URL instead of a size:

    .venv/bin/python bench/pagecost.py --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

# The project's own files, not the copy installed in the virtual environment.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import SECRET_KEY, clean_environment, discover
from seed import SIZES, default_url, upgrade_schema
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine


def measure(database_url: str, requests: int) -> list[tuple[str, str, float, float, int]]:
    """(name, path, median ms, p90 ms, queries) for each URL, on a fresh app."""
    upgrade_schema(database_url)
    urls = [url for url in discover(create_engine(database_url)) if not url.conditional_of]
    from kmblog import create_app  # noqa: PLC0415

    app = create_app()
    client = app.test_client()
    queries = 0

    def count(*_: object) -> None:
        nonlocal queries
        queries += 1

    event.listen(Engine, "before_cursor_execute", count)
    rows = []
    for url in urls:
        for _ in range(max(5, requests // 10)):  # warm: imports, sidebar, SQLite's pages
            assert client.get(url.path, base_url="https://localhost").status_code == 200
        times = []
        queries = 0
        for _ in range(requests):
            start = time.perf_counter()
            client.get(url.path, base_url="https://localhost")
            times.append((time.perf_counter() - start) * 1000)
        deciles = statistics.quantiles(times, n=10)
        median = statistics.median(times)
        rows.append((url.name, url.path, median, deciles[-1], queries // requests))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=sorted(SIZES))
    parser.add_argument("--database-url", help="a seeded blog's database, instead of --size")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.size or ["large"]
    urls = [args.database_url] if args.database_url else [default_url(size) for size in sizes]
    if not args.child:
        # Each size in a child process of its own, whose settings (read from the
        # environment when kmblog is imported) are the benchmark's: production, cache off.
        for url in urls:
            env = {
                **clean_environment(),
                "KMBLOG_CONFIG": "production",
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": url,
                "KMBLOG_RATELIMIT_ENABLED": "false",
                "KMBLOG_CACHE_TYPE": "NullCache",
                "KMBLOG_PAGE_CACHE": "false",
            }
            command = [sys.executable, __file__, "--child", "--database-url", url]
            subprocess.run([*command, "--requests", str(args.requests)], env=env, check=True)  # noqa: S603
        return
    url = urls[0]
    size = next((size for size in SIZES if default_url(size) == url), "seeded")
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        sys.exit(f"no {size} blog: .venv/bin/python bench/seed.py --size {size}")
    print(f"\n{size} ({url}), {args.requests} requests a URL, cache off\n")
    print("| URL | median ms | p90 ms | queries |\n|---|---|---|---|")
    for name, path, median, p90, queries in measure(url, args.requests):
        print(f"| {name}<br>`{path}` | {median:.2f} | {p90:.2f} | {queries} |")


if __name__ == "__main__":
    main()
