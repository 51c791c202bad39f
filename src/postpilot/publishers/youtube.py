"""YouTube channel: YouTube Data API v3 `videos.insert` with the resumable upload protocol.

    preflight (no quota spent on a broken file)
    -> fresh access token (refreshed ahead of expiry, under the credentials file lock)
    -> POST initiate -> session URI -> checkpoint.save(session_uri, size)  BEFORE any byte
    -> checkpoint.start_publish()
    -> PUT chunks (multiples of 256 KiB, streamed from disk); 308 + Range drives the offset
    -> 200/201 + video resource -> Published(id, https://youtu.be/<id>)

Resuming. A saved session is probed first (`Content-Range: bytes */N`): 200/201 means the
video already exists (a lost final answer, or a worker killed after the last byte), 308 gives
the offset to continue from. Within one publish, 5xx answers and dropped connections are
resumed through the probe a bounded number of times, then the job is retried later with the
same session (its checkpoint keeps the URI).

When a session is gone (404/410) a new one may only be started when nothing can have been
created: YouTube creates the video when the last byte arrives, so the checkpoint records
`final_sent` just before the PUT carrying the last byte. Without it, the video provably does not
exist and a new session starts; with it, the outcome is unknown (OutcomeUnknown / reconcile
UNKNOWN) and an operator must look at the channel. The same flag decides whether a publish that
ran out of resumes is merely transient (last byte never sent) or unconfirmed.

Errors: 401 -> one token refresh, then AuthError; 403 quotaExceeded and uploadLimitExceeded ->
RateLimited(account_wide) until the next quota day (midnight America/Los_Angeles); 403
(user)rateLimitExceeded, 429, 5xx -> transient; 400 invalid metadata -> ContentError; other 4xx
-> PermanentError, always with the platform's error body (secrets removed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postpilot.credentials import AccountCredentials, CredentialStore, needs_refresh, secrets_of
from postpilot.errors import ConfigError, CredentialsError
from postpilot.jobs import Job, next_local_midnight, utcnow
from postpilot.publishers.base import Account, Checkpoint, Published, Reconciled, ReconcileResult
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
    NetworkError,
    Response,
    file_chunks,
    redact,
    response_json,
    response_text,
    retry_after,
)
from postpilot.publishers.oauth import TokenSession, send_renewing
from postpilot.video import VideoInfo, VideoLimits, preflight

log = logging.getLogger("postpilot.publishers.youtube")

#: Google's OAuth token endpoint (a URL, not a secret).
TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105
GRANULE = 256 * 1024
DEFAULT_CHUNK = 8 * 1024 * 1024
TITLE_LIMIT = 100
DESCRIPTION_BYTES = 5000
QUOTA_TIMEZONE = "America/Los_Angeles"
#: YouTube's documented maximum file size.
MAX_BYTES = 256 * 1024**3
#: Error reasons meaning "this channel/project cannot upload until the quota day resets".
QUOTA_REASONS = frozenset({"quotaExceeded", "uploadLimitExceeded", "dailyLimitExceeded"})
#: Reasons that are throttling: back off and retry.
THROTTLE_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})
PRIVACY = frozenset({"public", "private", "unlisted"})

_CREDS_HINT = "add the account's tokens to credentials.json (see docs/publishers.md)"

#: Checkpoint keys.
SESSION_URI = "session_uri"
SIZE = "size"
FINAL_SENT = "final_sent"


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


class _SessionGone(Exception):
    """The session URI answered 404/410."""


@dataclass
class _Upload:
    """State of one publish's upload (what the loop needs besides the checkpoint)."""

    job: Job
    info: VideoInfo
    session_uri: str
    checkpoint: Checkpoint
    #: Whether the PUT carrying the last byte was ever started for this session.
    final_sent: bool = False
    resumes: int = 0


class YouTubePublisher:
    """Publishes through the YouTube Data API (see the module docstring)."""

    name = "youtube"

    def __init__(
        self,
        *,
        credentials: CredentialStore,
        api_base: str = "https://www.googleapis.com",
        upload_base: str = "https://www.googleapis.com/upload",
        token_url: str = TOKEN_URL,
        privacy_status: str = "private",
        category_id: str = "22",
        made_for_kids: bool | None = None,
        chunk_size: int = DEFAULT_CHUNK,
        timeout: float = 60.0,
        limits: VideoLimits | None = None,
        max_resumes: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        client: HttpClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if chunk_size <= 0 or chunk_size % GRANULE:
            raise ConfigError(
                f"youtube chunk_size must be a positive multiple of {GRANULE} (256 KiB), "
                f"got {chunk_size}"
            )
        if privacy_status not in PRIVACY:
            raise ConfigError(
                f"youtube privacy_status must be one of {', '.join(sorted(PRIVACY))}, "
                f"got {privacy_status!r}"
            )
        self.credentials = credentials
        self.api_base = api_base.rstrip("/")
        self.upload_base = upload_base.rstrip("/")
        self.token_url = token_url
        self.privacy_status = privacy_status
        self.category_id = category_id
        self.made_for_kids = made_for_kids
        self.chunk_size = chunk_size
        self.limits = limits or VideoLimits(max_bytes=MAX_BYTES)
        self.max_resumes = max_resumes
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.client = client or HttpClient(timeout=timeout)
        self._sleep = sleep
        self._creds: dict[str, AccountCredentials] = {}

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> YouTubePublisher:
        """Build from campaign.json's publisher block (every base URL overridable)."""
        known = {
            "type",
            "api_base",
            "upload_base",
            "token_url",
            "privacy_status",
            "category_id",
            "made_for_kids",
            "chunk_size",
            "timeout",
            "max_resumes",
            "backoff_seconds",
            "max_duration_seconds",
            "credentials",
        }
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(f"unknown youtube publisher key(s): {', '.join(unknown)}")
        defaults: dict[str, Any] = {}
        try:
            for key, kind in (
                ("api_base", str),
                ("upload_base", str),
                ("token_url", str),
                ("privacy_status", str),
                ("category_id", str),
            ):
                if key in block:
                    defaults[key] = kind(block[key])
            for key in ("chunk_size", "max_resumes"):
                if key in block:
                    defaults[key] = int(block[key])
            for key in ("timeout", "backoff_seconds"):
                if key in block:
                    defaults[key] = float(block[key])
            if "made_for_kids" in block:
                defaults["made_for_kids"] = bool(block["made_for_kids"])
            limits = VideoLimits(
                max_bytes=MAX_BYTES,
                max_duration_seconds=(
                    float(block["max_duration_seconds"])
                    if "max_duration_seconds" in block
                    else None
                ),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid youtube publisher setting: {exc}") from None
        if "credentials" in block:
            store = CredentialStore(project_root / str(block["credentials"]))
        else:
            store = CredentialStore.for_project(project_root)
        return cls(credentials=store, limits=limits, **defaults)

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- tokens ----------------------------------------------------------------------------

    def check_account(self, account: str) -> str:
        """--check --online: the account's token, refreshed when due (no quota spent)."""
        creds = self._token(account)
        expires = creds.expires_at.isoformat() if creds.expires_at else "unknown"
        return f"token usable (expires {expires})"

    def _token(self, account: str, rejected: str | None = None) -> AccountCredentials:
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

    def _headers(self, creds: AccountCredentials, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {creds.access_token}", **extra}

    def _authorized(
        self, account: str, send: Callable[[AccountCredentials], Response]
    ) -> tuple[Response, AccountCredentials]:
        """Send with the account's token; on 401 refresh once and resend; 401 again is AuthError."""
        session = TokenSession(account, self._token(account))
        response = send_renewing(
            session,
            send,
            token_rejected=lambda answer: answer.status_code == 401,
            renew=lambda rejected: self._token(account, rejected=rejected.token),
        )
        if response.status_code == 401:
            raise AuthError(
                f"YouTube refused the access token of account {account!r} after a refresh",
                raw=response_text(response, session.secrets),
                hint="re-authorize the account (scope youtube.upload) and update credentials.json",
            )
        return response, session.creds

    # -- errors ----------------------------------------------------------------------------

    def _error(self, response: Response, creds: AccountCredentials, what: str) -> PublishError:
        """The typed error for a non-success YouTube answer."""
        status = response.status_code
        body = response_json(response)
        reason, message = _reason(body)
        raw = response_text(response, secrets_of(creds))
        text = redact(
            f"YouTube {what} for account {creds.account!r} failed: HTTP {status}"
            + (f" {reason}" if reason else "")
            + (f" ({message})" if message else ""),
            secrets_of(creds),
        )
        now = utcnow()
        if reason in QUOTA_REASONS:
            return RateLimited(
                text,
                account_wide=True,
                raw=raw,
                retry_at=next_local_midnight(now, QUOTA_TIMEZONE),
                error_type="quota_exceeded" if reason != "uploadLimitExceeded" else "upload_limit",
                hint="the YouTube quota or the channel's upload cap is used up; "
                "the account's jobs wait for the quota day (midnight Pacific time)",
            )
        if status == 429 or reason in THROTTLE_REASONS or status == 408 or status >= 500:
            return TransientError(
                text, raw=raw, retry_at=retry_after(response, now), hint="retried later"
            )
        if status == 401:
            return AuthError(text, raw=raw, hint="re-authorize the account")
        if status == 403:
            return PermanentError(
                text,
                raw=raw,
                error_type="forbidden",
                hint="the account or API project may not upload; check the channel and the "
                "project's YouTube Data API access",
            )
        if status == 400 and (reason.startswith("invalid") or reason == "mediaBodyRequired"):
            return ContentError(text, raw=raw, error_type=reason or "content_rejected")
        return PermanentError(text, raw=raw)

    # -- publish ---------------------------------------------------------------------------

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Upload the job's video, resuming the checkpoint's session when there is one."""
        info = preflight(Path(job.video_path), self.limits)
        saved = checkpoint.data
        session_uri = saved.get(SESSION_URI, "")
        if session_uri:
            upload = _Upload(
                job, info, session_uri, checkpoint, final_sent=saved.get(FINAL_SENT) == "1"
            )
            try:
                outcome = self._probe_with_retries(upload, account.name, int(saved.get(SIZE, 0)))
            except _SessionGone:
                self._abandon_gone_session(upload)
                outcome = None
            if isinstance(outcome, Published):
                return outcome
            if outcome is not None and str(info.size) == saved.get(SIZE):
                checkpoint.start_publish()
                log.info("job %s: resuming YouTube session at byte %d", job.job_id, outcome)
                return self._upload(upload, account.name, outcome)
            if outcome is not None:
                log.warning("job %s: the video changed size; starting a new session", job.job_id)
        session_uri = self._initiate(job, account.name, info)
        checkpoint.save({SESSION_URI: session_uri, SIZE: str(info.size)})
        checkpoint.start_publish()
        return self._upload(_Upload(job, info, session_uri, checkpoint), account.name, 0)

    def _abandon_gone_session(self, upload: _Upload) -> None:
        if upload.final_sent:
            raise OutcomeUnknown(
                f"the YouTube upload session of job {upload.job.job_id} expired after its last "
                "byte was sent: the video may exist",
                hint="check the channel's uploads; then mark the job done or retry it",
            )
        log.warning(
            "job %s: upload session expired before the last byte; starting a new one",
            upload.job.job_id,
        )

    def _initiate(self, job: Job, account: str, info: VideoInfo) -> str:
        resource: dict[str, Any] = {
            "snippet": {
                "title": derive_title(job.caption, Path(job.video_path).stem),
                "description": derive_description(job.caption),
                "categoryId": self.category_id,
            },
            "status": {"privacyStatus": self.privacy_status},
        }
        if self.made_for_kids is not None:
            resource["status"]["selfDeclaredMadeForKids"] = self.made_for_kids
        url = f"{self.upload_base}/youtube/v3/videos"
        params = {"uploadType": "resumable", "part": "snippet,status"}

        def send(creds: AccountCredentials) -> Response:
            headers = self._headers(
                creds,
                **{
                    "X-Upload-Content-Length": str(info.size),
                    "X-Upload-Content-Type": info.mime_type,
                },
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
        raise self._error(response, creds, "upload initiation")

    def _upload(self, upload: _Upload, account: str, offset: int) -> Published:
        size = upload.info.size
        with open(upload.info.path, "rb") as handle:
            while True:
                end = min(offset + self.chunk_size, size)
                if end == size and not upload.final_sent:
                    upload.final_sent = True
                    upload.checkpoint.save(
                        {SESSION_URI: upload.session_uri, SIZE: str(size), FINAL_SENT: "1"}
                    )
                try:
                    response, creds = self._put_chunk(upload, account, handle, offset, end)
                except NetworkError as exc:
                    offset_or_done = self._recover(upload, account, exc)
                else:
                    status = response.status_code
                    if status in (200, 201):
                        return self._published(response, creds)
                    if status == 308:
                        offset = self._range_offset(response)
                        self._new_location(upload, response)
                        continue
                    if status in (404, 410):
                        raise self._session_gone(upload)
                    error = self._error(response, creds, "upload")
                    if not isinstance(error, TransientError):
                        raise error
                    offset_or_done = self._recover(upload, account, error)
                if isinstance(offset_or_done, Published):
                    return offset_or_done
                offset = offset_or_done

    def _put_chunk(
        self, upload: _Upload, account: str, handle: Any, offset: int, end: int
    ) -> tuple[Response, AccountCredentials]:
        size = upload.info.size
        headers = {
            "Content-Type": upload.info.mime_type,
            "Content-Range": f"bytes {offset}-{end - 1}/{size}",
        }

        def send(creds: AccountCredentials) -> Response:
            return self.client.upload(
                "PUT",
                upload.session_uri,
                file_chunks(handle, offset, end - offset),
                end - offset,
                headers=self._headers(creds, **headers),
                secrets=secrets_of(creds),
            )

        return self._authorized(account, send)

    def _recover(self, upload: _Upload, account: str, cause: PublishError) -> int | Published:
        """After a failed chunk: wait, probe, and return where to continue (or the video).
        Once the last byte was sent, any failure to learn the outcome is OutcomeUnknown."""
        try:
            return self._probe_until_known(upload, account, cause)
        except OutcomeUnknown:
            raise
        except PublishError as exc:
            if not upload.final_sent:
                raise
            raise OutcomeUnknown(
                f"YouTube upload of job {upload.job.job_id}: the last byte was sent and the "
                f"session's state could not be read: {exc}",
                raw=exc.raw,
                hint="the video may exist; reconcile probes the session before anything else",
            ) from None

    def _probe_until_known(
        self, upload: _Upload, account: str, cause: PublishError
    ) -> int | Published:
        while True:
            upload.resumes += 1
            if upload.resumes > self.max_resumes:
                raise self._gave_up(upload, cause)
            self._backoff(upload.resumes, cause.retry_at)
            try:
                return self._probe(upload, account, upload.info.size)
            except _SessionGone:
                raise self._session_gone(upload) from None
            except TransientError as exc:
                cause = exc

    def _session_gone(self, upload: _Upload) -> PublishError:
        """The session vanished mid-publish: unknown after the last byte, else retry anew."""
        self._abandon_gone_session(upload)
        return TransientError(
            f"the YouTube upload session of job {upload.job.job_id} expired before the last "
            "byte; a new session starts on the next attempt",
            hint="retried with a new session",
        )

    def _gave_up(self, upload: _Upload, cause: PublishError) -> PublishError:
        message = (
            f"YouTube upload of job {upload.job.job_id} did not complete after "
            f"{self.max_resumes} resumes: {cause}"
        )
        if upload.final_sent:
            return OutcomeUnknown(
                message,
                raw=cause.raw,
                hint="the last byte was sent but no answer came back; reconcile probes the "
                "session before anything is retried",
            )
        return TransientError(
            message,
            raw=cause.raw,
            retry_at=cause.retry_at,
            hint="the upload resumes from the same session on the next attempt",
        )

    def _backoff(self, attempt: int, not_before: datetime | None) -> None:
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        if not_before is not None:
            wait = (not_before - utcnow()).total_seconds()
            if wait > self.max_backoff_seconds:
                raise TransientError(
                    "YouTube asked to wait longer than this publish may", retry_at=not_before
                )
            delay = max(delay, wait)
        if delay > 0:
            self._sleep(delay)

    def _probe_with_retries(self, upload: _Upload, account: str, size: int) -> int | Published:
        while True:
            try:
                return self._probe(upload, account, size)
            except TransientError as exc:
                upload.resumes += 1
                if upload.resumes > self.max_resumes:
                    raise self._gave_up(upload, exc) from None
                self._backoff(upload.resumes, exc.retry_at)

    def _probe(self, upload: _Upload, account: str, size: int) -> int | Published:
        """Ask the session how much it has: an offset, or the finished video."""

        def send(creds: AccountCredentials) -> Response:
            return self.client.request(
                "PUT",
                upload.session_uri,
                headers=self._headers(
                    creds, **{"Content-Range": f"bytes */{size}", "Content-Length": "0"}
                ),
                secrets=secrets_of(creds),
            )

        response, creds = self._authorized(account, send)
        status = response.status_code
        if status in (200, 201):
            return self._published(response, creds)
        if status == 308:
            self._new_location(upload, response)
            return self._range_offset(response)
        if status in (404, 410):
            raise _SessionGone
        raise self._error(response, creds, "upload status check")

    @staticmethod
    def _range_offset(response: Response) -> int:
        """The next byte to send from a 308's Range (`bytes=0-LAST`); 0 when absent."""
        raw = response.headers.get("range", "")
        _, _, last = raw.partition("-")
        try:
            return int(last) + 1 if raw else 0
        except ValueError:
            raise TransientError(f"YouTube sent an unreadable Range header {raw!r}") from None

    def _new_location(self, upload: _Upload, response: Response) -> None:
        location = response.headers.get("location")
        if location and location != upload.session_uri:
            upload.session_uri = str(location)
            data = {SESSION_URI: upload.session_uri, SIZE: str(upload.info.size)}
            if upload.final_sent:
                data[FINAL_SENT] = "1"
            upload.checkpoint.save(data)

    def _published(self, response: Response, creds: AccountCredentials) -> Published:
        video_id = response_json(response).get("id")
        if not isinstance(video_id, str) or not video_id:
            raise OutcomeUnknown(
                "YouTube finished the upload but its answer has no video id",
                raw=response_text(response, secrets_of(creds)),
                hint="check the channel's uploads",
            )
        return Published(remote_id=video_id, url=f"https://youtu.be/{video_id}")

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Probe the saved session: finished -> POSTED; incomplete (308) -> NOT_POSTED; gone ->
        NOT_POSTED when the last byte was never sent, else UNKNOWN."""
        session_uri = checkpoint.get(SESSION_URI, "")
        if not session_uri:
            # The session is saved before the first byte: without one nothing was uploaded.
            return Reconciled(ReconcileResult.NOT_POSTED)
        upload = _Upload(
            job,
            VideoInfo(Path(job.video_path), int(checkpoint.get(SIZE, 0)), None, ""),
            session_uri,
            _NoCheckpoint(),
            final_sent=checkpoint.get(FINAL_SENT) == "1",
        )
        try:
            outcome = self._probe(upload, job.account, upload.info.size)
        except _SessionGone:
            if upload.final_sent:
                return Reconciled(ReconcileResult.UNKNOWN)
            return Reconciled(ReconcileResult.NOT_POSTED)
        except PublishError as exc:
            log.warning("reconcile of job %s: %s", job.job_id, exc)
            return Reconciled(ReconcileResult.UNKNOWN)
        if isinstance(outcome, Published):
            return Reconciled(ReconcileResult.POSTED, outcome.remote_id, outcome.url)
        return Reconciled(ReconcileResult.NOT_POSTED)


class _NoCheckpoint:
    """Reconcile must not write: a session move seen while probing is simply not saved."""

    @property
    def data(self) -> Mapping[str, str]:
        return {}

    def save(self, data: Mapping[str, str]) -> None:
        """Ignored."""

    def start_publish(self) -> None:
        """Ignored."""
