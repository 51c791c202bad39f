"""Publish errors, typed by what the run engine must do about them.

    PostpilotError
    └── PublishError                 the publish failed; `category` decides the next step
        ├── TransientError           retry with backoff (5xx, timeouts, dropped connections);
        │                            `retry_after` honours a Retry-After header
        ├── RateLimited              wait until `retry_at` (quota/window reset); attempts kept;
        │                            `account_wide` blocks the account's other jobs too
        ├── AuthError                the token was refused even after one refresh: the account
        │                            needs re-authorization; its other jobs wait
        ├── ContentError             the video or caption is refused: final, never retried
        ├── PermanentError           any other final refusal (4xx validation, forbidden)
        ├── OutcomeUnknown           the irreversible step ran but its answer was lost (e.g.
        │                            the connection dropped on the final response): the job
        │                            becomes `unconfirmed` and only reconcile() may settle it
        └── LeaseLost                the job's lease is gone: stop, take no remote step

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

    category = ErrorCategory.CONTENT
    error_type = "rejected"


class LeaseLost(PublishError):
    """The job's lease was lost; another worker or recovery owns it now."""

    category = ErrorCategory.INFRASTRUCTURE
    error_type = "lease_lost"


class OutcomeUnknown(PublishError):
    """The publish may have happened; its result was lost. Reconcile before any retry."""

    category = ErrorCategory.INFRASTRUCTURE
    error_type = "unconfirmed"
