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

Requests, tokens and the error table live in publishers/youtube_api.py (YouTubeApi): a 401
refreshes the token once and resends, quota reasons wait for the quota day, throttling and 5xx
are transient, invalid metadata is a ContentError.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from postpilot.errors import ConfigError
from postpilot.jobs import Job, utcnow
from postpilot.publishers.base import Account, Checkpoint, Published, Reconciled, ReconcileResult
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.errors import NetworkError, OutcomeUnknown, PublishError, TransientError
from postpilot.publishers.http import HttpClient, Response
from postpilot.publishers.video import VideoInfo, VideoLimits, preflight
from postpilot.publishers.youtube_api import (
    TOKEN_URL,
    YouTubeApi,
    derive_description,
    derive_title,
    range_offset,
)

# derive_title and derive_description moved to youtube_api.py; this path keeps working.
__all__ = ["FINAL_SENT", "SESSION_URI", "YouTubePublisher", "derive_description", "derive_title"]

log = logging.getLogger("postpilot.publishers.youtube")

GRANULE = 256 * 1024
DEFAULT_CHUNK = 8 * 1024 * 1024
#: YouTube's documented maximum file size.
MAX_BYTES = 256 * 1024**3
PRIVACY = frozenset({"public", "private", "unlisted"})

#: Checkpoint keys.
SESSION_URI = "session_uri"
SIZE = "size"
FINAL_SENT = "final_sent"


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
        self.api = YouTubeApi(
            credentials=credentials,
            client=self.client,
            token_url=token_url,
            upload_base=self.upload_base,
        )

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
        creds = self.api.token(account)
        expires = creds.expires_at.isoformat() if creds.expires_at else "unknown"
        return f"token usable (expires {expires})"

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
        return self.api.initiate(account, resource, info.size, info.mime_type)

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
                    response, creds = self.api.put_chunk(
                        account,
                        upload.session_uri,
                        upload.info.mime_type,
                        handle,
                        (offset, end, size),
                    )
                except NetworkError as exc:
                    offset_or_done = self._recover(upload, account, exc)
                else:
                    status = response.status_code
                    if status in (200, 201):
                        return self.api.published(response, creds)
                    if status == 308:
                        offset = range_offset(response)
                        self._new_location(upload, response)
                        continue
                    if status in (404, 410):
                        raise self._session_gone(upload)
                    error = self.api.error(response, creds, "upload")
                    if not isinstance(error, TransientError):
                        raise error
                    offset_or_done = self._recover(upload, account, error)
                if isinstance(offset_or_done, Published):
                    return offset_or_done
                offset = offset_or_done

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
        response, creds = self.api.probe(account, upload.session_uri, size)
        status = response.status_code
        if status in (200, 201):
            return self.api.published(response, creds)
        if status == 308:
            self._new_location(upload, response)
            return range_offset(response)
        if status in (404, 410):
            raise _SessionGone
        raise self.api.error(response, creds, "upload status check")

    def _new_location(self, upload: _Upload, response: Response) -> None:
        location = response.headers.get("location")
        if location and location != upload.session_uri:
            upload.session_uri = str(location)
            data = {SESSION_URI: upload.session_uri, SIZE: str(upload.info.size)}
            if upload.final_sent:
                data[FINAL_SENT] = "1"
            upload.checkpoint.save(data)

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
