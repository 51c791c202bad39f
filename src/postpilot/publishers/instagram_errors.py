"""Instagram Graph API errors: which error code or subcode means what for a publish.

Split from publishers/instagram.py, which maps every Graph answer through `map_error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from postpilot.jobs import utcnow
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import (
    Response,
    error_for_status,
    redact,
    response_text,
    retry_after,
)

PLATFORM = "instagram"

#: Graph error codes.
AUTH_CODES = frozenset({190, 102})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
RATE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80010), 80014})
TRANSIENT_CODES = frozenset({1, 2})
TRANSIENT_SUBCODES = frozenset({2207001, 2207003})
#: Subcodes after which the container is useless: start over with a new one.
NEW_CONTAINER_SUBCODES = frozenset({2207020, 2207032, 2207053, 2207008})
NOT_READY_SUBCODES = frozenset({2207027})
NOT_READY = "media_not_ready"
QUOTA_SUBCODE = 2207042
RESTRICTED_SUBCODES = frozenset({2207051})


class ContainerGone(TransientError):
    """The container can no longer be published (expired, or Meta asks for a new one); the
    checkpoint was cleared and the next attempt creates a new container."""

    error_type = "container_expired"


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def map_error(
    response: Response,
    body: Mapping[str, Any],
    secrets: tuple[str, ...],
    what: str,
    rate_limit_wait: timedelta,
) -> PublishError:
    """The typed error for a Graph error envelope (or a bare HTTP status); raw body redacted.
    `rate_limit_wait`: how long a call rate limit waits when Meta does not say."""
    now = utcnow()
    raw = response_text(response, secrets)
    error = body.get("error")
    if not isinstance(error, dict):
        return error_for_status(
            response.status_code,
            raw,
            platform=PLATFORM,
            retry_at=retry_after(response, now),
            what=what,
        )
    code, sub = _int(error.get("code")), _int(error.get("error_subcode"))
    text = redact(str(error.get("error_user_msg") or error.get("message") or ""), secrets)
    message = f"instagram {what} failed: {text} (code {code}{f'/{sub}' if sub else ''})"
    if code in AUTH_CODES:
        return AuthError(
            message,
            raw=raw,
            hint="the token is invalid or expired: re-authorize the account and update "
            "credentials.json",
        )
    if code in PERMISSION_CODES:
        return AuthError(
            message,
            raw=raw,
            error_type="permission_missing",
            hint="grant instagram_content_publish (or instagram_business_content_publish) "
            "again and update the token",
        )
    if code == 9 or sub == QUOTA_SUBCODE:
        return RateLimited(
            message,
            raw=raw,
            account_wide=True,
            error_type="publishing_limit",
            retry_at=now + timedelta(days=1),
            hint="the account's 24 h publishing limit is reached; its posts wait",
        )
    if code == 368 or sub in RESTRICTED_SUBCODES:
        return RateLimited(
            message,
            raw=raw,
            account_wide=True,
            error_type="activity_restricted",
            retry_at=now + timedelta(days=1),
            hint="Instagram restricted this account's activity; check it in the app",
        )
    if code in RATE_CODES:
        return RateLimited(
            message,
            raw=raw,
            account_wide=True,
            retry_at=_regain_at(response, now)
            or retry_after(response, now)
            or now + rate_limit_wait,
            hint="Graph API call rate limit; the account's posts wait",
        )
    if sub in NEW_CONTAINER_SUBCODES and response.status_code < 500:
        # A 5xx never proves the container was not used: it stays a server error below.
        return ContainerGone(message, raw=raw, hint="a new container is created next attempt")
    if sub in NOT_READY_SUBCODES:
        # Meta's own "not ready for publishing": nothing was published.
        return TransientError(
            message,
            raw=raw,
            error_type=NOT_READY,
            retry_at=retry_after(response, now),
            hint="the container is not ready yet; retried",
        )
    if (
        error.get("is_transient") is True
        or code in TRANSIENT_CODES
        or sub in TRANSIENT_SUBCODES
        or response.status_code >= 500
    ):
        return TransientError(
            message,
            raw=raw,
            retry_at=retry_after(response, now),
            hint="temporary Instagram failure; retried",
        )
    if code == 9004 or sub // 1000 == 2207:
        return ContentError(
            message, raw=raw, hint="Instagram refused the video or caption; fix it and retry"
        )
    return PermanentError(message, raw=raw, hint="Instagram refused the request")


def wants_new_container(status: str) -> bool:
    """An ERROR status naming a subcode that asks for a new container or is transient."""
    return any(str(s) in status for s in (*NEW_CONTAINER_SUBCODES, *TRANSIENT_SUBCODES))


def _regain_at(response: Response, now: datetime) -> datetime | None:
    """`estimated_time_to_regain_access` (minutes) from X-Business-Use-Case-Usage."""
    raw = response.headers.get("x-business-use-case-usage", "")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = 0
    if isinstance(usage, dict):
        for entries in usage.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    minutes = max(minutes, _int(entry.get("estimated_time_to_regain_access")))
    return now + timedelta(minutes=minutes) if minutes else None
