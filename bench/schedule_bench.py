"""Posting slots at scale. Prints JSON; not a test.

    python bench/schedule_bench.py [--videos 100000] [--accounts 5000] [--days 30]
                                   [--claims 200] [--lag-jobs 500] [--workers 8]
                                   [--store postgresql://...] [--skip plan,claims,lag]

plan   `postpilot --campaign big --plan --days D --json` on a campaign of V videos (tiny files)
       over A accounts, 3 slots a day, limit 3: wall time and peak RSS of the process.
       Targets: < 10 s, < 300 MB.
claims a store with V pending jobs over A accounts, slotted over the coming days; the median
       time of a claim that finds a job (the reference, measured in the same store and run)
       and of a claim that finds nothing, with 1% and 99% of the accounts at their daily
       limit. Two empty cases: "not_due" (nothing due yet: the normal state with slots) and
       "due_but_capped" (every due job's account is capped). Target: empty within 3x of
       normal. idle_wakeup_*: an idle worker's empty claim plus its store.outlook (whether
       and how long to wait; it used to list every waiting job). SQLite always; PostgreSQL
       with --store.
lag    J jobs due in the same minute, W workers, outbox channel, as the user sees it: a
       `postpilot --serve` already running (started LEAD seconds before the slot: it seeds and
       sleeps), the slot comes due; publish start minus scheduled_at, p50/p99, against the
       ideal ceil(J/W) x L with L the median outbox publish time measured in this run.
       Target: p99 within 2 s of ideal. `--lag-mode run` measures a cold `--run` started at
       the slot instead (its start-up is in the lag); `both` measures both.
plan and lag also report the process's CPU seconds (user + system): on a shared, loaded
machine wall time moves with the load, CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

sys.path.insert(0, str(REPO))
from postpilot.jobs import Job, local_day  # noqa: E402 - after the sys.path set-up
from postpilot.store.base import ClaimRequest, JobStore  # noqa: E402
from tests.fakes.mp4 import mp4_bytes  # noqa: E402 - valid videos: channels preflight them

NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def _env(root: Path, now: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"POSTPILOT_HOME": str(root), "POSTPILOT_NOW": now})
    env["PYTHONPATH"] = f"{REPO / 'src'}:{REPO}"
    env.pop("POSTPILOT_STORE", None)
    return env


def _campaign(root: Path, name: str, videos: int, accounts: int, settings: dict[str, Any]) -> Path:
    folder = root / "campaigns" / name
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text(
        "\n".join(f"acct{i:05d}" for i in range(accounts)) + "\n", encoding="utf-8"
    )
    rows = ["filename,post_caption"]
    for i in range(videos):
        (folder / "videos" / f"v{i:06d}.mp4").write_bytes(mp4_bytes(payload=b"video %d" % i))
        rows.append(f"v{i:06d}.mp4,caption {i}")
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


# -- plan ---------------------------------------------------------------------------------------
def bench_plan(tmp: Path, videos: int, accounts: int, days: int) -> dict[str, Any]:
    root = tmp / "plan"
    settings = {
        "max_posts_per_account_per_day": 3,
        "timezone": "Europe/Berlin",
        "schedule": {"times": ["09:00", "13:00", "18:30"]},
    }
    _campaign(root, "big", videos, accounts, settings)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "postpilot", "-c", "big", "--plan", "--days", str(days), "--json"],
        env=_env(root, NOW.isoformat()),
        capture_output=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    plan = json.loads(proc.stdout)
    return {
        "videos": videos,
        "accounts": accounts,
        "days": days,
        "planned": len(plan["plan"]),
        "unplaced": len(plan["unplaced"]),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": _cpu(before, after),
        "peak_rss_mb": round(max(after.ru_maxrss, before.ru_maxrss) / 1024, 1),
        "targets": {"wall_seconds": 10, "peak_rss_mb": 300},
    }


def _cpu(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
    """User + system CPU seconds of the children that ended between the two samples."""
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(used, 2)


# -- claims -------------------------------------------------------------------------------------
def _jobs(videos: int, accounts: int, due: bool) -> list[Job]:
    jobs = []
    for i in range(videos):
        slot = NOW - timedelta(minutes=1) if due else NOW + timedelta(days=1 + i % 30)
        jobs.append(
            Job(
                job_id=f"j{i:06d}",
                account=f"acct{i % accounts:05d}",
                video_path=f"v{i}.mp4",
                caption="c",
                seq=i + 1,
                scheduled_at=slot,
            )
        )
    return jobs


def _cap(store: JobStore, accounts: int, share: float) -> None:
    """Put `share` of the accounts at their daily limit (1) through real completions."""
    capped = int(accounts * share)
    day = local_day(NOW, "UTC")
    cap_jobs = [
        Job(job_id=f"cap{i:05d}", account=f"acct{i:05d}", video_path="x", caption="c", seq=0)
        for i in range(capped)
    ]
    store.insert_jobs(cap_jobs)
    request = ClaimRequest("cap", NOW, LEASE, 10**6, day, accounts=None)
    for _ in range(capped):
        job = store.claim(request)
        assert job is not None
        assert job.job_id.startswith("cap")
        store.complete(job.job_id, job.lease_token, NOW, day=day)


def _median_claim(store: JobStore, claims: int, expect_job: bool) -> float:
    request = ClaimRequest("w", NOW, LEASE, 1, local_day(NOW, "UTC"))
    times = []
    for _ in range(claims):
        started = time.perf_counter()
        job = store.claim(request)
        times.append(time.perf_counter() - started)
        assert (job is not None) == expect_job, "the scenario is not what it claims to be"
        if job is not None:
            store.release(job.job_id, job.lease_token)
    return statistics.median(times) * 1000


def _median_idle(store: JobStore, rounds: int) -> float:
    """What an idle worker pays per wake-up (runner/worker.py): the empty claim, then the
    outlook that says whether to wait and until when."""
    request = ClaimRequest("w", NOW, LEASE, 1, local_day(NOW, "UTC"))
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        assert store.claim(request) is None, "the scenario is not what it claims to be"
        store.outlook(request)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _open(kind: str, tmp: Path, name: str, dsn: str | None) -> JobStore:
    if kind == "sqlite":
        from postpilot.store.sqlite import SqliteJobStore

        return SqliteJobStore(tmp / name / "progress.db", tmp / name / "ledger.db", name)
    from postpilot.store.postgres import PostgresJobStore

    assert dsn is not None
    return PostgresJobStore(dsn, name)


def _claim_cell(
    kind: str, tmp: Path, dsn: str | None, videos: int, accounts: int, share: float, claims: int
) -> dict[str, Any]:
    tag = f"{kind}_{int(share * 100)}_{os.getpid()}_{time.monotonic_ns()}"
    normal = _open(kind, tmp, f"n{tag}", dsn)
    not_due = _open(kind, tmp, f"e{tag}", dsn)
    capped_due = _open(kind, tmp, f"c{tag}", dsn)
    try:
        # normal: every job due, `share` of the accounts capped (the rest still claimable)
        _cap(normal, accounts, share)
        normal.insert_jobs(_jobs(videos, accounts, due=True))
        _cap(not_due, accounts, share)
        not_due.insert_jobs(_jobs(videos, accounts, due=False))
        ms_normal = _median_claim(normal, claims, expect_job=True)
        ms_not_due = _median_claim(not_due, claims, expect_job=False)
        cell: dict[str, Any] = {
            "store": kind,
            "capped_share": share,
            "normal_ms": round(ms_normal, 3),
            "empty_not_due_ms": round(ms_not_due, 3),
            "empty_not_due_ratio": round(ms_not_due / ms_normal, 2),
        }
        # due jobs only on capped accounts; the uncapped ones have nothing due
        capped = int(accounts * share)
        jobs = [j for j in _jobs(videos, accounts, due=True) if int(j.account[4:]) < capped]
        _cap(capped_due, accounts, share)
        capped_due.insert_jobs(jobs)
        ms_capped = _median_claim(capped_due, max(5, claims // 10), expect_job=False)
        cell["empty_due_but_capped_ms"] = round(ms_capped, 3)
        cell["empty_due_but_capped_ratio"] = round(ms_capped / ms_normal, 2)
        if hasattr(capped_due, "outlook"):  # absent before the claim heads (a baseline run)
            for name, store in (("not_due", not_due), ("due_but_capped", capped_due)):
                idle = _median_idle(store, max(5, claims // 10))
                cell[f"idle_wakeup_{name}_ms"] = round(idle, 3)
        cell["target_ratio"] = 3
        return cell
    finally:
        for store in (normal, not_due, capped_due):
            store.close()


def _pg_cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The PostgreSQL cells, each in a fresh schema (the ledger's daily counts are shared by
    every campaign of a schema, so cells must not see each other's capped accounts)."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    cells = []
    for share in (0.01, 0.99):
        schema = f"pp_sched_bench_{os.getpid()}_{int(share * 100)}"
        with psycopg.connect(args.store, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            dsn = make_conninfo(args.store, options=f"-csearch_path={schema}")
            cells.append(
                _claim_cell("postgres", Path(), dsn, args.videos, args.accounts, share, args.claims)
            )
        finally:
            with psycopg.connect(args.store, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return cells


# -- slot lag -----------------------------------------------------------------------------------
def _outbox_publish_ms(tmp: Path, samples: int = 50) -> float:
    from postpilot.publishers.base import Account
    from postpilot.publishers.outbox import OutboxPublisher

    source = tmp / "lag_probe.mp4"
    source.write_bytes(mp4_bytes(payload=b"x" * 4096))
    publisher = OutboxPublisher(tmp / "probe_outbox", "probe")

    class _Check:
        def start_publish(self) -> None:
            return None

        def save(self, data: dict[str, str]) -> None:  # noqa: ARG002  a checkpoint that keeps nothing
            return None

    durations = []
    for i in range(samples):
        job = Job(job_id=f"p{i}", account="a", video_path=str(source), caption="c")
        started = time.perf_counter()
        publisher.publish(job, Account("a"), _Check())  # type: ignore[arg-type]
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def _lags(root: Path, slot: datetime) -> list[float]:
    return sorted(
        (datetime.fromisoformat(json.loads(p.read_text())["published_at"]) - slot).total_seconds()
        for p in (root / "outbox" / "lag").glob("*/*/post.json")
    )


def _serve_until_published(root: Path, slot: datetime, jobs: int, workers: int, lead: float) -> int:
    """A service started `lead` seconds before the slot, stopped once every job is out."""
    cmd = [sys.executable, "-m", "postpilot", "--serve", "-c", "lag", "--workers", str(workers)]
    env = _env(root, (slot - timedelta(seconds=lead)).isoformat())
    with (root / "serve.err").open("w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + lead + 600
    outbox = root / "outbox" / "lag"
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if outbox.is_dir() and sum(1 for _ in outbox.glob("*/*/post.json")) >= jobs:
                break
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=120)
    return code


def bench_lag(tmp: Path, jobs: int, workers: int, mode: str, lead: float) -> dict[str, Any]:
    root = tmp / "lag"
    accounts = jobs  # one job per account: the daily limit never holds a job back
    _campaign(root, "lag", jobs, accounts, {"timezone": "UTC", "schedule": {"times": ["09:00"]}})
    slot = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if mode == "serve":
        code = _serve_until_published(root, slot, jobs, workers, lead)
        note = f"a running --serve (started {lead:.0f} s before the slot) publishes the slot"
    else:
        subprocess.run(
            [sys.executable, "-m", "postpilot", "--campaign", "lag", "--seed-only"],
            env=_env(root, (slot - timedelta(minutes=5)).isoformat()),
            capture_output=True,
            check=True,
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "postpilot", "-c", "lag", "--run", "--workers", str(workers)],
            env=_env(root, slot.isoformat()),
            capture_output=True,
            check=False,
        )
        code = run.returncode
        note = "a cold --run started at the slot: its start-up is in the lag"
    wall = time.perf_counter() - started
    cpu = _cpu(before, resource.getrusage(resource.RUSAGE_CHILDREN))
    lags = _lags(root, slot)
    publish_ms = _outbox_publish_ms(tmp)
    ideal = math.ceil(jobs / workers) * publish_ms / 1000
    p99 = lags[max(0, math.ceil(0.99 * len(lags)) - 1)] if lags else float("nan")
    return {
        "mode": mode,
        "jobs": jobs,
        "workers": workers,
        "published": len(lags),
        "exit_code": code,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": cpu,
        # the first publish: start-up (worker processes) before any throughput limit
        "lag_min_seconds": round(lags[0], 3) if lags else None,
        "lag_p50_seconds": round(statistics.median(lags), 3) if lags else None,
        "lag_p99_seconds": round(p99, 3),
        "outbox_publish_ms": round(publish_ms, 3),
        "ideal_seconds": round(ideal, 3),
        "p99_minus_ideal_seconds": round(p99 - ideal, 3),
        "target_p99_minus_ideal_seconds": 2,
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--lag-jobs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--lag-mode", choices=("serve", "run", "both"), default="serve")
    parser.add_argument("--lead", type=float, default=45.0, help="seconds before the slot")
    parser.add_argument(
        "--store", default=None, help="a postgresql:// DSN; the bench works in a scratch schema"
    )
    parser.add_argument("--skip", default="", help="comma-separated: plan, claims, lag")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    tmp = Path(tempfile.mkdtemp(prefix="pp_schedule_bench_"))
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    try:
        if "plan" not in skip:
            out["plan"] = bench_plan(tmp, args.videos, args.accounts, args.days)
        if "claims" not in skip:
            out["claims"] = [
                _claim_cell("sqlite", tmp, None, args.videos, args.accounts, share, args.claims)
                for share in (0.01, 0.99)
            ]
            if args.store:
                out["claims"] += _pg_cells(args)
        if "lag" not in skip:
            modes = ("serve", "run") if args.lag_mode == "both" else (args.lag_mode,)
            for mode in modes:
                key = "lag" if mode == "serve" else "lag_cold_run"
                out[key] = bench_lag(tmp / mode, args.lag_jobs, args.workers, mode, args.lead)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
