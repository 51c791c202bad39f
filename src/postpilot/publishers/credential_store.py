"""The credentials file: load, permission check, refresh under its lock, atomic write-back.

The file is `<project>/credentials.json`, or the path in POSTPILOT_CREDENTIALS:

    {"accounts": {"<account>": {"platform": "youtube", "access_token": "...",
                                "refresh_token": "...", "expires_at": "<ISO 8601>",
                                "client_id": "...", "client_secret": "...", ...platform ids}},
     "webhook": "whsec_..."}

It is refused when group- or world-accessible. Refreshed tokens are written back atomically
(temp file, fsync, os.replace, mode 0600) under `<file>.lock`, re-reading the file first, so
worker processes refreshing different accounts never lose each other's writes, and a refresh
for an account another process just refreshed reuses that token instead of spending (and, with
rotating refresh tokens, invalidating) the refresh token again. A refresh answer without a
refresh token keeps the stored one; a rotated one replaces it.

Tokens never appear in messages: errors name the account and the file only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from postpilot import clock, settings
from postpilot.config import Config
from postpilot.errors import CredentialsError
from postpilot.publishers.credentials import (
    DEFAULT_REFRESH_MARGIN,
    REFRESH_EXPIRES,
    AccountCredentials,
    needs_refresh,
    refresh_oauth,
)
from postpilot.publishers.errors import AuthError, TransientError
from postpilot.publishers.http import HttpClient

ENV_VAR = "POSTPILOT_CREDENTIALS"


class _File(BaseModel):
    model_config = ConfigDict(extra="allow")

    accounts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    webhook: str | None = None


#: How a needs-reauth block's reason records the credentials it failed with.
REAUTH_MARK = re.compile(r" \[credentials ([0-9a-f]{16})\]$")


def reauth_reason(store: CredentialStore, account: str, reason: str) -> str:
    """The block reason with the fingerprint of the credentials that failed appended."""
    mark = store.fingerprint(account)
    return f"{reason} [credentials {mark}]" if mark else reason


def credentials_changed(store: CredentialStore, account: str, reason: str) -> bool:
    """Whether the account's entry differs from the one its block recorded (False when the
    block recorded none: only --unblock lifts those)."""
    found = REAUTH_MARK.search(reason)
    if found is None:
        return False
    now = store.fingerprint(account)
    return bool(now) and now != found.group(1)


def without_mark(reason: str) -> str:
    """The block reason as people read it (the fingerprint is bookkeeping)."""
    return REAUTH_MARK.sub("", reason)


def default_path(project_root: Path) -> Path:
    """POSTPILOT_CREDENTIALS, else `<project>/credentials.json`."""
    raw = settings.load().credentials
    return raw.expanduser() if raw else project_root / Config.CREDENTIALS_FILE


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class CredentialStore:
    """Reads and updates one credentials file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path) + ".lock", timeout=60)

    @classmethod
    def for_project(cls, project_root: Path) -> CredentialStore:
        """The store at POSTPILOT_CREDENTIALS or `<project>/credentials.json`."""
        return cls(default_path(project_root))

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> _File:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            raise CredentialsError(
                f"credentials file not found: {self.path} (create it with the accounts' "
                f"tokens, then chmod 600 {self.path}; see docs/publishers.md)"
            ) from None
        except OSError as exc:
            raise CredentialsError(f"cannot read credentials file {self.path}: {exc}") from None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"credentials file {self.path} is readable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o}); run: chmod 600 {self.path}"
            )
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsError(f"cannot read credentials file {self.path}: {exc}") from None
        except ValueError as exc:
            # json's message holds a position, never the file's content.
            raise CredentialsError(
                f"credentials file {self.path} is not valid JSON: {exc}"
            ) from None
        try:
            return _File.model_validate(raw)
        except ValidationError as exc:
            where = ", ".join(
                ".".join(str(p) for p in err["loc"]) or "(top level)" for err in exc.errors()
            )
            raise CredentialsError(
                f"credentials file {self.path} has the wrong shape at: {where} "
                '(expected {"accounts": {"<account>": {...}}})'
            ) from None

    def _account(self, data: _File, account: str) -> AccountCredentials:
        block = data.accounts.get(account)
        if block is None:
            known = ", ".join(sorted(data.accounts)) or "none"
            raise CredentialsError(
                f"no credentials for account {account!r} in {self.path} (accounts there: {known})"
            )
        try:
            creds = AccountCredentials.model_validate({**block, "account": account})
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
            raise CredentialsError(
                f"credentials for account {account!r} in {self.path} are invalid at: {fields}"
            ) from None
        if creds.expires_at is not None:
            creds = creds.model_copy(update={"expires_at": _aware(creds.expires_at)})
        return creds

    def get(self, account: str) -> AccountCredentials:
        """The account's credentials; CredentialsError naming the account and file if absent."""
        return self._account(self._read(), account)

    def check(self, accounts: Iterable[str]) -> None:
        """Preflight: the file exists, is mode 0600, has the right shape, and holds a valid
        entry for each of `accounts`; one CredentialsError listing every problem."""
        data = self._read()
        problems: list[str] = []
        missing = [a for a in accounts if a not in data.accounts]
        for account in accounts:
            if account in data.accounts:
                try:
                    self._account(data, account)
                except CredentialsError as exc:
                    problems.append(str(exc))
        if missing:
            shown = ", ".join(missing[:10])
            if len(missing) > 10:
                shown += f" and {len(missing) - 10} more"
            problems.insert(
                0,
                f"no credentials for {len(missing)} account(s) in {self.path}: {shown} "
                '(add an entry under "accounts" for each; see docs/publishers.md)',
            )
        if problems:
            raise CredentialsError("\n".join(problems))

    def fingerprint(self, account: str) -> str:
        """A short digest of the account's entry ("" when unreadable or absent): it changes
        when the operator writes new tokens, so a needs-reauth block can lift by itself."""
        try:
            block = self._read().accounts.get(account)
        except CredentialsError:
            return ""
        if block is None:
            return ""
        canonical = json.dumps(block, sort_keys=True, default=str).encode("utf-8")
        return hashlib.sha256(canonical).hexdigest()[:16]

    def accounts(self) -> list[str]:
        """Every account name in the file."""
        return sorted(self._read().accounts)

    def webhook_secret(self) -> str | None:
        """The top-level `webhook` secret (whsec_...), if any."""
        return self._read().webhook

    # -- writing ---------------------------------------------------------------------------

    def update_tokens(
        self,
        account: str,
        access_token: str,
        expires_at: datetime | None,
        refresh_token: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AccountCredentials:
        """Store a refreshed access token (and a rotated refresh token, when given) atomically.

        The file is re-read under the lock so concurrent writers never lose each other's
        updates. An empty/None refresh_token keeps the stored one.
        """
        with self._locked():
            return self._update_locked(account, access_token, expires_at, refresh_token, extra)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The file lock; waiting too long is a transient failure, not a crash."""
        try:
            self._lock.acquire()
        except Timeout:
            raise TransientError(
                f"another process held {self.path}.lock for over {self._lock.timeout:g}s",
                hint="a token refresh is hanging; retried later",
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    def _update_locked(
        self,
        account: str,
        access_token: str,
        expires_at: datetime | None,
        refresh_token: str | None,
        extra: Mapping[str, str] | None,
    ) -> AccountCredentials:
        data = self._read()
        current = self._account(data, account)
        block = dict(data.accounts[account])
        block.update(extra or {})
        block["access_token"] = access_token
        if expires_at is not None:
            block["expires_at"] = _aware(expires_at).isoformat()
        else:
            block.pop("expires_at", None)
        block["refresh_token"] = refresh_token or current.refresh_token
        data.accounts[account] = block
        self._write(data)
        return self._account(data, account)

    def _write(self, data: _File) -> None:
        text = json.dumps(data.model_dump(mode="json", exclude_none=True), indent=2) + "\n"
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    # -- refreshing ------------------------------------------------------------------------

    def fresh(
        self,
        account: str,
        client: HttpClient,
        token_url: str,
        *,
        now: datetime | None = None,
        margin: timedelta = DEFAULT_REFRESH_MARGIN,
        rejected_token: str | None = None,
        client_id_field: str = "client_id",
    ) -> AccountCredentials:
        """The account's credentials with a usable access token, refreshing when needed.

        `rejected_token`: the platform just refused this access token (401); refresh unless
        another process already replaced it. Under the file lock, so one refresh per expiry.
        """
        now = now or clock.now()
        if rejected_token is None:
            # Fast path without the lock (and without creating its file): writes replace the
            # file atomically, so a read sees a whole file, old or new.
            current = self.get(account)
            if not needs_refresh(current, now, margin):
                return current
        with self._locked():
            creds = self.get(account)
            if rejected_token is not None:
                if creds.access_token and creds.access_token != rejected_token:
                    return creds
                if not creds.refresh_token:
                    raise AuthError(
                        f"the access token of account {account!r} was refused and "
                        f"{self.path} holds no refresh token for it",
                        hint="re-authorize the account and update credentials.json",
                    )
            elif not needs_refresh(creds, now, margin):
                return creds
            new = refresh_oauth(client, token_url, creds, now=now, client_id_field=client_id_field)
            extra = {k: str(v) for k, v in (new.model_extra or {}).items() if k == REFRESH_EXPIRES}
            return self._update_locked(
                account, new.access_token, new.expires_at, new.refresh_token, extra
            )
