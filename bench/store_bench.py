"""Job store throughput: durable claim+complete cycles per second. Prints JSON; not a test.

    python bench/store_bench.py [--sizes 1000,10000,100000] [--workers 1,2,4,8]
                                [--cycles 2000] [--seconds 5] [--accounts 50]
                                [--dir FOLDER] [--store postgresql://...]

For each size N the store is seeded with N jobs over `--accounts` accounts in ONE
insert_jobs call (one transaction), then W worker processes race through complete+claim
cycles (store.base.complete_and_claim, as a publishing slot records a success; `--cycles`
in total, or `--seconds`, whichever ends first), each process with its own store object, as
postpilot's workers do. The daily limit is large enough never to block.

The reference, measured in the same run and in the same folder: the disk's fsync rate (a
4 KiB write + fsync loop), probed ~1 s before and after all cells and 0.5 s between every two
cells. A shared disk's rate swings by an order of magnitude from one probe to the next, so a
single probe is noise: every ratio uses the median of all the probes of the run, and the
report lists every probe with its spread (min, max) so a reader can judge the run. With the
SQLite store one cycle is one transaction (a complete with the next claim), writing both files
(the campaign's progress.db and the project ledger), with 1 device flush: the ledger's; the
claim and the complete's job row are recoverable without a flush (see
postpilot/store/sqlite.py, "Flushes per claim+complete cycle"; a real publish adds
start_publish, which flushes both files before anything is sent). SQLite does
not group-commit. The issue's targets are reported as ratios:
- size_ratio: cycles/s at the largest N / cycles/s at the smallest N, per W (target >= 0.7);
- fsync_ratio: cycles/s at W=1 / (median fsync/s / flushes per cycle) (target >= 0.5).
  Next to it, the ceiling this CPU allows: the same W=1 cell (smallest N) on a RAM disk
  (/dev/shm, where a flush costs nothing), reported as `ram_disk_w1` and as the ratio it
  would reach against the same bound. A ratio above that ceiling needs less work per cycle,
  not fewer flushes.

`--store postgresql://...` runs the same workload against PostgresJobStore (another
module; the workload only speaks the JobStore contract), with fresh campaign and account names
per cell.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from postpilot.jobs import Job, local_day, utcnow  # noqa: E402 - after the sys.path set-up
from postpilot.store.base import ClaimRequest, JobStore, complete_and_claim  # noqa: E402

#: SQLite: a complete and the next claim are one transaction; only the ledger is flushed.
SQLITE_FLUSHES_PER_CYCLE = 1
SQLITE_COMMITS_PER_CYCLE = 1
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class StoreSpec:
    """How a worker process opens the store of one benchmark cell (picklable)."""

    folder: str
    campaign: str
    dsn: str = ""

    def open(self) -> JobStore:
        """Open the cell's store in the calling process."""
        if self.dsn:
            from postpilot.store.postgres import (  # type: ignore[import-not-found,unused-ignore]
                PostgresJobStore,
            )

            store: JobStore = PostgresJobStore(self.dsn, self.campaign)
            return store
        from postpilot.store.sqlite import SqliteJobStore

        root = Path(self.folder)
        return SqliteJobStore(
            root / "progress.db", root / ".postpilot" / "ledger.db", self.campaign
        )


# -- the workload (store-agnostic) --------------------------------------------------------------
def seed(store: JobStore, n: int, accounts: list[str]) -> float:
    """Insert n jobs round robin over the accounts in one call; seconds taken."""
    jobs = [
        Job(
            job_id=f"video{i:06d}.mp4_{store.campaign}",
            account=accounts[i % len(accounts)],
            video_path=f"videos/video{i:06d}.mp4",
            caption=f"caption {i} ✨",
            seq=i + 1,
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    inserted = store.insert_jobs(jobs)
    elapsed = time.perf_counter() - start
    assert inserted == n, (inserted, n)
    return elapsed


def worker(spec: StoreSpec, cycles: int, deadline_s: float, start: Any, out: Any) -> None:
    """One process: claim+complete until `cycles` are done or time is up."""
    store = spec.open()
    worker_id = f"bench-{os.getpid()}"
    start.wait()
    t0 = time.perf_counter()
    done = 0
    job: Job | None = None
    while done < cycles and time.perf_counter() - t0 < deadline_s:
        now = utcnow()
        day = local_day(now, "UTC")
        request = ClaimRequest(worker_id, now, LEASE, 10**9, day)
        if job is None:
            job = store.claim(request)
            if job is None:
                # Every free account is held by another worker (or the queue is empty).
                time.sleep(0)
                if store.counts()["pending"] == 0:
                    break
                continue
        # As a publishing slot does: the success and the next claim in one transaction.
        ok, job = complete_and_claim(
            store, job.job_id, job.lease_token, now, day=day, request=request
        )
        if not ok:
            raise RuntimeError("lost a lease")
        done += 1
    if job is not None:
        store.release(job.job_id, job.lease_token)
    out.put((done, time.perf_counter() - t0))
    store.close()


def run_cell(spec: StoreSpec, workers: int, cycles: int, seconds: float) -> dict[str, float]:
    """W processes racing on one seeded store; cycles/s over the slowest worker's time."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    per_worker = max(1, cycles // workers)
    procs = [
        ctx.Process(target=worker, args=(spec, per_worker, seconds, start, out))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(0.5 + 0.1 * workers)  # let every process import and open its store
    start.set()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        if proc.exitcode != 0:
            raise RuntimeError(f"worker exited with {proc.exitcode}")
    total = sum(n for n, _ in results)
    wall = max(t for _, t in results)
    return {"cycles": total, "seconds": round(wall, 3), "cycles_per_s": round(total / wall, 1)}


# -- the reference ------------------------------------------------------------------------
def fsync_rate(folder: Path, seconds: float = 1.0) -> dict[str, float]:
    """4 KiB overwrite + fsync (and + fdatasync) per second on a file in `folder`."""
    rates = {}
    path = folder / f"fsync-probe-{uuid.uuid4().hex}"
    block = os.urandom(4096)
    syncs: dict[str, Callable[[int], None]] = {"fsync": os.fsync}
    if hasattr(os, "fdatasync"):
        syncs["fdatasync"] = os.fdatasync
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for name, sync in syncs.items():
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                os.pwrite(fd, block, 0)
                sync(fd)
                n += 1
            rates[f"{name}_per_s"] = round(n / (time.perf_counter() - t0), 1)
    finally:
        os.close(fd)
        path.unlink()
    return rates


# -- main ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run every (N, W) cell, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per cell (all workers)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time cap per cell")
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--dir", default=None, help="folder for the databases (and fsync probe)")
    parser.add_argument("--store", default="", help="a postgresql:// DSN instead of SQLite")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    base = Path(tempfile.mkdtemp(prefix="store-bench-", dir=args.dir))
    try:
        fsync = fsync_rate(base)
        cells: list[dict[str, Any]] = []
        for n in sizes:
            for w in worker_counts:
                cells.append(_cell(base, args, n, w))
                print(json.dumps(cells[-1]), file=sys.stderr, flush=True)
        fsync_after = fsync_rate(base)
        ram_disk = None if args.store or 1 not in worker_counts else _ram_disk_cell(args, sizes)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    report = _report(args, sizes, worker_counts, cells, fsync, fsync_after)
    if ram_disk is not None:
        report["reference"]["ram_disk_w1"] = ram_disk
        bound = report["reference"]["bound_cycles_per_s"]
        report["targets"]["fsync_ratio_w1"]["ceiling_on_a_ram_disk"] = round(
            ram_disk["cycles_per_s"] / bound, 3
        )
    print(json.dumps(report, indent=2))
    return 0


def _ram_disk_cell(args: argparse.Namespace, sizes: list[int]) -> dict[str, Any] | None:
    """The W=1 cell of the smallest size on /dev/shm (tmpfs: a flush is free), or None."""
    shm = Path("/dev/shm")  # noqa: S108 - tmpfs on purpose; mkdtemp makes a private folder
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    folder = Path(tempfile.mkdtemp(prefix="store-bench-ram-", dir=shm))
    try:
        return _cell(folder, args, min(sizes), 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _cell(base: Path, args: argparse.Namespace, n: int, w: int) -> dict[str, Any]:
    tag = f"n{n}w{w}{uuid.uuid4().hex[:6]}"
    folder = base / tag
    folder.mkdir()
    spec = StoreSpec(str(folder), f"bench_{tag}", args.store)
    store = spec.open()
    try:
        accounts = [f"{tag}_acct{i:02d}" for i in range(args.accounts)]
        seed_s = seed(store, n, accounts)
    finally:
        store.close()
    # The disk is shared with whatever else runs: probe it between every two cells.
    probe = fsync_rate(base, 0.5)["fsync_per_s"]
    result = run_cell(spec, w, min(args.cycles, n), args.seconds)
    probe_after = fsync_rate(base, 0.5)["fsync_per_s"]
    if args.store:
        store = spec.open()
        store.recover_expired(utcnow() + LEASE * 10)
        store.clear()
        store.close()
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "jobs": n,
        "workers": w,
        "seed_seconds": round(seed_s, 3),
        "fsync_per_s_before": probe,
        "fsync_per_s_after": probe_after,
        **result,
    }


def _report(
    args: argparse.Namespace,
    sizes: list[int],
    worker_counts: list[int],
    cells: list[dict[str, Any]],
    fsync: dict[str, float],
    fsync_after: dict[str, float],
) -> dict[str, Any]:
    rate = {(c["jobs"], c["workers"]): c["cycles_per_s"] for c in cells}
    probes = [fsync["fsync_per_s"], fsync_after["fsync_per_s"]]
    for c in cells:
        probes += [c["fsync_per_s_before"], c["fsync_per_s_after"]]
    fsync_per_s = statistics.median(probes)
    flushes = SQLITE_FLUSHES_PER_CYCLE
    report: dict[str, Any] = {
        "store": "postgresql" if args.store else "sqlite",
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
        },
        "reference": {
            "fsync_before": fsync,
            "fsync_after": fsync_after,
            "fsync_probes": len(probes),
            "fsync_per_s_median": fsync_per_s,
            "fsync_per_s_min": min(probes),
            "fsync_per_s_max": max(probes),
            "commits_per_cycle": SQLITE_COMMITS_PER_CYCLE,
            "flushes_per_cycle": flushes,
            "bound_cycles_per_s": round(fsync_per_s / flushes, 1),
        },
        "cells": cells,
        "targets": {},
    }
    small, large = min(sizes), max(sizes)
    size_ratio = {
        str(w): round(rate[(large, w)] / rate[(small, w)], 3)
        for w in worker_counts
        if (small, w) in rate and (large, w) in rate and large != small
    }
    report["targets"]["size_ratio_largest_over_smallest"] = {
        "sizes": [small, large],
        "by_workers": size_ratio,
        "target": 0.7,
        "met": all(r >= 0.7 for r in size_ratio.values()) if size_ratio else None,
    }
    if 1 in worker_counts and not args.store:
        # Every cell against the median of all probes (one probe alone is noise).
        fsync_ratio = {
            str(n): round(rate[(n, 1)] / (fsync_per_s / flushes), 3)
            for n in sizes
            if (n, 1) in rate
        }
        report["targets"]["fsync_ratio_w1"] = {
            "by_jobs": fsync_ratio,
            "target": 0.5,
            "met": all(r >= 0.5 for r in fsync_ratio.values()),
        }
    return report


if __name__ == "__main__":
    raise SystemExit(main())
