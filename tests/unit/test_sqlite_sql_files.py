"""The SQLite store's .sql files: migrations numbered without gaps, statements split whole."""

from __future__ import annotations

from postpilot.store.sql.sqlite import ensure_sql, load_queries, migrations
from postpilot.store.sqlite_schema import SCHEMA_VERSION, statements


def test_migrations_are_numbered_from_1_without_gaps_up_to_the_schema_version() -> None:
    """SCHEMA_VERSION is the newest migration and every version before it has its file."""
    versions = [m.version for m in migrations()]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_trigger_body_stays_one_statement() -> None:
    """Semicolons inside a trigger's BEGIN ... END do not split it; comments are no statement."""
    script = (
        "-- a comment\nCREATE TABLE t (a);\nCREATE TRIGGER x AFTER INSERT ON t BEGIN\n"
        "  DELETE FROM t;\n  DELETE FROM t;\nEND;\n-- trailing comment\n"
    )
    found = statements(script)
    assert len(found) == 2
    assert found[1].startswith("CREATE TRIGGER x")
    assert found[1].endswith("END;")


def test_every_sql_file_parses() -> None:
    """ensure.sql and every migration split into statements; queries.sql names its blocks."""
    assert statements(ensure_sql())
    for migration in migrations():
        assert statements(migration.sql), migration.name
    assert {"candidate", "held", "record_posted"} <= set(load_queries())
