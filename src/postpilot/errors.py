"""postpilot's exception tree. Catch at the level you care about.

    PostpilotError
    ├── ConfigError (ValueError)          bad campaign folder, campaign.json, flags, credentials
    │   ├── CampaignNotFound
    │   ├── CampaignDisabled
    │   └── CredentialsError
    ├── StoreError                         the job store could not do what was asked
    │   ├── WrongCampaignStore             progress store belongs to another campaign
    │   ├── SchemaVersionError             store written by a newer postpilot
    │   └── StoreUnavailable               database unreachable or locked past the timeout
    ├── ConflictError                      another orchestrator holds the campaign
    └── PublishError                       see postpilot.publishers.errors for its subtree

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


class StoreUnavailable(StoreError):
    """The job store is unreachable."""


class ConflictError(PostpilotError):
    """Another orchestrator is running for this campaign."""
