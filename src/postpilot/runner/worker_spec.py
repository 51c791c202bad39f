"""What a worker process is started with: the spec file the orchestrator writes, the exit
codes it tells apart and the idle line it reads. Split from runner/worker.py, which keeps the
claim loop, so the orchestrator side never loads the publishers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from postpilot.config import PostingContext
from postpilot.store import open_store
from postpilot.store.base import JobStore

#: Exit codes the orchestrator tells apart.
EXIT_DRAINED = 0
EXIT_CRASHED = 1
EXIT_JOB_TIMEOUT = 3
EXIT_STORE_UNAVAILABLE = 4
EXIT_BAD_SPEC = 5

#: The line a worker process prints when all its slots are drained for this pass.
IDLE_LINE = "\x1epostpilot-worker-idle"


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs, written by the orchestrator as JSON."""

    run_id: str
    campaign_name: str | None
    progress_file: str
    project_root: str
    store_dsn: str | None
    publisher: Mapping[str, Any]
    timezone: str
    daily_limit: int
    accounts: list[str]
    lease_seconds: float
    job_timeout_seconds: float
    idle_poll_seconds: float
    backoff_base_seconds: float
    backoff_cap_seconds: float
    extra_sys_path: list[str] = field(default_factory=list)
    #: This host's path of the campaign's videos folder: jobs store paths relative to it.
    videos_dir: str | None = None
    #: POSTPILOT_STORE_OUTAGE_SECONDS of the run (runner/outage.py).
    store_outage_seconds: float = 30.0
    #: POSTPILOT_STORE_BUSY_SECONDS of the run, read by the orchestrator: a worker process
    #: opens its stores without reading the settings (whose pydantic model costs every worker
    #: process ~10 MiB; bench/run_bench.py measures it).
    store_busy_seconds: float = 30.0

    def context(self) -> PostingContext:
        """The PostingContext the store and publisher are opened with."""
        return PostingContext(
            progress_file=self.progress_file,
            accounts_file="",
            videos_dir=self.videos_dir,
            campaign_name=self.campaign_name,
            project_root=self.project_root,
            timezone=self.timezone,
            max_posts_per_account_per_day=self.daily_limit,
            publisher=self.publisher,
            store_dsn=self.store_dsn,
        )

    def open_store(self) -> JobStore:
        """A store connection of the run, as the orchestrator opened its own."""
        return open_store(self.context(), busy_timeout=self.store_busy_seconds)

    def write(self, path: Path) -> None:
        """Write the spec atomically."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> WorkerSpec:
        """Read a spec written by write()."""
        return cls(**json.loads(path.read_text(encoding="utf-8")))
