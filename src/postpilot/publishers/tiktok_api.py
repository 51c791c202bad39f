"""The Content Posting API client of the TikTok channel: tokens, the authorized JSON calls
(creator_info, init, status/fetch), the chunk PUT, and the error tables.

The publish flow (publishers/tiktok.py) decides what to send and what an answer means for the
job. Every JSON call goes through `send_renewing` (publishers/oauth.py): `access_token_invalid`
refreshes the token once per publish through CredentialStore.fresh (client_key, locked, atomic
write-back; TikTok rotates refresh tokens, the new one replaces the old in credentials.json
before the new access token is used) and resends; that answer proves the call was refused.

Chunk rules (media transfer guide): total_chunk_count = floor(video_size / chunk_size); chunks
5-64 MB, the last one absorbing the remainder (up to 128 MB); a file under 5 MB is one chunk;
a file over 64 MB has at least two; 1-1000 chunks. `chunk_plan` implements them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from postpilot.errors import CredentialsError
from postpilot.jobs import utcnow
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.credentials import AccountCredentials
from postpilot.publishers.error_rules import Answer, Rule, Wait, Waits, When, classify
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import (
    HttpClient,
    Response,
    file_chunks,
    redact,
    response_json,
    response_text,
    retry_after,
)
from postpilot.publishers.oauth import TokenSession, send_renewing

log = logging.getLogger("postpilot.publishers.tiktok")

PLATFORM = "tiktok"
DEFAULT_API_BASE = "https://open.tiktokapis.com"
INIT_PATHS = {
    "direct": "/v2/post/publish/video/init/",
    "inbox": "/v2/post/publish/inbox/video/init/",
}
MIB = 1024 * 1024
MIN_CHUNK = 5 * MIB
MAX_CHUNK = 64 * MIB
MAX_LAST_CHUNK = 128 * MIB
MAX_CHUNKS = 1000
DEFAULT_CHUNK = 16 * MIB
CREATOR_INFO_PATH = "/v2/post/publish/creator_info/query/"
STATUS_PATH = "/v2/post/publish/status/fetch/"

#: fail_reason values that mean the video itself was refused.
CONTENT_FAIL_REASONS = frozenset(
    {
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
        "spam_risk_text",
        "video_pull_failed",
    }
)
DAY_CAP_CODES = frozenset(
    {"spam_risk_too_many_posts", "spam_risk_too_many_pending_share", "reached_active_user_cap"}
)
CONFIG_CODES = frozenset(
    {"unaudited_client_can_only_post_to_private_accounts", "url_ownership_unverified"}
)

BANNED = frozenset({"spam_risk_user_banned_from_posting"})


@dataclass(frozen=True, slots=True)
class ChunkPlan:
    """How a file is cut: `count` chunks of `chunk_size`, the last one takes the remainder."""

    video_size: int
    chunk_size: int
    count: int

    def span(self, index: int) -> tuple[int, int]:
        """(first byte, length) of chunk `index`."""
        first = index * self.chunk_size
        if index == self.count - 1:
            return first, self.video_size - first
        return first, self.chunk_size


def chunk_plan(video_size: int, preferred: int = DEFAULT_CHUNK) -> ChunkPlan:
    """The chunk plan for a file of `video_size` bytes (see the module docstring).

    `preferred` is clamped to 5-64 MB and grown when the file would need over 1000 chunks.
    """
    if video_size <= 0:
        raise ContentError("the video is empty", error_type="corrupted_video")
    chunk = min(max(preferred, MIN_CHUNK), MAX_CHUNK)
    if video_size < MIN_CHUNK or video_size <= chunk:
        return ChunkPlan(video_size, video_size, 1)
    chunk = max(chunk, math.ceil(video_size / MAX_CHUNKS))
    if video_size > MAX_CHUNK and video_size // chunk < 2:
        # A file over 64 MB must be chunked: two halves (each 32-64 MB, the last +1 byte).
        chunk = video_size // 2
    if chunk > MAX_CHUNK:
        raise ContentError(
            f"the video is {video_size} bytes: too large for 1000 chunks of 64 MB",
            error_type="video_too_large",
        )
    # By construction 1 <= count <= 1000 and the last chunk is < 2 * chunk <= 128 MB.
    count = video_size // chunk
    return ChunkPlan(video_size, chunk, count)


def _on(*codes: str) -> tuple[When, ...]:
    return (When(codes=frozenset(codes)),)


#: TikTok's daily posting cap, as an API error code and as a FAILED status's fail_reason.
_DAY_CAP = Rule(
    RateLimited,
    (When(codes=DAY_CAP_CODES),),
    error_type="daily_cap",
    hint="TikTok's daily posting cap is reached; the account's posts wait a day",
    wait=Wait.NEXT_DAY,
    account_wide=True,
)

#: Content Posting API error codes (error.code) and HTTP statuses; the first match wins.
ERRORS: tuple[Rule, ...] = (
    # No error code: the generic mapping of the HTTP status.
    Rule(None, _on("")),
    Rule(
        AuthError,
        _on("access_token_invalid"),
        hint="the token was refused after a refresh: re-authorize the account",
    ),
    Rule(
        AuthError,
        _on("scope_not_authorized", "scope_permission_missed"),
        error_type="scope_missing",
        hint="re-authorize with the video.publish (direct) or video.upload (inbox) scope",
    ),
    Rule(
        AuthError,
        (When(codes=BANNED),),
        error_type="banned",
        hint="TikTok blocked this account from posting; check it in the app",
    ),
    _DAY_CAP,
    Rule(
        RateLimited,
        (When(codes=frozenset({"rate_limit_exceeded"})), When(statuses=frozenset({429}))),
        hint="per-minute API rate limit; retried shortly",
        wait=Wait.RATE_WINDOW,
    ),
    Rule(
        PermanentError,
        (When(codes=CONFIG_CODES),),
        error_type="app_not_audited",
        hint="the TikTok app is unaudited (post SELF_ONLY to a private account) or the "
        "URL domain is unverified; see docs/publishers.md",
    ),
    Rule(
        PermanentError,
        _on("privacy_level_option_mismatch"),
        error_type="privacy_level_not_offered",
        hint="set publisher.privacy_level to one creator_info offers",
    ),
    Rule(ContentError, _on("spam_risk_text"), hint="TikTok refused the caption text"),
    Rule(
        TransientError,
        (When(min_status=500), When(codes=frozenset({"internal_error"}))),
        hint="temporary TikTok failure; retried",
        wait=Wait.RETRY_AFTER,
    ),
    Rule(
        PermanentError,
        (When(code_prefix="invalid_"),),
        hint="TikTok refused the request's parameters",
    ),
    Rule(None),
)

#: The fail_reason of a FAILED publish status (nothing was posted); the first match wins.
FAIL_REASONS: tuple[Rule, ...] = (
    Rule(
        ContentError,
        (When(codes=CONTENT_FAIL_REASONS), When(code_suffix="_check_failed")),
        error_type="content_rejected",
        hint="check the video against TikTok's specs (MP4/H.264, 23-60 fps, 360-4096 px)",
    ),
    _DAY_CAP,
    Rule(
        AuthError,
        (When(codes=BANNED),),
        error_type="banned",
        hint="TikTok blocked this account from posting",
    ),
    Rule(TransientError, hint="a new upload is tried on the next attempt"),
)


def fail_reason_error(reason: str) -> PublishError:
    """The typed error of a FAILED status's fail_reason (see FAIL_REASONS)."""
    return classify(
        FAIL_REASONS,
        Answer(0, reason),
        message=f"tiktok could not publish the video: {reason}",
        raw=reason,
        waits=Waits(utcnow()),
        platform=PLATFORM,
        what="publish",
    )


def error_code(response: Response) -> str:
    """The Content Posting API's `error.code` of an answer ("" without one)."""
    error = response_json(response).get("error")
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def status_post_id(status: Mapping[str, Any]) -> str:
    ids = status.get("publicaly_available_post_id") or status.get("publicly_available_post_id")
    if isinstance(ids, list) and ids:
        return str(ids[0])
    return ""


class TikTokApi:
    """Authorized Content Posting API calls of one TikTok publisher (see the module docstring)."""

    def __init__(
        self,
        *,
        store: CredentialStore,
        client: HttpClient,
        api_base: str,
        token_url: str,
        rate_limit_wait: timedelta,
    ) -> None:
        self.store = store
        self.client = client
        self.api_base = api_base
        self.token_url = token_url
        self.rate_limit_wait = rate_limit_wait

    def session(self, account: str) -> TokenSession:
        try:
            creds = self.store.fresh(
                account, self.client, self.token_url, client_id_field="client_key"
            )
        except CredentialsError as exc:
            raise AuthError(str(exc), hint="fix credentials.json for this account") from None
        if not creds.access_token:
            raise AuthError(
                f"credentials for account {account!r} have no access_token",
                hint="authorize the account and put its tokens in credentials.json",
            )
        return TokenSession(account, creds)

    def call(
        self, session: TokenSession, path: str, body: Mapping[str, Any], *, what: str
    ) -> dict[str, Any]:
        """POST a JSON body; `data` on error.code == "ok". access_token_invalid refreshes once
        (rotating the refresh token) and retries."""

        def send(creds: AccountCredentials) -> Response:
            return self.client.request(
                "POST",
                f"{self.api_base}{path}",
                headers={"authorization": f"Bearer {creds.access_token}"},
                json_body=dict(body),
                secrets=session.secrets,
            )

        def renew(rejected: TokenSession) -> AccountCredentials:
            try:
                fresh = self.store.fresh(
                    rejected.account,
                    self.client,
                    self.token_url,
                    rejected_token=rejected.token,
                    client_id_field="client_key",
                )
            except CredentialsError as exc:
                raise AuthError(str(exc)) from None
            log.info("tiktok token of %r refreshed after a 401", rejected.account)
            return fresh

        response = send_renewing(
            session,
            send,
            token_rejected=lambda answer: error_code(answer) == "access_token_invalid",
            renew=renew,
        )
        payload = response_json(response)
        error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
        code = error_code(response)
        if 200 <= response.status_code < 300 and code in ("ok", ""):
            data = payload.get("data")
            return data if isinstance(data, dict) else {}
        raise self.map_error(response, code, error or {}, session, what)

    def check_account(self, account: str, privacy_level: str) -> str:
        """--check --online: creator_info for the account, and whether it offers
        `privacy_level` (no post, no quota)."""
        data = self.creator_info(self.session(account))
        options = [str(o) for o in data.get("privacy_level_options") or []]
        if options and privacy_level not in options:
            return (
                f"creator_info ok, but privacy_level {privacy_level!r} is not offered "
                f"(it offers: {', '.join(options)})"
            )
        return f"creator_info ok ({data.get('creator_username') or 'creator'})"

    def creator_info(self, session: TokenSession) -> dict[str, Any]:
        """The creator's privacy options, username and maximum video duration."""
        return self.call(session, CREATOR_INFO_PATH, {}, what="creator_info")

    def init(self, session: TokenSession, mode: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Start a FILE_UPLOAD publish (direct or inbox): publish_id and upload_url."""
        return self.call(session, INIT_PATHS[mode], body, what="init")

    def status(self, session: TokenSession, publish_id: str) -> dict[str, Any]:
        """status/fetch of a publish_id."""
        return self.call(session, STATUS_PATH, {"publish_id": publish_id}, what="status")

    def put_chunk(
        self,
        session: TokenSession,
        url: str,
        handle: IO[bytes],
        span: tuple[int, int, int],
        mime_type: str,
    ) -> Response:
        """PUT `length` bytes from `first` (span = first, length, video size) to the upload URL
        (it carries its own authorization). Transport errors raise NetworkError."""
        first, length, size = span
        headers = {
            "content-type": mime_type,
            "content-range": f"bytes {first}-{first + length - 1}/{size}",
        }
        return self.client.upload(
            "PUT",
            url,
            file_chunks(handle, first, length),
            length,
            headers=headers,
            secrets=session.secrets,
        )

    def map_error(
        self,
        response: Response,
        code: str,
        error: Mapping[str, Any],
        session: TokenSession,
        what: str,
    ) -> PublishError:
        """The typed error for a Content Posting API error (see ERRORS); raw redacted."""
        now = utcnow()
        text = redact(str(error.get("message") or ""), session.secrets)
        message = f"tiktok {what} failed: {code}" + (f" ({text})" if text and text != code else "")
        return classify(
            ERRORS,
            Answer(response.status_code, code),
            message=message,
            raw=response_text(response, session.secrets),
            waits=Waits(
                now,
                retry_after=retry_after(response, now),
                rate_limit_wait=self.rate_limit_wait,
            ),
            platform=PLATFORM,
            what=what,
        )
