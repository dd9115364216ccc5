"""Flask extensions, created unbound and initialised in create_app()."""

from typing import Any

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from kmblog.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite's defaults are not a server's: enforce foreign keys (ON DELETE CASCADE),
    and let writers queue for a while instead of failing at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
