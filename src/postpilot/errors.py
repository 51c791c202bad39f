"""postpilot's exception tree: every public exception, wherever it lives. Catch at the level
you care about. `[module]` names the module a class lives in when it is not this one (its
subclasses live there too unless they name another); `(Base)` names a second base class.
tests/unit/test_exception_tree.py keeps this drawing and the code in step.

    Exception
    └── PostpilotError
        ├── ConfigError (ValueError)        bad campaign folder, campaign.json, flags, credentials
        │   ├── CampaignNotFound            no such campaign folder or name
        │   ├── CampaignDisabled            campaign.json says "enabled": false
        │   └── CredentialsError            credentials file missing, too open or invalid
        ├── StoreError                      the job store could not do what was asked
        │   ├── WrongCampaignStore          progress store belongs to another campaign
        │   ├── SchemaVersionError          store written by a newer postpilot
        │   ├── StoreFull                   the disk holding the store is full
        │   └── StoreUnavailable            database unreachable or locked past the timeout
        │       └── StoreOutageTooLong      ... for longer than POSTPILOT_STORE_OUTAGE_SECONDS
        ├── ConflictError                   another orchestrator holds the campaign
        ├── OperationFailed [ops.common]    a command could not be done (exit 1)
        │   └── ProgressNotFound            the campaign has no progress store yet
        ├── PriorProgressNotImported [migration.prior]  seeding refused: prior CSVs not imported
        ├── MigrationRefused [migration.migrate]        --migrate cannot do what was asked
        ├── BindRefused [serve_options]     the dashboard will not listen where asked
        ├── TokenFileInvalid [web.auth]     the dashboard's token file holds no usable token
        ├── VideoPathError (ValueError) [video_paths]   a stored video path leaves its folder
        └── PublishError [publishers.errors]  the publish failed; `category` decides what next
            ├── TransientError              retry with backoff (5xx, timeouts, dropped
            │   │                           connections); `retry_at` from Retry-After
            │   ├── NetworkError                transport failure; `maybe_delivered` says
            │   │                           whether the request may have arrived
            │   └── ContainerGone [publishers.instagram_errors]  the container must be made again
            ├── RateLimited                 wait until `retry_at`, attempts kept;
            │                               `account_wide` holds the account's other jobs
            ├── AuthError                   token refused after one refresh: re-authorize
            ├── ContentError                the video or caption is refused: final
            ├── PermanentError              any other final refusal (a bad parameter, a
            │                               forbidden action, an API project without access)
            ├── OutcomeUnknown              the answer to an irreversible step was lost:
            │                               the job becomes `unconfirmed`
            └── LeaseLost                   the job's lease is gone: take no further step

The dashboard keeps two exceptions of its own that never leave web/ (each becomes an HTTP
answer there), so they are not PostpilotErrors:

    LookupError
    └── CampaignNotFound [web.cache]    404: no valid campaign of that name
    Exception
    └── ActionError [web.actions]       an action refused before anything changed

Every PublishError's `category` (postpilot.jobs.ErrorCategory) is what the store records:
TransientError, NetworkError, ContainerGone, OutcomeUnknown and LeaseLost are
`infrastructure`, RateLimited `rate_limit`, AuthError `account`, ContentError `content`,
PermanentError `permanent`. `account`, `content` and `permanent` fail the job at once.

The base class uses its docstring as the message when none is given (procrastinate's habit), and
every message is written for the operator: what is wrong, where, and how to fix it.
"""

from __future__ import annotations


class PostpilotError(Exception):
    """postpilot failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(PostpilotError, ValueError):
    """The configuration is invalid."""


class CampaignNotFound(ConfigError):
    """Campaign folder not found."""


class CampaignDisabled(ConfigError):
    """The campaign is disabled."""


class CredentialsError(ConfigError):
    """The credentials file cannot be used."""


class StoreError(PostpilotError):
    """The job store failed."""


class WrongCampaignStore(StoreError):
    """The progress store belongs to another campaign."""


class SchemaVersionError(StoreError):
    """The progress store was written by a newer postpilot."""


class StoreFull(StoreError):
    """The disk holding the job store is full."""


class StoreUnavailable(StoreError):
    """The job store is unreachable."""


class StoreOutageTooLong(StoreUnavailable):
    """The job store stayed unreachable for longer than the run rides out."""


class ConflictError(PostpilotError):
    """Another orchestrator is running for this campaign."""
