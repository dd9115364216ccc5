"""Load kmblog and its reference points with wrk, over loopback, and print the figures."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

# The project's own files (this worktree's kmblog), not the copy the virtual environment
# has installed in editable mode, which may be another checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gunicorn import __version__ as gunicorn_version
from seed import SIZES, default_url, upgrade_schema
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from kmblog.models import Comment, CommentStatus, Label, Post, PostStatus, Settings, post_labels

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TARGETS = ("kmblog", "bare", "lean", "naive", "nginx-static", "nginx-front")
# The naive baseline only has these two kinds of page.
NAIVE_KINDS = {"home", "post"}
# The lean and naive apps' server: the plainest gunicorn, two sync workers of one thread,
# with the project's config file for everything else (access log, timeouts). The bare
# app runs on kmblog's own settings: it is the ceiling of a Flask app on *those*.
REFERENCE_GUNICORN = ["-c", "gunicorn.conf.py", "--workers", "2", "--threads", "1"]
REFERENCE_GUNICORN += ["--worker-class", "sync"]
# Above this share of CPU taken by other processes during a measurement, it is flagged.
BUSY = 0.10
SECRET_KEY = "bench-secret-key-not-for-production"  # noqa: S105 - a local benchmark's


@dataclass
class Url:
    """One benchmarked address, and for a conditional GET the validators to send."""

    name: str
    path: str
    kind: str  # home, post, listing, search, feed
    headers: dict[str, str] = field(default_factory=dict)
    conditional_of: str | None = None  # the name of the plain URL this revalidates


@dataclass
class Result:
    """What wrk measured for one URL on one target."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    # Share of the machine's CPU that processes outside this benchmark used meanwhile.
    other_cpu: float = 0.0
    note: str = ""


def installed(name: str) -> str | None:
    """The full path of a command-line tool, or None."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def tool(name: str) -> str:
    """The full path of a command-line tool, or exit saying how to install it."""
    path = installed(name)
    if path is None:
        sys.exit(f"{name} is not installed: apt-get install -y {name}")
    return path


# --- servers ---------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once the server answers anything at all; fail if it dies or hangs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/bench-probe", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer in 60 s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it lingers: only the process we started."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def clean_environment() -> dict[str, str]:
    """This environment without what would change a server's settings behind our back
    (KMBLOG_*, REDIS_URL, DATABASE_URL, SECRET_KEY, gunicorn's own variables)."""
    dropped = {"REDIS_URL", "DATABASE_URL", "SECRET_KEY", "GUNICORN_CMD_ARGS"}
    dropped |= {"WEB_CONCURRENCY", "GUNICORN_THREADS", "BIND", "LOG_LEVEL"}
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("KMBLOG_", "BENCH_"))
    }


@contextmanager
def gunicorn_server(
    app: str, env: dict[str, str], log: Path, options: list[str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Serve `app` (module:callable) with gunicorn and `options` until the block ends.

    From the project folder, so that gunicorn reads its gunicorn.conf.py unless `options`
    name another; the runner adds only the address, a control socket of the run's own
    and a short graceful timeout (how fast it stops, not how it serves)."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", *options, "--pythonpath", str(BENCH),
        "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5",
    ]  # fmt: skip
    if int(gunicorn_version.split(".")[0]) >= 27:
        # Its own control socket, not the shared ~/.gunicorn one other servers use.
        command += ["--control-socket", str(log.with_suffix(".ctl"))]
    command.append(app)
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and server
            command, cwd=ROOT, env={**clean_environment(), **env}, stdout=output, stderr=output
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, process, log)
            yield base, process
        finally:
            stop(process)


# Run by the interpreter with gunicorn's command-line options: gunicorn's own loader reads
# them, the config file and GUNICORN_CMD_ARGS, and this prints what it settled on.
_GUNICORN_PROBE = """
import json
from gunicorn.app.base import Application

class Probe(Application):
    def init(self, parser, opts, args):
        return None

    def load(self):
        return None

cfg = Probe().cfg
print(json.dumps({"config": cfg.config, "workers": cfg.workers, "threads": cfg.threads,
                  "worker_class": cfg.worker_class_str, "timeout": cfg.timeout,
                  "keepalive": cfg.keepalive}))
"""


def gunicorn_settings(options: list[str], env: dict[str, str]) -> dict[str, Any]:
    """What gunicorn runs with for `options` in a server's environment: its config file,
    workers, threads, worker class, timeout and keep-alive, as gunicorn resolves them."""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", _GUNICORN_PROBE, *options],
        cwd=ROOT,
        env={**clean_environment(), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"gunicorn cannot read {options}:\n{done.stderr}")
    settings: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return settings


def describe_gunicorn(options: list[str], settings: dict[str, Any]) -> str:
    """`gunicorn OPTIONS`: N workers (class) x T threads, timeout, keep-alive."""
    threads = settings["threads"] if settings["worker_class"] == "gthread" else 1
    return (
        f"`gunicorn {' '.join(options)}`: {settings['workers']} {settings['worker_class']}"
        f" workers x {threads} thread{'s' if threads > 1 else ''} (config"
        f" {settings['config']}, timeout {settings['timeout']} s, keep-alive"
        f" {settings['keepalive']} s)"
    )


def kmblog_gunicorn(args: argparse.Namespace) -> list[str]:
    """kmblog's gunicorn options: the shipped gunicorn.conf.py, as a user gets it, unless
    --workers or --threads are given."""
    options = ["-c", "gunicorn.conf.py"]
    if args.workers is not None:
        options += ["--workers", str(args.workers)]
    if args.threads is not None:
        options += ["--threads", str(args.threads)]
    return options


def nginx_config(run_dir: Path, server: str) -> Path:
    """A whole nginx.conf around one server block, every path inside `run_dir`."""
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {run_dir / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = run_dir / "nginx.conf"
    config.write_text(
        f"""{user}worker_processes 2;
daemon off;
pid {run_dir / "nginx.pid"};
error_log {run_dir / "error.log"} warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    types {{ text/html html; application/atom+xml xml; }}
    default_type application/octet-stream;
    # As Debian's nginx.conf has them.
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
{server}
}}
"""
    )
    return config


@contextmanager
def nginx(run_dir: Path, server: str) -> Iterator[None]:
    """Run nginx in the foreground with its own prefix, config, pid and logs."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o755)
    config = nginx_config(run_dir, server)
    log = run_dir / "stderr.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [tool("nginx"), "-p", str(run_dir), "-c", str(config)], stdout=output, stderr=output
        )
        try:
            time.sleep(0.5)
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{log.read_text()}")
            yield
        finally:
            stop(process)


# --- measuring --------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> Result:
    """Requests/sec, p50, p99, request count and errors from `wrk --latency` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    count = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and count):
        raise ValueError(f"unreadable wrk output:\n{output}")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(bad[1]) if bad else 0
    return Result(float(rps[1]), _ms(p50[1]), _ms(p99[1]), int(count[1]), errors)


def wrk(base: str, url: Url, args: argparse.Namespace, duration: int | None = None) -> Result:
    """Load one URL for `duration` seconds with wrk and parse what it measured."""
    command = [
        tool("wrk"), f"-t{args.threads_wrk}", f"-c{args.connections}",
        f"-d{duration or args.duration}s", "--latency", "--timeout", "30s",
    ]  # fmt: skip
    for name, value in url.headers.items():
        command += ["-H", f"{name}: {value}"]
    before, started = cpu_snapshot(), time.monotonic()
    done = subprocess.run(  # noqa: S603
        [*command, base + url.path], capture_output=True, text=True, check=False
    )
    other = other_cpu_share(before, cpu_snapshot(), time.monotonic() - started)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}")
    drain(base)
    result = parse_wrk(done.stdout)
    result.other_cpu = other
    if result.requests == 0:
        result.note = f"no request completed in {duration or args.duration} s"
    return result


# Busy CPU ticks of the whole machine (/proc/stat), ticks of our ended children (wrk),
# and each visible process's parent and ticks.
CpuSnapshot = tuple[int, int, dict[int, tuple[int, int]]]


def cpu_snapshot() -> CpuSnapshot:
    """The machine's busy CPU time so far, and every visible process's, from /proc."""
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy
    # (steal: another virtual machine had our CPU).
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    times = os.times()
    ended = round((times.children_user + times.children_system) * os.sysconf("SC_CLK_TCK"))
    processes: dict[int, tuple[int, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        processes[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return busy, ended, processes


def other_cpu_share(before: CpuSnapshot, after: CpuSnapshot, seconds: float) -> float:
    """The share of all CPUs used meanwhile by anything but this benchmark's processes
    (other people's test runs, other containers or virtual machines on the same host)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in after[2].items():
        children.setdefault(parent, []).append(pid)
    ours, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        ours.add(pid)
        todo += children.get(pid, [])
    our_ticks = (
        after[1]
        - before[1]
        + sum(
            used - before[2].get(pid, (0, 0))[1]
            for pid, (_, used) in after[2].items()
            if pid in ours
        )
    )
    capacity = seconds * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1)
    return max(after[0] - before[0] - our_ticks, 0) / capacity if capacity else 0.0


def wait_until_quiet(limit: float) -> None:
    """Wait up to `limit` seconds for a second in which other processes use little CPU."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_snapshot()
        time.sleep(1)
        if other_cpu_share(before, cpu_snapshot(), 1.0) < BUSY:
            return


def drain(base: str, probes: int = 8) -> None:
    """Wait until the server has worked off what wrk left queued when it quit: rounds of
    `probes` concurrent requests until a whole round is answered within 0.2 s."""

    def probe(_: int) -> float:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/bench-probe", timeout=300):  # noqa: S310
                pass
        except OSError:
            pass
        return time.monotonic() - started

    deadline = time.monotonic() + 300
    with ThreadPoolExecutor(probes) as pool:
        while time.monotonic() < deadline:
            if max(pool.map(probe, range(probes))) < 0.2:
                return


def send_requests(base: str, paths: list[str], total: int, clients: int = 8) -> int:
    """`total` GETs cycling over `paths` from `clients` threads; returns how many got an
    answer. (wrk cannot stop after a number of requests: its Lua thread:stop() leaves
    the process running for the whole duration.)"""
    address = urllib.parse.urlsplit(base)

    def client(first: int) -> int:
        done = 0
        connection: http.client.HTTPConnection | None = None
        for number in range(first, total, clients):
            if connection is None:
                connection = http.client.HTTPConnection(
                    address.hostname or "127.0.0.1", address.port, timeout=120
                )
            try:
                connection.request("GET", paths[number % len(paths)])
                reply = connection.getresponse()
                reply.read()
                done += 1
                if reply.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
        return done

    with ThreadPoolExecutor(clients) as pool:
        return sum(pool.map(client, range(clients)))


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: processes whose parent is the master."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def rss_mib(pid: int) -> float:
    """Resident memory of one process, MiB (VmRSS in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- what to load -----------------------------------------------------------------


def discover(engine: Engine) -> list[Url]:
    """The benchmarked addresses, found in the seeded database."""
    with engine.connect() as conn:
        settings = conn.execute(select(Settings.posts_per_page).limit(1)).one()
        per_page = settings.posts_per_page
        counts = (
            select(Comment.post_id, func.count().label("n"))
            .where(Comment.status == CommentStatus.PUBLISHED)
            .group_by(Comment.post_id)
            .subquery()
        )
        by_count = {
            n: post_id
            for post_id, n in conn.execute(
                select(counts.c.post_id, counts.c.n)
                .where(counts.c.n.in_([50, 500]))
                .order_by(counts.c.post_id)
            )
        }
        if 500 not in by_count:  # not a seeded blog: the most commented post instead
            by_count[500] = conn.scalar(
                select(counts.c.post_id).order_by(counts.c.n.desc()).limit(1)
            )
        posts = {
            n: conn.execute(select(Post.year, Post.month, Post.slug).where(Post.id == pid)).one()
            for n, pid in by_count.items()
            if pid is not None
        }
        label = conn.execute(
            select(Label.name)
            .join(post_labels, post_labels.c.label_id == Label.id)
            .where(Label.name.contains(" "))
            .group_by(Label.id, Label.name)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        visible = (Post.status == PostStatus.PUBLISHED, Post.published_at <= datetime.now(UTC))
        total = conn.scalar(select(func.count()).select_from(Post).where(*visible)) or 0
        middle = conn.execute(
            select(Post.year, Post.month)
            .where(*visible)
            .order_by(Post.published_at.desc())
            .offset(total // 2)
            .limit(1)
        ).one()
        page = min(200, -(-total // per_page))
        cursor = conn.scalar(
            select(Post.published_at)
            .where(*visible)
            .order_by(Post.published_at.desc(), Post.id.desc())
            .offset((page - 1) * per_page - 1)
            .limit(1)
        )
    urls = [Url("home", "/", "home")]
    if 50 in posts:
        urls.append(Url("post, 50 comments", _post_path(posts[50]), "post"))
    urls.append(Url("post, 500 comments", _post_path(posts[500]), "post"))
    urls += [
        Url(f"label {label}", "/search/label/" + quote(label), "listing"),
        Url("archive month", f"/{middle.year:04d}/{middle.month:02d}/", "listing"),
    ]
    if page > 1 and cursor is not None:
        query = urlencode({"updated-max": cursor.isoformat(), "max-results": per_page})
        urls.append(Url(f"older posts, page {page}", f"/search?{query}", "listing"))
    urls += [
        Url("search strategy", "/search?q=strategy", "search"),
        Url("feed posts", "/feeds/posts/default", "feed"),
        Url("feed label", "/feeds/posts/default/-/" + quote(label), "feed"),
        Url("feed comments", "/feeds/comments/default", "feed"),
        Url("feed post comments", f"/feeds/{by_count[500]}/comments/default", "feed"),
    ]
    return urls


def _post_path(row: tuple[int, int, str]) -> str:
    year, month, slug = row
    return f"/{year:04d}/{month:02d}/{quote(slug)}.html"


def fetch(base: str, url: Url) -> tuple[int, dict[str, str], bytes]:
    """One GET with the URL's headers: status, response headers, body."""
    request = urllib.request.Request(base + url.path, headers=url.headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:  # noqa: S310
            return reply.status, dict(reply.headers.items()), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def conditional(url: Url, headers: dict[str, str]) -> tuple[Url | None, str]:
    """The conditional GET of `url` from the validators a server sent, or why not."""
    sent = {}
    if "ETag" in headers:
        sent["If-None-Match"] = headers["ETag"]
    if "Last-Modified" in headers:
        sent["If-Modified-Since"] = headers["Last-Modified"]
    missing = [name for name in ("ETag", "Last-Modified") if name not in headers]
    note = ", ".join(f"no {name}" for name in missing)
    if not sent:
        return None, note
    return Url(f"{url.name} (304)", url.path, url.kind, sent, url.name), note


def save_pages(base: str, urls: list[Url], folder: Path) -> dict[str, tuple[str, int]]:
    """Save each page's bytes and a manifest (for nginx-static and the bare app); returns
    each URL's file name and size in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, str]] = {}
    files: dict[str, tuple[str, int]] = {}
    for number, url in enumerate(u for u in urls if u.conditional_of is None):
        status, headers, body = fetch(base, url)
        if status != 200:
            raise RuntimeError(f"kmblog answered {status} for {url.path}")
        content_type = headers.get("Content-Type", "text/html")
        name = f"{number:02d}.{'xml' if 'atom' in content_type else 'html'}"
        (folder / name).write_bytes(body)
        (folder / name).chmod(0o644)
        manifest[url.path] = {"file": name, "content_type": content_type}
        files[url.name] = (name, len(body))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return files


# --- interleaved rounds -------------------------------------------------------------


@dataclass
class Target:
    """A server under load: where it answers, what it is loaded with, how it is served."""

    name: str
    base: str
    urls: dict[str, Url]  # by the name of the run's URL it stands for
    # A process whose exit means the figures are void (the app behind nginx-front too).
    process: subprocess.Popen[bytes] | None = None
    settings: str = ""
    master: int | None = None  # gunicorn's master process, to find its workers


def median_result(runs: list[Result]) -> Result:
    """Each figure's median over the runs of one URL on one target; requests and errors
    summed; the note lists every run's requests per second."""
    if len(runs) == 1:
        return runs[0]
    done = [run for run in runs if run.requests]
    kept = done or runs
    result = Result(
        rps=statistics.median(run.rps for run in runs),
        p50_ms=statistics.median(run.p50_ms for run in kept),
        p99_ms=statistics.median(run.p99_ms for run in kept),
        requests=sum(run.requests for run in runs),
        errors=sum(run.errors for run in runs),
        other_cpu=statistics.median(run.other_cpu for run in runs),
    )
    notes = dict.fromkeys(run.note for run in runs if run.note)
    spread = ", ".join(f"{run.rps:,.0f}" for run in runs)
    result.note = "; ".join([*notes, f"req/s of {spread}"])
    return result


def load_in_rounds(
    targets: list[Target],
    names: list[str],
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> dict[str, dict[str, list[Result]]]:
    """For each round, each URL, each target: wrk once (or --repeat times). Every run of
    every (target, URL) is returned, in order.

    Interleaving puts the same spells of a shared machine's noise on every target, where
    one target after the other gave one target a quiet minute and the next a busy one.
    The targets' order turns by one each round, so none always follows the same one. The
    warm-up runs before a (target, URL)'s first measurement only: caches stay warm, as
    the servers stay up for the whole run."""
    runs: dict[str, dict[str, list[Result]]] = {t.name: {} for t in targets}
    width = max((len(t.name) for t in targets), default=12)
    for number in range(args.rounds):
        if args.rounds > 1:
            say(f"round {number + 1} of {args.rounds}")
        turn = number % len(targets) if targets else 0
        order = targets[turn:] + targets[:turn]
        for name in names:
            for target in order:
                url = target.urls.get(name)
                if url is None:
                    continue
                if target.process is not None and target.process.poll() is not None:
                    raise RuntimeError(
                        f"the server behind {target.name} exited during the run (code "
                        f"{target.process.returncode}; was it stopped from outside?)"
                    )
                if args.quiet_wait:
                    wait_until_quiet(args.quiet_wait)
                if args.warmup and number == 0:
                    wrk(target.base, url, args, duration=args.warmup)
                for _ in range(args.repeat):
                    result = wrk(target.base, url, args)
                    runs[target.name].setdefault(name, []).append(result)
                    say(
                        f"  {target.name:<{width}} {name:<34} {result.rps:9.1f} req/s  p50 "
                        f"{result.p50_ms:8.2f} ms  p99 {result.p99_ms:8.2f} ms"
                        + (f"  errors {result.errors}" if result.errors else "")
                        + (
                            f"  other processes {result.other_cpu:.0%} CPU"
                            if result.other_cpu >= 0.01
                            else ""
                        )
                        + (f"  ({result.note})" if result.note else "")
                    )
    return runs


# --- the run ----------------------------------------------------------------------


class Runner:
    """One run: the options, the URLs, every figure measured, and the output folder."""

    def __init__(self, args: argparse.Namespace, only: list[str], out: Path) -> None:
        self.args = args
        self.only = only
        self.out = out
        self.db_url: str = args.database_url or default_url(args.size)
        self.urls: list[Url] = []  # plain URLs, then the conditional GETs
        self.files: dict[str, tuple[str, int]] = {}  # saved page file and size, by URL name
        self.targets: list[Target] = []
        self.runs: dict[str, dict[str, list[Result]]] = {}
        self.results: dict[str, dict[str, Result]] = {target: {} for target in TARGETS}
        self.memory_mib: dict[str, list[float]] = {}
        self.notes: list[str] = []
        self.revision = ""
        # How each target is served, for the report; gunicorn's resolved settings.
        self.settings: dict[str, str] = {}
        self.resolved: dict[str, dict[str, Any]] = {}

    @property
    def plain(self) -> list[Url]:
        """The URLs without the conditional GETs."""
        return [url for url in self.urls if url.conditional_of is None]

    def say(self, text: str) -> None:
        """Print, and keep in run.log."""
        print(text, flush=True)
        with (self.out / "run.log").open("a") as log:
            log.write(text + "\n")

    def note(self, text: str) -> None:
        """Print, and keep for the report's notes."""
        self.notes.append(text)
        self.say(f"  note: {text}")

    def measure_memory(self, base: str, master: int) -> None:
        """Worker RSS at start, after 1,000 and after 20,000 requests over every URL."""
        self.say("kmblog: memory of the workers (requests cycle over every URL)")
        paths = [url.path for url in self.plain]
        pids = worker_pids(master)
        self.memory_mib = {"start": [rss_mib(pid) for pid in pids]}
        sent = 0
        for goal in (1_000, 20_000):
            sent += send_requests(base, paths, goal - sent)
            self.memory_mib[f"after {sent:,} requests"] = [rss_mib(pid) for pid in pids]
        for moment, values in self.memory_mib.items():
            self.say(f"  worker RSS {moment}: " + ", ".join(f"{v:.1f} MiB" for v in values))

    def gunicorn(
        self, app: str, env: dict[str, str], name: str, options: list[str]
    ) -> AbstractContextManager[tuple[str, subprocess.Popen[bytes]]]:
        """gunicorn_server() with this run's log folder; says how it serves."""
        self.resolved[name] = gunicorn_settings(options, env)
        settings = describe_gunicorn(options, self.resolved[name])
        self.settings[name] = settings
        self.say(f"{name}: {settings}")
        return gunicorn_server(app, env, self.out / f"{name}.log", options)

    def add_target(
        self,
        name: str,
        base: str,
        urls: list[Url],
        process: subprocess.Popen[bytes] | None,
        master: int | None = None,
    ) -> None:
        """A target to load, with the run's URLs it answers."""
        settings = self.settings.get(name, "")
        self.targets.append(
            Target(name, base, {url.name: url for url in urls}, process, settings, master)
        )

    def start_servers(self, stack: ExitStack) -> None:
        """Start kmblog (its pages are the others' content) and every target asked for;
        they stay up until `stack` closes, so their runs can be interleaved."""
        env = kmblog_env(self.db_url, self.args.cache)
        options = kmblog_gunicorn(self.args)
        base, master = stack.enter_context(
            self.gunicorn("kmblog:create_app()", env, "kmblog", options)
        )
        self.files = save_pages(base, self.urls, self.out / "pages")
        for url in self.plain:
            if url.kind != "feed":
                continue
            variant, missing = conditional(url, fetch(base, url)[1])
            if missing:
                self.note(f"kmblog sends {missing} for {url.path}")
            if variant is not None:
                status = fetch(base, variant)[0]
                if status != 304:
                    self.note(f"kmblog answered {status} to a conditional GET of {url.path}")
                self.urls.append(variant)
        if not self.args.skip_memory:
            self.measure_memory(base, master.pid)
        if "kmblog" in self.only:
            self.add_target("kmblog", base, self.urls, master, master.pid)
        if "nginx-front" in self.only:
            port = free_port()
            stack.enter_context(nginx(self.out / "nginx-front", front_config(port, base, self.out)))
            self.settings["nginx-front"] = "nginx (bench/nginx.conf) in front of kmblog's server"
            self.add_target("nginx-front", f"http://127.0.0.1:{port}", self.urls, master)
        if "nginx-static" in self.only:
            self.start_static(stack)
        reference = {
            "bare": ("bare_app:create_app()", {"BENCH_PAGES": str(self.out / "pages")}),
            "lean": ("lean_app:create_app()", {"DATABASE_URL": self.db_url}),
            "naive": ("naive_app:create_app()", {"DATABASE_URL": self.db_url}),
        }
        for name, (app, app_env) in reference.items():
            if name not in self.only:
                continue
            options = kmblog_gunicorn(self.args) if name == "bare" else REFERENCE_GUNICORN
            app_base, server = stack.enter_context(self.gunicorn(app, app_env, name, options))
            if name == "bare":
                urls = self.plain
            elif name == "naive":
                urls = [url for url in self.plain if url.kind in NAIVE_KINDS]
            else:
                urls = self.urls
            self.add_target(name, app_base, urls, server, server.pid)
        for target in self.targets:
            self.note_unconditional(target)

    def start_static(self, stack: ExitStack) -> None:
        """nginx serving the saved pages as files, conditional GETs with its own ETags."""
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # The same open_file_cache as nginx.conf's front (a fair ceiling: without it the
        # static files are opened and closed on every request, the front's are not).
        server = (
            f"    server {{ listen 127.0.0.1:{port}; root {self.out / 'pages'};"
            f" {STATIC_OPEN_FILE_CACHE} }}"
        )
        stack.enter_context(nginx(self.out / "nginx-static", server))
        self.settings["nginx-static"] = (
            "nginx, worker_processes 2, the saved pages as files, open_file_cache as the front"
        )
        self.say(f"nginx-static: {self.settings['nginx-static']}")
        urls = []
        for url in self.plain:
            copy = Url(url.name, "/" + self.files[url.name][0], url.kind)
            urls.append(copy)
            if url.kind == "feed":
                variant, _ = conditional(copy, fetch(base, copy)[1])
                if variant is not None:
                    urls.append(variant)
        self.add_target("nginx-static", base, urls, None)

    def note_unconditional(self, target: Target) -> None:
        """Say which targets answer a conditional GET in full (no validators of their own)."""
        full = [
            url.conditional_of
            for url in target.urls.values()
            if url.conditional_of is not None and fetch(target.base, url)[0] != 304
        ]
        if full:
            self.note(
                f"{target.name} answers the conditional GETs of {', '.join(map(str, full))}"
                " with the whole feed (200): it sends no ETag or Last-Modified"
            )

    def measure(self) -> None:
        """Every target on every URL it answers, in interleaved rounds; keep the medians."""
        names = [url.name for url in self.urls]
        self.runs = load_in_rounds(self.targets, names, self.args, self.say)
        for target_name, found in self.runs.items():
            for name, runs in found.items():
                self.results[target_name][name] = median_result(runs)
        for target in self.targets:
            # gunicorn's own reading of its options, checked against the processes.
            wanted = self.resolved.get(target.name, {}).get("workers")
            if target.master is not None and wanted is not None:
                seen = len(worker_pids(target.master))
                if seen != wanted:
                    self.note(f"{target.name}: {seen} workers running, {wanted} configured")
        if "nginx-front" in self.only:
            front = next(t for t in self.targets if t.name == "nginx-front")
            statuses = {
                url.name: fetch(front.base, url)[1].get("X-Cache-Status") for url in self.plain
            }
            self.note(f"nginx-front X-Cache-Status after the run: {statuses}")

    def write(self) -> None:
        """Print the report; write report.md and results.json."""
        report = render_report(self)
        self.say(report)
        (self.out / "report.md").write_text(report)
        results = {
            target: {name: asdict(result) for name, result in found.items()}
            for target, found in self.results.items()
        }
        summary = {
            "args": vars(self.args),
            "database_url": self.db_url,
            "app_revision": self.revision,
            "gunicorn": self.settings,
            "urls": [asdict(url) for url in self.urls],
            "page_bytes": {name: size for name, (_, size) in self.files.items()},
            "results": results,
            "runs": {
                target: {name: [asdict(run) for run in runs] for name, runs in found.items()}
                for target, found in self.runs.items()
            },
            "memory_mib": self.memory_mib,
            "notes": self.notes,
        }
        (self.out / "results.json").write_text(json.dumps(summary, indent=1))
        self.say(f"written to {self.out}")


STATIC_OPEN_FILE_CACHE = "open_file_cache max=1000 inactive=20s;"


def front_config(port: int, app_base: str, out: Path) -> str:
    """bench/nginx.conf with its @NAMES@ filled in."""
    return (
        (BENCH / "nginx.conf")
        .read_text()
        .replace("@LISTEN@", f"127.0.0.1:{port}")
        .replace("@APP@", app_base.removeprefix("http://"))
        .replace("@CACHE_DIR@", str(out / "nginx-front" / "cache"))
    )


def app_revision() -> str:
    """The commit the app's code is at, and whether it has uncommitted changes."""
    git = installed("git")
    if git is None:
        return "unknown (no git)"
    head = subprocess.run(  # noqa: S603
        [git, "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    app_paths = ["kmblog", "templates", "static", "migrations", "config.py", "gunicorn.conf.py"]
    changed = subprocess.run(  # noqa: S603
        [git, "status", "--porcelain", "--", *app_paths], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return (head or "unknown") + (" with uncommitted changes" if changed else "")


def kmblog_env(url: str, cache: str) -> dict[str, str]:
    """Production settings for the benchmark (rate limits off; the page cache on or off)."""
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "KMBLOG_CONFIG": "production",
        "KMBLOG_RATELIMIT_ENABLED": "false",
    }
    if cache == "off":
        # The page cache is the only user of the cache backend, so this one switch
        # turns caching off (ETags and 304 answers stay).
        env["KMBLOG_PAGE_CACHE"] = "false"
    return env


def add_load_options(parser: argparse.ArgumentParser, duration: int, rounds: int) -> None:
    """The database and wrk options run.py and gunicorn_sweep.py share."""
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default bench/.data/SIZE.sqlite)")
    parser.add_argument("--duration", type=int, default=duration, help="seconds of wrk per URL")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads-wrk", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="seconds of warm-up before a target's first measurement of a URL",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=rounds,
        help="rounds of every URL on every target, interleaved; each figure is the median",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="wrk runs per URL and target in each round"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="before each URL, wait up to this many seconds for other processes to go quiet",
    )


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    """The options, and the targets asked for."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_load_options(parser, duration=10, rounds=1)
    parser.add_argument(
        "--workers",
        type=int,
        help="kmblog's gunicorn workers (default: gunicorn.conf.py's, as shipped)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="kmblog's gunicorn threads per worker (default: gunicorn.conf.py's, as shipped)",
    )
    parser.add_argument("--only", default=",".join(TARGETS), help="targets, comma-separated")
    parser.add_argument("--cache", choices=("on", "off"), default="on")
    parser.add_argument("--skip-memory", action="store_true", help="no RSS measurement")
    args = parser.parse_args()
    if min(args.rounds, args.repeat) < 1:
        parser.error("--rounds and --repeat take a number from 1")
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    return args, only


def main() -> None:
    """Start every target asked for, load them in interleaved rounds, and report."""
    args, only = parse_args()
    tool("wrk")
    # A plain `kill` ends the run through the same clean-up as Ctrl-C: servers stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = BENCH / ".runs" / f"{stamp}-{args.size}-cache-{args.cache}"
    out.mkdir(parents=True)
    runner = Runner(args, only, out)
    runner.say(f"kmblog benchmark, {stamp}, size {args.size}, database {runner.db_url}")
    runner.revision = app_revision()
    runner.say(f"app code: {runner.revision}")
    runner.say(
        f"wrk -t{args.threads_wrk} -c{args.connections} -d{args.duration}s --latency --timeout"
        f" 30s; {args.rounds} round(s) x {args.repeat} run(s); cache {args.cache}; load"
        f" average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    if any(t.startswith("nginx") for t in only) and not installed("nginx"):
        runner.only = [t for t in only if not t.startswith("nginx")]
        runner.note("nginx targets skipped: nginx is not installed (apt-get install -y nginx)")
    upgrade_schema(runner.db_url)
    engine = create_engine(runner.db_url)
    try:
        runner.urls = discover(engine)
    finally:
        engine.dispose()
    with ExitStack() as servers:
        runner.start_servers(servers)
        runner.measure()
    runner.note("WordPress: skipped, none is installed on this machine")
    runner.write()


def _cell(result: Result | None) -> str:
    if result is None:
        return "-"
    if result.requests == 0:
        return "none done"
    text = f"{result.rps:,.0f} ({result.p50_ms:.1f} / {result.p99_ms:.1f})"
    text += f" {result.errors} err" if result.errors else ""
    return text + (f" *{result.other_cpu:.0%}" if result.other_cpu > BUSY else "")


def _ratio(a: Result | None, b: Result | None) -> str:
    return f"{a.rps / b.rps:.2f}" if a and b and b.rps else "-"


RATIOS = (
    ("kmblog", "bare"),
    ("kmblog", "lean"),
    ("kmblog", "naive"),
    ("nginx-front", "nginx-static"),
)


def render_report(runner: Runner) -> str:
    """A Markdown table: req/s (p50 / p99 latency, ms) per URL and target, then ratios."""
    shown = [t for t in TARGETS if t in runner.only]
    ratios = [(a, b) for a, b in RATIOS if a in runner.only and b in runner.only]
    args = runner.args
    rounds = f"median of {args.rounds} interleaved rounds" if args.rounds > 1 else "one round"
    runs = f", {args.repeat} wrk runs each" if args.repeat > 1 else ""
    lines = [
        f"app code {runner.revision}; {args.size} blog; cache {args.cache}; {rounds}{runs}"
        f" of wrk -c{args.connections} -d{args.duration}s",
        "",
        "How each target was served:",
        "",
        # kmblog's server runs in every run: its pages are the other targets' content.
        *(f"- {name}: {runner.settings[name]}" for name in TARGETS if name in runner.settings),
        "",
        "req/s (p50 / p99 latency, ms), each the median of its runs; ratios are of req/s;"
        " *N%: processes outside the benchmark used N% of the machine's CPU during that"
        f" measurement (flagged above {BUSY:.0%})",
        "",
        "| URL | " + " | ".join(shown + [f"{a}/{b}" for a, b in ratios]) + " |",
        "|---" * (1 + len(shown) + len(ratios)) + "|",
    ]
    results = runner.results
    for url in runner.urls:
        cells = [_cell(results[t].get(url.name)) for t in shown]
        cells += [_ratio(results[a].get(url.name), results[b].get(url.name)) for a, b in ratios]
        size = runner.files.get(url.name, ("", 0))[1]
        shown_size = "" if url.conditional_of else f" ({size / 1024:,.0f} KiB)"
        lines.append(f"| {url.name}{shown_size}<br>`{url.path}` | " + " | ".join(cells) + " |")
    if runner.memory_mib:
        lines += ["", "kmblog worker RSS (MiB, per worker):", ""]
        lines += [
            f"- {moment}: " + ", ".join(f"{value:.1f}" for value in values)
            for moment, values in runner.memory_mib.items()
        ]
    if runner.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in runner.notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
