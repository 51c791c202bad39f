"""Unconfirmed publishes hold their account's daily slot until they are settled (I3).

An `unconfirmed` job may have been posted, but the ledger counts only confirmed successes. If
the account kept publishing and the job later turned out posted, the day would end over its
limit. So when an account's confirmed successes plus its unconfirmed jobs reach the limit, the
account is blocked (in the shared ledger, so every campaign sees it) until the local midnight;
reconcile or --confirm lifts the block once nothing unconfirmed is left for the account.
"""

from __future__ import annotations

from datetime import datetime

from postpilot.jobs import JobStatus, local_day, next_local_midnight
from postpilot.store.base import JobStore

#: The ledger block kind used for these holds.
BLOCK_UNCONFIRMED = "unconfirmed"


def _unconfirmed_of(store: JobStore, account: str) -> int:
    return sum(1 for job in store.list_jobs([JobStatus.UNCONFIRMED]) if job.account == account)


def hold_if_needed(
    store: JobStore, account: str, *, now: datetime, timezone: str, daily_limit: int
) -> bool:
    """Block `account` for the rest of its day when its unconfirmed jobs could fill the limit.
    Returns whether a hold is in place. An existing block of another kind is left alone."""
    waiting = _unconfirmed_of(store, account)
    if waiting == 0:
        return False
    if store.daily_count(account, local_day(now, timezone)) + waiting < daily_limit:
        return False
    state = store.account_states([account]).get(account)
    if state is not None and state.block and state.block != BLOCK_UNCONFIRMED:
        return True
    store.block_account(
        account,
        BLOCK_UNCONFIRMED,
        f"{waiting} unconfirmed publish(es) may already count toward today's limit; the next "
        "--run reconciles them, or settle them with --confirm JOB_ID posted|not-posted",
        until=next_local_midnight(now, timezone),
    )
    return True


def release_if_settled(store: JobStore, account: str) -> None:
    """Lift the account's unconfirmed hold once it has no unconfirmed job left."""
    state = store.account_states([account]).get(account)
    if state is None or state.block != BLOCK_UNCONFIRMED:
        return
    if _unconfirmed_of(store, account) == 0:
        store.unblock_account(account)
