"""What a worker process loads: it opens its stores with the run's settings from the spec, so
it never imports the settings' pydantic model (bench/run_bench.py measures the memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.runner.campaigns import REPO

#: A worker process's start in miniature: the process (its heartbeat store) and one slot.
_WORKER_START = """
import json, sys, threading
from pathlib import Path
from postpilot.runner.worker import Worker
from postpilot.runner.worker_process import WorkerProcess
from postpilot.runner.worker_spec import WorkerSpec

spec = WorkerSpec.read(Path(sys.argv[1]))
process = WorkerProcess(spec, ["0"])
slot = Worker(spec, "0", process.heartbeat, threading.Event())
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"pydantic", "pydantic_core"})
print(json.dumps({"loaded": loaded, "busy": [process.heartbeat._store._timeout,
                                             slot.store._timeout]}))
slot.close()
"""


def _spec(root: Path) -> Path:
    path = root / "spec.json"
    path.write_text(
        json.dumps(
            {
                "run_id": "r",
                "campaign_name": "c",
                "progress_file": str(root / "progress.db"),
                "project_root": str(root),
                "store_dsn": None,
                "publisher": {"type": "outbox"},
                "timezone": "UTC",
                "daily_limit": 10,
                "accounts": ["a"],
                "lease_seconds": 30.0,
                "job_timeout_seconds": 600.0,
                "idle_poll_seconds": 0.1,
                "backoff_base_seconds": 0.0,
                "backoff_cap_seconds": 0.0,
                "store_busy_seconds": 7.0,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_a_worker_process_opens_its_stores_with_the_spec_busy_timeout_and_no_pydantic(
    tmp_path: Path,
) -> None:
    """A worker's stores wait the spec's busy timeout, and starting one imports no pydantic."""
    done = subprocess.run(
        [sys.executable, "-c", _WORKER_START, str(_spec(tmp_path))],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        # An invalid setting the worker must not read: the orchestrator validated its own.
        env={"PATH": "/usr/bin:/bin", "POSTPILOT_STORE_BUSY_SECONDS": "-1"},
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"loaded": [], "busy": [7.0, 7.0]}
