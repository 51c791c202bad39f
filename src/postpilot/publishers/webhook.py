"""Webhook channel: POST each post to a URL the user controls, signed per Standard Webhooks.

    {"type": "webhook", "url": "https://...", "mode": "multipart" | "json",
     "video_url_base": "https://cdn.example/videos" (json mode), "secret_env": "ENV_NAME",
     "timeout": 30, "status_url": "https://.../status/{job_id}" (optional, for reconcile),
     "receiver_deduplicates": false}

Headers: `webhook-id` (the job id: stable across retries, so receivers dedupe on it),
`webhook-timestamp`, `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`
keyed with the base64-decoded `whsec_` secret) and `Idempotency-Key` (the job id as an RFC 8941
string, per draft-ietf-httpapi-idempotency-key-header). The secret comes from the env var named
by `secret_env`, else from credentials.json's top-level `webhook` key.

multipart mode streams the video as multipart/form-data (fields account, caption, job_id,
sha256, file). The signature covers the exact bytes sent (as the spec says), so the body must
be known before the headers go out, yet a video must never sit in memory. The body is
therefore a deterministic generator (fixed boundary, fixed field order) over the file on
disk: a first pass feeds it to the HMAC, a second pass sends it, with the Content-Length
computed up front. That reads the file twice (three times when the job has no sha256 yet)
and keeps memory flat; the cost is the extra read, and the timestamp is taken before the
hashing pass (a receiver's tolerance is 5 minutes; hashing runs at disk speed). json mode
sends a small JSON body with a `video_url`.
Note for receivers: the reference `standardwebhooks` Python library decodes the body as UTF-8
before checking it, so it verifies json-mode bodies but not binary multipart ones; use
`verify_signature` here (or any HMAC over the raw bytes) for those.

Answers (the publish-outcome rule, docs/never-twice.md): 2xx is posted (a JSON answer may carry
`id` and `url`); a connect failure, 408 and 429 (RateLimited, Retry-After honoured) prove the
receiver did not take the post and are retried; 3xx and other 4xx are permanent, with the body
kept (secrets removed). A 5xx, a dropped connection or a read timeout after the body went out
leave the post possibly accepted: the job becomes `unconfirmed` and is never resent blindly.
Before any later attempt, the next run's reconcile() asks `status_url` when configured (2xx
posted, 404 or {"posted": false} not posted); without it the operator settles the job with
--confirm. Only a receiver that promises to dedupe on `webhook-id` (`"receiver_deduplicates":
true`, an explicit opt-in) gets the same webhook-id again after such a failure: those failures
are then retried, and reconcile without `status_url` lets the job be redelivered.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from postpilot import clock
from postpilot.errors import ConfigError, CredentialsError
from postpilot.jobs import Job
from postpilot.publishers.base import Account, Checkpoint, Published, Reconciled, ReconcileResult
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.errors import (
    NetworkError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import (
    STREAM_BLOCK,
    HttpClient,
    Response,
    file_chunks,
    response_json,
    response_text,
    retry_after,
)
from postpilot.publishers.signing import decode_secret, sf_string, sign, verify_signature
from postpilot.publishers.video import VideoLimits, preflight

__all__ = ["WEBHOOK_ID", "WebhookPublisher", "verify_signature"]

WEBHOOK_ID = "webhook_id"
MODES = ("multipart", "json")
_KNOWN_KEYS = frozenset(
    {
        "type",
        "url",
        "mode",
        "video_url_base",
        "secret_env",
        "timeout",
        "status_url",
        "receiver_deduplicates",
    }
)


def _field_name(value: str) -> str:
    """A filename safe inside a quoted Content-Disposition parameter."""
    return "".join("_" if c in '"\\\r\n' else c for c in value) or "video"


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(STREAM_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class MultipartBody:
    """A multipart/form-data body over a file on disk, replayable and of known length."""

    def __init__(self, fields: Mapping[str, str], path: Path, mime_type: str) -> None:
        self.boundary = f"postpilot-{uuid.uuid4().hex}"
        self.path = path
        self.size = path.stat().st_size
        head = b""
        for name, value in fields.items():
            head += (
                (
                    f"--{self.boundary}\r\n"
                    f'Content-Disposition: form-data; name="{name}"\r\n'
                    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                ).encode()
                + value.encode("utf-8")
                + b"\r\n"
            )
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_field_name(path.name)}"'
            f"\r\nContent-Type: {mime_type}\r\n\r\n"
        ).encode()
        self.head = head
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The request's Content-Type."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes, streaming the file from disk (call again for another pass)."""
        yield self.head
        with open(self.path, "rb") as handle:
            yield from file_chunks(handle, 0, self.size)
        yield self.tail


class WebhookPublisher:
    """Publishes by POSTing to the user's webhook (see the module docstring)."""

    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        mode: str = "multipart",
        video_url_base: str = "",
        status_url: str = "",
        timeout: float = 30.0,
        receiver_deduplicates: bool = False,
        client: HttpClient | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"webhook mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook url must be an http(s) URL, got {url!r}")
        if mode == "json" and not video_url_base:
            raise ConfigError('webhook mode "json" needs "video_url_base"')
        self.url = url
        self.mode = mode
        self.video_url_base = video_url_base
        self.status_url = status_url
        #: The receiver's promise to dedupe on webhook-id: the only licence to resend one.
        self.receiver_deduplicates = receiver_deduplicates
        self._secret = secret
        self._key = decode_secret(secret)
        self.client = client or HttpClient(timeout=timeout)

    def __repr__(self) -> str:
        return f"WebhookPublisher(url={self.url!r}, mode={self.mode!r})"

    @classmethod
    def from_config(cls, block: Mapping[str, Any], project_root: Path) -> WebhookPublisher:
        """Build from campaign.json's publisher block; the secret from env or credentials."""
        unknown = sorted(set(block) - _KNOWN_KEYS)
        if unknown:
            raise ConfigError(f"unknown webhook publisher key(s): {', '.join(unknown)}")
        url = block.get("url")
        if not isinstance(url, str) or not url:
            raise ConfigError('webhook publisher needs "url"')
        secret_env = block.get("secret_env")
        secret: str | None = None
        if secret_env:
            secret = os.environ.get(str(secret_env))
            if not secret:
                raise ConfigError(
                    f"webhook secret_env names {secret_env!r}, but that environment "
                    "variable is not set"
                )
        else:
            try:
                secret = CredentialStore.for_project(project_root).webhook_secret()
            except CredentialsError as exc:
                raise ConfigError(
                    f"the webhook publisher needs a whsec_ secret: {exc}; or set "
                    '"secret_env" to the name of an environment variable holding it'
                ) from None
            if not secret:
                raise ConfigError(
                    'the webhook publisher needs a whsec_ secret: add "webhook": "whsec_..." '
                    'to credentials.json or set "secret_env"'
                )
        try:
            timeout = float(block.get("timeout", 30.0))
        except (TypeError, ValueError):
            raise ConfigError("webhook timeout must be a number of seconds") from None
        dedupes = block.get("receiver_deduplicates", False)
        if not isinstance(dedupes, bool):
            raise ConfigError(
                'webhook "receiver_deduplicates" must be true or false (JSON booleans), '
                f"got {dedupes!r}"
            )
        return cls(
            url=url,
            secret=secret,
            mode=str(block.get("mode", "multipart")),
            video_url_base=str(block.get("video_url_base", "")),
            status_url=str(block.get("status_url", "")),
            timeout=timeout,
            receiver_deduplicates=dedupes,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()

    # -- publish ---------------------------------------------------------------------------

    def video_url(self, job: Job, sha256: str) -> str:
        """json mode's video_url: `video_url_base` formatted with {filename}, {job_id},
        {sha256}, or the file name appended to it."""
        name = Path(job.video_path).name
        if "{" in self.video_url_base:
            return self.video_url_base.format(
                filename=quote(name), job_id=quote(job.job_id), sha256=sha256
            )
        return f"{self.video_url_base.rstrip('/')}/{quote(name)}"

    def publish(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        """Deliver the post once; a delivery whose answer is lost is OutcomeUnknown."""
        try:
            return self._deliver(job, account, checkpoint)
        except NetworkError as exc:
            raise self._lost(job, exc) from None

    def _deliver(self, job: Job, account: Account, checkpoint: Checkpoint) -> Published:
        path = Path(job.video_path)
        info = preflight(path, VideoLimits())
        sha256 = job.content_sha256 or file_sha256(path)
        fields = {
            "account": account.name,
            "caption": job.caption,
            "job_id": job.job_id,
            "sha256": sha256,
        }
        # A protocol field the receiver checks against its real clock: never the shifted one.
        timestamp = int(clock.wall().timestamp())
        headers = {
            "webhook-id": job.job_id,
            "webhook-timestamp": str(timestamp),
            "Idempotency-Key": sf_string(job.job_id),
        }
        checkpoint.save({WEBHOOK_ID: job.job_id})
        if self.mode == "json":
            payload = {
                "type": "publish.requested",
                "timestamp": datetime.fromtimestamp(timestamp, UTC).isoformat(),
                "data": {**fields, "video_url": self.video_url(job, sha256)},
            }
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["webhook-signature"] = sign(self._key, job.job_id, timestamp, iter([body]))
            headers["Content-Type"] = "application/json"
            checkpoint.start_publish()
            response = self.client.request(
                "POST", self.url, headers=headers, content=body, secrets=[self._secret]
            )
        else:
            multipart = MultipartBody(fields, path, info.mime_type)
            headers["webhook-signature"] = sign(
                self._key, job.job_id, timestamp, multipart.chunks()
            )
            headers["Content-Type"] = multipart.content_type
            checkpoint.start_publish()
            response = self.client.upload(
                "POST",
                self.url,
                multipart.chunks(),
                len(multipart),
                headers=headers,
                secrets=[self._secret],
            )
        return self._result(job, response)

    def _lost(self, job: Job, exc: NetworkError) -> PublishError:
        """A transport failure: retried when the post cannot have arrived or the receiver
        dedupes on webhook-id; otherwise the outcome is unknown."""
        if not exc.maybe_delivered:
            return exc
        if self.receiver_deduplicates:
            return TransientError(
                str(exc),
                error_type="network",
                hint="the receiver dedupes on webhook-id: redelivered later with the same id",
            )
        return OutcomeUnknown(
            f"webhook delivery of job {job.job_id} may have been accepted, but its answer "
            f"was lost: {exc}",
            error_type="webhook_answer_lost",
            hint=self._settle_hint(),
        )

    def _settle_hint(self) -> str:
        if self.status_url:
            return "not resent: the next --run asks status_url whether the receiver has it"
        return (
            "not resent: check the receiver and settle the job with --confirm JOB_ID "
            'posted|not-posted, or configure "status_url" so the next run can ask'
        )

    def _result(self, job: Job, response: Response) -> Published:
        status = response.status_code
        if 200 <= status < 300:
            body = response_json(response)
            remote_id = body.get("id")
            url = body.get("url")
            return Published(
                remote_id=str(remote_id) if remote_id not in (None, "") else job.job_id,
                url=str(url) if isinstance(url, str) else "",
            )
        raise self._error(response)

    def _error(self, response: Response) -> PublishError:
        status = response.status_code
        raw = response_text(response, [self._secret])
        message = f"webhook {self.url.split('?', 1)[0]} answered HTTP {status}"
        when = retry_after(response, clock.now())
        if status == 429:
            return RateLimited(
                message, raw=raw, retry_at=when, hint="the receiver is throttling; retried"
            )
        if status >= 500 and not self.receiver_deduplicates:
            # A server error does not say the post was not taken: never resent blindly.
            return OutcomeUnknown(
                message, raw=raw, error_type="webhook_server_error", hint=self._settle_hint()
            )
        if status == 408 or status >= 500:
            return TransientError(
                message, raw=raw, retry_at=when, hint="the receiver failed; redelivered later"
            )
        if 300 <= status < 400:
            return PermanentError(
                message,
                raw=raw,
                error_type="webhook_redirect",
                hint="webhooks do not follow redirects: configure the final URL",
            )
        if status == 410:
            return PermanentError(
                message,
                raw=raw,
                error_type="webhook_gone",
                hint="the receiver says the endpoint is gone (410): fix publisher.url",
            )
        return PermanentError(message, raw=raw, hint="the receiver refused the post")

    # -- reconcile -------------------------------------------------------------------------

    def reconcile(self, job: Job, checkpoint: Mapping[str, str]) -> Reconciled:
        """Ask `status_url` if configured; without it a webhook cannot be asked: UNKNOWN,
        unless the receiver dedupes on webhook-id (then redelivering is safe: NOT_POSTED)."""
        if WEBHOOK_ID not in checkpoint:
            # The id is saved before anything is sent: nothing went out.
            return Reconciled(ReconcileResult.NOT_POSTED)
        if not self.status_url:
            if self.receiver_deduplicates:
                return Reconciled(ReconcileResult.NOT_POSTED)
            return Reconciled(ReconcileResult.UNKNOWN)
        url = self.status_url.format(job_id=quote(job.job_id, safe=""))
        try:
            response = self.client.request("GET", url, secrets=[self._secret])
        except PublishError:
            return Reconciled(ReconcileResult.UNKNOWN)
        if response.status_code == 404:
            return Reconciled(ReconcileResult.NOT_POSTED)
        if 200 <= response.status_code < 300:
            body = response_json(response)
            if body.get("posted") is False:
                return Reconciled(ReconcileResult.NOT_POSTED)
            remote_id = body.get("id")
            url_value = body.get("url")
            return Reconciled(
                ReconcileResult.POSTED,
                remote_id=str(remote_id) if remote_id not in (None, "") else job.job_id,
                url=str(url_value) if isinstance(url_value, str) else "",
            )
        return Reconciled(ReconcileResult.UNKNOWN)
