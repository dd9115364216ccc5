"""gunicorn settings for production: `gunicorn 'kmblog:create_app()'` reads this file.

Each value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import re

bind = os.environ.get("BIND", "127.0.0.1:8000")
# One worker a core, two threads each: measured, not the "two workers a core, plus one"
# rule of thumb (bench/gunicorn_sweep.py, bench/README.md). On 2 cores, 2x2 served as
# many requests as 5x2 or more (the cores are the limit), with a p99 of 19 against 32
# ms for cached pages and 326 against 481 ms uncached, in 182 MiB against 450. Threads
# keep connections alive and overlap database waits; more processes only queue.
# On a bigger machine, run the sweep there (WEB_CONCURRENCY and GUNICORN_THREADS
# override these); PostgreSQL's round trips may then pay for a thread or two more.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
timeout = 30
# A restart lets requests in flight finish for this long.
graceful_timeout = 30
keepalive = 5
# Logs to stdout and stderr, for systemd, a container runtime or a log shipper.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# Trust X-Forwarded-* only from the local proxy (the app's ProxyFix reads them).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 25.1+ opens a control socket for gunicornc, by default one a user: a second
# server on the machine (docs/deploy.md runs two) would take it over from the first. One
# a bind address instead; gunicorn before 25.1 ignores this setting.
_control_dir = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.gunicorn")
control_socket = os.path.join(_control_dir, "gunicorn-" + re.sub(r"[^\w.-]", "_", bind) + ".ctl")
