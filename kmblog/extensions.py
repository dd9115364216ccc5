"""Flask extensions, created unbound and initialised in create_app()."""

from typing import Any

from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from kmblog.content_version import BlogSession
from kmblog.models import Base

# The app's own session class carries the content-version rule (kmblog.content_version).
db = SQLAlchemy(model_class=Base, session_options={"class_": BlogSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
# Pages and feeds for anonymous readers (CACHE_TYPE: SimpleCache in-process by default,
# RedisCache to share, NullCache to turn it off).
cache = Cache()
# Limits are declared on the views; storage and on/off come from config
# (RATELIMIT_STORAGE_URI, RATELIMIT_ENABLED).
limiter = Limiter(key_func=get_remote_address)


def configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite's defaults are not a server's: enforce foreign keys (ON DELETE CASCADE),
    write-ahead logging, and let writers queue for a while instead of failing at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Readers never wait for a writer, and writers queue on the busy timeout.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
