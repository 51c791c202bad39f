"""Defaults, the run's tuning knobs, and PostingContext: the single source of truth for paths.

`main()` builds one PostingContext (from a campaign folder, or for legacy root files) and passes
it to every operation; nothing changes a path after that (the specification's "Implicit State"
problem).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot import paths
from postpilot.errors import ConfigError

if TYPE_CHECKING:
    from postpilot.campaign import CampaignConfig
    from postpilot.settings import Settings


def _env() -> Settings:
    """The environment's settings (imported on use: --help imports no pydantic)."""
    from postpilot import settings

    return settings.load()


class Config:
    """File names and defaults (postpilot.paths, the leaf module that owns them). Paths are
    relative to the project root (POSTPILOT_HOME)."""

    CAMPAIGNS_DIR = paths.CAMPAIGNS_DIR
    ACCOUNTS_FILE = paths.ACCOUNTS_FILE
    STATE_FILE = paths.STATE_FILE
    PROGRESS_FILE = paths.PROGRESS_FILE
    CAMPAIGN_PROGRESS_FILE = paths.CAMPAIGN_PROGRESS_FILE
    CAPTIONS_FILE = paths.CAPTIONS_FILE
    VIDEOS_DIR = paths.VIDEOS_DIR
    CAMPAIGN_JSON = paths.CAMPAIGN_JSON
    PROJECT_JSON = paths.PROJECT_JSON
    STATE_DIR = paths.STATE_DIR
    LEDGER_FILE = paths.LEDGER_FILE
    OUTBOX_DIR = paths.OUTBOX_DIR
    ARCHIVE_DIR = paths.ARCHIVE_DIR
    LOGS_DIR = paths.LOGS_DIR
    CREDENTIALS_FILE = paths.CREDENTIALS_FILE
    LEGACY_CAMPAIGN_NAME = paths.LEGACY_CAMPAIGN_NAME

    MAX_POSTS_PER_ACCOUNT_PER_DAY = paths.MAX_POSTS_PER_ACCOUNT_PER_DAY
    MAX_ATTEMPTS = paths.MAX_ATTEMPTS
    TIMEZONE = paths.TIMEZONE

    project_root = staticmethod(paths.project_root)
    root_for_campaign = staticmethod(paths.root_for_campaign)
    ledger_path = staticmethod(paths.ledger_path)


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """Multi-pass retry settings (the specification's --max-passes and --retry-delay)."""

    max_passes: int = 3
    #: Pause between passes.
    retry_delay_seconds: float = 30.0
    #: Backoff between attempts of one job (with jitter); capped. POSTPILOT_BACKOFF_SECONDS
    #: overrides the base (tests and impatient operators).
    backoff_base_seconds: float = field(default_factory=lambda: _env().backoff_seconds)
    backoff_cap_seconds: float = 1800.0


@dataclass(frozen=True, slots=True)
class ParallelConfig:
    """Worker pool settings. Environment variables override the defaults (POSTPILOT_*)."""

    num_workers: int = 3
    #: Lease of a claim; the heartbeat renews it every lease/3.
    lease_seconds: float = 60.0
    #: A publish running longer than this is interrupted (its job becomes unconfirmed).
    job_timeout_seconds: float = 1800.0
    #: Grace period for running publishes after the first SIGINT/SIGTERM.
    shutdown_timeout: float = 60.0
    #: How many times a crashed worker is restarted in one pass.
    max_worker_restarts: int = 3
    #: Longest idle sleep of a worker waiting for an in-flight publish to free an account.
    #: Short, because the pass cannot end before the last waiting worker wakes up.
    idle_poll_seconds: float = 0.1
    #: Worker processes serving the num_workers publishing slots (each slot is a thread).
    worker_processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: How long an unreachable or locked store is ridden out before the run stops.
    store_outage_seconds: float = 30.0

    @classmethod
    def from_env(cls, num_workers: int = 3) -> ParallelConfig:
        """Defaults, overridden by POSTPILOT_LEASE_SECONDS, POSTPILOT_JOB_TIMEOUT, ..."""
        if num_workers < 1:
            raise ConfigError(f"--workers must be at least 1 (got {num_workers})")
        env = _env()
        return cls(
            num_workers=num_workers,
            lease_seconds=env.lease_seconds,
            job_timeout_seconds=env.job_timeout,
            shutdown_timeout=env.shutdown_timeout,
            max_worker_restarts=env.max_worker_restarts,
            worker_processes=env.worker_processes or os.cpu_count() or 1,
            store_outage_seconds=env.store_outage_seconds,
        )


#: The PostgreSQL store's driver, an optional extra (pyproject.toml).
POSTGRES_DRIVER = ("psycopg", "psycopg_pool")
POSTGRES_EXTRA = "pip install 'postpilot[postgres]'"


def require_postgres_driver(source: str) -> None:
    """Refuse a PostgreSQL store (configured by `source`) when its driver is not installed:
    one ConfigError naming the extra, before any file is created. The driver is looked up,
    not imported (commands that never open the store stay fast)."""
    for name in POSTGRES_DRIVER:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigError(
                f"{source} names a PostgreSQL store, but the PostgreSQL driver is not "
                f"installed ({name}): run {POSTGRES_EXTRA}, or remove the store setting "
                "to use the embedded store"
            )


def _store_dsn(configured: str | None, source: str) -> str | None:
    """The store DSN in force (POSTPILOT_STORE wins over the file), driver checked."""
    env = _env().store
    dsn = env or configured
    if dsn:
        require_postgres_driver("POSTPILOT_STORE" if env else source)
    return dsn


def get_config(num_workers: int = 3) -> ParallelConfig:
    """The specification's name for building the worker configuration."""
    return ParallelConfig.from_env(num_workers)


@dataclass(frozen=True, slots=True)
class ContextSettings:
    """The settings of a context with no campaign folder behind it: legacy root files
    (PostingContext.legacy) or a worker process (runner/worker_spec.py builds one from its
    spec). A campaign's context holds its CampaignConfig instead, with the same attributes."""

    progress_file: str
    accounts_file: str
    state_file: str | None = None
    videos_dir: str | None = None
    captions_file: str | None = None
    max_posts_per_account_per_day: int = Config.MAX_POSTS_PER_ACCOUNT_PER_DAY
    #: The campaign a worker serves; None = legacy mode.
    name: str | None = None
    project_root: str = ""
    timezone: str = Config.TIMEZONE
    max_attempts: int = Config.MAX_ATTEMPTS
    #: The publisher block (postpilot.json in legacy mode).
    publisher: Mapping[str, Any] = field(default_factory=lambda: {"type": "outbox"})


#: The settings PostingContext reads through, with the keyword each has in the
#: specification's constructor (`campaign_name` is the settings' `name`).
_SETTING_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("progress_file", "progress_file"),
    ("accounts_file", "accounts_file"),
    ("state_file", "state_file"),
    ("videos_dir", "videos_dir"),
    ("captions_file", "captions_file"),
    ("max_posts_per_account_per_day", "max_posts_per_account_per_day"),
    ("campaign_name", "name"),
    ("project_root", "project_root"),
    ("timezone", "timezone"),
    ("max_attempts", "max_attempts"),
    ("publisher", "publisher"),
)


# No slots: with them a frozen dataclass's __setattr__ fails with a TypeError, not
# FrozenInstanceError, for a name that is not a field (the properties below).
@dataclass(frozen=True, init=False)
class PostingContext:
    """Unified context for all posting operations.

    The single source of truth for file paths and settings, whether running a campaign or in
    legacy mode. Frozen: built once in main() and passed everywhere.

    The settings live in one place, `settings` (the campaign's CampaignConfig, or a
    ContextSettings); the specification's fields are read-only properties over it, so a context
    cannot disagree with its campaign. Its own fields are what no campaign sets: --accounts,
    the store DSN in force (POSTPILOT_STORE wins) and --ignore-prior-progress. The
    specification's keyword constructor still works: with campaign_config it holds that
    campaign (a copied value that differs is a ValueError), without it the keywords make a
    ContextSettings.
    """

    settings: CampaignConfig | ContextSettings
    #: Legacy --accounts: used instead of accounts.txt when given.
    accounts_override: tuple[str, ...] | None
    #: A postgresql:// DSN for the distributed store; None = embedded SQLite.
    store_dsn: str | None
    #: Seed although the folder holds prior progress CSVs never imported (--ignore-prior-progress).
    ignore_prior_progress: bool

    def __init__(
        self,
        progress_file: str | None = None,
        accounts_file: str | None = None,
        state_file: str | None = None,
        videos_dir: str | None = None,
        captions_file: str | None = None,
        max_posts_per_account_per_day: int | None = None,
        campaign_name: str | None = None,
        campaign_config: CampaignConfig | None = None,
        project_root: str | None = None,
        timezone: str | None = None,
        max_attempts: int | None = None,
        accounts_override: tuple[str, ...] | None = None,
        publisher: Mapping[str, Any] | None = None,
        store_dsn: str | None = None,
        ignore_prior_progress: bool = False,
        *,
        settings: CampaignConfig | ContextSettings | None = None,
    ) -> None:
        arguments = locals()  # the keywords given, by name (None: not given)
        given = {k: arguments[k] for k, _ in _SETTING_KEYWORDS if arguments[k] is not None}
        held = _held_settings(settings, campaign_config, given)
        object.__setattr__(self, "settings", held)
        object.__setattr__(self, "accounts_override", accounts_override)
        object.__setattr__(self, "store_dsn", store_dsn)
        object.__setattr__(self, "ignore_prior_progress", ignore_prior_progress)

    @classmethod
    def from_campaign(cls, campaign: CampaignConfig) -> PostingContext:
        """Create context from a CampaignConfig."""
        return cls(
            settings=campaign,
            store_dsn=_store_dsn(
                campaign.store, f"{Path(campaign.base_dir) / Config.CAMPAIGN_JSON} (key 'store')"
            ),
        )

    @classmethod
    def legacy(
        cls,
        progress_file: str = Config.PROGRESS_FILE,
        accounts_file: str = Config.ACCOUNTS_FILE,
        state_file: str = Config.STATE_FILE,
        max_posts_per_account_per_day: int = Config.MAX_POSTS_PER_ACCOUNT_PER_DAY,
        *,
        project_root: str | None = None,
        accounts: tuple[str, ...] | None = None,
        publisher: Mapping[str, Any] | None = None,
        store_dsn: str | None = None,
        timezone: str = Config.TIMEZONE,
        max_attempts: int = Config.MAX_ATTEMPTS,
    ) -> PostingContext:
        """Create context for legacy (non-campaign) mode; relative paths resolve against the
        project root."""
        root = Path(project_root) if project_root else Config.project_root()
        return cls(
            settings=ContextSettings(
                progress_file=str(root / progress_file),
                accounts_file=str(root / accounts_file),
                state_file=str(root / state_file),
                max_posts_per_account_per_day=max_posts_per_account_per_day,
                name=None,
                project_root=str(root),
                timezone=timezone,
                max_attempts=max_attempts,
                publisher=publisher if publisher is not None else {"type": "outbox"},
            ),
            accounts_override=accounts,
            store_dsn=_store_dsn(store_dsn, f"{root / Config.PROJECT_JSON} (key 'store')"),
        )

    # -- the specification's fields, read from `settings` ---------------------------------
    @property
    def campaign_config(self) -> CampaignConfig | None:
        """The campaign this context was built from; None in legacy mode and in a worker."""
        return None if isinstance(self.settings, ContextSettings) else self.settings

    @property
    def progress_file(self) -> str:
        """The job store's progress file (the campaign's, or the legacy root one)."""
        return self.settings.progress_file

    @property
    def accounts_file(self) -> str:
        """accounts.txt ("" in a worker, which is given its accounts)."""
        return self.settings.accounts_file

    @property
    def state_file(self) -> str | None:
        """The prior scheduler's state file (legacy seeding)."""
        return self.settings.state_file

    @property
    def videos_dir(self) -> str | None:
        """The campaign's videos folder."""
        return self.settings.videos_dir

    @property
    def captions_file(self) -> str | None:
        """The campaign's captions file."""
        return self.settings.captions_file

    @property
    def max_posts_per_account_per_day(self) -> int:
        """The daily limit per account."""
        return self.settings.max_posts_per_account_per_day

    @property
    def campaign_name(self) -> str | None:
        """The campaign's name; None = legacy mode."""
        return self.settings.name

    @property
    def project_root(self) -> str:
        """The project root (POSTPILOT_HOME)."""
        return self.settings.project_root

    @property
    def timezone(self) -> str:
        """The time zone days are counted in."""
        return self.settings.timezone

    @property
    def max_attempts(self) -> int:
        """Attempts a job gets before it fails for good."""
        return self.settings.max_attempts

    @property
    def publisher(self) -> Mapping[str, Any]:
        """The publisher block (campaign.json, or postpilot.json in legacy mode)."""
        return self.settings.publisher

    def get_accounts(self) -> list[str]:
        """Load accounts from the appropriate source; raises ConfigError naming the file when
        there are none."""
        if self.campaign_config is not None:
            accounts = self.campaign_config.get_accounts()
        elif self.accounts_override is not None:
            accounts = list(self.accounts_override)
            if not accounts:
                raise ConfigError("No accounts given with --accounts")
        else:
            from postpilot.campaign import read_accounts_file

            accounts = read_accounts_file(Path(self.accounts_file)).accounts
        if not accounts:
            raise ConfigError(
                f"No accounts found in {self.accounts_file}\n"
                "  Add one account name per line (blank lines and # comments are ignored)"
            )
        return accounts

    def is_campaign_mode(self) -> bool:
        """Check if running in campaign mode."""
        return self.campaign_name is not None

    def describe(self) -> str:
        """Human-readable description of this context."""
        if self.campaign_name:
            return f"campaign '{self.campaign_name}'"
        return "legacy mode (root files)"

    # -- derived paths (pure functions of the fields above) -------------------------------
    @property
    def store_name(self) -> str:
        """The campaign name the job store is keyed by ("legacy" in legacy mode)."""
        return self.campaign_name or Config.LEGACY_CAMPAIGN_NAME

    @property
    def base_dir(self) -> Path:
        """The campaign folder, or the project root in legacy mode."""
        if self.campaign_config is not None:
            return Path(self.campaign_config.base_dir)
        return Path(self.project_root)

    @property
    def ledger_file(self) -> Path:
        """The project ledger (.postpilot/ledger.db)."""
        return Config.ledger_path(Path(self.project_root))

    @property
    def archive_dir(self) -> Path:
        """Where --reset-day archives go."""
        return self.base_dir / Config.ARCHIVE_DIR

    @property
    def logs_dir(self) -> Path:
        """Per-worker logs of this campaign (never shared with another campaign), under the
        project root so that campaign folders may be read-only."""
        return Path(self.project_root) / Config.LOGS_DIR / self.store_name

    @property
    def runtime_dir(self) -> Path:
        """Where the run lock and run registry live: under the project root (a campaign
        folder may be a read-only mount shared by several hosts)."""
        if self.campaign_config is not None:
            return self.state_dir / "runs" / self.store_name
        return self.state_dir

    @property
    def outbox_dir(self) -> Path:
        """The outbox publisher's root folder."""
        return Path(self.project_root) / Config.OUTBOX_DIR

    @property
    def state_dir(self) -> Path:
        """Project-level runtime state (.postpilot/)."""
        return Path(self.project_root) / Config.STATE_DIR


def _held_settings(
    settings: CampaignConfig | ContextSettings | None,
    campaign_config: CampaignConfig | None,
    given: dict[str, Any],
) -> CampaignConfig | ContextSettings:
    """What a PostingContext holds, from its constructor's arguments: `settings` alone, or the
    specification's keywords (with campaign_config, only values equal to the campaign's)."""
    if settings is not None:
        if given or campaign_config is not None:
            raise TypeError("PostingContext takes settings= or the field keywords, not both")
        return settings
    if campaign_config is not None:
        for keyword, attribute in _SETTING_KEYWORDS:
            if keyword in given and given[keyword] != getattr(campaign_config, attribute):
                raise ValueError(
                    f"PostingContext {keyword}={given[keyword]!r} differs from its campaign's "
                    f"{attribute}={getattr(campaign_config, attribute)!r}: a campaign's "
                    "settings live in its CampaignConfig alone"
                )
        return campaign_config
    missing = [k for k in ("progress_file", "accounts_file") if k not in given]
    if missing:
        raise TypeError(f"PostingContext needs {' and '.join(missing)} (or settings=)")
    by_attribute = dict(_SETTING_KEYWORDS)
    return ContextSettings(**{by_attribute[k]: v for k, v in given.items()})
