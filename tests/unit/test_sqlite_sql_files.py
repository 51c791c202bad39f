"""The SQLite store's .sql files: migrations numbered without gaps, statements split whole."""

from __future__ import annotations

from postpilot.store.sql.sqlite import ensure_sql, ledger, load_queries, migrations
from postpilot.store.sqlite_schema import (
    LEDGER_VERSION,
    SCHEMA_VERSION,
    ledger_statements,
    statements,
)


def test_migrations_are_numbered_from_1_without_gaps_up_to_the_schema_version() -> None:
    """SCHEMA_VERSION is the newest migration and every version before it has its file."""
    versions = [m.version for m in migrations()]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_ledger_migrations_are_numbered_from_1_without_gaps_up_to_the_ledger_version() -> None:
    """LEDGER_VERSION is the newest ledger migration and every version before it has its file;
    the ledger's tables are in its migrations, none in the campaign file's ensure.sql."""
    versions = [m.version for m in ledger.migrations()]
    assert versions == list(range(1, LEDGER_VERSION + 1))
    assert all(" main." not in s for s in statements(ensure_sql()))
    assert all(" c." not in s for m in ledger.migrations() for s in statements(m.sql))
    assert ledger_statements()[-1].endswith(f"'ledger_version', '{LEDGER_VERSION}')")


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
    for migration in (*migrations(), *ledger.migrations()):
        assert statements(migration.sql), migration.name
    assert {"candidate", "held", "record_posted"} <= set(load_queries())
