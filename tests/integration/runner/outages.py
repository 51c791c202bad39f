"""Helpers of the store-fault tests: a `postpilot --run` in the background, polling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.acceptance.helpers import REPO
from tests.fakes.counting_publisher import read_entries, read_journal

#: Generous: the machine is shared and loaded; only a hang reaches these.
RUN_TIMEOUT = 240.0


@dataclass(frozen=True)
class Finished:
    """A background run's exit code, output and results."""

    code: int
    out: str
    err: str

    def results(self) -> dict[str, Any]:
        """The --json results."""
        return dict(json.loads(self.out))


def start_run(root: Path, campaign: str, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m postpilot --campaign CAMPAIGN --run --json ARGS` in the background."""
    environ = dict(os.environ)
    environ.update(
        {
            "POSTPILOT_HOME": str(root),
            "PYTHONPATH": str(REPO),
            "COLUMNS": "200",
            "POSTPILOT_BACKOFF_SECONDS": "0",
            "POSTPILOT_SHUTDOWN_TIMEOUT": "20",
        }
    )
    environ.pop("POSTPILOT_STORE", None)
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "postpilot", "--campaign", campaign, "--run", "--json", *args],
        cwd=root,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = RUN_TIMEOUT) -> Finished:
    """Wait for a background run."""
    out, err = proc.communicate(timeout=timeout)
    return Finished(proc.returncode, out, err)


def wait_for(check: Callable[[], bool], what: str, timeout: float = RUN_TIMEOUT) -> None:
    """Poll `check` until it holds (AssertionError naming `what` at the deadline)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def published(root: Path) -> list[str]:
    """Job ids the counting channel published, once per publish."""
    return read_journal(root / "journal.log")


def settled_left_claims(err: str) -> tuple[int, int, int]:
    """(given back, made unconfirmed, found posted): what a run said of the claims an earlier
    run left."""
    found = re.search(
        r"gave back (\d+) whose publish had not started, (\d+) became unconfirmed, "
        r"(\d+) were already recorded as posted",
        err,
    )
    return (int(found.group(1)), int(found.group(2)), int(found.group(3))) if found else (0, 0, 0)


def first_publish_after(root: Path, since: float) -> float | None:
    """Seconds from `since` (time.time()) to the first publish that started after it."""
    starts = [e.started for e in read_entries(root / "journal.log") if e.started >= since]
    return round(min(starts) - since, 3) if starts else None


def report(name: str, **figures: Any) -> None:
    """Print what a test measured (shown with -s; nothing is asserted on it)."""
    print(json.dumps({"test": name, **figures}))
