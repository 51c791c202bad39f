"""Every documented platform code, reason and status of the three API channels, fed through the
channel's own classify path (a real HTTP answer into YouTubeApi.error, TikTokApi.map_error,
tiktok_api.fail_reason_error and instagram_errors.map_error), against docs/publishers.md and
docs/never-twice.md."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postpilot.jobs import ErrorCategory, next_local_midnight, utcnow
from postpilot.publishers import instagram_errors, tiktok_api
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.credentials import AccountCredentials
from postpilot.publishers.error_rules import Wait, Waits
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import HttpClient, Response
from postpilot.publishers.instagram_errors import ContainerGone
from postpilot.publishers.oauth import TokenSession
from postpilot.publishers.youtube_api import QUOTA_TIMEZONE, YouTubeApi

#: Every answer below carries this Retry-After, so RETRY_AFTER and RATE_WINDOW resolve to it.
RETRY_AFTER = timedelta(seconds=120)
RATE_LIMIT_WAIT = timedelta(minutes=7)
CREDS = AccountCredentials(account="acct", platform="test", access_token="tok-secret")


@dataclass(frozen=True)
class Case:
    """One documented answer and what the channel must make of it."""

    status: int
    code: str
    error: type[PublishError]
    error_type: str
    category: ErrorCategory
    wait: Wait = Wait.NONE
    account_wide: bool = False
    subcode: str = ""
    transient: bool = False


def _param(name: str, case: Case) -> Any:
    return pytest.param(case, id=name)


def _expected_window(wait: Wait, before: datetime, after: datetime) -> tuple[Any, Any]:
    """The earliest and latest retry moment `wait` may give for a call made in [before, after]."""

    def at(now: datetime) -> datetime | None:
        return Waits(
            now,
            retry_after=now + RETRY_AFTER,
            rate_limit_wait=RATE_LIMIT_WAIT,
            quota_day=next_local_midnight(now, QUOTA_TIMEZONE),
        ).resolve(wait)

    return at(before), at(after)


def _check(case: Case, call: Callable[[], PublishError]) -> None:
    before = utcnow()
    error = call()
    after = utcnow()
    assert type(error) is case.error
    assert (error.error_type, error.category) == (case.error_type, case.category)
    if isinstance(error, RateLimited):
        assert error.account_wide is case.account_wide
    earliest, latest = _expected_window(case.wait, before, after)
    if earliest is None:
        assert error.retry_at is None
    else:
        assert error.retry_at is not None
        assert earliest <= error.retry_at <= latest
    assert "tok-secret" not in str(error) + error.raw


INFRA, RATE, ACCOUNT = ErrorCategory.INFRASTRUCTURE, ErrorCategory.RATE_LIMIT, ErrorCategory.ACCOUNT
CONTENT, PERMANENT = ErrorCategory.CONTENT, ErrorCategory.PERMANENT


def _quota(code: str, error_type: str) -> Case:
    return Case(403, code, RateLimited, error_type, RATE, Wait.QUOTA_DAY, account_wide=True)


def _yt_transient(status: int, code: str = "") -> Case:
    return Case(status, code, TransientError, "transient", INFRA, Wait.RETRY_AFTER)


def _yt_content(code: str) -> Case:
    return Case(400, code, ContentError, code, CONTENT)


YOUTUBE = [
    _param("quotaExceeded", _quota("quotaExceeded", "quota_exceeded")),
    _param("dailyLimitExceeded", _quota("dailyLimitExceeded", "quota_exceeded")),
    _param("uploadLimitExceeded", _quota("uploadLimitExceeded", "upload_limit")),
    _param("rateLimitExceeded", _yt_transient(403, "rateLimitExceeded")),
    _param("userRateLimitExceeded", _yt_transient(403, "userRateLimitExceeded")),
    _param("http-408", _yt_transient(408)),
    _param("http-429", _yt_transient(429)),
    _param("http-500-backendError", _yt_transient(500, "backendError")),
    _param("http-503", _yt_transient(503)),
    _param("http-401", Case(401, "authError", AuthError, "needs_reauth", ACCOUNT)),
    _param("http-403-forbidden", Case(403, "forbidden", PermanentError, "forbidden", PERMANENT)),
    _param("invalidTitle", _yt_content("invalidTitle")),
    _param("invalidDescription", _yt_content("invalidDescription")),
    _param("invalidCategoryId", _yt_content("invalidCategoryId")),
    _param("mediaBodyRequired", _yt_content("mediaBodyRequired")),
    _param("http-400-badRequest", Case(400, "badRequest", PermanentError, "rejected", PERMANENT)),
    _param("http-404-notFound", Case(404, "notFound", PermanentError, "rejected", PERMANENT)),
]


@pytest.mark.parametrize("case", YOUTUBE)
def test_youtube_maps_every_documented_reason(case: Case) -> None:
    """A Google error reason or bare status becomes the class, type, category and wait of
    youtube_api.ERRORS (quota waits for the Pacific quota day, 400 invalid* is content)."""
    body: dict[str, Any] = {"error": {"message": "refused"}}
    if case.code:
        body["error"]["errors"] = [{"reason": case.code}]
    response = Response(case.status, json=body, headers={"retry-after": "120"})
    _check(case, lambda: YouTubeApi.error(response, CREDS, "upload"))


def _cap(status: int, code: str) -> Case:
    return Case(status, code, RateLimited, "daily_cap", RATE, Wait.NEXT_DAY, account_wide=True)


def _tt(
    status: int, code: str, error: type[PublishError], error_type: str, cat: ErrorCategory
) -> Case:
    return Case(status, code, error, error_type, cat)


TIKTOK = [
    _param(
        "access_token_invalid", _tt(401, "access_token_invalid", AuthError, "needs_reauth", ACCOUNT)
    ),
    _param(
        "scope_not_authorized",
        _tt(401, "scope_not_authorized", AuthError, "scope_missing", ACCOUNT),
    ),
    _param(
        "scope_permission_missed",
        _tt(401, "scope_permission_missed", AuthError, "scope_missing", ACCOUNT),
    ),
    _param(
        "spam_risk_user_banned_from_posting",
        _tt(403, "spam_risk_user_banned_from_posting", AuthError, "banned", ACCOUNT),
    ),
    _param("spam_risk_too_many_posts", _cap(403, "spam_risk_too_many_posts")),
    _param("spam_risk_too_many_pending_share", _cap(403, "spam_risk_too_many_pending_share")),
    _param("reached_active_user_cap", _cap(403, "reached_active_user_cap")),
    _param(
        "rate_limit_exceeded",
        Case(429, "rate_limit_exceeded", RateLimited, "rate_limited", RATE, Wait.RATE_WINDOW),
    ),
    _param(
        "unaudited_client_can_only_post_to_private_accounts",
        _tt(
            403,
            "unaudited_client_can_only_post_to_private_accounts",
            PermanentError,
            "app_not_audited",
            PERMANENT,
        ),
    ),
    _param(
        "url_ownership_unverified",
        _tt(403, "url_ownership_unverified", PermanentError, "app_not_audited", PERMANENT),
    ),
    _param(
        "privacy_level_option_mismatch",
        _tt(
            400,
            "privacy_level_option_mismatch",
            PermanentError,
            "privacy_level_not_offered",
            PERMANENT,
        ),
    ),
    _param("spam_risk_text", _tt(400, "spam_risk_text", ContentError, "content_rejected", CONTENT)),
    _param("invalid_params", _tt(400, "invalid_params", PermanentError, "rejected", PERMANENT)),
    _param(
        "invalid_file_upload",
        _tt(400, "invalid_file_upload", PermanentError, "rejected", PERMANENT),
    ),
    _param(
        "internal_error",
        Case(500, "internal_error", TransientError, "transient", INFRA, Wait.RETRY_AFTER),
    ),
    _param(
        "http-502-unknown-code",
        Case(502, "gateway", TransientError, "transient", INFRA, Wait.RETRY_AFTER),
    ),
    _param("http-503-no-code", Case(503, "", TransientError, "transient", INFRA, Wait.RETRY_AFTER)),
    _param("http-429-no-code", Case(429, "", RateLimited, "rate_limited", RATE, Wait.RETRY_AFTER)),
    _param("http-401-no-code", _tt(401, "", AuthError, "needs_reauth", ACCOUNT)),
    _param(
        "http-400-unknown-code", _tt(400, "never_documented", PermanentError, "rejected", PERMANENT)
    ),
]


@pytest.fixture
def tiktok(tmp_path: Path) -> Iterator[tiktok_api.TikTokApi]:
    client = HttpClient()
    yield tiktok_api.TikTokApi(
        store=CredentialStore(tmp_path / "credentials.json"),
        client=client,
        api_base="http://127.0.0.1:9",
        token_url="http://127.0.0.1:9/token",
        rate_limit_wait=RATE_LIMIT_WAIT,
    )
    client.close()


@pytest.mark.parametrize("case", TIKTOK)
def test_tiktok_maps_every_documented_error_code(case: Case, tiktok: tiktok_api.TikTokApi) -> None:
    """A Content Posting API error.code (or a bare status) becomes the class, type, category
    and wait of tiktok_api.ERRORS (daily caps wait a day, rate_limit_exceeded its window)."""
    error = {"code": case.code, "message": "refused"} if case.code else {}
    response = Response(case.status, json={"error": error}, headers={"retry-after": "120"})
    session = TokenSession("acct", CREDS)
    _check(
        case,
        lambda: tiktok.map_error(response, tiktok_api.error_code(response), error, session, "init"),
    )


def _failed(reason: str, error: type[PublishError], error_type: str, cat: ErrorCategory) -> Any:
    return _param(reason, Case(0, reason, error, error_type, cat))


TIKTOK_FAIL_REASONS = [
    _failed("file_format_check_failed", ContentError, "content_rejected", CONTENT),
    _failed("duration_check_failed", ContentError, "content_rejected", CONTENT),
    _failed("frame_rate_check_failed", ContentError, "content_rejected", CONTENT),
    _failed("picture_size_check_failed", ContentError, "content_rejected", CONTENT),
    _failed("any_other_check_failed", ContentError, "content_rejected", CONTENT),
    _failed("spam_risk_text", ContentError, "content_rejected", CONTENT),
    _param("spam_risk_too_many_posts", _cap(0, "spam_risk_too_many_posts")),
    _param("spam_risk_too_many_pending_share", _cap(0, "spam_risk_too_many_pending_share")),
    _param("reached_active_user_cap", _cap(0, "reached_active_user_cap")),
    _failed("spam_risk_user_banned_from_posting", AuthError, "banned", ACCOUNT),
    _failed("internal", TransientError, "transient", INFRA),
    _failed("publish_cancelled", TransientError, "transient", INFRA),
    _failed("unknown", TransientError, "transient", INFRA),
]


@pytest.mark.parametrize("case", TIKTOK_FAIL_REASONS)
def test_tiktok_maps_every_documented_fail_reason(case: Case) -> None:
    """A FAILED status's fail_reason becomes the error of tiktok_api.FAIL_REASONS: content
    reasons fail, caps wait a day, a ban needs the account, any other reason is retried."""
    _check(case, lambda: tiktok_api.fail_reason_error(case.code))


def _ig(
    code: int | None,
    error: type[PublishError],
    error_type: str,
    cat: ErrorCategory,
    wait: Wait = Wait.NONE,
    *,
    status: int = 400,
    subcode: int = 0,
    transient: bool = False,
    account_wide: bool = False,
) -> Case:
    return Case(
        status,
        "" if code is None else str(code),
        error,
        error_type,
        cat,
        wait,
        account_wide=account_wide,
        subcode=str(subcode) if subcode else "",
        transient=transient,
    )


def _ig_rate(code: int) -> Any:
    case = _ig(code, RateLimited, "rate_limited", RATE, Wait.USAGE, account_wide=True)
    return _param(f"code-{code}", case)


def _ig_new_container(subcode: int) -> Any:
    case = _ig(100, ContainerGone, "container_expired", INFRA, subcode=subcode)
    return _param(f"subcode-{subcode}", case)


_IG_TRANSIENT = (TransientError, "transient", INFRA, Wait.RETRY_AFTER)
_IG_CONTENT = (ContentError, "content_rejected", CONTENT)

INSTAGRAM = [
    _param("no-envelope-400", _ig(None, PermanentError, "rejected", PERMANENT)),
    _param("no-envelope-401", _ig(None, AuthError, "needs_reauth", ACCOUNT, status=401)),
    _param("no-envelope-500", _ig(None, *_IG_TRANSIENT, status=500)),
    _param("code-190", _ig(190, AuthError, "needs_reauth", ACCOUNT)),
    _param("code-102", _ig(102, AuthError, "needs_reauth", ACCOUNT)),
    _param("code-10", _ig(10, AuthError, "permission_missing", ACCOUNT, status=403)),
    _param("code-200", _ig(200, AuthError, "permission_missing", ACCOUNT, status=403)),
    _param("code-299", _ig(299, AuthError, "permission_missing", ACCOUNT, status=403)),
    *(_ig_rate(code) for code in (4, 17, 32, 613, *range(80000, 80010), 80014)),
    _param(
        "code-9",
        _ig(9, RateLimited, "publishing_limit", RATE, Wait.NEXT_DAY, account_wide=True),
    ),
    _param(
        "subcode-2207042",
        _ig(
            100,
            RateLimited,
            "publishing_limit",
            RATE,
            Wait.NEXT_DAY,
            subcode=2207042,
            account_wide=True,
        ),
    ),
    _param(
        "code-368",
        _ig(368, RateLimited, "activity_restricted", RATE, Wait.NEXT_DAY, account_wide=True),
    ),
    _param(
        "subcode-2207051",
        _ig(
            100,
            RateLimited,
            "activity_restricted",
            RATE,
            Wait.NEXT_DAY,
            subcode=2207051,
            account_wide=True,
        ),
    ),
    _param("code-1", _ig(1, *_IG_TRANSIENT)),
    _param("code-2", _ig(2, *_IG_TRANSIENT)),
    _param("is_transient", _ig(100, *_IG_TRANSIENT, transient=True)),
    _param("subcode-2207001", _ig(100, *_IG_TRANSIENT, subcode=2207001)),
    _param("subcode-2207003", _ig(100, *_IG_TRANSIENT, subcode=2207003)),
    _param("http-500", _ig(100, *_IG_TRANSIENT, status=500)),
    *(_ig_new_container(sub) for sub in (2207020, 2207032, 2207053, 2207008)),
    # A 5xx never proves the container unused: a server error, not a new container.
    _param("subcode-2207020-http-500", _ig(100, *_IG_TRANSIENT, status=500, subcode=2207020)),
    _param(
        "subcode-2207027",
        _ig(100, TransientError, "media_not_ready", INFRA, Wait.RETRY_AFTER, subcode=2207027),
    ),
    _param("subcode-2207026", _ig(100, *_IG_CONTENT, subcode=2207026)),
    _param("subcode-2207999", _ig(100, *_IG_CONTENT, subcode=2207999)),
    _param("code-9004", _ig(9004, *_IG_CONTENT)),
    _param("code-100", _ig(100, PermanentError, "rejected", PERMANENT)),
]


@pytest.mark.parametrize("case", INSTAGRAM)
def test_instagram_maps_every_documented_graph_code(case: Case) -> None:
    """A Graph error code/subcode/is_transient (or a bare status) becomes the class, type,
    category and wait of instagram_errors.ERRORS (call rate limits wait on the usage header,
    then Retry-After; publishing limits a day)."""
    body: dict[str, Any] = {}
    if case.code:
        body["error"] = {"code": int(case.code), "message": "refused"}
        if case.subcode:
            body["error"]["error_subcode"] = int(case.subcode)
        if case.transient:
            body["error"]["is_transient"] = True
    response = Response(case.status, json=body, headers={"retry-after": "120"})
    _check(
        case,
        lambda: instagram_errors.map_error(
            response, body, ("tok-secret",), "media_publish", RATE_LIMIT_WAIT
        ),
    )
