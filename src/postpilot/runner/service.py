"""The unattended service, `postpilot --serve`: every enabled campaign of a project, until stopped.

    take the project's service lock -> load the campaigns -> loop:
        each campaign that is due runs once, in a thread of its own, through run_parallel_posting:
        the same orchestrator, store, leases and ledger as --run, so I1-I7 hold unchanged
        -> sleep until the earliest next due time, a file change, or a signal

Before each campaign's run the service does what --run does before it: the preflight (bad
input stops that campaign's run before anything is written), the healing of needs-reauth
blocks whose credentials changed, and the refusal to seed over prior progress never imported.
A refusal is logged as one line naming the file or key and the fix; the service keeps serving
the other campaigns and tries the refused one again when its files (or the credentials file)
change, on SIGHUP, or at its local midnight. Each run's worker spec file is removed when the
run ends, and those left by killed runs when the service starts.

A campaign runs: when the service starts; when its campaign.json, accounts, captions or videos
change (the run seeds the new rows and videos); at its next due time (a slot, a retry time, the
end of a rate window or of another campaign's publish on a shared account); at its local midnight
(the day rolls over; failed jobs are re-armed once a day, as each --run does). A job that is due
but cannot move until an operator acts (needs re-authorization, held by an unconfirmed publish)
is looked at again every POSTPILOT_SERVE_RECHECK_SECONDS, which picks up --unblock and --confirm
(service_runs.py has the whole rule). While nothing is due the service only stats the watched
files every POSTPILOT_SERVE_POLL_SECONDS (docs/service.md has the measured idle cost).
SIGINT/SIGTERM drain running publishes like --run and exit 130/143; a second one stops at once;
SIGHUP re-reads every campaign and runs them now.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from postpilot import settings
from postpilot.campaign import CampaignConfig, scan_campaigns
from postpilot.config import Config, PostingContext, RetryConfig
from postpilot.errors import ConfigError, PostpilotError
from postpilot.jobs import local_day, utcnow
from postpilot.runner.locks import ALL_CAMPAIGNS, ServiceLock
from postpilot.runner.orchestrator import Shutdown
from postpilot.runner.service_campaign import (
    WARM_UP_SECONDS,
    ServedCampaign,
    campaign_watch,
    run_campaign,
    start_at,
)
from postpilot.runner.service_io import (
    COMPANION_STOP_SECONDS,
    SERVICE_LOG,
    Companion,
    handling,
    join_companions,
    note_next_runs,
    service_log_file,
    start_companions,
)
from postpilot.runner.service_runs import (
    ServiceSummary,
    counts_text,
    next_run,
    one_line,
    published_in,
    sweep_stale_specs,
)
from postpilot.runner.watch import FolderWatch

log = logging.getLogger("postpilot.service")

#: Kept importable from here: one served campaign and its run are in runner/service_campaign.py,
#: the signals, log file, companions and --status notes in runner/service_io.py.
__all__ = [
    "COMPANION_STOP_SECONDS",
    "SERVICE_LOG",
    "WARM_UP_SECONDS",
    "Companion",
    "Service",
    "serve",
]


class Service:
    """See the module docstring. `campaign` is the one campaign to serve (a name or folder, as
    --campaign takes it), or None for every enabled campaign under the project root."""

    def __init__(
        self,
        root: Path,
        campaign: str | None = None,
        *,
        num_workers: int = 3,
        retry: RetryConfig | None = None,
        companions: Sequence[Companion] = (),
        ignore_prior_progress: bool = False,
    ) -> None:
        self.root = root
        self.campaign_arg = campaign
        self.ignore_prior_progress = ignore_prior_progress
        self.num_workers = num_workers
        self.retry = retry or RetryConfig()
        self.companions = list(companions)
        env = settings.load()  # ConfigError naming an invalid POSTPILOT_SERVE_* variable
        self.poll = env.serve_poll_seconds
        self.recheck = env.serve_recheck_seconds
        self.shutdown = Shutdown()
        self.wake = threading.Event()
        self.campaigns: dict[str, ServedCampaign] = {}
        self.summary = ServiceSummary()
        self._reload_all = False
        self._project_watch: FolderWatch | None = None
        self._lock = ServiceLock(root, ALL_CAMPAIGNS if campaign is None else campaign)

    # -- signals ------------------------------------------------------------------------
    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.shutdown.request(signum)
        self.wake.set()

    def _on_hup(self, _signum: int, _frame: FrameType | None) -> None:
        self._reload_all = True
        self.wake.set()

    # -- the life of the service ----------------------------------------------------------
    def run(self) -> ServiceSummary:
        """Serve until a signal stops it; ConflictError when another service holds the root,
        ConfigError when there is nothing to serve."""
        self._load_campaigns(initial=True)  # nothing to serve: refused before anything is held
        info = self._lock.acquire()
        companions: list[threading.Thread] = []
        try:
            handlers = {
                signal.SIGINT: self._on_stop,
                signal.SIGTERM: self._on_stop,
                signal.SIGHUP: self._on_hup,
            }
            with service_log_file(self.root), handling(handlers):
                log.info(
                    "Service started for project %s (PID %d): %s; %d workers per campaign",
                    self.root,
                    info.pid,
                    ", ".join(sorted(c.name for c in self.campaigns.values())),
                    self.num_workers,
                )
                for campaign in self.campaigns.values():
                    sweep_stale_specs(campaign.ctx)
                companions = start_companions(self.companions, self.shutdown.event)
                try:
                    self._loop()
                except BaseException:
                    # A bug in the loop: stop claiming and let running publishes finish first.
                    log.exception("The service loop failed; draining the running campaigns")
                    self.shutdown.request(signal.SIGTERM)
                    self._drain()
                    raise
                self._drain()
                log.info(
                    "Service stopped (%s): %d runs, %d published",
                    signal.Signals(self.shutdown.signum or signal.SIGTERM).name,
                    self.summary.runs,
                    self.summary.published,
                )
        finally:
            self.shutdown.event.set()  # companions stop with the service, whatever ended it
            join_companions(companions)
            self._lock.release()
        self.summary.signum = self.shutdown.signum
        self.summary.campaigns = sorted(self.campaigns)
        return self.summary

    def _loop(self) -> None:
        while not self.shutdown.event.is_set():
            self._collect()
            if self._reload_all:
                self._reload_all = False
                log.info("SIGHUP: re-reading every campaign")
                self._load_campaigns(initial=False)
                for campaign in self.campaigns.values():
                    self._reload(campaign)
            self._look_at_files()
            now = utcnow()
            started = False
            for campaign in list(self.campaigns.values()):
                if campaign.thread is None and self._is_due(campaign, now):
                    self._start_run(campaign, now)
                    started = True
            if started:
                note_next_runs(self._lock, self.campaigns.values())
            self.wake.wait(self._sleep_seconds(utcnow()))
            self.wake.clear()

    def _sleep_seconds(self, now: datetime) -> float:
        wait = self.poll
        for campaign in self.campaigns.values():
            start = campaign.start_at or campaign.due
            if campaign.thread is None and start is not None:
                wait = min(wait, (start - now).total_seconds())
        return max(wait, 0.01)

    def _is_due(self, campaign: ServedCampaign, now: datetime) -> bool:
        start = campaign.start_at or campaign.due
        if start is None or start <= now:
            return True
        return local_day(now, campaign.ctx.timezone) != campaign.day

    def _drain(self) -> None:
        """Wait for the running campaign runs: they saw the same stop request and drain."""
        for campaign in self.campaigns.values():
            if campaign.thread is not None:
                campaign.thread.join()
        self._collect()

    # -- campaigns ------------------------------------------------------------------------
    def _load_campaigns(self, *, initial: bool) -> None:
        """(Re)scan which campaigns to serve: new ones are added, vanished ones dropped."""
        if self.campaign_arg is not None:
            if initial:
                from postpilot.ops.campaigns import load_campaign

                config = load_campaign(self.campaign_arg, self.root)
                self._add(self._context(config))
            return
        valid, invalid = scan_campaigns(self.root)
        for name, error in invalid:
            log.warning("Campaign folder %s is not served: %s", name, error.splitlines()[0])
        wanted = {c.base_dir: c for c in valid if c.enabled}
        for key, campaign in list(self.campaigns.items()):
            # A served folder that turned invalid keeps its jobs served (see _reload).
            if not Path(key).is_dir():
                self._drop(key, campaign, "its folder is gone")
        for key, config in wanted.items():
            if key not in self.campaigns:
                self._add(self._context(config))
        campaigns_dir = self.root / Config.CAMPAIGNS_DIR
        if initial and not self.campaigns:
            raise ConfigError(
                f"No enabled campaign to serve in {campaigns_dir}\n"
                "  Create one (see README.md) or enable one with 'enabled: true' in its "
                "campaign.json; postpilot --list-campaigns shows what is there"
            )
        # New folders, and campaign files of folders not served (invalid or disabled ones).
        files: list[Path] = [campaigns_dir]
        if campaigns_dir.is_dir():
            for folder in campaigns_dir.iterdir():
                if folder.is_dir() and str(folder) not in self.campaigns:
                    names = (Config.CAMPAIGN_JSON, Config.ACCOUNTS_FILE, Config.CAPTIONS_FILE)
                    files += [folder / name for name in names]
        self._project_watch = FolderWatch(files)

    def _context(self, config: CampaignConfig) -> PostingContext:
        ctx = PostingContext.from_campaign(config)
        if self.ignore_prior_progress:
            ctx = dataclasses.replace(ctx, ignore_prior_progress=True)
        return ctx

    def _add(self, ctx: PostingContext) -> None:
        key = str(ctx.base_dir)
        self.campaigns[key] = ServedCampaign(ctx=ctx, watch=campaign_watch(ctx))
        if not self.summary.campaigns or ctx.store_name not in self.summary.campaigns:
            self.summary.campaigns.append(ctx.store_name)
        if self._project_watch is not None or self.summary.runs:  # not at start: say it
            log.info("Serving campaign '%s' (%s)", ctx.store_name, ctx.base_dir)

    def _drop(self, key: str, campaign: ServedCampaign, why: str) -> None:
        if campaign.thread is not None:
            campaign.dropped = True  # after its run ends
            return
        del self.campaigns[key]
        note_next_runs(
            self._lock, self.campaigns.values()
        )  # before the log line: who reads the log then finds --status up to date
        log.warning("No longer serving campaign '%s': %s", campaign.name, why)

    def _look_at_files(self) -> None:
        if self._project_watch is not None and self._project_watch.changed():
            self._load_campaigns(initial=False)
        for campaign in list(self.campaigns.values()):
            if campaign.thread is None and campaign.watch.changed():
                log.info("Campaign '%s': files changed; reading them again", campaign.name)
                self._reload(campaign)

    def _reload(self, campaign: ServedCampaign) -> None:
        """Read the campaign folder again; its next run seeds what is new. A folder that became
        invalid keeps being served with what it was (its jobs are in the store) and says why."""
        key = str(campaign.ctx.base_dir)
        try:
            config = CampaignConfig.from_folder(campaign.ctx.base_dir, self.root)
        except PostpilotError as exc:
            log.error(
                "Campaign '%s' not re-read (fix the file; the service retries when it changes): %s",
                campaign.name,
                one_line(exc),
            )
            campaign.watch = campaign_watch(campaign.ctx)
            return
        if not config.enabled:
            self._drop(key, campaign, "it was disabled in campaign.json")
            return
        campaign.ctx = self._context(config)
        campaign.watch = campaign_watch(campaign.ctx)
        campaign.reseed = True
        campaign.due = campaign.start_at = None

    # -- one campaign run -----------------------------------------------------------------
    def _start_run(self, campaign: ServedCampaign, now: datetime) -> None:
        day = local_day(now, campaign.ctx.timezone)
        rearm = day != campaign.day
        # A new day has room under every daily limit again: seed what is due next.
        reseed = campaign.reseed or rearm
        campaign.day, campaign.reseed, campaign.due, campaign.start_at = day, False, None, None
        campaign.thread = threading.Thread(
            target=run_campaign,
            args=(campaign, reseed, rearm),
            kwargs={
                "num_workers": self.num_workers,
                "retry": self.retry,
                "shutdown": self.shutdown,
                "wake": self.wake,
            },
            name=f"campaign-{campaign.name}",
            daemon=True,
        )
        campaign.thread.start()

    def _collect(self) -> None:
        """Book the runs that ended: counts, and when each campaign runs next."""
        ended = False
        for key, campaign in list(self.campaigns.items()):
            thread = campaign.thread
            if thread is None or thread.is_alive():
                continue
            thread.join()
            campaign.thread = None
            ended = True
            outcome, campaign.outcome = campaign.outcome or {}, None
            results: dict[str, Any] = outcome.get("results", {})
            campaign.runs += 1
            self.summary.runs += 1
            published = published_in(results)
            self.summary.published += published
            if campaign.dropped:
                self._drop(key, campaign, "it was disabled or removed")
                continue
            campaign.due = self._next_due(campaign, results, utcnow())
            campaign.start_at = start_at(campaign, campaign.due, self.retry)
            log.info(
                "Campaign '%s': run %s ended: %d published, %s; next run %s",
                campaign.name,
                results.get("run_id", "-"),
                published,
                counts_text(results),
                campaign.due.isoformat(timespec="seconds"),
            )
        if ended:
            note_next_runs(self._lock, self.campaigns.values())

    def _next_due(
        self, campaign: ServedCampaign, results: dict[str, Any], now: datetime
    ) -> datetime:
        if results.get("error") == "orchestrator_conflict":
            log.warning("Campaign '%s': %s", campaign.name, str(results.get("message", "")))
        due = next_run(
            campaign.ctx,
            results,
            now,
            recheck_seconds=self.recheck,
            max_passes=self.retry.max_passes,
        )
        if results.get("paused"):
            # Paused from the dashboard: look again each poll, so a resume publishes at once.
            return min(due, now + timedelta(seconds=self.poll))
        return due


def serve(
    root: Path,
    campaign: str | None = None,
    *,
    num_workers: int = 3,
    retry: RetryConfig | None = None,
    companions: Sequence[Companion] = (),
    ignore_prior_progress: bool = False,
) -> ServiceSummary:
    """Run the service until a signal stops it (the CLI's --serve)."""
    service = Service(
        root,
        campaign,
        num_workers=num_workers,
        retry=retry,
        companions=companions,
        ignore_prior_progress=ignore_prior_progress,
    )
    return service.run()
