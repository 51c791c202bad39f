"""What every operation shares: the operation errors, the progress store (opened per call,
reported when missing), the campaign's run lock, and the fields every result starts with.

Rules every operation follows:
- validate first, change files last: a missing progress store is reported, never created, by
  operations that only read or fix an existing store;
- operations that rewrite the store wholesale (seeding, reset-day, import) hold the campaign's
  run lock while they work, so they are refused, naming the holder, while a run is going on;
- every message names the context (ctx.describe()).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.config import PostingContext
from postpilot.errors import ConflictError, PostpilotError
from postpilot.jobs import ALL_STATUSES

if TYPE_CHECKING:
    from postpilot.store.base import JobStore

#: One logger for every operation (its name predates the ops package; log filters use it).
log = logging.getLogger("postpilot.operations")

#: How many skipped videos or problems are named one by one before "... and N more".
MAX_NAMED = 10


class OperationFailed(PostpilotError):
    """The operation could not be done (the command exits 1)."""


class ProgressNotFound(OperationFailed):
    """The context's progress store does not exist yet."""


def progress_exists(ctx: PostingContext) -> bool:
    """Whether the context's job store exists (a PostgreSQL store always does)."""
    return ctx.store_dsn is not None or Path(ctx.progress_file).exists()


def require_progress(ctx: PostingContext) -> None:
    """Raise ProgressNotFound (touching no file) when the context's store does not exist."""
    if not progress_exists(ctx):
        raise ProgressNotFound(
            f"Progress file not found: {ctx.progress_file}\n"
            "  Run with --seed-only or --run to create it"
        )


@contextlib.contextmanager
def open_ctx(ctx: PostingContext, *, read_only: bool = False) -> Iterator[JobStore]:
    """The context's job store, closed when the block ends."""
    from postpilot.store import open_store

    store = open_store(ctx, read_only=read_only)
    try:
        yield store
    finally:
        store.close()


def refuse_if_running(ctx: PostingContext, action: str) -> None:
    """Refuse, touching no file, when a run holds the campaign (a probe; the lock is taken
    afterwards for real)."""
    from postpilot.runner.locks import check_for_running_orchestrators

    holders = check_for_running_orchestrators(ctx)
    if holders:
        raise ConflictError(
            f"Cannot {action} for {ctx.describe()} while an orchestrator is running: "
            f"{holders[0].describe()}\n"
            "  Wait for it to finish, or stop it with --stop-all"
        )


@contextlib.contextmanager
def run_lock(ctx: PostingContext, action: str) -> Iterator[None]:
    """Hold the campaign's run lock for a wholesale change; refuse while a run holds it."""
    from postpilot.runner.locks import RunLock

    lock = RunLock(ctx)
    try:
        lock.acquire()
    except ConflictError as exc:
        holder = str(exc).splitlines()[0]
        raise ConflictError(
            f"Cannot {action} for {ctx.describe()} while an orchestrator is running: {holder}\n"
            "  Wait for it to finish, or stop it with --stop-all"
        ) from None
    try:
        yield
    finally:
        lock.release()


def base(ctx: PostingContext) -> dict[str, Any]:
    """The fields every result's JSON starts with."""
    return {"campaign": ctx.campaign_name, "context": ctx.describe()}


def zero_counts() -> dict[str, int]:
    """Store counts of an empty (or absent) store."""
    return {"total": 0, **{str(s): 0 for s in ALL_STATUSES}}


@dataclass(frozen=True, kw_only=True)
class OpResult:
    """What a command did: its data (`to_json()`, the `--json` form) and `messages`, the lines
    for a person. `ok` False makes the command exit 1."""

    campaign: str | None
    context: str
    ok: bool = True
    #: The one-line summary (the first of `messages`).
    message: str
    messages: list[str]

    def fields_json(self) -> dict[str, Any]:
        """The command's own fields, in their JSON order (between `ok` and `message`)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        """The JSON form: campaign, context, ok, the command's fields, message, messages."""
        return {
            "campaign": self.campaign,
            "context": self.context,
            "ok": self.ok,
            **self.fields_json(),
            "message": self.message,
            "messages": list(self.messages),
        }
