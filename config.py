"""Configuration classes, read from the environment.

The default needs nothing: SQLite in the instance folder and a secret key that is
generated once and kept in the instance folder, so sessions survive a restart.
"""

import os


class Config:
    """Settings shared by every environment; each can be overridden from the environment."""

    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    # None means "SQLite in the instance folder", filled in by create_app().
    SQLALCHEMY_DATABASE_URI: str | None = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Comment forms post back to the page they sit on; a token may be a few hours old.
    WTF_CSRF_TIME_LIMIT = 6 * 3600
    # Larger pages for feeds or paging requests are capped here.
    MAX_RESULTS_LIMIT = 100


class DevelopmentConfig(Config):
    DEBUG = False


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - fixed on purpose so test runs repeat


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
