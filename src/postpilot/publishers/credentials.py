"""One account's OAuth credentials and the refresh_token grant that renews them.

AccountCredentials is an entry of the credentials file (publishers/credential_store.py reads and
writes the file); secrets_of and redact_all keep its tokens out of messages, needs_refresh says
when the access token is due, and refresh_oauth runs the grant. Tokens never appear in messages:
errors name the account only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from postpilot import clock
from postpilot.publishers.errors import AuthError, TransientError
from postpilot.publishers.http import HttpClient, redact, response_json, response_text

#: Refresh this long before the access token expires (a long upload must not outlive it).
DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)
#: Field names whose values are secrets (also redacted when they appear under extra keys).
SECRET_FIELDS = frozenset({"access_token", "refresh_token", "client_secret"})
#: Extra key where a refresh's `refresh_expires_in` (TikTok) is kept as an ISO time.
REFRESH_EXPIRES = "refresh_expires_at"


class AccountCredentials(BaseModel):
    """One account's tokens and platform ids. Immutable; repr and str hide every secret."""

    model_config = ConfigDict(frozen=True, extra="allow")

    account: str = ""
    platform: str = ""
    access_token: str = Field(default="", repr=False)
    refresh_token: str = Field(default="", repr=False)
    expires_at: datetime | None = None
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)

    def __repr__(self) -> str:
        expires = self.expires_at.isoformat() if self.expires_at else "unknown"
        return (
            f"AccountCredentials(account={self.account!r}, platform={self.platform!r}, "
            f"expires_at={expires})"
        )

    __str__ = __repr__

    def platform_id(self, key: str, default: str = "") -> str:
        """A platform id or other extra key (e.g. `ig_user_id`, `channel_id`), as text."""
        value = (self.model_extra or {}).get(key, default)
        return "" if value is None else str(value)

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored for the account (without the `account` key)."""
        data = self.model_dump(mode="json", exclude={"account"})
        if self.expires_at is None:
            data.pop("expires_at", None)
        return data


def secrets_of(creds: AccountCredentials | None) -> tuple[str, ...]:
    """Every secret value of `creds`, for redact()."""
    if creds is None:
        return ()
    values = [creds.access_token, creds.refresh_token, creds.client_secret]
    for key, value in (creds.model_extra or {}).items():
        if isinstance(value, str) and ("token" in key or "secret" in key):
            values.append(value)
    return tuple(v for v in values if v)


def needs_refresh(
    creds: AccountCredentials, now: datetime, margin: timedelta = DEFAULT_REFRESH_MARGIN
) -> bool:
    """True when the access token is missing or expires within `margin` and can be refreshed.

    Without `expires_at` the token is used as is (a 401 then triggers one refresh).
    """
    if not creds.refresh_token:
        return False
    if not creds.access_token:
        return True
    return creds.expires_at is not None and creds.expires_at <= now + margin


def _seconds(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def refresh_oauth(
    client: HttpClient,
    token_url: str,
    creds: AccountCredentials,
    *,
    now: datetime | None = None,
    client_id_field: str = "client_id",
    extra_fields: Mapping[str, str] | None = None,
) -> AccountCredentials:
    """Run the OAuth2 refresh_token grant (form-encoded) against `token_url`; the new
    credentials (not yet stored: see CredentialStore.fresh / update_tokens).

    AuthError when the grant is refused (invalid_grant, other 4xx), TransientError on 429/5xx
    and network failures. `client_id_field` is "client_key" for TikTok. An answer without a
    refresh token keeps the old one; a rotated one replaces it. `refresh_expires_in` (TikTok)
    is kept as the extra key `refresh_expires_at`.
    """
    now = now or clock.now()
    secrets = secrets_of(creds)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token,
        client_id_field: creds.client_id or creds.platform_id(client_id_field),
        "client_secret": creds.client_secret,
        **(extra_fields or {}),
    }
    response = client.request("POST", token_url, form=form, secrets=secrets)
    body = response_json(response)
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(
            f"token refresh for account {creds.account!r} failed with HTTP {response.status_code}",
            raw=response_text(response, secrets),
            hint="the token endpoint is failing; retried later",
        )
    access = body.get("access_token")
    if response.status_code >= 400 or "error" in body or not isinstance(access, str) or not access:
        reason = str(body.get("error") or f"HTTP {response.status_code}")
        raise AuthError(
            f"token refresh for account {creds.account!r} was refused ({redact(reason, secrets)})",
            raw=response_text(response, secrets),
            hint="the refresh token is expired or revoked: re-authorize the account "
            "and update credentials.json",
        )
    update: dict[str, Any] = {"access_token": access}
    expires_in = _seconds(body.get("expires_in"))
    update["expires_at"] = now + timedelta(seconds=expires_in) if expires_in is not None else None
    refresh = body.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        update["refresh_token"] = refresh
    refresh_expires_in = _seconds(body.get("refresh_expires_in"))
    if refresh_expires_in is not None:
        update[REFRESH_EXPIRES] = (now + timedelta(seconds=refresh_expires_in)).isoformat()
    return creds.model_copy(update=update)


def redact_all(text: str, creds: Iterable[AccountCredentials]) -> str:
    """`text` with the secrets of every given account removed."""
    secrets: list[str] = []
    for item in creds:
        secrets.extend(secrets_of(item))
    return redact(text, secrets)
