"""Idle CPU of `postpilot --serve`. Prints JSON; not a test.

    python bench/serve_bench.py [--seconds 60] [--videos 200] [--accounts 20]

A project with one campaign (outbox channel, daily limit 1) is served by a real
`postpilot --serve` process with its default settings. Once its first run has published
today's share and the service sleeps (tomorrow's jobs wait for the local midnight; with --slots:
today's jobs wait for their slots), the CPU time
it uses over `--seconds` of wall time is read from /proc (every thread's schedstat run time,
plus cutime + cstime of children reaped in the window). The reference measured in the
same run and window is a process that polls with a 10 ms sleep, the "cheap busy poll" the
service must stay well below; the target is under 1% of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.acceptance.helpers import make_campaign  # noqa: E402 - after the sys.path set-up above

TICKS = os.sysconf("SC_CLK_TCK")
POLL_REFERENCE = "import time\nwhile True:\n    time.sleep(0.01)\n"


def cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` from /proc: its threads' run time in nanoseconds (schedstat, finer
    than the 10 ms clock ticks of stat) plus cutime + cstime of its reaped children."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rpartition(")")[2].split()
    # Fields 14-17 of proc(5) (utime stime cutime cstime) are at 11-14 once pid and comm are cut.
    children = (int(fields[13]) + int(fields[14])) / TICKS
    try:
        own = sum(
            int((task / "schedstat").read_text(encoding="ascii").split()[0])
            for task in Path(f"/proc/{pid}/task").iterdir()
        )
        return own / 1e9 + children
    except OSError:  # a kernel without schedstat: clock ticks
        return (int(fields[11]) + int(fields[12])) / TICKS + children


def _wait_idle(log: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until the service logged the end of its first run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with {proc.returncode}")
        if log.exists() and "next run" in log.read_text(encoding="utf-8"):
            return
        time.sleep(0.2)
    raise SystemExit("the service did not finish its first run")


def main() -> None:
    """Measure and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument(
        "--slots",
        action="store_true",
        help="give the campaign 09:00/18:00 slots and start at 00:05 (POSTPILOT_NOW): every job "
        "is seeded but not due, the state a scheduled campaign spends its days in",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        accounts = [f"acct{i:03d}" for i in range(args.accounts)]
        settings: dict[str, object] = {"max_posts_per_account_per_day": 1}
        env = {**os.environ, "POSTPILOT_HOME": str(root), "PYTHONPATH": str(REPO)}
        if args.slots:
            settings["schedule"] = {"times": ["09:00", "18:00"]}
            env["POSTPILOT_NOW"] = "2026-03-02T00:05:00+00:00"
        make_campaign(root, "bench", accounts, args.videos, settings)
        for knob in ("POSTPILOT_SERVE_POLL_SECONDS", "POSTPILOT_SERVE_RECHECK_SECONDS"):
            env.pop(knob, None)  # the defaults are what is measured
        service = subprocess.Popen(
            [sys.executable, "-m", "postpilot", "--serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reference = subprocess.Popen([sys.executable, "-c", POLL_REFERENCE])
        try:
            _wait_idle(root / "logs" / "service.log", service)
            wall0 = time.monotonic()
            service0, reference0 = cpu_seconds(service.pid), cpu_seconds(reference.pid)
            time.sleep(args.seconds)
            service_cpu = cpu_seconds(service.pid) - service0
            reference_cpu = cpu_seconds(reference.pid) - reference0
            wall = time.monotonic() - wall0
            published = len(list((root / "outbox").rglob("post.json")))
        finally:
            service.send_signal(signal.SIGTERM)
            reference.kill()
            service_exit = service.wait(timeout=120)
            reference.wait()
    print(
        json.dumps(
            {
                "wall_seconds": round(wall, 2),
                "service_cpu_seconds": round(service_cpu, 3),
                "service_cpu_percent_of_one_core": round(100 * service_cpu / wall, 3),
                "reference_10ms_poll_cpu_seconds": round(reference_cpu, 3),
                "reference_cpu_percent_of_one_core": round(100 * reference_cpu / wall, 3),
                "target_percent": 1.0,
                "published_before_idle": published,
                "scenario": "slots later today, nothing due" if args.slots else "day's share done",
                "videos": args.videos,
                "accounts": args.accounts,
                "service_exit_code": service_exit,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
