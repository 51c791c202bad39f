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

Tokens: long-lived tokens (60 days) are refreshed ahead of expiry (`refresh_margin_days`) through
the Instagram Login refresh endpoint (`ig_refresh_token`) or Facebook Login's `fb_exchange_token`;
a token must be 24 h old to refresh and an expired token cannot be refreshed, so a failed early
refresh keeps the still-valid token. Error code 190 re-reads credentials.json once (another
process may have refreshed) and is otherwise an AuthError. Tokens travel only in headers
(`Authorization: Bearer` / `OAuth`), except the refresh call, whose URL is never logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from postpilot.credentials import AccountCredentials, CredentialStore, secrets_of
from postpilot.errors import ConfigError, CredentialsError
from postpilot.jobs import Job, utcnow
from postpilot.publishers.base import (
    Account,
    Checkpoint,
    Published,
    Reconciled,
    ReconcileResult,
)
from postpilot.publishers.block import number as _number
from postpilot.publishers.block import text as _text
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
from postpilot.publishers.instagram_errors import (
    AUTH_CODES,
    NOT_READY,
    ContainerGone,
    map_error,
    wants_new_container,
)
from postpilot.publishers.oauth import TokenSession, send_renewing
from postpilot.video import VideoInfo, VideoLimits, preflight

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


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


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

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> InstagramPublisher:
        """Build from campaign.json's `publisher` block (every key optional except as noted):
        api_base, upload_base, token_url, token_grant, mode ("upload" | "video_url"),
        video_url_base (needed by video_url), share_to_feed, poll_interval, poll_timeout,
        refresh_margin_days, rate_limit_wait_seconds, max_bytes, max_duration_seconds,
        min_duration_seconds, timeout."""
        share = block.get("share_to_feed", True)
        if not isinstance(share, bool):
            raise ConfigError(f"publisher.share_to_feed must be true or false, got {share!r}")
        token_url = block.get("token_url")
        if token_url is not None and not isinstance(token_url, str):
            raise ConfigError("publisher.token_url must be a URL (text)")
        grant = block.get("token_grant")
        if grant is not None and not isinstance(grant, str):
            raise ConfigError("publisher.token_grant must be text")
        limits = VideoLimits(
            max_bytes=_int_or_none(_number(block, "max_bytes", REELS_LIMITS.max_bytes)),
            max_duration_seconds=_number(
                block, "max_duration_seconds", REELS_LIMITS.max_duration_seconds
            ),
            min_duration_seconds=_number(
                block, "min_duration_seconds", REELS_LIMITS.min_duration_seconds
            ),
        )
        return cls(
            CredentialStore.for_project(project_root),
            api_base=_text(block, "api_base", DEFAULT_API_BASE),
            upload_base=_text(block, "upload_base", DEFAULT_UPLOAD_BASE),
            token_url=token_url,
            token_grant=grant,
            mode=_text(block, "mode", "upload"),
            video_url_base=str(block.get("video_url_base") or ""),
            share_to_feed=share,
            poll_interval=_number(block, "poll_interval", 10.0) or 0.0,
            poll_timeout=_number(block, "poll_timeout", 300.0) or 0.0,
            refresh_margin=timedelta(days=_number(block, "refresh_margin_days", 7) or 0),
            rate_limit_wait=timedelta(seconds=_number(block, "rate_limit_wait_seconds", 300) or 0),
            limits=limits,
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
        session = self._session(account.name)
        ig_user = self._ig_user(session)
        data = dict(checkpoint.data)
        container = data.get(CONTAINER_KEY, "")
        state = ""
        if container:
            state, status = self._status(session, container)
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
        self._check_quota(session, ig_user)
        if not container:
            container, uri = self._create(session, ig_user, job)
            # Saved before any byte goes out: a crash from here resumes this container.
            data = {CONTAINER_KEY: container, UPLOAD_URI_KEY: uri}
            checkpoint.save(data)
        uploaded = self.mode == "video_url" or data.get(UPLOADED_KEY) == "1" or state == FINISHED
        if not uploaded:
            self._upload(session, container, data.get(UPLOAD_URI_KEY, ""), video)
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
        return Published(media_id, self._permalink(session, media_id))

    def _media_publish(self, session: TokenSession, ig_user: str, container: str) -> str:
        try:
            body = self._graph(
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
                exc.retry_at = self._quota_reset(session, ig_user, None, None)
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
            state, _status = self._status(session, container)
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
        session = self._session(account)
        self._check_quota(session, self._ig_user(session))
        return "content_publishing_limit ok"

    def _ig_user(self, session: TokenSession) -> str:
        ig_user = session.creds.platform_id("ig_user_id")
        if not ig_user:
            raise AuthError(
                f"credentials for account {session.account!r} have no ig_user_id",
                hint="add the Instagram professional account id as ig_user_id in credentials.json",
            )
        return ig_user

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
        body = self._graph(session, "POST", f"/{ig_user}/media", form=form, what="create container")
        container = str(body.get("id") or "")
        if not container:
            raise TransientError(
                "instagram created no container id",
                raw=redact(json.dumps(body)[:500], session.secrets),
            )
        return container, str(body.get("uri") or "")

    def _upload(self, session: TokenSession, container: str, uri: str, video: VideoInfo) -> None:
        """Send the whole file to the rupload host from offset 0 (the documented restart)."""
        url = uri or f"{self.upload_base}/ig-api-upload/{self.version}/{container}"
        headers = {
            "authorization": f"OAuth {session.creds.access_token}",
            "offset": "0",
            "file_size": str(video.size),
            "content-type": "application/octet-stream",
        }
        with open(video.path, "rb") as handle:
            response = self.client.upload(
                "POST",
                url,
                file_chunks(handle, 0, video.size),
                video.size,
                headers=headers,
                secrets=session.secrets,
            )
        body = response_json(response)
        if 200 <= response.status_code < 300 and body.get("success") is True:
            return
        if isinstance(body.get("error"), dict):
            raise self._map_error(response, body, session, "upload")
        debug = body.get("debug_info") if isinstance(body.get("debug_info"), dict) else {}
        raw = response_text(response, session.secrets)
        if response.status_code >= 500 or (debug or {}).get("retriable") is True:
            raise TransientError(
                f"instagram upload failed with HTTP {response.status_code}",
                raw=raw,
                retry_at=retry_after(response, utcnow()),
                hint="the upload restarts next attempt",
            )
        if response.status_code == 401:
            raise AuthError(
                "instagram upload refused the token",
                raw=raw,
                hint="re-authorize the account and update credentials.json",
            )
        raise TransientError(
            f"instagram upload was refused with HTTP {response.status_code}",
            raw=raw,
            hint="the upload restarts from the beginning next attempt",
        )

    def _status(self, session: TokenSession, container: str) -> tuple[str, str]:
        body = self._graph(
            session,
            "GET",
            f"/{container}",
            params={"fields": "status_code,status"},
            what="container status",
        )
        return str(body.get("status_code") or ""), str(body.get("status") or "")

    def _wait_finished(self, session: TokenSession, container: str, checkpoint: Checkpoint) -> str:
        """Poll until FINISHED (or PUBLISHED); ERROR/EXPIRED/timeout raise."""
        deadline = time.monotonic() + self.poll_timeout
        while True:
            state, status = self._status(session, container)
            if state in (FINISHED, PUBLISHED):
                return state
            if state == EXPIRED or (state == ERROR and wants_new_container(status)):
                checkpoint.save({})
                raise ContainerGone(
                    f"instagram container {container} is {state} ({redact(status)})",
                    hint="a new container is created on the next attempt",
                )
            if state == ERROR:
                raise self._container_error(status)
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"instagram container {container} still {state or 'unknown'} after "
                    f"{self.poll_timeout:g} s",
                    hint="Instagram is slow to process the video; the next attempt polls again",
                )
            time.sleep(self.poll_interval)

    @staticmethod
    def _container_error(status: str) -> ContentError:
        return ContentError(
            f"instagram could not process the video: {redact(status) or 'status ERROR'}",
            raw=redact(status),
            error_type="container_error",
            hint="check the video against Instagram's Reels specs (codec, size, duration)",
        )

    def _check_quota(self, session: TokenSession, ig_user: str) -> None:
        """The publishing limit first: an exhausted quota makes the account's jobs wait."""
        body = self._graph(
            session,
            "GET",
            f"/{ig_user}/content_publishing_limit",
            params={"fields": "quota_usage,config"},
            what="content_publishing_limit",
        )
        entries = body.get("data")
        entry = entries[0] if isinstance(entries, list) and entries else {}
        if not isinstance(entry, dict):
            return
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        usage = _int(entry.get("quota_usage"))
        total = _int((config or {}).get("quota_total"))
        duration = _int((config or {}).get("quota_duration")) or 86400
        if total and usage >= total:
            reset = self._quota_reset(session, ig_user, usage, duration)
            raise RateLimited(
                f"instagram publishing limit reached ({usage}/{total} posts in "
                f"{duration // 3600} h)",
                account_wide=True,
                error_type="publishing_limit",
                retry_at=reset,
                hint="the account's posts wait until its 24 h publishing window frees a slot",
            )

    def _quota_reset(
        self, session: TokenSession, ig_user: str, usage: int | None, duration: int | None
    ) -> datetime:
        """When the rolling window frees a slot: the oldest post in it plus the window; the
        whole window when the recent media cannot tell."""
        now = utcnow()
        window = timedelta(seconds=duration or 86400)
        try:
            items = self._recent(session, ig_user, now - window)
        except PublishError:
            return now + window
        stamps = sorted(t for t in (_parse_time(i.get("timestamp")) for i in items) if t)
        if not stamps or (usage is not None and len(stamps) < usage):
            return now + window
        return max(stamps[0] + window, now + timedelta(minutes=1))

    def _recent(self, session: TokenSession, ig_user: str, since: datetime) -> list[dict[str, Any]]:
        body = self._graph(
            session,
            "GET",
            f"/{ig_user}/media",
            params={
                "fields": "id,caption,timestamp,permalink,media_product_type",
                "since": str(int(since.timestamp())),
                "limit": "100",
            },
            what="recent media",
        )
        items = body.get("data")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    def _match_recent(self, session: TokenSession, ig_user: str, job: Job) -> dict[str, Any] | None:
        """The newest recent Reel with the job's caption, if the listing works."""
        try:
            items = self._recent(session, ig_user, utcnow() - timedelta(days=2))
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

    def _permalink(self, session: TokenSession, media_id: str) -> str:
        try:
            body = self._graph(
                session, "GET", f"/{media_id}", params={"fields": "permalink"}, what="permalink"
            )
        except PublishError as exc:
            # The post exists; a missing URL must not turn success into failure.
            log.warning("instagram media %s published; permalink unavailable: %s", media_id, exc)
            return ""
        return str(body.get("permalink") or "")

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Ask the container: PUBLISHED -> posted; any other state -> not posted (publishing
        needs FINISHED, then flips it); no container saved -> nothing can have been posted."""
        container = checkpoint.get(CONTAINER_KEY, "")
        if not container:
            return Reconciled(ReconcileResult.NOT_POSTED)
        try:
            session = self._session(job.account)
            state, _status = self._status(session, container)
            if state == PUBLISHED:
                found = self._found(session, self._ig_user(session), job, container)
                return Reconciled(ReconcileResult.POSTED, found.remote_id, found.url)
        except PublishError as exc:
            log.warning("instagram reconcile of %s failed: %s", job.job_id, exc)
            return Reconciled(ReconcileResult.UNKNOWN)
        if state in (IN_PROGRESS, FINISHED, ERROR, EXPIRED):
            return Reconciled(ReconcileResult.NOT_POSTED)
        return Reconciled(ReconcileResult.UNKNOWN)

    # -- tokens ----------------------------------------------------------------------------

    def _session(self, account: str) -> TokenSession:
        creds = self._load(account)
        if not creds.access_token:
            raise AuthError(
                f"credentials for account {account!r} have no access_token",
                hint="authorize the account and put its long-lived token in credentials.json",
            )
        now = utcnow()
        if creds.expires_at is not None and creds.expires_at <= now:
            raise AuthError(
                f"the instagram token of account {account!r} expired at "
                f"{creds.expires_at.isoformat()} and cannot be refreshed",
                hint="re-authorize the account and update credentials.json",
            )
        former = secrets_of(creds)
        if creds.expires_at is not None and creds.expires_at - now <= self.refresh_margin:
            try:
                creds = self._refresh(creds, now)
            except PublishError as exc:
                # Still valid: use it; the refresh is tried again on the next publish.
                log.warning("instagram token refresh for %r failed: %s", account, exc)
        return TokenSession(account, creds, former=former)

    def _load(self, account: str) -> AccountCredentials:
        try:
            return self.store.get(account)
        except CredentialsError as exc:
            raise AuthError(str(exc), hint="fix credentials.json for this account") from None

    def _refresh(self, creds: AccountCredentials, now: datetime) -> AccountCredentials:
        """Exchange the long-lived token for a new one and write it back (0600, atomic)."""
        if self.token_grant == "ig_refresh_token":  # noqa: S105 - a grant name, not a secret
            params = {"grant_type": "ig_refresh_token", "access_token": creds.access_token}
        else:
            params = {
                "grant_type": "fb_exchange_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "fb_exchange_token": creds.access_token,
            }
        secrets = secrets_of(creds)
        response = self.client.request("GET", self.token_url, params=params, secrets=secrets)
        body = response_json(response)
        token = body.get("access_token")
        if response.status_code >= 300 or not isinstance(token, str) or not token:
            raise self._map_error(
                response, body, TokenSession(creds.account, creds), "token refresh"
            )
        expires_in = _int(body.get("expires_in"))
        expires_at = now + timedelta(seconds=expires_in) if expires_in else None
        log.info("instagram token of %r refreshed", creds.account)
        return self.store.update_tokens(creds.account, token, expires_at)

    # -- HTTP and errors -------------------------------------------------------------------

    def _graph(
        self,
        session: TokenSession,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        what: str,
    ) -> dict[str, Any]:
        """One Graph call; on code 190 re-read credentials once (another process may have
        refreshed the token) and retry with the newer token."""

        def send(creds: AccountCredentials) -> Response:
            return self.client.request(
                method,
                f"{self.api_base}{path}",
                headers={"authorization": f"Bearer {creds.access_token}"},
                params=params,
                form=form,
                secrets=session.secrets,
            )

        def reload(rejected: TokenSession) -> AccountCredentials | None:
            stored = self._load(rejected.account)
            if stored.access_token and stored.access_token != rejected.token:
                return stored
            return None

        response = send_renewing(session, send, token_rejected=_token_rejected, renew=reload)
        body = response_json(response)
        if 200 <= response.status_code < 300 and "error" not in body:
            return body
        raise self._map_error(response, body, session, what)

    def _map_error(
        self, response: Response, body: Mapping[str, Any], session: TokenSession, what: str
    ) -> PublishError:
        return map_error(response, body, session.secrets, what, self.rate_limit_wait)


def _token_rejected(response: Response) -> bool:
    """A Graph error envelope whose code says the access token was refused."""
    error = response_json(response).get("error")
    return isinstance(error, dict) and _int(error.get("code")) in AUTH_CODES


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return when.astimezone(UTC)
