"""Starting `postpilot --serve` in a real process for the service tests, and waiting on it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import REPO, run_env


class Served:
    """A running `postpilot --serve` whose output goes to files (a pipe could fill up)."""

    def __init__(self, root: Path, *args: str, **env: str) -> None:
        self.root = root
        self.err_path = root.parent / f"serve-{time.monotonic_ns()}.err"
        self.out_path = self.err_path.with_suffix(".out")
        environ = run_env(POSTPILOT_HOME=str(root), POSTPILOT_SERVE_POLL_SECONDS="0.2", **env)
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "postpilot", "--serve", *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=environ,
                cwd=REPO,
            )

    @property
    def pid(self) -> int:
        """The service's process id."""
        return self.proc.pid

    def err(self) -> str:
        """What it logged so far."""
        return self.err_path.read_text(encoding="utf-8")

    def out(self) -> str:
        """What it printed on stdout so far."""
        return self.out_path.read_text(encoding="utf-8")

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 90) -> None:
        """Poll `check` until it holds; fail naming `what` with the log if the service exits
        or it never holds."""
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"service exited {self.proc.returncode} before {what}:\n{self.err()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.err()[-4000:]}")
            time.sleep(0.1)

    def wait_journal(self, journal: Path, count: int) -> list[str]:
        """Wait until `count` publishes are in the journal; the job ids."""
        self.wait_for(f"{count} publishes", lambda: len(read_journal(journal)) >= count)
        return read_journal(journal)

    def finish(self, timeout: float = 90) -> int:
        """Wait for the process to exit; its exit code."""
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Kill it if a failed test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def json_out(self) -> dict[str, Any]:
        """The one JSON object it printed with --json."""
        data: dict[str, Any] = json.loads(self.out())
        return data
