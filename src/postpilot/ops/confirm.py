"""`--confirm` and `--unblock`: the operator's word on an unconfirmed job, and lifting
accounts' ledger blocks once their cause is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postpilot.config import PostingContext
from postpilot.jobs import JobStatus, local_day, utcnow
from postpilot.ops.common import OperationFailed, OpResult, log, open_ctx, require_progress


@dataclass(frozen=True, kw_only=True)
class UnblockResult(OpResult):
    """The blocks lifted: account, what it was (`was`) and why (`reason`)."""

    unblocked: list[dict[str, Any]]

    def fields_json(self) -> dict[str, Any]:
        """unblocked, and account/was when exactly one account was unblocked."""
        one = self.unblocked[0] if len(self.unblocked) == 1 else None
        return {
            "unblocked": self.unblocked,
            "account": one["account"] if one else None,
            "was": one["was"] if one else None,
        }


def unblock(ctx: PostingContext, accounts: list[str], *, every: bool = False) -> UnblockResult:
    """Lift accounts' ledger blocks (needs re-auth, rate window, unconfirmed hold) once the
    operator fixed their cause, e.g. after writing fresh tokens to credentials.json. `every`:
    all blocked accounts of the campaign. Refused, changing nothing, when a named account is
    not blocked."""
    from postpilot.credentials import without_mark

    desc = ctx.describe()
    require_progress(ctx)
    with open_ctx(ctx) as store:
        names = ctx.get_accounts() if every else accounts
        states = store.account_states(names)
        blocked = {a: s for a, s in states.items() if s.block}
        if not every:
            free = [a for a in accounts if a not in blocked]
            if free:
                raise OperationFailed(
                    f"Not blocked in {desc}: {', '.join(free)} (nothing was unblocked)\n"
                    "  --status lists the blocked accounts"
                )
        for account in blocked:
            store.unblock_account(account)
    lifted = [
        {"account": a, "was": s.block, "reason": without_mark(s.block_reason)}
        for a, s in sorted(blocked.items())
    ]
    if lifted:
        message = f"Unblocked {len(lifted)} account(s) of {desc}: " + ", ".join(
            f"{b['account']} (was: {b['was']})" for b in lifted
        )
    else:
        message = f"No blocked accounts in {desc}"
    log.info("%s", message)
    return UnblockResult(
        campaign=ctx.campaign_name,
        context=desc,
        unblocked=lifted,
        message=message,
        messages=[message],
    )


@dataclass(frozen=True, kw_only=True)
class ConfirmResult(OpResult):
    """The settled job and its status now."""

    job_id: str
    posted: bool
    status: str

    def fields_json(self) -> dict[str, Any]:
        """job_id, posted, status."""
        return {"job_id": self.job_id, "posted": self.posted, "status": self.status}


def confirm(ctx: PostingContext, job_id: str, posted: bool) -> ConfirmResult:
    """Settle an unconfirmed job by the operator's word: posted -> success (the ledger counts
    it), not posted -> pending (the next run publishes it, resuming from its checkpoint)."""
    desc = ctx.describe()
    require_progress(ctx)
    now = utcnow()
    with open_ctx(ctx) as store:
        job = store.get(job_id)
        if job is None:
            raise OperationFailed(f"No job '{job_id}' in {desc}")
        if job.status is not JobStatus.UNCONFIRMED:
            raise OperationFailed(
                f"Job '{job_id}' of {desc} is {job.status}, not unconfirmed; "
                "only unconfirmed jobs can be confirmed"
            )
        if not store.resolve_unconfirmed(job_id, posted, now, day=local_day(now, ctx.timezone)):
            raise OperationFailed(f"Job '{job_id}' of {desc} changed meanwhile; try again")
        from postpilot.runner.unconfirmed import release_if_settled

        release_if_settled(store, job.account)
        settled = store.get(job_id)
    status = str(settled.status) if settled else ""
    word = "posted" if posted else "not posted"
    message = f"Job '{job_id}' of {desc} confirmed as {word}: now {status}"
    return ConfirmResult(
        campaign=ctx.campaign_name,
        context=desc,
        job_id=job_id,
        posted=posted,
        status=status,
        message=message,
        messages=[message],
    )
