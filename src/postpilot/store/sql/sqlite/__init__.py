"""The SQLite store's SQL, kept in .sql files like the PostgreSQL store's (the parent package).

`queries.sql` holds named blocks (`-- name: <name> --`, parsed by
postpilot.store.sql.parse_queries). The campaign file's schema migrations are the files
`NNNN_<description>.sql`, applied in version order by postpilot.store.sqlite_schema, which
records the file's version in its `meta` table; `ensure.sql` holds what every open creates
in the campaign file when absent. The ledger's migrations, numbered on their own, are in the
subpackage `ledger`. Only the postpilot.store.sqlite modules use this package; nothing here
touches a database.
"""

from __future__ import annotations

from functools import cache

from postpilot.store.sql import Migration, migrations_of, parse_queries, read_sql


@cache
def load_queries() -> dict[str, str]:
    """The store's named queries (queries.sql), parsed once."""
    return parse_queries(read_sql(__name__, "queries.sql"))


@cache
def migrations() -> tuple[Migration, ...]:
    """The campaign file's migrations, in version order."""
    return migrations_of(__name__)


@cache
def ensure_sql() -> str:
    """The statements every open runs on the campaign file (each creates a table or index only
    if absent)."""
    return read_sql(__name__, "ensure.sql")
