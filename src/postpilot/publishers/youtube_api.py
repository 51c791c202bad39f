"""The YouTube Data API v3 client of the YouTube channel: tokens, the three requests of a
resumable upload (initiate, chunk, status probe) and the error table.

The upload flow (publishers/youtube.py) decides what to send and what an answer means for the
job; this module sends it with the account's token and turns refusals into typed errors.
Every request goes through `send_renewing` (publishers/oauth.py): a 401 refreshes the token
once and resends (the request was refused, nothing was stored), a second 401 is AuthError.

Errors: 403 quotaExceeded and uploadLimitExceeded -> RateLimited(account_wide) until the next
quota day (midnight America/Los_Angeles); 403 (user)rateLimitExceeded, 429, 5xx -> transient;
400 invalid metadata -> ContentError; other 4xx -> PermanentError, always with the platform's
error body (secrets removed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from postpilot.errors import CredentialsError
from postpilot.jobs import next_local_midnight, utcnow
from postpilot.publishers.base import Published
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.credentials import AccountCredentials, needs_refresh, secrets_of
from postpilot.publishers.error_rules import FROM_CODE, Answer, Rule, Wait, Waits, When, classify
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    OutcomeUnknown,
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

#: Google's OAuth token endpoint (a URL, not a secret).
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105
QUOTA_TIMEZONE = "America/Los_Angeles"
#: Error reasons meaning "this channel/project cannot upload until the quota day resets".
QUOTA_REASONS = frozenset({"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"})
#: Reasons that are throttling: back off and retry.
THROTTLE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})

TITLE_LIMIT = 100
DESCRIPTION_BYTES = 5000

_CREDS_HINT = "add the account's tokens to credentials.json (see docs/publishers.md)"
_QUOTA_HINT = (
    "the YouTube quota or the channel's upload cap is used up; "
    "the account's jobs wait for the quota day (midnight Pacific time)"
)

#: YouTube's refusals by HTTP status and Google error reason (the first matching rule wins).
ERRORS: tuple[Rule, ...] = (
    Rule(
        RateLimited,
        (When(codes=frozenset({"uploadLimitExceeded"})),),
        error_type="upload_limit",
        hint=_QUOTA_HINT,
        wait=Wait.QUOTA_DAY,
        account_wide=True,
    ),
    Rule(
        RateLimited,
        (When(codes=QUOTA_REASONS),),
        error_type="quota_exceeded",
        hint=_QUOTA_HINT,
        wait=Wait.QUOTA_DAY,
        account_wide=True,
    ),
    Rule(
        TransientError,
        (
            When(statuses=frozenset({408, 429})),
            When(codes=THROTTLE_REASONS),
            When(min_status=500),
        ),
        hint="retried later",
        wait=Wait.RETRY_AFTER,
    ),
    Rule(AuthError, (When(statuses=frozenset({401})),), hint="re-authorize the account"),
    Rule(
        PermanentError,
        (When(statuses=frozenset({403})),),
        error_type="forbidden",
        hint="the account or API project may not upload; check the channel and the "
        "project's YouTube Data API access",
    ),
    Rule(
        ContentError,
        (
            When(statuses=frozenset({400}), code_prefix="invalid"),
            When(statuses=frozenset({400}), codes=frozenset({"mediaBodyRequired"})),
        ),
        error_type=FROM_CODE,
    ),
    Rule(PermanentError),
)


def derive_title(caption: str, fallback: str) -> str:
    """The first non-empty caption line without `<`/`>`, within 100 characters."""
    for line in caption.splitlines():
        cleaned = " ".join(line.replace("<", "").replace(">", "").split())
        if cleaned:
            return _cut(cleaned, TITLE_LIMIT)
    cleaned = " ".join(fallback.replace("<", "").replace(">", "").split())
    return _cut(cleaned or "video", TITLE_LIMIT)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def derive_description(caption: str) -> str:
    """The caption without `<`/`>` (YouTube refuses them), cut to 5000 UTF-8 bytes."""
    text = caption.replace("<", "").replace(">", "").strip()
    data = text.encode("utf-8")
    if len(data) <= DESCRIPTION_BYTES:
        return text
    return data[:DESCRIPTION_BYTES].decode("utf-8", errors="ignore")


def _reason(body: Mapping[str, Any]) -> tuple[str, str]:
    """(reason, message) of a Google JSON error body."""
    error = body.get("error")
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    reason = ""
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason", ""))
    return reason, str(error.get("message", ""))


def range_offset(response: Response) -> int:
    """The next byte to send from a 308's Range (`bytes=0-LAST`); 0 when absent."""
    raw = response.headers.get("range", "")
    _, _, last = raw.partition("-")
    try:
        return int(last) + 1 if raw else 0
    except ValueError:
        raise TransientError(f"YouTube sent an unreadable Range header {raw!r}") from None


class YouTubeApi:
    """Authorized requests of one YouTube channel publisher (see the module docstring)."""

    def __init__(
        self, *, credentials: CredentialStore, client: HttpClient, token_url: str, upload_base: str
    ) -> None:
        self.credentials = credentials
        self.client = client
        self.token_url = token_url
        self.upload_base = upload_base
        self._creds: dict[str, AccountCredentials] = {}

    # -- tokens ----------------------------------------------------------------------------

    def token(self, account: str, rejected: str | None = None) -> AccountCredentials:
        """The account's credentials, refreshed when due or when `rejected` was refused."""
        cached = self._creds.get(account)
        usable = cached is not None and cached.access_token and not needs_refresh(cached, utcnow())
        if rejected is None and cached is not None and usable:
            return cached
        try:
            creds = self.credentials.fresh(
                account, self.client, self.token_url, rejected_token=rejected
            )
        except CredentialsError as exc:
            # Missing or unusable credentials block the account, like a refused token.
            raise AuthError(str(exc), error_type="needs_reauth", hint=_CREDS_HINT) from None
        self._creds[account] = creds
        return creds

    @staticmethod
    def _headers(creds: AccountCredentials, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {creds.access_token}", **extra}

    def _authorized(
        self, account: str, send: Callable[[AccountCredentials], Response]
    ) -> tuple[Response, AccountCredentials]:
        """Send with the account's token; on 401 refresh once and resend; 401 again is AuthError."""
        session = TokenSession(account, self.token(account))
        response = send_renewing(
            session,
            send,
            token_rejected=lambda answer: answer.status_code == 401,
            renew=lambda rejected: self.token(account, rejected=rejected.token),
        )
        if response.status_code == 401:
            raise AuthError(
                f"YouTube refused the access token of account {account!r} after a refresh",
                raw=response_text(response, session.secrets),
                hint="re-authorize the account (scope youtube.upload) and update credentials.json",
            )
        return response, session.creds

    # -- requests --------------------------------------------------------------------------

    def initiate(self, account: str, resource: Mapping[str, Any], size: int, mime_type: str) -> str:
        """POST the video resource; the resumable session URI."""
        url = f"{self.upload_base}/youtube/v3/videos"
        params = {"uploadType": "resumable", "part": "snippet,status"}

        def send(creds: AccountCredentials) -> Response:
            headers = self._headers(
                creds,
                **{"X-Upload-Content-Length": str(size), "X-Upload-Content-Type": mime_type},
            )
            return self.client.request(
                "POST",
                url,
                params=params,
                headers=headers,
                json_body=resource,
                secrets=secrets_of(creds),
            )

        response, creds = self._authorized(account, send)
        location = response.headers.get("location", "")
        if response.status_code == 200 and location:
            return str(location)
        if response.status_code == 200:
            raise TransientError(
                "YouTube did not return an upload session URI", hint="retried later"
            )
        raise self.error(response, creds, "upload initiation")

    def put_chunk(
        self,
        account: str,
        session_uri: str,
        mime_type: str,
        handle: IO[bytes],
        span: tuple[int, int, int],
    ) -> tuple[Response, AccountCredentials]:
        """PUT bytes `offset`..`end` (span = offset, end, size) of `handle` to the session."""
        offset, end, size = span
        headers = {"Content-Type": mime_type, "Content-Range": f"bytes {offset}-{end - 1}/{size}"}

        def send(creds: AccountCredentials) -> Response:
            return self.client.upload(
                "PUT",
                session_uri,
                file_chunks(handle, offset, end - offset),
                end - offset,
                headers=self._headers(creds, **headers),
                secrets=secrets_of(creds),
            )

        return self._authorized(account, send)

    def probe(
        self, account: str, session_uri: str, size: int
    ) -> tuple[Response, AccountCredentials]:
        """Ask the session how much it has (`Content-Range: bytes */size`)."""

        def send(creds: AccountCredentials) -> Response:
            return self.client.request(
                "PUT",
                session_uri,
                headers=self._headers(
                    creds, **{"Content-Range": f"bytes */{size}", "Content-Length": "0"}
                ),
                secrets=secrets_of(creds),
            )

        return self._authorized(account, send)

    # -- answers ---------------------------------------------------------------------------

    @staticmethod
    def published(response: Response, creds: AccountCredentials) -> Published:
        """The Published of a finished upload's answer (OutcomeUnknown without a video id)."""
        video_id = response_json(response).get("id")
        if not isinstance(video_id, str) or not video_id:
            raise OutcomeUnknown(
                "YouTube finished the upload but its answer has no video id",
                raw=response_text(response, secrets_of(creds)),
                hint="check the channel's uploads",
            )
        return Published(remote_id=video_id, url=f"https://youtu.be/{video_id}")

    @staticmethod
    def error(response: Response, creds: AccountCredentials, what: str) -> PublishError:
        """The typed error for a non-success YouTube answer (see ERRORS)."""
        status = response.status_code
        reason, message = _reason(response_json(response))
        text = redact(
            f"YouTube {what} for account {creds.account!r} failed: HTTP {status}"
            + (f" {reason}" if reason else "")
            + (f" ({message})" if message else ""),
            secrets_of(creds),
        )
        now = utcnow()
        waits = Waits(
            now,
            retry_after=retry_after(response, now),
            quota_day=next_local_midnight(now, QUOTA_TIMEZONE),
        )
        return classify(
            ERRORS,
            Answer(status, reason),
            message=text,
            raw=response_text(response, secrets_of(creds)),
            waits=waits,
            platform="youtube",
            what=what,
        )
