"""Worker-pool efficiency and --status latency. Prints JSON; not a test.

    python bench/run_bench.py [--jobs 400] [--latency 0.2] [--workers 1,4,8,16]
                               [--status-jobs 100000]

Efficiency = (J * L / W) / wall time: 1.0 means the pool spent all its time publishing. Each
publish is the counting test channel with a fixed latency L, so the figure measures the run
engine's own overhead (process start, claims, heartbeats, recording). The reference measured in
the same run is the ideal wall time J*L/W itself and the interpreter's start-up time.

The --status part seeds a campaign with N jobs directly through the store and times the real
`postpilot --campaign X --status --json` command (best of 5), next to `python -c pass`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from postpilot.config import RetryConfig  # noqa: E402 - after the sys.path set-up above
from postpilot.jobs import Job  # noqa: E402
from postpilot.runner.orchestrator import run_parallel_posting  # noqa: E402
from postpilot.store import open_store  # noqa: E402
from tests.integration.runner.campaigns import context, make_campaign  # noqa: E402


def _best_of(command: list[str], runs: int, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        best = min(best, time.perf_counter() - start)
    return best


def pool_efficiency(jobs: int, latency: float, workers: int) -> dict[str, float]:
    """One run of `jobs` publishes of `latency` seconds with `workers` workers."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["POSTPILOT_HOME"] = str(root)
        accounts = [f"acct{i:02d}" for i in range(max(40, workers * 2))]
        limit = -(-jobs // len(accounts))
        folder = make_campaign(
            root, "bench", accounts, jobs, daily_limit=limit, publisher={"latency_seconds": latency}
        )
        ctx = context(folder)
        start = time.perf_counter()
        results = run_parallel_posting(
            ctx, num_workers=workers, retry_config=RetryConfig(max_passes=1, retry_delay_seconds=0)
        )
        wall = time.perf_counter() - start
    ideal = jobs * latency / workers
    return {
        "workers": workers,
        "jobs": jobs,
        "success": results["success"],
        "wall_seconds": round(wall, 3),
        "ideal_seconds": round(ideal, 3),
        "efficiency": round(ideal / wall, 3),
    }


def status_latency(jobs: int) -> dict[str, float]:
    """Time `postpilot --status --json` on a campaign holding `jobs` jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["POSTPILOT_HOME"] = str(root)
        folder = make_campaign(root, "big", [f"acct{i:02d}" for i in range(50)], 1)
        store = open_store(context(folder))
        try:
            store.insert_jobs(
                Job(
                    f"v{i:06d}.mp4_big",
                    f"acct{i % 50:02d}",
                    f"/videos/v{i}.mp4",
                    f"caption {i}",
                    seq=i,
                )
                for i in range(jobs)
            )
        finally:
            store.close()
        env = dict(os.environ, PYTHONPATH=str(REPO))
        status = _best_of(
            [sys.executable, "-m", "postpilot", "--campaign", "big", "--status", "--json"], 5, env
        )
        bare = _best_of([sys.executable, "-c", "pass"], 5, env)
    return {
        "jobs": jobs,
        "status_seconds": round(status, 3),
        "python_startup_seconds": round(bare, 3),
        "target_seconds": 0.5,
    }


def main() -> None:
    """Run both measurements and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", default="1,4,8,16")
    parser.add_argument("--status-jobs", type=int, default=100_000)
    args = parser.parse_args()
    os.environ.setdefault("POSTPILOT_LEASE_SECONDS", "30")
    pools = [pool_efficiency(args.jobs, args.latency, int(w)) for w in args.workers.split(",")]
    report = {
        "cpu_count": os.cpu_count(),
        "latency_seconds": args.latency,
        "pool": pools,
        "target": "efficiency >= 0.9 at W=8",
        "status": status_latency(args.status_jobs) if args.status_jobs else None,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
