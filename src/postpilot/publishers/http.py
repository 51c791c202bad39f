"""The one HTTP adapter of the publishers: the only module that imports the HTTP driver (httpx2).

Publishers speak to platforms through `HttpClient`. It streams uploads from disk (a file slice or
any iterator of bytes, never the whole file in memory), gives uploads a long write timeout, and
turns the driver's transport errors into `NetworkError` (a TransientError) that says whether the
request may have reached the server: a publisher uses that to decide between "retry" and
"outcome unknown, reconcile first".

Secrets never leave this module in clear: every message and raw body put into an error goes
through `redact(text, secrets)`, which removes the given secrets and anything that looks like a
bearer token or an OAuth token field. `NetworkError` (connect failure, timeout, dropped
connection) is a TransientError; its place in the tree is drawn in postpilot.errors.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import httpx2 as httpx

from postpilot import clock
from postpilot.publishers.errors import (
    AuthError,
    NetworkError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)

#: Re-exported so publishers can annotate responses without importing the driver.
Response = httpx.Response

#: Longest raw platform body kept in an error (after redaction).
MAX_RAW_BODY = 2000
#: Read size when streaming a file: small enough to keep memory flat, big enough to be fast.
STREAM_BLOCK = 1024 * 1024

REDACTED = "[redacted]"

_SECRET_PATTERNS = (
    # Authorization: Bearer <token> / Basic <creds>, in headers or reprs.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    # token-like JSON fields and form/query fields.
    re.compile(
        r"(?i)(\"?(?:access_token|refresh_token|client_secret|id_token|"
        r"fb_exchange_token|secret)\"?\s*[:=]\s*\"?)([^\"&\s,}]+)"
    ),
    # Standard Webhooks secrets.
    re.compile(r"whsec_[A-Za-z0-9+/=]+"),
    # OAuth authorization codes in query strings or forms (not JSON error "code" numbers).
    re.compile(r"(?i)([?&]code=)([^&\s]+)"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret in `secrets` and every token-looking value replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _SECRET_PATTERNS[2].sub(REDACTED, text)
    return _SECRET_PATTERNS[3].sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class _RedactRecords(logging.Filter):
    """Redacts token-looking values from the HTTP driver's own log lines: it logs every request
    URL at INFO, and some documented calls (Instagram's token refresh) carry a token in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def _install_log_redaction() -> None:
    for name in ("httpx2", "httpcore2", "httpx", "httpcore"):
        driver = logging.getLogger(name)
        if not any(isinstance(f, _RedactRecords) for f in driver.filters):
            driver.addFilter(_RedactRecords())


_install_log_redaction()


def retry_after(response: Response, now: datetime) -> datetime | None:
    """When a `Retry-After` header (seconds or an HTTP-date) allows the next try; None if absent
    or unreadable."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return now + timedelta(seconds=int(raw))
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when, now)


def response_text(response: Response, secrets: Iterable[str] = ()) -> str:
    """The response body as text, redacted and cut to MAX_RAW_BODY characters."""
    try:
        text = response.text
    except (httpx.HTTPError, UnicodeDecodeError):
        return ""
    return redact(text[:MAX_RAW_BODY], secrets)


def response_json(response: Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    try:
        value = response.json()
    except (ValueError, httpx.HTTPError):
        return {}
    return value if isinstance(value, dict) else {}


def raise_for_platform(
    response: Response,
    *,
    platform: str,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
    what: str = "request",
) -> None:
    """Do nothing for 2xx; otherwise raise the generic typed error for the status.

    408/5xx -> TransientError, 429 -> RateLimited (both with Retry-After), 401/403 ->
    AuthError, other 4xx (and unexpected 1xx/3xx) -> PermanentError. Platform-specific codes
    (quota reasons inside a 403 ...) must be mapped by the publisher before calling this.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    raise error_for_status(
        status,
        response_text(response, secrets),
        platform=platform,
        retry_at=retry_after(response, now or clock.now()),
        what=what,
    )


def error_for_status(
    status: int, raw: str, *, platform: str, retry_at: datetime | None, what: str
) -> PublishError:
    """The generic typed error for an HTTP status (see raise_for_platform)."""
    message = f"{platform} {what} failed with HTTP {status}"
    if status == 429:
        return RateLimited(
            message,
            raw=raw,
            retry_at=retry_at,
            hint="the platform is throttling this client; the job waits and retries",
        )
    if status == 408 or status >= 500:
        return TransientError(
            message, raw=raw, retry_at=retry_at, hint="temporary platform failure; retried"
        )
    if status in (401, 403):
        return AuthError(
            message,
            raw=raw,
            hint=f"re-authorize the account for {platform} and update credentials.json",
        )
    return PermanentError(message, raw=raw, hint="the platform refused the request")


def file_chunks(
    handle: IO[bytes], offset: int, length: int, block: int = STREAM_BLOCK
) -> Iterator[bytes]:
    """Yield `length` bytes of `handle` starting at `offset`, `block` bytes at a time.

    A file that got shorter while uploading raises PermanentError rather than sending a body
    shorter than the Content-Length already announced.
    """
    handle.seek(offset)
    remaining = length
    while remaining > 0:
        data = handle.read(min(block, remaining))
        if not data:
            raise PermanentError(
                f"the video file ended {remaining} bytes early while uploading",
                hint="the file changed during the upload; do not edit videos of a running campaign",
            )
        remaining -= len(data)
        yield data


def _describe(exc: httpx.HTTPError) -> tuple[str, bool, str]:
    """(what happened, may the request have been delivered, hint) for a transport error."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return "could not connect", False, "check the network and the publisher's base URL"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection", False, "too many parallel requests; retried later"
    if isinstance(exc, httpx.WriteTimeout | httpx.WriteError):
        return "sending timed out or broke", True, "the upload stalled; it resumes next attempt"
    if isinstance(exc, httpx.ReadTimeout):
        return "no answer in time", True, "the platform was slow to answer; retried later"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "the connection dropped", True, "the connection was cut; retried later"
    return type(exc).__name__, True, "network failure; retried later"


class HttpClient:
    """A small synchronous HTTP client for publishers (see the module docstring).

    `timeout` applies to connect/read/pool; uploads use `upload_timeout` for writing (a slow
    uplink must not abort a large chunk). `transport` lets tests plug a driver transport.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        upload_timeout: float = 600.0,
        transport: Any | None = None,
        user_agent: str = "postpilot",
    ) -> None:
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            headers={"user-agent": user_agent},
            trust_env=True,
        )

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        secrets: Iterable[str] = (),
        timeout: float | None = None,
    ) -> Response:
        """Send one request and read the whole (small) answer.

        Raises NetworkError (with secrets redacted from the message) on transport failures;
        HTTP error statuses are returned, not raised: the caller maps them.
        """
        body: bytes | Iterable[bytes] | None = content
        send_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            send_headers.setdefault("content-type", "application/json; charset=UTF-8")
        try:
            return self._client.request(
                method,
                url,
                headers=send_headers,
                params=params,
                data=form,
                content=body,
                timeout=self._timeout(timeout),
            )
        except httpx.HTTPError as exc:
            raise self._network_error(method, url, exc, secrets) from None

    def upload(
        self,
        method: str,
        url: str,
        body: Iterable[bytes],
        length: int,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> Response:
        """Stream `length` bytes from `body` (an iterator, e.g. file_chunks) as the request body.

        Content-Length is set so no chunked encoding is used (platform upload endpoints want it).
        """
        send_headers = dict(headers or {})
        send_headers["content-length"] = str(length)
        timeout = httpx.Timeout(self.timeout, write=self.upload_timeout)
        try:
            return self._client.request(
                method, url, headers=send_headers, content=iter(body), timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise self._network_error(method, url, exc, secrets) from None

    def _timeout(self, seconds: float | None) -> httpx.Timeout:
        return httpx.Timeout(self.timeout if seconds is None else seconds)

    @staticmethod
    def _network_error(
        method: str, url: str, exc: httpx.HTTPError, secrets: Iterable[str]
    ) -> NetworkError:
        what, delivered, hint = _describe(exc)
        # Only scheme://host/path: query strings may carry tokens or upload ids.
        where = url.split("?", 1)[0]
        message = redact(f"{method} {where}: {what} ({type(exc).__name__}: {exc})", secrets)
        return NetworkError(message, maybe_delivered=delivered, hint=hint)
