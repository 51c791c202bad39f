"""What a worker process is started with: the spec file the orchestrator writes, the exit
codes it tells apart and the idle line it reads. Split from runner/worker.py, which keeps the
claim loop, so the orchestrator side never loads the publishers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.config import ContextSettings, PostingContext
from postpilot.store import open_store
from postpilot.store.base import JobStore

if TYPE_CHECKING:
    from postpilot.campaign import CampaignConfig

#: Exit codes the orchestrator tells apart.
EXIT_DRAINED = 0
EXIT_CRASHED = 1
EXIT_JOB_TIMEOUT = 3
EXIT_STORE_UNAVAILABLE = 4
EXIT_BAD_SPEC = 5

#: The line a worker process prints when all its slots are drained for this pass.
IDLE_LINE = "\x1epostpilot-worker-idle"
#: The command that wakes a process's idle slots during a pass (another process drained:
#: its last publish, which they may be waiting on, has ended); any other line starts a pass.
LOOK_COMMAND = "look"


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs, written by the orchestrator as JSON."""

    run_id: str
    #: The orchestrator's context's settings, as config.ContextSettings' fields (written by
    #: settings_of): the one copy of the campaign's settings a worker is given. Paths are
    #: the strings the orchestrator's context holds (this host's paths).
    settings: Mapping[str, Any]
    store_dsn: str | None
    accounts: list[str]
    lease_seconds: float
    job_timeout_seconds: float
    idle_poll_seconds: float
    backoff_base_seconds: float
    backoff_cap_seconds: float
    extra_sys_path: list[str] = field(default_factory=list)
    #: POSTPILOT_STORE_OUTAGE_SECONDS of the run (runner/outage.py).
    store_outage_seconds: float = 30.0
    #: POSTPILOT_STORE_BUSY_SECONDS of the run, read by the orchestrator: a worker process
    #: opens its stores without reading the settings (whose pydantic model costs every worker
    #: process ~10 MiB; bench/run_bench.py measures it).
    store_busy_seconds: float = 30.0

    @staticmethod
    def settings_of(settings: CampaignConfig | ContextSettings) -> dict[str, Any]:
        """The `settings` field for a context's settings (a CampaignConfig has every
        ContextSettings attribute). accounts_file is left empty: a worker is given its
        accounts in `accounts` and never reads the file."""
        values = {f.name: getattr(settings, f.name) for f in fields(ContextSettings)}
        values["accounts_file"] = ""
        values["publisher"] = dict(settings.publisher)
        return values

    def context(self) -> PostingContext:
        """The PostingContext the store and publisher are opened with."""
        return PostingContext(settings=ContextSettings(**self.settings), store_dsn=self.store_dsn)

    # -- the settings the worker reads, from `settings` -------------------------------------
    @property
    def campaign_name(self) -> str | None:
        """The campaign served; None = legacy mode."""
        name: str | None = self.settings["name"]
        return name

    @property
    def progress_file(self) -> str:
        """The job store's progress file."""
        return str(self.settings["progress_file"])

    @property
    def project_root(self) -> str:
        """The project root (POSTPILOT_HOME)."""
        return str(self.settings["project_root"])

    @property
    def publisher(self) -> Mapping[str, Any]:
        """The publisher block."""
        publisher: Mapping[str, Any] = self.settings["publisher"]
        return publisher

    @property
    def timezone(self) -> str:
        """The time zone days are counted in."""
        return str(self.settings["timezone"])

    @property
    def daily_limit(self) -> int:
        """The daily limit per account."""
        return int(self.settings["max_posts_per_account_per_day"])

    @property
    def videos_dir(self) -> str | None:
        """This host's path of the campaign's videos folder: jobs store paths relative to it."""
        videos_dir: str | None = self.settings.get("videos_dir")
        return videos_dir

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
