"""The SQLite ledger's schema migrations: the files `NNNN_<description>.sql`, applied in
version order by postpilot.store.sqlite_schema.migrate_ledger, which records the newest in the
ledger's `meta` table under the key `ledger_version`. The ledger is shared by every campaign
of a project, so it has its own numbering, apart from the campaign file's migrations in the
parent package. Nothing here touches a database.
"""

from __future__ import annotations

from functools import cache

from postpilot.store.sql import Migration, migrations_of


@cache
def migrations() -> tuple[Migration, ...]:
    """The ledger's migrations, in version order."""
    return migrations_of(__name__)
