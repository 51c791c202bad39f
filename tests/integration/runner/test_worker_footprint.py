"""What a worker process costs and when it starts working: it opens its stores with the run's
settings from the spec, so it never imports the settings' pydantic model (bench/run_bench.py
measures the memory), and one started ahead of the first pass (--wait) claims nothing before
its first command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from postpilot.store import open_store
from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import REPO, run_env, seeded_spec

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
                "settings": {
                    "name": "c",
                    "progress_file": str(root / "progress.db"),
                    "accounts_file": "",
                    "project_root": str(root),
                    "publisher": {"type": "outbox"},
                    "timezone": "UTC",
                    "max_posts_per_account_per_day": 10,
                },
                "store_dsn": None,
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


@pytest.mark.parametrize(("wait", "published"), [(True, 0), (False, 2)])
def test_a_waiting_worker_process_claims_nothing_before_its_first_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wait: bool, published: int
) -> None:
    """With --wait a worker process ended before its first command publishes nothing;
    without it the same process runs a pass at once."""
    monkeypatch.setenv("POSTPILOT_HOME", str(tmp_path))
    spec, ctx = seeded_spec(tmp_path, "wait", ["a1", "a2"])
    done = subprocess.run(
        [sys.executable, "-m", "postpilot.runner.worker", str(spec), "0,1"]
        + (["--wait"] if wait else []),
        input=b"",  # end of file at once: the run is over
        capture_output=True,
        check=False,
        cwd=REPO,
        env=run_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode()[-2000:]
    assert len(read_journal(tmp_path / "journal.log")) == published
    store = open_store(ctx)
    try:
        assert store.counts()["success"] == published
        assert store.counts()["pending"] == 2 - published
    finally:
        store.close()
