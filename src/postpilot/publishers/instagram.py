"""Instagram Reels through the Instagram Graph API (content publishing).

    preflight -> container status (resume) -> content_publishing_limit -> POST /{ig_user}/media
    (media_type=REELS, upload_type=resumable | video_url) -> checkpoint {container_id}
    -> POST <rupload uri> (offset, file_size; streamed) -> poll status_code until FINISHED
    -> checkpoint.start_publish() -> POST /{ig_user}/media_publish -> media id (+ permalink)

A publish has no idempotency key, so the container id is the resume handle: it is saved before
any byte is uploaded, and a later attempt (or reconcile) first asks the container's status.
PUBLISHED means the post exists (never publish again); FINISHED resumes at media_publish;
EXPIRED (24 h) or a "make a new container" error clears the checkpoint so the next attempt
starts over. A media_publish whose answer is lost raises OutcomeUnknown: reconcile settles it.

Tokens, the Graph calls and the refresh-once rule for code 190 live in
publishers/instagram_api.py (InstagramApi); the error table in publishers/instagram_errors.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

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
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import HttpClient, redact
from postpilot.publishers.instagram_api import InstagramApi
from postpilot.publishers.instagram_errors import NOT_READY, ContainerGone, wants_new_container
from postpilot.publishers.oauth import TokenSession
from postpilot.publishers.polling import poll_until
from postpilot.publishers.video import VideoLimits, preflight

log = logging.getLogger(__name__)

PLATFORM = "instagram"
DEFAULT_API_BASE = "https://graph.facebook.com/v21.0"
DEFAULT_UPLOAD_BASE = "https://rupload.facebook.com"
IG_LOGIN_REFRESH_URL = "https://graph.instagram.com/refresh_access_token"
#: Meta's Reels limits (MP4/MOV, 3 s to 15 min, 300 MB); every one is overridable in config.
REELS_LIMITS = VideoLimits(
    max_bytes=300 * 1000 * 1000, max_duration_seconds=15 * 60, min_duration_seconds=3
)
MAX_CAPTION = 2200

#: Container status_code values (IG Container reference).
IN_PROGRESS, FINISHED, PUBLISHED, ERROR, EXPIRED = (
    "IN_PROGRESS",
    "FINISHED",
    "PUBLISHED",
    "ERROR",
    "EXPIRED",
)

CONTAINER_KEY = "container_id"
UPLOAD_URI_KEY = "upload_uri"
UPLOADED_KEY = "uploaded"


class InstagramPublisher:
    """Publishes Reels to Instagram professional accounts (see the module docstring)."""

    name = "instagram"

    def __init__(
        self,
        store: CredentialStore,
        *,
        api_base: str = DEFAULT_API_BASE,
        upload_base: str = DEFAULT_UPLOAD_BASE,
        token_url: str | None = None,
        token_grant: str | None = None,
        mode: str = "upload",
        video_url_base: str = "",
        share_to_feed: bool = True,
        poll_interval: float = 10.0,
        poll_timeout: float = 300.0,
        refresh_margin: timedelta = timedelta(days=7),
        rate_limit_wait: timedelta = timedelta(minutes=5),
        limits: VideoLimits = REELS_LIMITS,
        client: HttpClient | None = None,
    ) -> None:
        if mode not in ("upload", "video_url"):
            raise ConfigError(f"publisher.mode must be 'upload' or 'video_url', got {mode!r}")
        if mode == "video_url" and not video_url_base:
            raise ConfigError("publisher.mode 'video_url' needs publisher.video_url_base")
        self.store = store
        self.api_base = api_base.rstrip("/")
        self.version = urlsplit(self.api_base).path.rstrip("/").rsplit("/", 1)[-1] or "v21.0"
        self.upload_base = upload_base.rstrip("/")
        if token_url is None:
            instagram_login = "graph.instagram.com" in self.api_base
            token_url = (
                IG_LOGIN_REFRESH_URL if instagram_login else f"{self.api_base}/oauth/access_token"
            )
        self.token_url = token_url
        if token_grant is None:
            token_grant = (
                "ig_refresh_token"
                if token_url.endswith("refresh_access_token")
                else "fb_exchange_token"
            )
        if token_grant not in ("ig_refresh_token", "fb_exchange_token"):
            raise ConfigError(
                "publisher.token_grant must be 'ig_refresh_token' or 'fb_exchange_token'"
            )
        self.token_grant = token_grant
        self.mode = mode
        self.video_url_base = video_url_base.rstrip("/")
        self.share_to_feed = share_to_feed
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.refresh_margin = refresh_margin
        self.rate_limit_wait = rate_limit_wait
        self.limits = limits
        self.client = client or HttpClient()
        self.api = InstagramApi(
            store=store,
            client=self.client,
            api_base=self.api_base,
            upload_base=self.upload_base,
            token_url=token_url,
            token_grant=token_grant,
            refresh_margin=refresh_margin,
            rate_limit_wait=rate_limit_wait,
        )

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> InstagramPublisher:
        """Build from campaign.json's `publisher` block (every key optional except as noted):
        api_base, upload_base, token_url, token_grant, mode ("upload" | "video_url"),
        video_url_base (needed by video_url), share_to_feed, poll_interval, poll_timeout,
        refresh_margin_days, rate_limit_wait_seconds, max_bytes, max_duration_seconds,
        min_duration_seconds, timeout."""
        return cls(
            CredentialStore.for_project(project_root),
            api_base=_text(block, "api_base", DEFAULT_API_BASE),
            upload_base=_text(block, "upload_base", DEFAULT_UPLOAD_BASE),
            token_url=optional_text(block, "token_url", "a URL (text)"),
            token_grant=optional_text(block, "token_grant"),
            mode=_text(block, "mode", "upload"),
            video_url_base=str(block.get("video_url_base") or ""),
            share_to_feed=flag(block, "share_to_feed", True),
            poll_interval=_number(block, "poll_interval", 10.0) or 0.0,
            poll_timeout=_number(block, "poll_timeout", 300.0) or 0.0,
            refresh_margin=timedelta(days=_number(block, "refresh_margin_days", 7) or 0),
            rate_limit_wait=timedelta(seconds=_number(block, "rate_limit_wait_seconds", 300) or 0),
            limits=video_limits(block, REELS_LIMITS),
            client=HttpClient(timeout=_number(block, "timeout", 30.0) or 30.0),
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- publish ---------------------------------------------------------------------------

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Publish `job` as a Reel, resuming from the checkpoint's container when it has one."""
        if len(job.caption) > MAX_CAPTION:
            raise ContentError(
                f"caption is {len(job.caption)} characters, over Instagram's {MAX_CAPTION}",
                error_type="caption_too_long",
                hint="shorten the caption in captions.csv",
            )
        video = preflight(Path(job.video_path), self.limits)
        session = self.api.session(account.name)
        ig_user = self.api.ig_user(session)
        data = dict(checkpoint.data)
        container = data.get(CONTAINER_KEY, "")
        state = ""
        if container:
            state, status = self.api.status(session, container)
            if state == PUBLISHED:
                log.info("job %s: container %s is already published", job.job_id, container)
                return self._found(session, ig_user, job, container)
            if state == EXPIRED or (state == ERROR and wants_new_container(status)):
                log.info(
                    "job %s: container %s is %s; a new one is made", job.job_id, container, state
                )
                checkpoint.save({})
                data, container, state = {}, "", ""
            elif state == ERROR:
                raise self._container_error(status)
        self.api.check_quota(session, ig_user)
        if not container:
            container, uri = self._create(session, ig_user, job)
            # Saved before any byte goes out: a crash from here resumes this container.
            data = {CONTAINER_KEY: container, UPLOAD_URI_KEY: uri}
            checkpoint.save(data)
        uploaded = self.mode == "video_url" or data.get(UPLOADED_KEY) == "1" or state == FINISHED
        if not uploaded:
            self.api.upload(session, container, data.get(UPLOAD_URI_KEY, ""), video)
            data = {**data, UPLOADED_KEY: "1"}
            checkpoint.save(data)
        if self._wait_finished(session, container, checkpoint) == PUBLISHED:
            return self._found(session, ig_user, job, container)
        checkpoint.start_publish()
        try:
            media_id = self._media_publish(session, ig_user, container)
        except ContainerGone:
            # A refusal proves nothing by itself: only a container that is not PUBLISHED may
            # be replaced by a new one (which would be a second Reel otherwise).
            if self._published_after_refusal(session, container, unknown=True):
                return self._found(session, ig_user, job, container)
            checkpoint.save({})
            raise
        except (PermanentError, ContentError):
            # e.g. "the media has already been published": the Reel is live, not a failure.
            if self._published_after_refusal(session, container, unknown=False):
                return self._found(session, ig_user, job, container)
            raise
        log.info("job %s: published media %s", job.job_id, media_id)
        return Published(media_id, self.api.permalink(session, media_id))

    def _media_publish(self, session: TokenSession, ig_user: str, container: str) -> str:
        try:
            body = self.api.graph(
                session,
                "POST",
                f"/{ig_user}/media_publish",
                form={"creation_id": container},
                what="media_publish",
            )
        except NetworkError as exc:
            if not exc.maybe_delivered:
                raise
            raise OutcomeUnknown(
                f"instagram media_publish of container {container}: the answer was lost ({exc})",
                hint="the Reel may be live; reconcile checks the container's status",
            ) from None
        except RateLimited as exc:
            if exc.error_type == "publishing_limit":
                exc.retry_at = self.api.quota_reset(session, ig_user, None, None)
            raise
        except ContainerGone:
            raise
        except TransientError as exc:
            if exc.error_type == NOT_READY:
                raise
            # A server-side failure of media_publish does not prove the Reel is not live.
            raise OutcomeUnknown(
                f"instagram media_publish of container {container} failed on the server "
                f"side: {exc}",
                raw=exc.raw,
                hint="the Reel may be live; reconcile checks the container's status",
            ) from None
        media_id = str(body.get("id") or "")
        if not media_id:
            raise OutcomeUnknown(
                "instagram media_publish answered without a media id",
                raw=redact(json.dumps(body)[:500], session.secrets),
                hint="check the account; reconcile checks the container's status",
            )
        return media_id

    def _published_after_refusal(
        self, session: TokenSession, container: str, *, unknown: bool
    ) -> bool:
        """Whether the container of a refused media_publish is PUBLISHED after all. A status
        that cannot be read raises OutcomeUnknown when `unknown` (the caller would otherwise
        start a new container), else counts as not published (the refusal stands)."""
        try:
            state, _status = self.api.status(session, container)
        except PublishError as exc:
            if not unknown:
                return False
            raise OutcomeUnknown(
                f"instagram refused media_publish of container {container} and its status "
                f"could not be read: {exc}",
                raw=exc.raw,
                hint="the Reel may be live; reconcile checks the container's status",
            ) from None
        return state == PUBLISHED

    def _found(self, session: TokenSession, ig_user: str, job: Job, container: str) -> Published:
        """The Published of an already PUBLISHED container (media id from recent media)."""
        media = self._match_recent(session, ig_user, job)
        if media is None:
            return Published(container, "")
        return Published(str(media.get("id") or container), str(media.get("permalink") or ""))

    # -- steps -----------------------------------------------------------------------------

    def check_account(self, account: str) -> str:
        """--check --online: the account's content_publishing_limit (no post)."""
        session = self.api.session(account)
        self.api.check_quota(session, self.api.ig_user(session))
        return "content_publishing_limit ok"

    def _create(self, session: TokenSession, ig_user: str, job: Job) -> tuple[str, str]:
        form = {
            "media_type": "REELS",
            "caption": job.caption,
            "share_to_feed": "true" if self.share_to_feed else "false",
        }
        if self.mode == "video_url":
            form["video_url"] = f"{self.video_url_base}/{quote(Path(job.video_path).name)}"
        else:
            form["upload_type"] = "resumable"
        body = self.api.graph(
            session, "POST", f"/{ig_user}/media", form=form, what="create container"
        )
        container = str(body.get("id") or "")
        if not container:
            raise TransientError(
                "instagram created no container id",
                raw=redact(json.dumps(body)[:500], session.secrets),
            )
        return container, str(body.get("uri") or "")

    def _wait_finished(self, session: TokenSession, container: str, checkpoint: Checkpoint) -> str:
        """Poll until FINISHED (or PUBLISHED); ERROR/EXPIRED/timeout raise."""
        state, _status = poll_until(
            lambda: self._container_state(session, container, checkpoint),
            lambda answer: answer[0] in (FINISHED, PUBLISHED),
            interval=self.poll_interval,
            timeout=self.poll_timeout,
            timed_out=lambda answer: TransientError(
                f"instagram container {container} still {answer[0] or 'unknown'} after "
                f"{self.poll_timeout:g} s",
                hint="Instagram is slow to process the video; the next attempt polls again",
            ),
        )
        return state

    def _container_state(
        self, session: TokenSession, container: str, checkpoint: Checkpoint
    ) -> tuple[str, str]:
        """The container's (state, status text). EXPIRED, or an ERROR asking for a new
        container, clears the checkpoint and raises ContainerGone; another ERROR raises the
        container's ContentError."""
        state, status = self.api.status(session, container)
        if state == EXPIRED or (state == ERROR and wants_new_container(status)):
            checkpoint.save({})
            raise ContainerGone(
                f"instagram container {container} is {state} ({redact(status)})",
                hint="a new container is created on the next attempt",
            )
        if state == ERROR:
            raise self._container_error(status)
        return state, status

    @staticmethod
    def _container_error(status: str) -> ContentError:
        return ContentError(
            f"instagram could not process the video: {redact(status) or 'status ERROR'}",
            raw=redact(status),
            error_type="container_error",
            hint="check the video against Instagram's Reels specs (codec, size, duration)",
        )

    def _match_recent(self, session: TokenSession, ig_user: str, job: Job) -> dict[str, Any] | None:
        """The newest recent Reel with the job's caption, if the listing works."""
        try:
            items = self.api.recent(session, ig_user, utcnow() - timedelta(days=2))
        except PublishError as exc:
            log.warning("could not list recent instagram media: %s", exc)
            return None
        for item in items:
            if item.get("caption", "") == job.caption and item.get("media_product_type") in (
                None,
                "REELS",
            ):
                return item
        return None

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Ask the container: PUBLISHED -> posted; any other state -> not posted (publishing
        needs FINISHED, then flips it); no container saved -> nothing can have been posted."""
        container = checkpoint.get(CONTAINER_KEY, "")
        if not container:
            return Reconciled(ReconcileResult.NOT_POSTED)
        try:
            session = self.api.session(job.account)
            state, _status = self.api.status(session, container)
            if state == PUBLISHED:
                found = self._found(session, self.api.ig_user(session), job, container)
                return Reconciled(ReconcileResult.POSTED, found.remote_id, found.url)
        except PublishError as exc:
            log.warning("instagram reconcile of %s failed: %s", job.job_id, exc)
            return Reconciled(ReconcileResult.UNKNOWN)
        if state in (IN_PROGRESS, FINISHED, ERROR, EXPIRED):
            return Reconciled(ReconcileResult.NOT_POSTED)
        return Reconciled(ReconcileResult.UNKNOWN)
