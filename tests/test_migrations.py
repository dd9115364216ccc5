"""The migrations alone build the schema the models describe, and can be undone."""

from __future__ import annotations

import os
import sqlite3
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


@pytest.mark.skipif(bool(POSTGRES_URL), reason="a fresh SQLite file, written with sqlite3")
def test_0018_gives_each_published_post_its_current_text_as_revision_1(tmp_path):
    """Posts published before the history began start it from what readers read today
    (dated from their last change, with their note); drafts get none."""

    path = tmp_path / "before.sqlite"
    url = f"sqlite:///{path}"
    assert flask("db", "upgrade", "0017", database_url=url).returncode == 0
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO users (id, username, display_name, role, bio, active, created_at,"
            " session_version) VALUES (1, 'w', 'W', 'author', '', 1, '2009-01-01 00:00:00', 1)"
        )
        for post_id, status, updated, note in (
            # As the app stores times on SQLite (UTCDateTime): UTC, no zone suffix.
            (1, "published", "2009-03-09 10:00:00.000000", "Reworded the ending."),
            (2, "draft", "2009-03-01 10:00:00.000000", ""),
        ):
            connection.execute(
                "INSERT INTO posts (id, title, slug, year, month, body_source, body_html,"
                " summary, status, kind, published_at, created_at, updated_at, comments_open,"
                " author_id, change_note) VALUES (?, 'T', ?, 2009, 3, 'Body *now*.',"
                " '<p>Body <em>now</em>.</p>', '', ?, 'article',"
                " '2009-03-02 09:00:00.000000', '2009-03-01 00:00:00.000000', ?, 1, 1, ?)",
                (post_id, f"t{post_id}", status, updated, note),
            )
    assert flask("db", "upgrade", database_url=url).returncode == 0
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT post_id, number, body_source, body_html, note, typo, author_id, created_at"
            " FROM post_revisions"
        ).fetchall()
    assert rows == [
        (1, 1, "Body *now*.", "<p>Body <em>now</em>.</p>", "Reworded the ending.", 0, 1,
         "2009-03-09 10:00:00.000000")
    ]  # fmt: skip


@pytest.mark.skipif(bool(POSTGRES_URL), reason="a fresh SQLite file, written with sqlite3")
def test_0022_turns_two_way_pairs_into_strategies_naming_their_plans(tmp_path):
    """Before 0022 a plan and its strategy named each other; after it only strategies
    name their plan, and no pairing is lost on the way."""
    path = tmp_path / "before.sqlite"
    url = f"sqlite:///{path}"
    # 0019: the last revision before 0022 that this branch knows (0020 and 0021 of
    # issue 18 touch no companion).
    assert flask("db", "upgrade", "0019", database_url=url).returncode == 0
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA foreign_keys=OFF")  # the pairs point both ways
        connection.execute(
            "INSERT INTO users (id, username, display_name, role, bio, active, created_at,"
            " session_version) VALUES (1, 'w', 'W', 'author', '', 1, '2009-01-01 00:00:00', 1)"
        )
        for post_id, kind, companion in (
            (1, "plan", 2),  # a pair, both ways
            (2, "strategy", 1),
            (3, "plan", 4),  # the plan named it; the strategy had lost its side
            (4, "strategy", None),
            (5, "strategy", 6),  # pointing at an article: no plan
            (6, "article", None),
            (7, "plan", None),  # alone
        ):
            connection.execute(
                "INSERT INTO posts (id, title, slug, body_source, body_html, summary, status,"
                " kind, created_at, updated_at, comments_open, author_id, change_note,"
                " source_format, companion_id) VALUES (?, 'T', ?, '', '', '', 'draft', ?,"
                " '2009-03-01 00:00:00.000000', '2009-03-01 00:00:00.000000', 1, 1, '',"
                " 'markdown', ?)",
                (post_id, f"t{post_id}", kind, companion),
            )
    result = flask("db", "upgrade", database_url=url)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, companion_id FROM posts ORDER BY id").fetchall()
    assert rows == [(1, None), (2, 1), (3, None), (4, 3), (5, None), (6, None), (7, None)]
