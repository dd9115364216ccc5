"""kmblog under several gunicorn settings, page cache on and off, loaded in interleaved
rounds: the figures to choose gunicorn.conf.py's defaults by.

Every combination runs as its own server for the whole sweep; for each round, each page,
each server, wrk runs once, and each figure is its median over the rounds:

    .venv/bin/python bench/gunicorn_sweep.py --size large --rounds 3 --duration 3
    .venv/bin/python bench/gunicorn_sweep.py --size large --configs sync:2,gthread:2x4 \\
        --cache off --page all

A config is `sync:W` (W sync workers) or `gthread:WxT` (W workers of T threads). The
shipped defaults (gunicorn.conf.py as gunicorn reads it on this machine) are marked;
when no config matches them they are added.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import statistics
import sys
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from run import (
    BENCH,
    Result,
    Target,
    Url,
    add_load_options,
    app_revision,
    conditional,
    describe_gunicorn,
    discover,
    fetch,
    gunicorn_server,
    gunicorn_settings,
    kmblog_env,
    load_in_rounds,
    median_result,
    rss_mib,
    tool,
    worker_pids,
)
from seed import default_url, upgrade_schema
from sqlalchemy import create_engine

# Sync workers as gunicorn.conf.py's rule of thumb would have them on 1 to 2 cores, and
# threaded workers from two up to the shipped five.
DEFAULT_CONFIGS = "sync:2,sync:3,sync:5,gthread:2x2,gthread:2x4,gthread:3x2,gthread:5x2,gthread:4x4"
# A page of each cost: a listing with the sidebar, the heaviest post, a label, search
# (kmblog's dearest page), a feed and, by prefix, its conditional GET (the cheapest).
DEFAULT_PAGES = ["home", "post, 500 comments", "label", "search", "feed posts"]


@dataclass(frozen=True)
class Config:
    """One gunicorn setting to measure: worker class, workers, threads."""

    worker_class: str
    workers: int
    threads: int

    @property
    def name(self) -> str:
        if self.worker_class == "sync":
            return f"sync {self.workers}"
        return f"gthread {self.workers}x{self.threads}"

    @property
    def options(self) -> list[str]:
        """gunicorn's options: the shipped config file with these three overridden."""
        return [
            "-c", "gunicorn.conf.py", "--workers", str(self.workers),
            "--threads", str(self.threads), "--worker-class", self.worker_class,
        ]  # fmt: skip


def parse_config(text: str) -> Config:
    """`sync:W` or `gthread:WxT`."""
    sync = re.fullmatch(r"sync:(\d+)", text)
    if sync:
        return Config("sync", int(sync[1]), 1)
    threaded = re.fullmatch(r"gthread:(\d+)x(\d+)", text)
    if threaded:
        return Config("gthread", int(threaded[1]), int(threaded[2]))
    raise argparse.ArgumentTypeError(f"not sync:W or gthread:WxT: {text}")


def shipped_config(env: dict[str, str]) -> Config:
    """What gunicorn.conf.py gives on this machine, as gunicorn reads it."""
    found = gunicorn_settings(["-c", "gunicorn.conf.py"], env)
    threads = found["threads"] if found["worker_class"] == "gthread" else 1
    return Config(found["worker_class"], found["workers"], threads)


def parse_args() -> argparse.Namespace:
    """The options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_options(parser, duration=3, rounds=3)
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help="comma-separated sync:W and gthread:WxT"
    )
    parser.add_argument("--cache", default="on,off", help="on, off or on,off (the default)")
    parser.add_argument(
        "--page",
        action="append",
        help="a URL name of run.py or its start, repeatable; `all`: every URL; a feed brings"
        " its conditional GET (default: " + "; ".join(DEFAULT_PAGES) + ")",
    )
    args = parser.parse_args()
    args.config_list = [parse_config(item.strip()) for item in args.configs.split(",")]
    args.cache_modes = [mode.strip() for mode in args.cache.split(",") if mode.strip()]
    if not args.cache_modes or set(args.cache_modes) - {"on", "off"}:
        parser.error("--cache takes on, off or on,off")
    if min(args.rounds, args.repeat) < 1:
        parser.error("--rounds and --repeat take a number from 1")
    return args


class Sweep:
    """One sweep: its servers, URLs, figures and output folder."""

    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        self.args = args
        self.out = out
        self.db_url: str = args.database_url or default_url(args.size)
        self.urls: list[Url] = []
        self.configs: list[Config] = list(dict.fromkeys(args.config_list))
        self.shipped: Config | None = None
        self.targets: list[Target] = []
        self.labels: dict[str, tuple[Config, str]] = {}  # target name: its config and cache
        self.settings: dict[str, str] = {}
        self.results: dict[str, dict[str, Result]] = {}
        self.rss_mib: dict[str, float] = {}

    def say(self, text: str) -> None:
        """Print, and keep in run.log."""
        print(text, flush=True)
        with (self.out / "run.log").open("a") as log:
            log.write(text + "\n")

    def choose_urls(self) -> None:
        """run.py's URLs that --page names (by their start), feeds' conditional GETs too."""
        engine = create_engine(self.db_url)
        try:
            found = discover(engine)
        finally:
            engine.dispose()
        wanted = self.args.page or DEFAULT_PAGES
        self.urls = [
            url
            for url in found
            if "all" in wanted or any(url.name.startswith(prefix) for prefix in wanted)
        ]
        if not self.urls:
            sys.exit(f"no URL starts with {wanted}: {[url.name for url in found]}")

    def add_conditional_urls(self, base: str) -> None:
        """Each chosen feed's conditional GET, with the validators kmblog sends, after it."""
        for url in [url for url in self.urls if url.kind == "feed"]:
            variant, _ = conditional(url, fetch(base, url)[1])
            if variant is not None:
                self.urls.insert(self.urls.index(url) + 1, variant)

    def start_servers(self, stack: ExitStack) -> None:
        """One kmblog server per config and cache mode, up for the whole sweep."""
        self.shipped = shipped_config(kmblog_env(self.db_url, "on"))
        if self.shipped not in self.configs:
            self.configs.append(self.shipped)
        for config in self.configs:
            for cache in self.args.cache_modes:
                name = f"{config.name}, cache {cache}"
                env = kmblog_env(self.db_url, cache)
                settings = describe_gunicorn(config.options, gunicorn_settings(config.options, env))
                self.settings[name] = settings
                self.say(f"{name}: {settings}")
                log = self.out / (re.sub(r"[^\w]+", "-", name).strip("-") + ".log")
                base, server = stack.enter_context(
                    gunicorn_server("kmblog:create_app()", env, log, config.options)
                )
                if not any(url.conditional_of for url in self.urls):
                    self.add_conditional_urls(base)
                self.labels[name] = (config, cache)
                self.targets.append(Target(name, base, {}, server, settings, server.pid))
        for target in self.targets:
            target.urls = {url.name: url for url in self.urls}

    def measure(self) -> None:
        """Every server on every URL in interleaved rounds; medians; workers' memory."""
        runs = load_in_rounds(self.targets, [url.name for url in self.urls], self.args, self.say)
        self.results = {
            target: {name: median_result(found) for name, found in by_url.items()}
            for target, by_url in runs.items()
        }
        for target in self.targets:
            if target.master is not None:
                self.rss_mib[target.name] = sum(map(rss_mib, worker_pids(target.master)))

    def write(self) -> None:
        """Print the report; write report.md and results.json."""
        report = render_report(self)
        self.say(report)
        (self.out / "report.md").write_text(report)
        summary = {
            "args": {k: v for k, v in vars(self.args).items() if k != "config_list"},
            "database_url": self.db_url,
            "shipped": asdict(self.shipped) if self.shipped else None,
            "gunicorn": self.settings,
            "urls": [asdict(url) for url in self.urls],
            "results": {
                target: {name: asdict(result) for name, result in found.items()}
                for target, found in self.results.items()
            },
            "workers_rss_mib": self.rss_mib,
        }
        (self.out / "results.json").write_text(json.dumps(summary, indent=1))
        self.say(f"written to {self.out}")


def _geomean(values: list[float]) -> float:
    positive = [value for value in values if value > 0]
    if not positive:
        return 0.0
    return math.exp(sum(map(math.log, positive)) / len(positive))


def render_report(sweep: Sweep) -> str:
    """One table per cache mode: a row per config, req/s (p99 ms) per page, summaries."""
    args = sweep.args
    lines = [
        f"gunicorn sweep; {args.size} blog; median of {args.rounds} interleaved round(s) of"
        f" wrk -t{args.threads_wrk} -c{args.connections} -d{args.duration}s; shipped defaults"
        f" here: {sweep.shipped.name if sweep.shipped else '?'}",
        "",
        "Each cell: req/s (p99 latency, ms). geomean: geometric mean of the row's req/s."
        " worst p99: the row's highest. RSS: the workers' resident memory together, after"
        " the sweep. other CPU: the median share of the machine's CPU that processes"
        " outside the sweep used during the row's measurements (on a shared machine a"
        " server with more processes or threads takes a bigger share from them, which"
        " flatters it). `*` marks the shipped defaults.",
    ]
    for cache in args.cache_modes:
        lines += [
            "",
            f"### cache {cache}",
            "",
            "| gunicorn | "
            + " | ".join(url.name for url in sweep.urls)
            + " | geomean req/s | worst p99 | RSS MiB | other CPU |",
            "|---" * (len(sweep.urls) + 5) + "|",
        ]
        for config in sweep.configs:
            name = f"{config.name}, cache {cache}"
            found = sweep.results.get(name, {})
            cells = []
            for url in sweep.urls:
                result = found.get(url.name)
                cells.append(
                    f"{result.rps:,.0f} ({result.p99_ms:.1f})"
                    + (f" {result.errors} err" if result.errors else "")
                    if result
                    else "-"
                )
            rates = [result.rps for result in found.values()]
            other = statistics.median([r.other_cpu for r in found.values()] or [0.0])
            worst = max((result.p99_ms for result in found.values()), default=0.0)
            mark = " *" if config == sweep.shipped else ""
            lines.append(
                f"| {config.name}{mark} | "
                + " | ".join(cells)
                + f" | {_geomean(rates):,.0f} | {worst:.1f} | {sweep.rss_mib.get(name, 0):,.0f}"
                + f" | {other:.0%} |"
            )
    lines += ["", "Servers:", ""] + [f"- {name}: {text}" for name, text in sweep.settings.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Start a server per config and cache mode, load them in rounds, report."""
    args = parse_args()
    tool("wrk")
    # A plain `kill` ends the sweep through the same clean-up as Ctrl-C: servers stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = BENCH / ".runs" / f"{stamp}-{args.size}-sweep"
    out.mkdir(parents=True)
    sweep = Sweep(args, out)
    sweep.say(f"gunicorn sweep, {stamp}, size {args.size}, database {sweep.db_url}")
    sweep.say(f"app code: {app_revision()}")
    upgrade_schema(sweep.db_url)
    sweep.choose_urls()
    with ExitStack() as servers:
        sweep.start_servers(servers)
        sweep.measure()
    sweep.write()


if __name__ == "__main__":
    main()
