"""One campaign the service (runner/service.py) serves: what it knows of it, the files it
watches for it, and its run, in a thread of its own, through exactly --run's code path.
Split from runner/service.py, which keeps the loop that decides when each campaign runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postpilot.config import Config, PostingContext, RetryConfig
from postpilot.errors import PostpilotError
from postpilot.jobs import utcnow
from postpilot.runner.orchestrator import Shutdown, run_parallel_posting
from postpilot.runner.service_runs import INVALID_INPUT, one_line, prepare_run, remove_spec
from postpilot.runner.watch import FolderWatch
from postpilot.schedule import MIDNIGHT

#: The service's logger: these are the service's lines.
log = logging.getLogger("postpilot.service")

#: A slot's run starts this much ahead, so that its worker processes are up when the slot comes
#: (the run waits for the slot with them: runner/waiting.py `wait_before_next_pass`).
WARM_UP_SECONDS = 5.0


@dataclass
class ServedCampaign:
    """One served campaign and when it runs next."""

    ctx: PostingContext
    watch: FolderWatch
    #: When it runs next ("now" clock time); None: as soon as possible.
    due: datetime | None = None
    #: When that run starts: WARM_UP_SECONDS before `due` when `due` is a slot, else `due`.
    start_at: datetime | None = None
    #: The next run seeds new captions rows and videos.
    reseed: bool = True
    #: Local day of its last run; a new day re-arms failed jobs.
    day: str = ""
    thread: threading.Thread | None = None
    outcome: dict[str, Any] | None = None
    runs: int = 0
    #: Set when a reload found it disabled or removed while it was running.
    dropped: bool = False

    @property
    def name(self) -> str:
        return self.ctx.store_name


def campaign_watch(ctx: PostingContext, extra: Sequence[Path] = ()) -> FolderWatch:
    """The files whose change makes the campaign run again: campaign.json, accounts, captions,
    the videos tree (and `extra`)."""
    base = ctx.base_dir
    files = [base / Config.CAMPAIGN_JSON, Path(ctx.accounts_file), *extra]
    if ctx.captions_file:
        files.append(Path(ctx.captions_file))
    trees = [Path(ctx.videos_dir)] if ctx.videos_dir else []
    return FolderWatch(files, trees)


def run_campaign(
    campaign: ServedCampaign,
    reseed: bool,
    rearm: bool,
    *,
    num_workers: int,
    retry: RetryConfig,
    shutdown: Shutdown,
    wake: threading.Event,
) -> None:
    """A campaign's run, in its thread: exactly --run's code path, sharing the stop request."""
    started = utcnow()
    ctx = campaign.ctx
    results: dict[str, Any] = {}
    try:
        # Videos are checked when the run may seed them (new files, a new day), not at
        # every slot: the check reads every matched video's header.
        prepare_run(ctx, check_videos=reseed)
        results = run_parallel_posting(
            ctx,
            num_workers=num_workers,
            force_reseed=reseed,
            retry_all_failed=rearm,
            retry_config=retry,
            shutdown=shutdown,
        )
    except PostpilotError as exc:  # bad input or a refusal to seed: the operator fixes it
        log.error(
            "Campaign '%s' not run (fix it; the service tries again when its files "
            "change, on SIGHUP or at midnight): %s",
            campaign.name,
            one_line(exc),
        )
        results = {"error": INVALID_INPUT, "message": one_line(exc)}
        # The fix may be new credentials: watch that file too until a run goes through.
        from postpilot.preflight import credentials_store

        campaign.watch = campaign_watch(ctx, [credentials_store(ctx).path])
        campaign.reseed = True
    except Exception as exc:  # the service outlives a failed run; the next one retries
        log.exception("Campaign '%s': the run failed", campaign.name)
        results = {"error": "run_failed", "message": str(exc)}
    finally:
        remove_spec(ctx, results.get("run_id"))
    campaign.outcome = {"results": results, "started": started}
    wake.set()


def start_at(campaign: ServedCampaign, due: datetime, retry: RetryConfig) -> datetime:
    """WARM_UP_SECONDS before `due` when it is one of the schedule's posting times (a
    retry time or a midnight is not: a run started early for those would only wait)."""
    config = campaign.ctx.campaign_config
    schedule = config.schedule if config is not None else None
    if schedule is None or retry.max_passes < 2:
        return due  # the early run's first pass finds nothing; it needs a second one
    local = due.astimezone(ZoneInfo(campaign.ctx.timezone))
    if local.time() not in schedule.times or local.time() == MIDNIGHT:
        return due
    return due - timedelta(seconds=WARM_UP_SECONDS)
