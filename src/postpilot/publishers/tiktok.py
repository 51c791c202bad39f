"""TikTok through the Content Posting API: Direct Post or upload-to-inbox.

    preflight -> (saved publish_id? resume from its status) -> creator_info (direct mode:
    privacy options, max duration) -> init (FILE_UPLOAD, chunk plan) -> checkpoint
    {publish_id, upload_url, ...} -> checkpoint.start_publish() -> PUT chunks (Content-Range,
    streamed) -> poll status/fetch until PUBLISH_COMPLETE (direct) | SEND_TO_USER_INBOX (inbox)

The post starts when the final chunk is accepted, so the publish_id is saved before the first
PUT and every later attempt asks its status first: uploaded and processing -> keep polling;
upload incomplete -> continue from `uploaded_bytes`; upload URL expired (1 h) -> a new init
(nothing was posted); FAILED -> the fail_reason decides. A final chunk whose answer is lost
raises OutcomeUnknown and reconcile settles it from the status.

Requests, tokens, the chunk plan and the error tables live in publishers/tiktok_api.py
(TikTokApi): tokens are refreshed ahead of expiry and once after `access_token_invalid`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from postpilot.errors import ConfigError
from postpilot.jobs import Job, utcnow
from postpilot.publishers.base import Account, Checkpoint, Published, Reconciled, ReconcileResult
from postpilot.publishers.block import flag, optional_text, video_limits
from postpilot.publishers.block import number as _number
from postpilot.publishers.block import text as _text
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.errors import (
    ContentError,
    NetworkError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    TransientError,
)
from postpilot.publishers.http import (
    HttpClient,
    Response,
    error_for_status,
    response_text,
    retry_after,
)
from postpilot.publishers.oauth import TokenSession
from postpilot.publishers.polling import poll_until
from postpilot.publishers.tiktok_api import (
    DEFAULT_API_BASE,
    DEFAULT_CHUNK,
    INIT_PATHS,
    MIB,
    PLATFORM,
    ChunkPlan,
    TikTokApi,
    chunk_plan,
    fail_reason_error,
    status_post_id,
)
from postpilot.publishers.video import VideoInfo, VideoLimits, preflight

# MIB, ChunkPlan and chunk_plan moved to tiktok_api.py; this path keeps working.
__all__ = ["MIB", "ChunkPlan", "TikTokPublisher", "chunk_plan"]

log = logging.getLogger(__name__)

#: Direct Post media limits: up to 4 GB; the upload endpoint takes at most 10 minutes.
TIKTOK_LIMITS = VideoLimits(max_bytes=4 * 1024 * MIB, max_duration_seconds=600)
MAX_TITLE_UTF16 = 2200
#: The upload URL lives one hour; past this age a resume starts a new init instead.
UPLOAD_URL_LIFE = timedelta(minutes=55)

DONE = {"direct": "PUBLISH_COMPLETE", "inbox": "SEND_TO_USER_INBOX"}
POSTED_STATUSES = frozenset(DONE.values())
#: The statuses that end a publish: posted, or FAILED (nothing was posted).
SETTLED = POSTED_STATUSES | {"FAILED"}
PROCESSING = frozenset({"PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD"})

KEYS = ("publish_id", "upload_url", "video_size", "chunk_size", "total_chunk_count", "created_at")


def _state(status: Mapping[str, Any]) -> str:
    """The `status` field of a status/fetch answer ("" without one)."""
    return str(status.get("status") or "")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TikTokPublisher:
    """Publishes videos to TikTok (see the module docstring)."""

    name = "tiktok"

    def __init__(
        self,
        store: CredentialStore,
        *,
        api_base: str = DEFAULT_API_BASE,
        token_url: str | None = None,
        mode: str = "direct",
        privacy_level: str = "SELF_ONLY",
        disable_comment: bool = False,
        disable_duet: bool = False,
        disable_stitch: bool = False,
        is_aigc: bool = False,
        chunk_size: int = DEFAULT_CHUNK,
        poll_interval: float = 5.0,
        poll_timeout: float = 600.0,
        rate_limit_wait: timedelta = timedelta(minutes=1),
        limits: VideoLimits = TIKTOK_LIMITS,
        client: HttpClient | None = None,
    ) -> None:
        if mode not in INIT_PATHS:
            raise ConfigError(f"publisher.mode must be 'direct' or 'inbox', got {mode!r}")
        self.store = store
        self.api_base = api_base.rstrip("/")
        self.token_url = token_url or f"{self.api_base}/v2/oauth/token/"
        self.mode = mode
        self.privacy_level = privacy_level
        self.interactions = {
            "disable_comment": disable_comment,
            "disable_duet": disable_duet,
            "disable_stitch": disable_stitch,
        }
        self.is_aigc = is_aigc
        self.chunk_size = chunk_size
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.rate_limit_wait = rate_limit_wait
        self.limits = limits
        self.client = client or HttpClient()
        self.api = TikTokApi(
            store=store,
            client=self.client,
            api_base=self.api_base,
            token_url=self.token_url,
            rate_limit_wait=rate_limit_wait,
        )

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> TikTokPublisher:
        """Build from campaign.json's `publisher` block: api_base, token_url, mode ("direct" |
        "inbox"), privacy_level (default SELF_ONLY), disable_comment/duet/stitch, is_aigc,
        chunk_size_mb, poll_interval, poll_timeout, rate_limit_wait_seconds, max_bytes,
        max_duration_seconds, min_duration_seconds, timeout."""
        flags = {
            key: flag(block, key, False)
            for key in ("disable_comment", "disable_duet", "disable_stitch", "is_aigc")
        }
        chunk_mb = _number(block, "chunk_size_mb", DEFAULT_CHUNK / MIB) or DEFAULT_CHUNK / MIB
        return cls(
            CredentialStore.for_project(project_root),
            api_base=_text(block, "api_base", DEFAULT_API_BASE),
            token_url=optional_text(block, "token_url", "a URL (text)"),
            mode=_text(block, "mode", "direct"),
            privacy_level=_text(block, "privacy_level", "SELF_ONLY"),
            chunk_size=int(chunk_mb * MIB),
            poll_interval=_number(block, "poll_interval", 5.0) or 0.0,
            poll_timeout=_number(block, "poll_timeout", 600.0) or 0.0,
            rate_limit_wait=timedelta(seconds=_number(block, "rate_limit_wait_seconds", 60) or 0),
            limits=video_limits(block, TIKTOK_LIMITS),
            client=HttpClient(timeout=_number(block, "timeout", 30.0) or 30.0),
            **flags,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- publish ---------------------------------------------------------------------------

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Publish `job`, resuming from a saved publish_id when there is one."""
        if self.mode == "direct" and _utf16_len(job.caption) > MAX_TITLE_UTF16:
            raise ContentError(
                f"caption is over TikTok's {MAX_TITLE_UTF16} UTF-16 characters",
                error_type="caption_too_long",
                hint="shorten the caption in captions.csv",
            )
        video = preflight(Path(job.video_path), self.limits)
        session = self.api.session(account.name)
        data = dict(checkpoint.data)
        if data.get("publish_id"):
            resumed = self._resume(session, job, video, data, checkpoint)
            if resumed is not None:
                return resumed
        username = self._check_creator(session, video) if self.mode == "direct" else ""
        plan = chunk_plan(video.size, self.chunk_size)
        publish_id, upload_url = self._init(session, job, plan)
        data = {
            "publish_id": publish_id,
            "upload_url": upload_url,
            "video_size": str(plan.video_size),
            "chunk_size": str(plan.chunk_size),
            "total_chunk_count": str(plan.count),
            "created_at": utcnow().isoformat(),
        }
        # Saved before the first byte: every later attempt asks this publish_id first.
        checkpoint.save(data)
        checkpoint.start_publish()
        self._upload(session, upload_url, video, plan, 0)
        return self._poll(session, publish_id, checkpoint, username)

    def _resume(
        self,
        session: TokenSession,
        job: Job,
        video: VideoInfo,
        data: Mapping[str, str],
        checkpoint: Checkpoint,
    ) -> Published | None:
        """Continue a saved publish; None when it is dead and a new init must start."""
        publish_id = data["publish_id"]
        status = self._fetch_status(session, publish_id)
        state = _state(status)
        if state in SETTLED:
            return self._settle(publish_id, status, checkpoint, "")
        uploaded = int(status.get("uploaded_bytes") or 0)
        plan = ChunkPlan(
            int(data.get("video_size") or video.size),
            int(data.get("chunk_size") or video.size),
            int(data.get("total_chunk_count") or 1),
        )
        if plan.video_size != video.size:
            log.warning("job %s: the video changed size since its upload began", job.job_id)
            checkpoint.save({})
            return None
        if uploaded >= plan.video_size or state == "PROCESSING_DOWNLOAD":
            log.info("job %s: resuming the status polling of %s", job.job_id, publish_id)
            return self._poll(session, publish_id, checkpoint, "")
        if _age(data.get("created_at", "")) > UPLOAD_URL_LIFE:
            log.info(
                "job %s: upload URL of %s expired; starting a new upload", job.job_id, publish_id
            )
            checkpoint.save({})
            return None
        # Chunks are accepted whole: resume at the chunk boundary the platform has.
        offset = (uploaded // plan.chunk_size) * plan.chunk_size if plan.count > 1 else 0
        log.info("job %s: resuming the upload of %s at byte %d", job.job_id, publish_id, offset)
        checkpoint.start_publish()
        try:
            self._upload(session, data["upload_url"], video, plan, offset // plan.chunk_size)
        except _UploadGone:
            checkpoint.save({})
            return None
        return self._poll(session, publish_id, checkpoint, "")

    # -- steps -----------------------------------------------------------------------------

    def check_account(self, account: str) -> str:
        """--check --online: creator_info for the account (no post, no quota)."""
        return self.api.check_account(account, self.privacy_level)

    def _check_creator(self, session: TokenSession, video: VideoInfo) -> str:
        """creator_info: the configured privacy must be offered and the video short enough."""
        data = self.api.creator_info(session)
        options = [str(o) for o in data.get("privacy_level_options") or []]
        if self.privacy_level not in options:
            raise PermanentError(
                f"privacy_level {self.privacy_level!r} is not offered for this account "
                f"(it offers: {', '.join(options) or 'nothing'})",
                error_type="privacy_level_not_offered",
                hint="set publisher.privacy_level to one of the offered options (unaudited "
                "apps can only post SELF_ONLY)",
            )
        max_seconds = data.get("max_video_post_duration_sec")
        if (
            isinstance(max_seconds, int | float)
            and video.duration_seconds is not None
            and video.duration_seconds > max_seconds
        ):
            raise ContentError(
                f"video {video.path} lasts {video.duration_seconds:.1f} s, over this creator's "
                f"limit of {max_seconds:g} s",
                error_type="video_too_long",
                hint="trim the video",
            )
        return str(data.get("creator_username") or "")

    def _init(self, session: TokenSession, job: Job, plan: ChunkPlan) -> tuple[str, str]:
        body: dict[str, Any] = {
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": plan.video_size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.count,
            }
        }
        if self.mode == "direct":
            body["post_info"] = {
                "title": job.caption,
                "privacy_level": self.privacy_level,
                **self.interactions,
                "is_aigc": self.is_aigc,
            }
        data = self.api.init(session, self.mode, body)
        publish_id, upload_url = (
            str(data.get("publish_id") or ""),
            str(data.get("upload_url") or ""),
        )
        if not publish_id or not upload_url:
            raise TransientError("tiktok init answered without publish_id/upload_url")
        return publish_id, upload_url

    def _upload(
        self, session: TokenSession, url: str, video: VideoInfo, plan: ChunkPlan, start: int
    ) -> None:
        """PUT chunks `start`.. in order, each streamed from disk."""
        with open(video.path, "rb") as handle:
            for index in range(start, plan.count):
                first, length = plan.span(index)
                final = index == plan.count - 1
                try:
                    response = self.api.put_chunk(
                        session, url, handle, (first, length, plan.video_size), video.mime_type
                    )
                except NetworkError as exc:
                    if final and exc.maybe_delivered:
                        raise OutcomeUnknown(
                            f"tiktok final chunk: the answer was lost ({exc})",
                            hint="the post may be going ahead; reconcile asks its status",
                        ) from None
                    # Before the final chunk nothing can be posted: resumed from the status.
                    raise TransientError(str(exc), error_type="network", hint=exc.hint) from None
                self._check_put(response, session, final)

    def _check_put(self, response: Response, session: TokenSession, final: bool) -> None:
        status = response.status_code
        if status == 201 or (status == 206 and not final) or (status == 200 and final):
            return
        raw = response_text(response, session.secrets)
        if status in (403, 404):
            raise _UploadGone(
                f"tiktok upload URL refused the chunk with HTTP {status} (expired or unknown)",
                raw=raw,
                hint="a new upload starts on the next attempt",
            )
        if status == 416 or (status == 206 and final):
            raise TransientError(
                f"tiktok upload is out of step with the platform (HTTP {status})",
                raw=raw,
                hint="the next attempt resumes from the platform's uploaded bytes",
            )
        error = error_for_status(
            status, raw, platform=PLATFORM, retry_at=retry_after(response, utcnow()), what="upload"
        )
        if final and status >= 500:
            # A server error on the chunk that starts the post does not say it did not start.
            raise OutcomeUnknown(
                str(error), raw=raw, hint="the post may be going ahead; reconcile asks its status"
            )
        raise error

    def _fetch_status(self, session: TokenSession, publish_id: str) -> dict[str, Any]:
        return self.api.status(session, publish_id)

    def _poll(
        self, session: TokenSession, publish_id: str, checkpoint: Checkpoint, username: str
    ) -> Published:
        """Wait for the outcome of an upload whose final chunk was accepted: the post is under
        way, so anything short of a final status is OutcomeUnknown (reconcile asks again)."""
        status = poll_until(
            lambda: self._status_under_way(session, publish_id),
            lambda answer: _state(answer) in SETTLED,
            interval=self.poll_interval,
            timeout=self.poll_timeout,
            timed_out=lambda answer: OutcomeUnknown(
                f"tiktok publish {publish_id} still {_state(answer) or 'unknown'} after "
                f"{self.poll_timeout:g} s",
                hint="TikTok is still processing or moderating; reconcile asks its status "
                "on the next run",
            ),
        )
        return self._settle(publish_id, status, checkpoint, username)

    def _status_under_way(self, session: TokenSession, publish_id: str) -> dict[str, Any]:
        """The status of a publish under way; one that cannot be read is OutcomeUnknown."""
        try:
            return self._fetch_status(session, publish_id)
        except PublishError as exc:
            raise OutcomeUnknown(
                f"tiktok publish {publish_id} is under way but its status could not be read: {exc}",
                raw=exc.raw,
                hint="reconcile asks its status on the next run",
            ) from None

    def _settle(
        self, publish_id: str, status: Mapping[str, Any], checkpoint: Checkpoint, username: str
    ) -> Published:
        """Published for a done status; the mapped error for FAILED (checkpoint cleared)."""
        state = _state(status)
        if state == "FAILED":
            checkpoint.save({})
            raise fail_reason_error(str(status.get("fail_reason") or "unknown"))
        if state != DONE[self.mode]:
            log.warning("tiktok publish %s ended %s in %s mode", publish_id, state, self.mode)
        found = status_post_id(status)
        url = f"https://www.tiktok.com/@{username}/video/{found}" if found and username else ""
        return Published(found or publish_id, url)

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """From the saved publish_id's status: done -> posted; FAILED or an upload that never
        completed -> not posted; still processing -> unknown."""
        publish_id = checkpoint.get("publish_id", "")
        if not publish_id:
            return Reconciled(ReconcileResult.NOT_POSTED)
        try:
            status = self._fetch_status(self.api.session(job.account), publish_id)
        except PublishError as exc:
            log.warning("tiktok reconcile of %s failed: %s", job.job_id, exc)
            return Reconciled(ReconcileResult.UNKNOWN)
        state = _state(status)
        if state in POSTED_STATUSES:
            return Reconciled(ReconcileResult.POSTED, status_post_id(status) or publish_id)
        if state == "FAILED":
            return Reconciled(ReconcileResult.NOT_POSTED)
        size = int(checkpoint.get("video_size") or 0)
        uploaded = int(status.get("uploaded_bytes") or 0)
        if state == "PROCESSING_UPLOAD" and size and uploaded < size:
            return Reconciled(ReconcileResult.NOT_POSTED)
        return Reconciled(ReconcileResult.UNKNOWN)


class _UploadGone(TransientError):
    """The upload URL expired or is unknown: the publish_id is dead, start a new init."""

    error_type = "upload_expired"


def _age(created_at: str) -> timedelta:
    try:
        created = datetime.fromisoformat(created_at)
    except ValueError:
        return timedelta.max
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return utcnow() - created
