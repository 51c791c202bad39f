"""Instagram Graph API errors: which error code or subcode means what for a publish, as an
error_rules table (ERRORS).

Split from publishers/instagram.py; publishers/instagram_api.py maps every Graph answer through
`map_error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from postpilot.jobs import utcnow
from postpilot.publishers.error_rules import Answer, Rule, Wait, Waits, When, classify
from postpilot.publishers.error_rules import codes as as_codes
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import Response, redact, response_text, retry_after

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


def int_or_zero(value: Any) -> int:
    """A Graph answer's number (code, subcode, quota, seconds) as int; 0 when absent or not
    a number (instagram_api.py reads its quotas and token lifetimes with it too)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _on(
    codes: frozenset[int] = frozenset(), subcodes: frozenset[int] = frozenset()
) -> tuple[When, ...]:
    """A code or a subcode of the sets given."""
    whens = [When(codes=as_codes(*codes))] if codes else []
    return (*whens, *([When(subcodes=as_codes(*subcodes))] if subcodes else []))


_TRANSIENT_HINT = "temporary Instagram failure; retried"

#: Graph error codes and subcodes (and the bare HTTP status); the first matching rule wins.
ERRORS: tuple[Rule, ...] = (
    # No Graph error envelope: the generic mapping of the HTTP status.
    Rule(None, (When(codes=frozenset({""})),)),
    Rule(
        AuthError,
        _on(AUTH_CODES),
        hint="the token is invalid or expired: re-authorize the account and update "
        "credentials.json",
    ),
    Rule(
        AuthError,
        _on(PERMISSION_CODES),
        error_type="permission_missing",
        hint="grant instagram_content_publish (or instagram_business_content_publish) "
        "again and update the token",
    ),
    Rule(
        RateLimited,
        _on(frozenset({9}), frozenset({QUOTA_SUBCODE})),
        error_type="publishing_limit",
        hint="the account's 24 h publishing limit is reached; its posts wait",
        wait=Wait.NEXT_DAY,
        account_wide=True,
    ),
    Rule(
        RateLimited,
        _on(frozenset({368}), RESTRICTED_SUBCODES),
        error_type="activity_restricted",
        hint="Instagram restricted this account's activity; check it in the app",
        wait=Wait.NEXT_DAY,
        account_wide=True,
    ),
    Rule(
        RateLimited,
        _on(RATE_CODES),
        hint="Graph API call rate limit; the account's posts wait",
        wait=Wait.USAGE,
        account_wide=True,
    ),
    # A 5xx never proves the container was not used: it stays a server error below.
    Rule(
        ContainerGone,
        (When(subcodes=as_codes(*NEW_CONTAINER_SUBCODES), max_status=499),),
        hint="a new container is created next attempt",
    ),
    # Meta's own "not ready for publishing": nothing was published.
    Rule(
        TransientError,
        _on(subcodes=NOT_READY_SUBCODES),
        error_type=NOT_READY,
        hint="the container is not ready yet; retried",
        wait=Wait.RETRY_AFTER,
    ),
    Rule(
        TransientError,
        (When(transient=True), *_on(TRANSIENT_CODES, TRANSIENT_SUBCODES), When(min_status=500)),
        hint=_TRANSIENT_HINT,
        wait=Wait.RETRY_AFTER,
    ),
    Rule(
        ContentError,
        _on(frozenset({9004}), frozenset(range(2207000, 2208000))),
        hint="Instagram refused the video or caption; fix it and retry",
    ),
    Rule(PermanentError, hint="Instagram refused the request"),
)


def map_error(
    response: Response,
    body: Mapping[str, Any],
    secrets: tuple[str, ...],
    what: str,
    rate_limit_wait: timedelta,
) -> PublishError:
    """The typed error for a Graph error envelope (or a bare HTTP status; see ERRORS); raw body
    redacted. `rate_limit_wait`: how long a call rate limit waits when Meta does not say."""
    now = utcnow()
    error = body.get("error")
    answer = Answer(response.status_code)
    message = ""
    if isinstance(error, dict):
        code, sub = int_or_zero(error.get("code")), int_or_zero(error.get("error_subcode"))
        text = redact(str(error.get("error_user_msg") or error.get("message") or ""), secrets)
        message = f"instagram {what} failed: {text} (code {code}{f'/{sub}' if sub else ''})"
        answer = Answer(
            response.status_code, str(code), str(sub), transient=error.get("is_transient") is True
        )
    return classify(
        ERRORS,
        answer,
        message=message,
        raw=response_text(response, secrets),
        waits=Waits(
            now,
            retry_after=retry_after(response, now),
            rate_limit_wait=rate_limit_wait,
            usage=_regain_at(response, now),
        ),
        platform=PLATFORM,
        what=what,
    )


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
                    minutes = max(
                        minutes, int_or_zero(entry.get("estimated_time_to_regain_access"))
                    )
    return now + timedelta(minutes=minutes) if minutes else None
