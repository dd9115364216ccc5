"""Configuration classes, read from the environment.

The default needs nothing: SQLite in the instance folder and a secret key that is
generated once and kept in the instance folder, so sessions survive a restart.

Every setting below can also be set from the environment with the KMBLOG_ prefix
(KMBLOG_RATELIMIT_ENABLED=false, KMBLOG_COMMENT_MIN_SECONDS=0, ...); values are read as
JSON where they parse as JSON (numbers, true/false, lists), else as text.
"""

import os


class Config:
    """Settings shared by every environment."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # None means "SQLite in the instance folder", filled in by create_app().
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Comment forms post back to the page they sit on; a token may be a few hours old.
    WTF_CSRF_TIME_LIMIT = 6 * 3600
    # Larger pages for feeds or paging requests are capped here.
    MAX_RESULTS_LIMIT = 100
    # A post shows its newest comments, this many, with links to older and newer pages,
    # so that a page costs the same with 50 comments or a million.
    COMMENTS_PER_PAGE = 100

    # How many proxies (nginx, a load balancer) stand in front of the app; their
    # X-Forwarded-* headers then give the client's address, scheme and host.
    PROXY_COUNT = 0

    # Request bodies: readers' forms are small; the authoring area may send more.
    MAX_BODY_BYTES = 64 * 1024
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    # An uploaded Blogger export (admins only): a whole blog's posts and comments.
    IMPORT_MAX_BYTES = 256 * 1024 * 1024

    # Uploaded images (kmblog/media): kept in MEDIA_DIR (default instance/media/), one
    # file per content hash. A phone's photo is 3-12 MB; 20 MB leaves room for a
    # camera's, and the request limit for uploads is this plus room for the form.
    MEDIA_DIR: str | None = None
    MEDIA_MAX_BYTES = 20 * 1024 * 1024
    # Decoded size, checked from the header before any pixel is decoded: 50 megapixels
    # is more than any phone camera's, and 200 MB of RGBA at most.
    MEDIA_MAX_PIXELS = 50_000_000

    # Scheduled backups (kmblog/backup), off unless both are set: every BACKUP_EVERY_HOURS
    # a worker writes an archive to BACKUP_DIR and keeps the newest BACKUP_KEEP.
    BACKUP_DIR: str | None = None
    BACKUP_EVERY_HOURS: float = 0
    BACKUP_KEEP = 7
    # The audit trail (kmblog/audit): events older than this many days are forgotten by a
    # job on the queue; 0 keeps them for ever.
    AUDIT_KEEP_DAYS = 365
    # Widths stored (never larger than the original), each as WebP and as JPEG or PNG.
    MEDIA_WIDTHS = [480, 960, 1600]

    # Flask-Limiter: per client address (and per username for sign-in).
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    COMMENT_RATE_LIMIT = "5 per minute;30 per hour"
    LOGIN_RATE_LIMIT = "10 per minute;50 per hour"
    LOGIN_USERNAME_RATE_LIMIT = "5 per minute;20 per hour"

    # Pages and feeds for anonymous readers: in-process by default; "RedisCache" with
    # CACHE_REDIS_URL to share between servers. PAGE_CACHE=false turns it off (ETags and
    # 304 answers stay).
    PAGE_CACHE = True
    # On SQLite, pages trust the last page version read until a write signals a change
    # (kmblog.change_signal), a scheduled post comes due, or this many seconds pass (a
    # change made behind the app's back, such as a restored database file, shows within
    # it). 0: read the version on every page.
    PAGE_VERSION_RECHECK_SECONDS = 1.0
    CACHE_TYPE = "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = 600
    CACHE_THRESHOLD = 2000

    # Spam: a comment posted sooner than this after the form was shown is a bot's.
    COMMENT_MIN_SECONDS = 3

    # The job queue (kmblog/jobs): Huey in a SQLite file (default instance/jobs.sqlite),
    # or in Redis when REDIS_URL (or JOBS_REDIS_URL, for a Redis of its own) is set;
    # JOBS_NAME keeps blogs sharing one Redis apart.
    JOBS_NAME = "kmblog"
    JOBS_SQLITE_PATH: str | None = None
    JOBS_REDIS_URL: str | None = None

    # The blog's address for links in mail, which is sent with no request to take it
    # from (default: SERVER_NAME, else http://127.0.0.1:5000).
    BASE_URL: str | None = None

    # ActivityPub (kmblog/federation): the blog is @FEDERATION_HANDLE@<BASE_URL's host>,
    # and an author who turns theirs on is @<username>@<the same host>. Fetching actors
    # and delivering go the same guarded way out as every fetch (FETCH_ALLOW_LOOPBACK
    # below; FEDERATION_ALLOW_LOOPBACK is its old name, still read). A signed request's Date
    # must be within FEDERATION_SIGNATURE_WINDOW seconds of ours; a delivery is tried
    # FEDERATION_DELIVERY_ATTEMPTS times, waiting FEDERATION_RETRY_SECONDS, then twice as
    # long each time, before it is given up.
    FEDERATION_HANDLE = "blog"
    FEDERATION_ALLOW_LOOPBACK = False  # the old name of FETCH_ALLOW_LOOPBACK
    FEDERATION_SIGNATURE_WINDOW = 300
    FEDERATION_DELIVERY_ATTEMPTS = 8
    FEDERATION_RETRY_SECONDS = 30
    FEDERATION_TIMEOUT = 10
    FEDERATION_MAX_BYTES = 1_000_000

    # Mail (kmblog/mail). Without MAIL_SERVER each message is written to MAIL_OUTBOX
    # (default instance/outbox/) as an .eml file instead of being sent.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_TLS = "starttls"  # starttls, ssl or none
    MAIL_USER: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "kmblog <kmblog@localhost>"
    MAIL_TIMEOUT = 20
    MAIL_OUTBOX: str | None = None
    # One mail per subscriber and post per this many seconds, listing the new comments.
    MAIL_COALESCE_SECONDS = 300
    # After a failed send: wait this long, then twice as long each time, up to the max.
    MAIL_RETRY_SECONDS = 30
    MAIL_RETRY_MAX_SECONDS = 3600

    # The social web (kmblog/webmention, kmblog/federation). Fetching other sites' pages
    # (a mention's source, a Webmention endpoint, the WebSub hub): at most this many bytes
    # and seconds. No fetch (those, nor ActivityPub's: kmblog/outbound.py) ever reaches a
    # private, loopback or link-local address; FETCH_ALLOW_LOOPBACK lets tests on one
    # machine reach 127.0.0.1; leave it off anywhere else.
    FETCH_MAX_BYTES = 1024 * 1024
    FETCH_TIMEOUT_SECONDS = 10
    FETCH_ALLOW_LOOPBACK = False
    # Webmentions and pingbacks received, per sender address.
    WEBMENTION_RATE_LIMIT = "20 per minute;200 per hour"
    # A WebSub hub (e.g. "https://pubsubhubbub.appspot.com/"): the feeds name it and each
    # publish pings it. None: no hub.
    WEBSUB_HUB: str | None = None

    # Sessions and sign-in.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_DAYS = 30
    # After a right password, an author with a second factor has this long to give it.
    SECOND_FACTOR_SECONDS = 300
    # Passkeys (WebAuthn) are bound to the blog's host name and the address browsers see.
    # Both come from the request (PROXY_COUNT makes that right behind a proxy); set them
    # where it cannot: WEBAUTHN_RP_ID="blog.example.org",
    # WEBAUTHN_ORIGIN="https://blog.example.org". Changing the host name later makes
    # the passkeys registered so far unusable.
    WEBAUTHN_RP_ID: str | None = None
    WEBAUTHN_ORIGIN: str | None = None
    # OWASP's minimum for PBKDF2-HMAC-SHA256 (Password Storage Cheat Sheet).
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:600000"  # noqa: S105 - a method name, not a secret


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - fixed on purpose so test runs repeat


class ProductionConfig(Config):
    # create_app() refuses to start without SECRET_KEY and DATABASE_URL.
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # Host names this blog answers to, e.g. KMBLOG_TRUSTED_HOSTS='["blog.example.org"]'.
    TRUSTED_HOSTS: list[str] | None = None


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
