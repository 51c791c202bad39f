"""Publish errors, typed by what the run engine must do about them.

Their place in postpilot's one exception tree, and the category each one records, are drawn in
postpilot.errors. A channel raises the most specific one it can prove: ContentError only when
the video or caption is refused (retrying with the same file cannot help), PermanentError for
any other final refusal (an API project without access, a forbidden action, a bad parameter),
so that the operator is sent to the right thing to fix.

Each error keeps the platform's raw error body (with secrets removed) and a one-line hint for the
operator. Messages never contain tokens.
"""

from __future__ import annotations

from datetime import datetime

from postpilot.errors import PostpilotError
from postpilot.jobs import ErrorCategory, Failure


class PublishError(PostpilotError):
    """The publish failed."""

    category: ErrorCategory = ErrorCategory.UNKNOWN
    error_type: str = "publish_error"
    #: Whether the failed request may have reached the platform, so that sending it again
    #: could post twice (a lost answer). After the publish started, the worker makes such a
    #: job `unconfirmed`, never retried (docs/never-twice.md).
    maybe_delivered: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        error_type: str | None = None,
        raw: str = "",
        hint: str = "",
        retry_at: datetime | None = None,
    ) -> None:
        super().__init__(message)
        if error_type:
            self.error_type = error_type
        self.raw = raw
        self.hint = hint
        self.retry_at = retry_at

    def to_failure(self) -> Failure:
        """The classified failure the store records (message, hint and raw body kept)."""
        parts = [str(self)]
        if self.hint:
            parts.append(f"hint: {self.hint}")
        if self.raw:
            parts.append(f"platform said: {self.raw}")
        return Failure(self.category, self.error_type, " | ".join(parts), self.retry_at)


class TransientError(PublishError):
    """A temporary failure; retrying later may succeed."""

    category = ErrorCategory.INFRASTRUCTURE
    error_type = "transient"


class NetworkError(TransientError):
    """The platform could not be reached, or the connection broke before a full answer.

    `maybe_delivered` is False only when the request certainly never reached the server
    (connect failure); otherwise the server may have acted on it. Defined here, not with the
    HTTP driver (publishers/http.py raises it), so a channel can raise it without importing
    httpx.
    """

    error_type = "network"

    def __init__(self, message: str, *, maybe_delivered: bool, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.maybe_delivered = maybe_delivered


class RateLimited(PublishError):
    """A platform quota or rate window is exhausted."""

    category = ErrorCategory.RATE_LIMIT
    error_type = "rate_limited"

    def __init__(
        self, message: str | None = None, *, account_wide: bool = False, **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.account_wide = account_wide


class AuthError(PublishError):
    """The account's authorization was refused; re-authorize it."""

    category = ErrorCategory.ACCOUNT
    error_type = "needs_reauth"


class ContentError(PublishError):
    """The platform refused the video or caption."""

    category = ErrorCategory.CONTENT
    error_type = "content_rejected"


class PermanentError(PublishError):
    """The platform refused the request; retrying will not help."""

    category = ErrorCategory.PERMANENT
    error_type = "rejected"


class LeaseLost(PublishError):
    """The job's lease was lost; another worker or recovery owns it now."""

    category = ErrorCategory.INFRASTRUCTURE
    error_type = "lease_lost"


class OutcomeUnknown(PublishError):
    """The publish may have happened; its result was lost. Reconcile before any retry."""

    category = ErrorCategory.INFRASTRUCTURE
    error_type = "unconfirmed"
