"""Riding out a job store outage (POSTPILOT_STORE_OUTAGE_SECONDS, default 30).

A store call that raises StoreUnavailable (PostgreSQL unreachable or restarting, SQLite locked
past its busy timeout) is tried again with capped exponential backoff until the store answers,
or until the outage has lasted the budget: then StoreOutageTooLong, which stops the run cleanly
(runner/orchestrator.py). Every store of a process shares one `Outage`, so a process logs one
line when an outage starts and one when it ends, whatever its threads were doing; a worker
process keeps its slots, and a publish in flight finishes and is recorded once the store is
back (docs/never-twice.md, "Store outages and a full disk").

The outage is timed from the start of its first failed try (so SQLite's busy timeout, 30 s,
counts), and the budget is checked when a try fails, so a stop may come up to one store wait
late (SQLite's busy timeout, PostgreSQL's wait for a connection).
Other store errors (a full disk, a constraint) are not retried.

Retrying a write whose answer was lost is safe by the store's contract: every write about a
claimed job is a compare-and-set on its lease token. Two writes get a second look: a claim
that had to be tried again may have taken a job whose answer was lost (that claim is given back
at once, its publish never started), and a success recorded twice reads False the second time
(the job is read back to tell); complete_and_claim, both at once, gets both looks.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from postpilot.errors import StoreFull, StoreOutageTooLong, StoreUnavailable
from postpilot.jobs import Job, JobStatus, utcnow
from postpilot.store.base import ClaimRequest

#: First pause after a failed try, and the longest one.
BACKOFF_START_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 2.0
#: Not ridden out: closing must not wait for a dead server, and giving the orchestrator role
#: up closes its session whatever the server says.
_NOT_RETRIED = frozenset({"close", "release_orchestrator"})

#: A worker process's line saying why it stopped: STORE_FAULT_LINE + fault_line(exc).
STORE_FAULT_LINE = "\x1epostpilot-store-fault "

S = TypeVar("S")


def fault_line(exc: StoreUnavailable | StoreFull) -> str:
    """`<kind> <message>` of a store failure on one line (kind: the run's "error" value)."""
    kind = "store_full" if isinstance(exc, StoreFull) else "store_unavailable"
    return f"{kind} {_one_line(exc)}"


class Outage:
    """One process's view of the store's availability (see the module docstring).

    `report` gets the start and end lines; `interrupted` (polled while waiting) cuts a ride-out
    short: the caller then sees the store's own StoreUnavailable."""

    def __init__(
        self,
        budget_seconds: float,
        report: Callable[[str], None],
        interrupted: Callable[[], bool] = lambda: False,
    ) -> None:
        self.budget = budget_seconds
        # The pool's own warnings (one per failed reconnect) would repeat what the two
        # outage lines say, several times a second.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        self._report = report
        self._interrupted = interrupted
        self._lock = threading.Lock()
        self._since: float | None = None
        #: Set once the budget is spent: from then on no call is tried.
        self.gave_up: str | None = None
        #: The longest outage ridden out so far, in seconds (the run reports it).
        self.longest = 0.0
        self.outages = 0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, bool]:
        """fn(*args, **kwargs), ridden out; (its result, whether it had to be tried again).

        A try after the first moves every time among the arguments (the `now` of a claim,
        a heartbeat, a lease check) forward by the time waited: a lease renewed after an
        outage runs from when it is renewed, and a lease check looks at the real time."""
        if self.gave_up is not None:
            # Past the budget the run is stopping: a try could wait a whole connect timeout
            # per call; the next run gives back what this one cannot.
            raise StoreOutageTooLong(self.gave_up)
        attempt = 0
        first = utcnow()
        while True:
            tried = time.monotonic()
            if attempt:
                shift = utcnow() - first
                args = tuple(_later(a, shift) for a in args)
                kwargs = {k: _later(v, shift) for k, v in kwargs.items()}
                first += shift
            try:
                result = fn(*args, **kwargs)
            except StoreOutageTooLong:
                raise
            except StoreUnavailable as exc:
                delay = self._failed(exc, attempt, tried)
                attempt += 1
                self._pause(delay, exc)
                continue
            if self._since is not None:
                self._recovered()
            return result, attempt > 0

    def _failed(self, exc: StoreUnavailable, attempt: int, tried: float) -> float:
        now = time.monotonic()
        with self._lock:
            if self.gave_up is not None:
                raise StoreOutageTooLong(self.gave_up) from None
            if self._since is None:
                self._since = tried  # a try that waited (SQLite's busy timeout) counts
                self.outages += 1
                self._report(
                    f"job store unavailable; riding it out for up to {self.budget:g}s "
                    f"(POSTPILOT_STORE_OUTAGE_SECONDS): {_one_line(exc)}"
                )
            elapsed = now - self._since
            if elapsed >= self.budget:
                self.gave_up = (
                    f"{_one_line(exc)} The job store stayed unavailable for {elapsed:.0f}s, "
                    f"longer than POSTPILOT_STORE_OUTAGE_SECONDS={self.budget:g}: bring it "
                    "back (or raise that setting), then --run again; claims whose publish had "
                    "not started are given back, started publishes are settled by reconcile, "
                    "never sent again."
                )
                raise StoreOutageTooLong(self.gave_up) from None
            pause = min(BACKOFF_CAP_SECONDS, BACKOFF_START_SECONDS * 2.0 ** min(attempt, 30))
            return min(pause * random.uniform(0.5, 1.0), self.budget - elapsed)

    def _pause(self, delay: float, exc: StoreUnavailable) -> None:
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            if self._interrupted():
                raise exc
            time.sleep(min(left, 0.1))

    def _recovered(self) -> None:
        with self._lock:
            if self._since is None:
                return
            lasted = time.monotonic() - self._since
            self._since = None
            self.longest = max(self.longest, lasted)
        self._report(f"job store reachable again after {lasted:.1f}s")


def _later(value: Any, shift: timedelta) -> Any:
    if isinstance(value, datetime):
        return value + shift
    if isinstance(value, ClaimRequest):
        return dataclasses.replace(value, now=value.now + shift)
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def ride_out(store: S, outage: Outage) -> S:
    """`store` with every public method ridden out through `outage`.

    The methods are wrapped on the instance, not behind a proxy object, so isinstance checks
    against the store protocols (postpilot.store.base) keep seeing the real class."""
    wrapped: dict[str, Callable[..., Any]] = {}
    for name in dir(type(store)):
        if name.startswith("_") or name in _NOT_RETRIED:
            continue
        method = getattr(store, name, None)
        if callable(method) and not isinstance(method, type):
            wrapped[name] = _riding(method, outage)
    if "claim" in wrapped and "complete" in wrapped:
        wrapped["claim"] = _claim_again(store, wrapped["claim"], outage)
        wrapped["complete"] = _complete_again(store, wrapped["complete"], outage)
    if "complete_and_claim" in wrapped:
        wrapped["complete_and_claim"] = _both_again(store, wrapped["complete_and_claim"], outage)
    for name, method in wrapped.items():
        setattr(store, name, method)
    return store


def _riding(method: Callable[..., Any], outage: Outage) -> Callable[..., Any]:
    def ridden(*args: Any, **kwargs: Any) -> Any:
        return outage.call(method, *args, **kwargs)[0]

    ridden.__name__ = getattr(method, "__name__", "ridden")
    ridden.__doc__ = method.__doc__
    ridden.__wrapped__ = method  # type: ignore[attr-defined]
    return ridden


def _claim_again(store: Any, ridden: Callable[..., Any], outage: Outage) -> Callable[..., Any]:
    raw = ridden.__wrapped__  # type: ignore[attr-defined]

    def claim(request: ClaimRequest) -> Job | None:
        job, again = outage.call(raw, request)
        if again:
            _give_back_lost_claims(store, request, job)
        return job  # type: ignore[no-any-return]

    claim.__doc__ = raw.__doc__
    return claim


def _give_back_lost_claims(store: Any, request: ClaimRequest, kept: Job | None) -> None:
    """A claim tried again may have taken a job before its answer was lost: that claim (of
    this slot in this run, not the one returned, publish not started) is given back now
    instead of waiting out its lease. A slot works on one job at a time, so it is no other's."""
    for job in store.list_jobs([JobStatus.CLAIMED]):
        if (
            job.run_id == request.run_id
            and job.worker_id == request.worker_id
            and job.publish_started_at is None
            and (kept is None or job.job_id != kept.job_id)
        ):
            store.release(job.job_id, job.lease_token)


def _complete_again(store: Any, ridden: Callable[..., Any], outage: Outage) -> Callable[..., Any]:
    raw = ridden.__wrapped__  # type: ignore[attr-defined]

    def complete(job_id: str, token: str, now: datetime, **kwargs: Any) -> bool:
        done, again = outage.call(raw, job_id, token, now, **kwargs)
        if done or not again:
            return bool(done)
        return _recorded(store, job_id, kwargs.get("remote_id", ""))

    complete.__doc__ = raw.__doc__
    return complete


def _recorded(store: Any, job_id: str, remote_id: str) -> bool:
    """Whether a success tried again was recorded by a try whose answer was lost."""
    job = store.get(job_id)
    return bool(job is not None and job.status is JobStatus.SUCCESS and job.remote_id == remote_id)


def _both_again(store: Any, ridden: Callable[..., Any], outage: Outage) -> Callable[..., Any]:
    """complete_and_claim tried again gets both second looks: the success is read back, and a
    claim of a lost answer is given back."""
    raw = ridden.__wrapped__  # type: ignore[attr-defined]

    def complete_and_claim(
        job_id: str, token: str, now: datetime, *, request: ClaimRequest, **kwargs: Any
    ) -> tuple[bool, Job | None]:
        (done, job), again = outage.call(raw, job_id, token, now, request=request, **kwargs)
        if again:
            done = done or _recorded(store, job_id, kwargs.get("remote_id", ""))
            _give_back_lost_claims(store, request, job)
        return bool(done), job

    complete_and_claim.__doc__ = raw.__doc__
    return complete_and_claim
