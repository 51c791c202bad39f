"""The old import path of the credentials file and its accounts' tokens.

They live in postpilot/publishers/credentials.py (AccountCredentials, the refresh grant) and
postpilot/publishers/credential_store.py (the file, its lock and write-back), beside the
channels that use them. This module remains because the tests, bench/upload_bench.py and the
specification import `postpilot.credentials`; it re-exports those names and holds no logic.
"""

from __future__ import annotations

from postpilot.publishers.credential_store import (
    ENV_VAR,
    REAUTH_MARK,
    CredentialStore,
    credentials_changed,
    default_path,
    reauth_reason,
    without_mark,
)
from postpilot.publishers.credentials import (
    DEFAULT_REFRESH_MARGIN,
    REFRESH_EXPIRES,
    SECRET_FIELDS,
    AccountCredentials,
    needs_refresh,
    redact_all,
    refresh_oauth,
    secrets_of,
)

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "ENV_VAR",
    "REAUTH_MARK",
    "REFRESH_EXPIRES",
    "SECRET_FIELDS",
    "AccountCredentials",
    "CredentialStore",
    "credentials_changed",
    "default_path",
    "needs_refresh",
    "reauth_reason",
    "redact_all",
    "refresh_oauth",
    "secrets_of",
    "without_mark",
]
