"""kmblog: a blog and comment platform for knowledge-management thought leadership."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from PIL import Image
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS
from kmblog import (
    assets,
    audit,
    backup,
    cli,
    errors,
    federation,
    health,
    jobs,
    mail,
    pagecache,
    security,
    webmention,
)
from kmblog.audit.views import audit as audit_blueprint
from kmblog.auth import notices as auth_notices
from kmblog.auth.passkey_views import passkeys as passkeys_blueprint
from kmblog.auth.views import auth as auth_blueprint
from kmblog.blog.views import blog as blog_blueprint
from kmblog.blogger.views import transfer as transfer_blueprint
from kmblog.comments.views import comments as comments_blueprint
from kmblog.extensions import (
    cache,
    configure_sqlite,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
)
from kmblog.federation.views import federation as federation_blueprint
from kmblog.feeds.views import feeds as feeds_blueprint
from kmblog.mail.views import mail as mail_blueprint
from kmblog.manage.views import manage as manage_blueprint
from kmblog.media.views import media as media_blueprint
from kmblog.media.views import media_library as media_library_blueprint
from kmblog.pages.views import pages as pages_blueprint
from kmblog.seo.views import seo as seo_blueprint
from kmblog.series.views import series as series_blueprint
from kmblog.templating import register_template_helpers
from kmblog.webmention.views import mentions_blueprint as webmention_blueprint

_PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    """templates/, static/ or migrations/: inside the package when installed from a
    wheel, beside it in a checkout."""
    packaged = _PACKAGE_DIR / name
    return packaged if packaged.is_dir() else _PACKAGE_DIR.parent / name


def create_app(config: str | dict[str, Any] | None = None) -> Flask:
    """Build the application: config from config.py, the environment (KMBLOG_...) and
    `config`, then extensions, blueprints, security headers, error pages, CLI commands."""
    # KMBLOG_INSTANCE_PATH moves the instance folder (the SQLite file, the secret key,
    # the media and the job queue by default) out of the checkout.
    instance = os.environ.get("KMBLOG_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()) if instance else None,
        instance_relative_config=True,
        template_folder=str(_resource_dir("templates")),
        static_folder=str(_resource_dir("static")),
    )
    name = config if isinstance(config, str) else os.environ.get("KMBLOG_CONFIG", "development")
    app.config.from_object(CONFIGS[name])
    app.config.from_prefixed_env("KMBLOG")
    if isinstance(config, dict):
        app.config.update(config)
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=app.config["REMEMBER_DAYS"])
    _use_redis(app)
    if name == "production":
        _require_production_settings(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        database = Path(app.instance_path) / "kmblog.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file is never "gone" the way a server connection can be: pinging it before
        # each use was 8% of a cached page's time under load.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
            "pool_pre_ping": False,
        }
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(Path(app.instance_path))

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", configure_sqlite)
    migrate.init_app(app, db, directory=str(_resource_dir("migrations")))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)

    app.register_blueprint(blog_blueprint)
    app.register_blueprint(comments_blueprint)
    app.register_blueprint(feeds_blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(passkeys_blueprint)
    app.register_blueprint(manage_blueprint)
    app.register_blueprint(pages_blueprint)
    app.register_blueprint(series_blueprint)
    app.register_blueprint(transfer_blueprint)
    app.register_blueprint(mail_blueprint)
    app.register_blueprint(seo_blueprint)
    app.register_blueprint(media_blueprint)
    app.register_blueprint(media_library_blueprint)
    app.register_blueprint(webmention_blueprint)
    app.register_blueprint(federation_blueprint)
    app.register_blueprint(audit_blueprint)
    # Pillow refuses to decode more pixels than this (our check of the header comes
    # first; this holds for any other path into Pillow too).
    Image.MAX_IMAGE_PIXELS = app.config["MEDIA_MAX_PIXELS"]
    jobs.init_app(app)
    audit.init_app(app)
    mail.init_app(app)
    auth_notices.init_app(app)
    backup.register(app)
    webmention.init_app(app)
    federation.init_app(app)
    assets.register(app)
    security.register(app)
    pagecache.register(app)
    health.register(app)
    if app.config["PROXY_COUNT"]:
        # Behind N proxies: client address, scheme and host come from their headers.
        count = int(app.config["PROXY_COUNT"])
        # Flask documents wrapping wsgi_app so; mypy sees a method assigned.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )
    errors.register_error_pages(app)
    register_template_helpers(app)
    cli.register_commands(app)
    return app


def _use_redis(app: Flask) -> None:
    """REDIS_URL (or KMBLOG_REDIS_URL) moves rate limits and the page cache to Redis, so
    that several app servers share them."""
    url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return
    app.config["REDIS_URL"] = url
    app.config["RATELIMIT_STORAGE_URI"] = url
    app.config["CACHE_TYPE"] = "RedisCache"
    app.config["CACHE_REDIS_URL"] = url


def _require_production_settings(app: Flask) -> None:
    """Production never falls back to a made-up key or a local SQLite file."""
    missing = [
        variable
        for variable, key in (
            ("SECRET_KEY", "SECRET_KEY"),
            ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        )
        if not app.config.get(key)
    ]
    if missing:
        raise RuntimeError(
            "kmblog's production configuration needs "
            + " and ".join(missing)
            + " in the environment."
        )


def _instance_secret_key(instance: Path) -> str:
    """A random key made on first start and kept in the instance folder (never a
    constant in the code): sessions stay valid across restarts of a local install."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
