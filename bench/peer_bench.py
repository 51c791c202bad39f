"""postpilot's PostgreSQL store against pgqueuer and procrastinate. Prints JSON; not a test.

    pip install -e '.[bench]'
    python bench/peer_bench.py [--dsn postgresql://...] [--jobs 10000] [--workers 1,4]
                               [--seconds 8] [--rounds 1]

One run, one database, each system in a schema of its own, the same workload: J jobs are
seeded, then W worker processes (spawned, each with its own connection) race through durable
claim+complete cycles until the queue is empty or `--seconds` have passed. A cycle is:
- postpilot: `PostgresJobStore.complete_and_claim`, the success and the next claim in one
  transaction, as a publishing slot records a success (one claimed job per account, over
  `--accounts` accounts, as a publishing run does);
- pgqueuer (durable tables): dequeue then log the completion, at batch size 1 (one job per
  dequeue, as postpilot claims) and at its default batch size (10 per dequeue; completions
  are buffered and flushed together);
- procrastinate: fetch then finish, concurrency 1 per worker.

Completed jobs are counted in the database after every worker has exited (so buffered
completions count only once flushed) and divided by the slowest worker's wall time from the
shared start signal. Cells alternate between systems round by round, so a drift of the shared
disk hits every system alike. The issue's target is reported as `target_pg_w4_over_pgqueuer_b1`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

DEFAULT_DSN = os.environ.get("POSTPILOT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")
LEASE = timedelta(minutes=10)
PGQUEUER_DEFAULT_BATCH = 10  # QueueManager.run(batch_size=10)


def _schema_dsn(dsn: str, schema: str) -> str:
    """The DSN with the cell's schema first on the search path."""
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"


def _admin(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(sql)
        return cur.fetchall() if cur.description else []


# -- postpilot ----------------------------------------------------------------------------------
def _postpilot_store(dsn: str, campaign: str) -> Any:
    from postpilot.store.postgres import PostgresJobStore

    return PostgresJobStore(dsn, campaign)


def postpilot_seed(dsn: str, schema: str, jobs: int, accounts: int) -> None:
    """J jobs round robin over the accounts, in one insert_jobs call."""
    from postpilot.jobs import Job

    store = _postpilot_store(_schema_dsn(dsn, schema), schema)
    try:
        store.insert_jobs(
            Job(f"v{i:06d}.mp4_{schema}", f"acct{i % accounts:03d}", f"videos/v{i}.mp4", "c", seq=i)
            for i in range(jobs)
        )
    finally:
        store.close()


def postpilot_worker(dsn: str, schema: str, seconds: float, start: Any, out: Any) -> None:
    """Claim+complete until the queue is empty or time is up."""
    from postpilot.jobs import local_day, utcnow
    from postpilot.store.base import ClaimRequest

    store = _postpilot_store(_schema_dsn(dsn, schema), schema)
    worker_id = f"bench-{os.getpid()}"
    start.wait()
    t0 = time.perf_counter()
    job = None
    while time.perf_counter() - t0 < seconds:
        now = utcnow()
        day = local_day(now, "UTC")
        request = ClaimRequest(worker_id, now, LEASE, 10**9, day)
        if job is None:
            job = store.claim(request)
            if job is None:
                if store.counts()["pending"] == 0:
                    break
                continue  # every free account is held by another worker right now
        # As a publishing slot records a success: with its next claim, in one transaction.
        done, job = store.complete_and_claim(
            job.job_id, job.lease_token, now, day=day, request=request
        )
        if not done:
            raise RuntimeError("lost a lease")
    if job is not None:
        store.release(job.job_id, job.lease_token)
    out.put(time.perf_counter() - t0)
    store.close()


def postpilot_done(dsn: str, schema: str, jobs: int) -> int:
    store = _postpilot_store(_schema_dsn(dsn, schema), schema)
    try:
        return int(store.counts()["success"])
    finally:
        store.close()


# -- pgqueuer -----------------------------------------------------------------------------------
def pgqueuer_seed(dsn: str, schema: str, jobs: int, accounts: int) -> None:
    """Install pgqueuer's tables in the schema and enqueue J jobs in one statement."""
    import psycopg
    from pgqueuer.queries import Queries

    async def go() -> None:
        conn = await psycopg.AsyncConnection.connect(_schema_dsn(dsn, schema), autocommit=True)
        try:
            queries = Queries.from_psycopg_connection(conn)
            await queries.install()
            await queries.enqueue(["publish"] * jobs, [b"x"] * jobs, [0] * jobs)
        finally:
            await conn.close()

    asyncio.run(go())


def pgqueuer_worker(
    dsn: str, schema: str, seconds: float, start: Any, out: Any, batch: int
) -> None:
    """One QueueManager in drain mode; stops itself once `seconds` have passed."""
    import psycopg
    from pgqueuer import QueueManager
    from pgqueuer.queries import Queries
    from pgqueuer.types import QueueExecutionMode

    async def go() -> float:
        conn = await psycopg.AsyncConnection.connect(_schema_dsn(dsn, schema), autocommit=True)
        qm = QueueManager(Queries.from_psycopg_connection(conn))
        t0 = 0.0

        @qm.entrypoint("publish")
        async def publish(job: Any) -> None:
            if time.perf_counter() - t0 >= seconds:
                qm.shutdown.set()

        await asyncio.to_thread(start.wait)
        t0 = time.perf_counter()
        await qm.run(
            batch_size=batch,
            mode=QueueExecutionMode.drain,
            dequeue_timeout=timedelta(seconds=0.2),
            log_aggregation_interval=timedelta(0),
        )
        wall = time.perf_counter() - t0
        await conn.close()
        return wall

    out.put(asyncio.run(go()))


def pgqueuer_done(dsn: str, schema: str, jobs: int) -> int:
    """Finished jobs are deleted from the queue table (and logged)."""
    left = _admin(dsn, f"SELECT count(*) FROM {schema}.pgqueuer")  # noqa: S608 - our own name
    return jobs - int(left[0][0])


# -- procrastinate ------------------------------------------------------------------------------
def _procrastinate_app(dsn: str, schema: str) -> Any:
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=_schema_dsn(dsn, schema))
    )
    app.task(name="publish")(_procrastinate_task)
    return app


def _procrastinate_task() -> None:
    """The job body: nothing, the cycle is what is measured."""


def procrastinate_seed(dsn: str, schema: str, jobs: int, accounts: int) -> None:
    """Apply procrastinate's schema and defer J jobs in one batch."""

    async def go() -> None:
        app = _procrastinate_app(dsn, schema)
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            await app.tasks["publish"].batch_defer_async(*({} for _ in range(jobs)))

    asyncio.run(go())


def procrastinate_worker(dsn: str, schema: str, seconds: float, start: Any, out: Any) -> None:
    """One worker (concurrency 1) that returns when caught up, cancelled at the time cap."""

    async def go() -> float:
        app = _procrastinate_app(dsn, schema)
        async with app.open_async():
            await asyncio.to_thread(start.wait)
            t0 = time.perf_counter()
            task = asyncio.create_task(
                app.run_worker_async(wait=False, concurrency=1, install_signal_handlers=False)
            )
            try:
                await asyncio.wait_for(asyncio.shield(task), seconds)
            except TimeoutError:
                task.cancel()  # a cancelled worker stops gracefully (finishes its job)
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            return time.perf_counter() - t0

    import logging

    logging.disable(logging.WARNING)
    out.put(asyncio.run(go()))


def procrastinate_done(dsn: str, schema: str, jobs: int) -> int:
    rows = _admin(
        dsn,
        f"SELECT count(*) FROM {schema}.procrastinate_jobs WHERE status = 'succeeded'",  # noqa: S608 - our own name
    )
    return int(rows[0][0])


# -- the harness --------------------------------------------------------------------------------
SYSTEMS: dict[str, tuple[Callable[..., None], Callable[..., None], Callable[..., int], tuple]] = {
    "postpilot": (postpilot_seed, postpilot_worker, postpilot_done, ()),
    "pgqueuer_batch1": (pgqueuer_seed, pgqueuer_worker, pgqueuer_done, (1,)),
    "pgqueuer_default": (pgqueuer_seed, pgqueuer_worker, pgqueuer_done, (PGQUEUER_DEFAULT_BATCH,)),
    "procrastinate": (procrastinate_seed, procrastinate_worker, procrastinate_done, ()),
}


def run_cell(name: str, args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """Seed a fresh schema, race W processes, count what the database says is done."""
    seed, work, done, extra = SYSTEMS[name]
    schema = f"peer_{name}_{uuid.uuid4().hex[:8]}"
    _admin(args.dsn, f"CREATE SCHEMA {schema}")
    try:
        seed(args.dsn, schema, args.jobs, args.accounts)
        ctx = mp.get_context("spawn")
        start, out = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=work, args=(args.dsn, schema, args.seconds, start, out, *extra))
            for _ in range(workers)
        ]
        for proc in procs:
            proc.start()
        time.sleep(1.0 + 0.2 * workers)  # let every process import and connect
        start.set()
        walls = [out.get(timeout=args.seconds + 120) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
            if proc.exitcode != 0:
                raise RuntimeError(f"{name} worker exited with {proc.exitcode}")
        completed = done(args.dsn, schema, args.jobs)
    finally:
        _admin(args.dsn, f"DROP SCHEMA {schema} CASCADE")
    wall = max(walls)
    return {
        "system": name,
        "workers": workers,
        "completed": completed,
        "seconds": round(wall, 3),
        "cycles_per_s": round(completed / wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every (system, W) cell `--rounds` times, interleaved; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--seconds", type=float, default=8.0, help="time cap per cell")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args(argv)
    systems = args.systems.split(",")
    worker_counts = [int(w) for w in args.workers.split(",")]
    cells: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        for w in worker_counts:
            for name in systems:
                cells.append(run_cell(name, args, w))
                print(json.dumps(cells[-1]), file=sys.stderr, flush=True)
    rates: dict[str, dict[str, float]] = {}
    for name in systems:
        for w in worker_counts:
            got = [c["cycles_per_s"] for c in cells if c["system"] == name and c["workers"] == w]
            rates.setdefault(name, {})[str(w)] = statistics.median(got)
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "postgres": _admin(args.dsn, "SHOW server_version")[0][0],
        "jobs": args.jobs,
        "median_cycles_per_s": rates,
        "cells": cells,
    }
    pp, pq = rates.get("postpilot", {}), rates.get("pgqueuer_batch1", {})
    if "4" in pp and "4" in pq:
        ratio = round(pp["4"] / pq["4"], 3)
        report["target_pg_w4_over_pgqueuer_b1"] = {"ratio": ratio, "target": 1.0, "met": ratio >= 1}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
