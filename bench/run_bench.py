"""Worker-pool efficiency and --status latency. Prints JSON; not a test.

    python bench/run_bench.py [--jobs 400] [--latency 0.2] [--workers 1,8,16,64]
                               [--status-jobs 100000]

Efficiency = (ceil(J / W) * L) / wall time: 1.0 means every publish slot was busy all the time
(W slots cannot finish J jobs in fewer than ceil(J/W) rounds). Each publish is the counting
test channel with a fixed latency L, so the figure measures the run engine's own overhead
(process start, claims, heartbeats, recording). The reference measured in the same run is the
ideal wall time itself and the interpreter's start-up time. Every width runs twice: `pool` as
this checkout runs (under PYTHONDONTWRITEBYTECODE=1 each worker process compiles every module
it imports), then `pool_with_bytecode_compiled`, as a wheel's installer leaves postpilot.

Memory: while each pool runs, a sampler reads /proc/<pid>/smaps_rollup of every postpilot
process (this process, which is the orchestrator, and all its descendants: the workers) every
0.1 s and reports the total RSS and PSS at mid-run (the sample nearest half the wall time) and
at the peak. PSS splits shared pages between the processes sharing them, so it is the honest
total; RSS counts shared pages once per process. `cpu_seconds` is the CPU time those processes
used during the run (up to the last sample): on a shared 2-core machine, wall time cannot fall
below cpu_seconds / the cores actually free.

The --status part seeds a campaign with N jobs directly through the store and times the real
`postpilot --campaign X --status --json` command (best of 5), next to `python -c pass`.

Start-up (`--startup-only` runs just this part): best of N of `--help`, `--version` and
`--campaign demo --status` (output captured, i.e. piped: plain text, no rich) next to
`python -c pass`, measured in the same run, with the load average before and after.
Targets: --help <= 4x and the demo status <= 10x python's own start-up. Each is measured twice:
as this checkout runs (an editable install; under PYTHONDONTWRITEBYTECODE=1 every postpilot
module is compiled again at each start) and with postpilot's bytecode compiled, as a wheel's
installer leaves it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

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


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def memory_sample() -> dict[str, Any]:
    """Total RSS and PSS (MiB) of this process and all its descendants."""
    tree, todo, pids = _children(), [os.getpid()], []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(tree.get(pid, []))
    rss = pss = 0
    counted = 0
    each: list[float] = []
    ticks: dict[int, int] = {}
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited between the listing and the read
        ticks[pid] = int(stat[11]) + int(stat[12])  # utime + stime
        counted += 1
        for line in rollup.splitlines():
            key, _, value = line.partition(":")
            if key == "Rss":
                rss += int(value.split()[0])
                each.append(round(int(value.split()[0]) / 1024, 1))
            elif key == "Pss":
                pss += int(value.split()[0])
    return {
        "processes": counted,
        "rss_mib": round(rss / 1024, 1),
        "pss_mib": round(pss / 1024, 1),
        "rss_mib_each": each,  # this process (the orchestrator) first
        "ticks": ticks,
    }


class Sampler(threading.Thread):
    """Samples memory_sample() every `interval` seconds until stopped."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[float, dict[str, Any]]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stopped.wait(self.interval):
            self.samples.append((time.perf_counter() - start, memory_sample()))

    def report(self, wall: float) -> dict[str, Any]:
        """The sample nearest mid-run and the peak one."""
        if not self.samples:
            return {}
        mid = min(self.samples, key=lambda s: abs(s[0] - wall / 2))[1]
        peak = max(self.samples, key=lambda s: s[1]["rss_mib"])[1]
        # CPU used by the run: every process's last seen CPU time (workers exit before the
        # end), less what this process had used before the run.
        seen: dict[int, int] = {}
        for _t, sample in self.samples:
            for pid, ticks in sample["ticks"].items():
                seen[pid] = max(seen.get(pid, 0), ticks)
        before = self.samples[0][1]["ticks"].get(os.getpid(), 0)
        cpu = (sum(seen.values()) - before) / os.sysconf("SC_CLK_TCK")
        for _t, sample in self.samples:
            sample.pop("ticks", None)
        return {
            "mid_run": mid,
            "peak": peak,
            "samples": len(self.samples),
            "cpu_seconds": round(cpu, 2),
        }


def pool_efficiency(jobs: int, latency: float, workers: int) -> dict[str, Any]:
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
        sampler = Sampler()
        start = time.perf_counter()
        sampler.start()
        results = run_parallel_posting(
            ctx, num_workers=workers, retry_config=RetryConfig(max_passes=1, retry_delay_seconds=0)
        )
        wall = time.perf_counter() - start
        sampler.stopped.set()
        sampler.join()
    ideal = math.ceil(jobs / workers) * latency
    return {
        "workers": workers,
        "jobs": jobs,
        "success": results["success"],
        "wall_seconds": round(wall, 3),
        "ideal_seconds": round(ideal, 3),
        "efficiency": round(ideal / wall, 3),
        "memory": sampler.report(wall),
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


def startup_latency(runs: int = 7) -> dict[str, Any]:
    """Best-of-N wall time of the CLI's quick commands next to `python -c pass`, same run."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    bare_cmd = [sys.executable, "-c", "pass"]
    cli = [sys.executable, "-m", "postpilot"]
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        shutil.copytree(REPO / "examples" / "campaigns" / "demo", home / "campaigns" / "demo")
        env = dict(os.environ, POSTPILOT_HOME=str(home))
        env.pop("POSTPILOT_NOW", None)
        subprocess.run(
            [*cli, "--campaign", "demo", "--seed-only"], check=True, env=env, capture_output=True
        )
        commands = {
            "help": [*cli, "--help"],
            "version": [*cli, "--version"],
            "demo_status": [*cli, "--campaign", "demo", "--status"],
        }
        bare = _best_of(bare_cmd, runs, env)
        timings = {name: _best_of(cmd, runs, env) for name, cmd in commands.items()}
        # As installed from a wheel, whose installer compiles the bytecode: an editable
        # checkout under PYTHONDONTWRITEBYTECODE=1 recompiles every postpilot module on
        # every start. Compiled here into the checkout's (git-ignored) __pycache__ folders,
        # and the files this run created are removed again.
        created = _compile_postpilot()
        try:
            compiled = {name: _best_of(cmd, runs, env) for name, cmd in commands.items()}
        finally:
            for compiled_file in created:
                compiled_file.unlink(missing_ok=True)
    targets = {"help": 4.0, "demo_status": 10.0}
    return {
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python_c_pass_seconds": round(bare, 4),
        "commands": _ratios(timings, bare, targets),
        "commands_with_bytecode_compiled": _ratios(compiled, bare, targets),
    }


def _ratios(
    timings: dict[str, float], bare: float, targets: dict[str, float]
) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "seconds": round(t, 4),
            "ratio_to_python": round(t / bare, 2),
            **(
                {"target_ratio": targets[name], "met": t / bare <= targets[name]}
                if name in targets
                else {}
            ),
        }
        for name, t in timings.items()
    }


def _compile_postpilot(*extra: Path) -> list[Path]:
    """Compile src/postpilot's bytecode (and that of the `extra` folders); the .pyc files that
    did not exist before."""
    folders = [REPO / "src" / "postpilot", *extra]
    before = {pyc for folder in folders for pyc in folder.rglob("*.pyc")}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *map(str, folders)],
        check=True,
        capture_output=True,
    )
    return sorted({pyc for folder in folders for pyc in folder.rglob("*.pyc")} - before)


def pools_both_ways(jobs: int, latency: float, widths: list[int]) -> dict[str, Any]:
    """Each pool as this checkout runs it, then with the bytecode compiled (as a wheel's
    installer leaves it): under PYTHONDONTWRITEBYTECODE=1 every process of an editable
    checkout compiles each module it imports again, ~0.1 s of CPU per process that competes
    with the orchestrator's seeding on a 2-core machine before the first publish. The
    counting channel's folder is compiled too, as a user's channel would be installed."""
    checked_out = [pool_efficiency(jobs, latency, w) for w in widths]
    created = _compile_postpilot(REPO / "tests")
    try:
        compiled = [pool_efficiency(jobs, latency, w) for w in widths]
    finally:
        for compiled_file in created:
            compiled_file.unlink(missing_ok=True)
    return {
        "bytecode_written": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "pool": checked_out,
        "pool_with_bytecode_compiled": compiled,
    }


def main() -> None:
    """Run both measurements and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", default="1,8,16,64")
    parser.add_argument("--status-jobs", type=int, default=100_000)
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up timings")
    parser.add_argument("--startup-only", action="store_true", help="only the start-up timings")
    args = parser.parse_args()
    if args.startup_only:
        print(json.dumps({"cpu_count": os.cpu_count(), "startup": startup_latency()}, indent=2))
        return
    os.environ.setdefault("POSTPILOT_LEASE_SECONDS", "30")
    widths = [int(w) for w in args.workers.split(",")]
    report = {
        "cpu_count": os.cpu_count(),
        "latency_seconds": args.latency,
        **pools_both_ways(args.jobs, args.latency, widths),
        "targets": "efficiency >= 0.95 at W=8; >= 0.9 at W=64 with J=800, total RSS < 150 MiB",
        "status": status_latency(args.status_jobs) if args.status_jobs else None,
        "startup": None if args.no_startup else startup_latency(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
