"""Job stores: the contract (base), the reference (memory), the embedded default (sqlite) and
the distributed store (postgres), plus open_store, which picks one from a PostingContext.

The PostgreSQL store is imported only when a DSN asks for it, so SQLite users never import
psycopg.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from postpilot.store.base import AccountState, ClaimRequest, JobStore, Recovery

if TYPE_CHECKING:
    from postpilot.config import PostingContext

__all__ = [
    "AccountState",
    "ClaimRequest",
    "JobStore",
    "Recovery",
    "open_store",
    "shared_by_threads",
]


def shared_by_threads(ctx: PostingContext) -> bool:
    """Whether the publishing slots of one process share one store object. SQLite admits
    one writer at a time anyway, so the slots share one connection whose writes join one
    transaction (store/sqlite_batch.py); PostgreSQL runs transactions side by side, so each
    slot keeps a connection of its own."""
    return not ctx.store_dsn


def open_store(
    ctx: PostingContext, *, read_only: bool = False, busy_timeout: float | None = None
) -> JobStore:
    """The job store of this context: PostgreSQL when ctx.store_dsn is set, else SQLite at
    ctx.progress_file with the project ledger at ctx.ledger_file (`read_only`: opened so that
    no file is created or changed, for a project that may be read-only). `busy_timeout`:
    POSTPILOT_STORE_BUSY_SECONDS as already read (a worker process gets it in its spec and so
    never imports pydantic, ~10 MiB per process); None reads the settings."""
    if ctx.store_dsn:
        # Written in parallel; the ignore covers the window before the module exists.
        from postpilot.store.postgres import (  # type: ignore[import-not-found,unused-ignore]
            PostgresJobStore,
        )

        store: JobStore = PostgresJobStore(ctx.store_dsn, ctx.store_name)
        return store
    from postpilot.store.sqlite import SqliteJobStore

    if busy_timeout is None:
        from postpilot import settings

        busy_timeout = settings.load().store_busy_seconds

    return SqliteJobStore(
        Path(ctx.progress_file),
        ctx.ledger_file,
        ctx.store_name,
        read_only=read_only,
        busy_timeout=busy_timeout,
    )
