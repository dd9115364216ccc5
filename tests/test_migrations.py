"""The migrations alone build the schema the models describe, and can be undone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL

ROOT = Path(__file__).resolve().parent.parent


def flask(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "kmblog"}
    return subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(bool(POSTGRES_URL), reason="the PostgreSQL run checks the live schema below")
def test_upgrade_check_downgrade_and_upgrade_again_on_a_fresh_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    for step in (
        ["db", "upgrade"],
        ["db", "check"],
        ["db", "downgrade", "base"],
        ["db", "upgrade"],
        ["db", "check"],
    ):
        result = flask(*step, database_url=url)
        assert result.returncode == 0, f"{step}: {result.stderr}"
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_the_test_database_matches_the_models(database_url, migrated):
    """`flask db check` on the database the suite runs on (SQLite or PostgreSQL)."""
    result = flask("db", "check", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
