"""What the dashboard keeps between requests: each campaign's open stores and the views
computed from them, reused until the campaign changes.

A 100k-job campaign's status takes seconds to compute, and the page polls and the event
stream looks every second. A view is therefore kept with the campaign's *version* at the time
it was computed: the store's data_version (postpilot.store.dashboard.SupportsDataVersion,
read on one connection kept open for it) plus the stat of the files a status reads (campaign
settings, accounts, captions, the videos folder). While the version is the same, nothing the
view was computed from changed, and it is served as is. A status also expires at the first
moment it names (a block or lease ending, the next local midnight, a scheduled slot falling
due) and after STATUS_MAX_AGE_SECONDS whatever happens; whether a run or the service holds the
campaign (lock files and flocks, not the store) is looked up on every request.

Stale values are served while one background thread recomputes them, so no request waits for
a recomputation except the first one and the first after an action (forget).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from postpilot.campaign import CampaignConfig, scan_campaigns
from postpilot.config import Config, ParallelConfig, PostingContext
from postpilot.jobs import utcnow
from postpilot.ops.common import progress_exists
from postpilot.ops.status import holders_data, status_data
from postpilot.store import JobStore, open_store
from postpilot.store.dashboard import SupportsDataVersion

log = logging.getLogger("postpilot.web")

#: Reuse of a view of a store that cannot tell whether it changed (no data_version).
STATUS_TTL_SECONDS = 1.0
#: A status is recomputed at least this often, for what time changes that no moment in it
#: names.
STATUS_MAX_AGE_SECONDS = 60.0
#: Pages of the jobs table kept (the latest used).
PAGES_KEPT = 256
#: Open stores kept per campaign between requests (more are opened while requests overlap).
IDLE_STORES = 4


class CampaignNotFound(LookupError):
    """No valid campaign of that name in the project."""


@dataclass
class _Entry:
    """One cached view: its value, when and at which version it was computed, when it expires,
    and for which generation (forget() starts a new one)."""

    value: Any = None
    at: float = float("-inf")
    version: object = None
    expires: datetime | None = None
    value_generation: int = -1
    generation: int = 0
    computing: bool = False


def _stat(path: str | Path) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


def _inputs(ctx: PostingContext) -> tuple[object, ...]:
    """The stat of every file a status reads besides the store."""
    paths = [ctx.accounts_file, ctx.captions_file, ctx.videos_dir]
    if ctx.campaign_config is not None:
        paths.append(os.path.join(ctx.campaign_config.base_dir, Config.CAMPAIGN_JSON))
    return tuple(_stat(p) for p in paths if p)


def _identity(ctx: PostingContext) -> object:
    """Which store files an open store reads: a file replaced or created later needs new
    connections (an open one keeps reading the old file, or its in-memory ledger)."""
    if ctx.store_dsn:
        return ctx.store_dsn
    progress, ledger = _stat(ctx.progress_file), _stat(ctx.ledger_file)
    return (progress and progress[0], ledger and ledger[0])


@dataclass
class _Stores:
    """One campaign's open stores: the watcher, whose connection answers data_version (SQLite's
    values only compare on the same connection), and idle readers for the requests (a SQLite
    store serves one thread at a time)."""

    identity: object
    serial: int
    watcher: JobStore
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: list[JobStore] = field(default_factory=list)

    def close(self) -> None:
        for store in [self.watcher, *self.idle]:
            try:
                store.close()
            except Exception as exc:  # closing a broken connection must not fail a request
                log.warning("dashboard: closing a store failed: %s", type(exc).__name__)
        self.idle.clear()


def expiry(status: dict[str, Any], timezone: str, now: datetime) -> datetime:
    """The first moment after `now` at which `status` would read differently with no change
    to the store or the files: a block or a lease ends, a host's workers go stale, a slot
    falls due (its "today 18:00" becomes "now"), the local day ends."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    moments: list[datetime] = [midnight.astimezone(now.tzinfo)]
    texts = [b["until"] for b in status.get("blocked", ())]
    texts += [b["lease_expires_at"] for b in status.get("busy", ())]
    texts += [a.get("next_slot") for a in (status.get("schedule") or {}).get("accounts", ())]
    texts.append((status.get("remaining") or {}).get("next_slot"))
    for text in texts:
        if isinstance(text, str):
            try:
                moments.append(datetime.fromisoformat(text))
            except ValueError:
                continue
    stale = timedelta(seconds=2 * ParallelConfig.from_env().lease_seconds)
    for host in status.get("hosts", ()):
        beat = host.get("last_heartbeat")
        if isinstance(beat, datetime):
            moments.append(beat + stale)
    future = [m for m in moments if m.tzinfo is not None and m > now]
    return min(future, default=now)


class Campaigns:
    """The project's campaigns, their open stores, and caches of what is costly to compute."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._stores: dict[str, _Stores] = {}
        self._serial = 0
        self._contexts: dict[str, tuple[CampaignConfig, PostingContext]] = {}
        self._pages: OrderedDict[tuple[str, object], tuple[object, Any]] = OrderedDict()

    # -- stores ---------------------------------------------------------------------------------
    def _stores_of(self, ctx: PostingContext) -> _Stores | None:
        """The campaign's open stores, opened (or reopened on new files) when needed; None
        when it has no progress store yet (none is created here)."""
        if not progress_exists(ctx):
            return None
        name, identity = str(ctx.campaign_name), _identity(ctx)
        with self._lock:
            held = self._stores.get(name)
            if held is not None and held.identity == identity:
                return held
        fresh = _Stores(identity, 0, open_store(ctx))
        with self._lock:
            held = self._stores.get(name)
            if held is not None and held.identity == identity:
                fresh.close()
                return held
            self._serial += 1
            fresh.serial = self._serial
            self._stores[name] = fresh
        if held is not None:
            held.close()
        return fresh

    @contextmanager
    def store(self, ctx: PostingContext) -> Iterator[JobStore | None]:
        """An open store of the campaign for one request (None: no progress store yet)."""
        stores = self._stores_of(ctx)
        if stores is None:
            yield None
            return
        if ctx.store_dsn:
            # A PostgreSQL store serves threads from its own connection pool: one per campaign
            # (more would hold more server connections).
            yield stores.watcher
            return
        with stores.lock:
            store = stores.idle.pop() if stores.idle else None
        if store is None:
            store = open_store(ctx)
        try:
            yield store
        except BaseException:
            store.close()  # it may be broken; the next request opens a new one
            raise
        with stores.lock:
            keep = (
                len(stores.idle) < IDLE_STORES
                and self._stores.get(str(ctx.campaign_name)) is stores
            )
            if keep:
                stores.idle.append(store)
        if not keep:
            store.close()

    def version(self, ctx: PostingContext) -> object:
        """The campaign's version (equal versions: nothing a view reads changed), or None
        when its store cannot tell."""
        inputs = _inputs(ctx)
        stores = self._stores_of(ctx)
        if stores is None:
            return ("no store", _identity(ctx), inputs)
        if not isinstance(stores.watcher, SupportsDataVersion):
            return None
        try:
            with stores.lock:
                data = stores.watcher.data_version()
        except Exception as exc:  # a broken connection: reopen next time, fall back to the TTL
            log.warning("dashboard: reading the data version failed: %s", type(exc).__name__)
            with self._lock:
                if self._stores.get(str(ctx.campaign_name)) is stores:
                    del self._stores[str(ctx.campaign_name)]
            stores.close()
            return None
        return (stores.serial, data, inputs)

    def close(self) -> None:
        """Close every open store."""
        with self._lock:
            held, self._stores = list(self._stores.values()), {}
        for stores in held:
            stores.close()

    # -- cached views ---------------------------------------------------------------------------
    def cached(
        self,
        kind: str,
        name: str,
        compute: Callable[[], Any],
        version: object = None,
        expires: Callable[[Any], datetime | None] | None = None,
    ) -> Any:
        """compute()'s value, reused while `version` is unchanged (and not None) and the
        moment expires(value) names has not come, else for STATUS_TTL_SECONDS. A stale but
        current value is served at once while a background thread recomputes it; only the
        first request, and the first after an action (forget), wait for the computation."""
        key = (kind, name)
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            current = entry.value_generation == entry.generation
            age = time.monotonic() - entry.at
            if version is None or entry.version is None:
                fresh = age < STATUS_TTL_SECONDS
            else:
                fresh = (
                    entry.version == version
                    and age < STATUS_MAX_AGE_SECONDS
                    and (entry.expires is None or utcnow() < entry.expires)
                )
            if current and (fresh or entry.computing):
                return entry.value
            generation = entry.generation
            entry.computing = True
            stale = entry.value if current else None
        job = (entry, generation, compute, version, expires)
        if current:
            threading.Thread(target=self._refresh_quietly, args=job, daemon=True).start()
            return stale
        return self._refresh(*job)

    def _refresh_quietly(self, *job: Any) -> None:
        try:
            self._refresh(*job)
        except Exception as exc:  # the next request recomputes and reports it itself
            log.warning("dashboard: refreshing a view failed: %s", type(exc).__name__)

    def _refresh(
        self,
        entry: _Entry,
        generation: int,
        compute: Callable[[], Any],
        version: object,
        expires: Callable[[Any], datetime | None] | None,
    ) -> Any:
        # `version` was read before compute() starts: a change committed meanwhile makes the
        # next version differ, so the value is recomputed rather than kept too long.
        try:
            value = compute()
            until = expires(value) if expires is not None else None
        except Exception:
            with self._lock:
                entry.computing = False
            raise
        with self._lock:
            entry.computing = False
            if generation == entry.generation:
                entry.value, entry.at, entry.value_generation = value, time.monotonic(), generation
                entry.version, entry.expires = version, until
        return value

    def page(self, ctx: PostingContext, query: object, compute: Callable[[], Any]) -> Any:
        """A page of the jobs table, reused while the campaign's version is unchanged (the
        PAGES_KEPT latest pages are kept)."""
        version = self.version(ctx)
        key = (str(ctx.campaign_name), query)
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None and version is not None and kept[0] == version:
                self._pages.move_to_end(key)
                return kept[1]
        value = compute()
        if version is not None:
            with self._lock:
                self._pages[key] = (version, value)
                self._pages.move_to_end(key)
                while len(self._pages) > PAGES_KEPT:
                    self._pages.popitem(last=False)
        return value

    def forget(self, name: str) -> None:
        """An action changed campaign `name` (and possibly shared accounts): recompute all."""
        del name  # unblocking an account changes every campaign that uses it
        with self._lock:
            for entry in self._entries.values():
                entry.generation += 1
            self._pages.clear()

    # -- campaigns ------------------------------------------------------------------------------
    def _scan_version(self) -> object:
        """The stat of the campaigns folder, of each folder in it and of its settings file."""
        folder = self.root / Config.CAMPAIGNS_DIR
        try:
            names = sorted(entry.name for entry in os.scandir(folder))
        except OSError:
            return ("no campaigns folder", _stat(folder))
        return (
            _stat(folder),
            tuple((n, _stat(folder / n), _stat(folder / n / Config.CAMPAIGN_JSON)) for n in names),
        )

    def scan(self) -> tuple[list[CampaignConfig], list[tuple[str, str]]]:
        """Valid campaigns and (folder, error) of the invalid ones."""
        found: tuple[list[CampaignConfig], list[tuple[str, str]]] = self.cached(
            "scan", "", lambda: scan_campaigns(self.root), self._scan_version()
        )
        return found

    def context_of(self, campaign: CampaignConfig) -> PostingContext:
        """The campaign's context, built once per scan of it (building one reads the
        environment's settings: milliseconds, on every campaign of every request)."""
        with self._lock:
            held = self._contexts.get(campaign.name)
        if held is not None and held[0] is campaign:
            return held[1]
        ctx = PostingContext.from_campaign(campaign)
        with self._lock:
            self._contexts[campaign.name] = (campaign, ctx)
        return ctx

    def context(self, name: str) -> PostingContext:
        """The context of the named campaign (CampaignNotFound when absent or invalid)."""
        for campaign in self.scan()[0]:
            if campaign.name == name:
                return self.context_of(campaign)
        raise CampaignNotFound(name)

    def status(
        self, ctx: PostingContext, *, fresh: bool = False, version: object = None
    ) -> dict[str, Any]:
        """ops/status.py status_data of the campaign (cached unless `fresh`, with whether a run
        or the service holds it looked up now). `version`: the campaign's, when the caller
        just read it."""
        if fresh:
            return status_data(ctx)
        data: dict[str, Any] = self.cached(
            "status",
            str(ctx.campaign_name),
            lambda: status_data(ctx),
            self.version(ctx) if version is None else version,
            lambda value: expiry(value, ctx.timezone, utcnow()),
        )
        return {**data, **holders_data(ctx)}

    def view(
        self, kind: str, ctx: PostingContext, compute: Callable[[], Any], version: object = None
    ) -> Any:
        """A view computed from the campaign's store and files alone, reused until they
        change."""
        current = self.version(ctx) if version is None else version
        return self.cached(kind, str(ctx.campaign_name), compute, current)
