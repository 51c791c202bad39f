"""Platform error tables as data: one shape for every platform channel.

A channel reads a refusal into an `Answer` (HTTP status, the platform's error code or reason,
its subcode, its own "transient" flag) and looks it up in its table, a tuple of `Rule`s: the
first rule with a matching `When` decides the error class, error_type, hint, and when a retry
may come (`Wait`). A rule whose `error` is None stands for the generic mapping of the HTTP
status (postpilot.publishers.http.error_for_status). The channel writes the message; the table
never sees a token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from postpilot.publishers.errors import PublishError, RateLimited
from postpilot.publishers.http import error_for_status

#: `Rule.error_type` that records the matched platform code itself.
FROM_CODE = "<code>"


def codes(*values: int | str | range) -> frozenset[str]:
    """A set of platform codes as text (numbers and ranges of numbers included)."""
    out: set[str] = set()
    for value in values:
        if isinstance(value, range):
            out.update(str(v) for v in value)
        else:
            out.add(str(value))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a refusal says, as the tables read it. `code` is "" when the answer has no
    platform error code (a bare HTTP status)."""

    status: int
    code: str = ""
    subcode: str = ""
    transient: bool = False


@dataclass(frozen=True, slots=True)
class When:
    """One condition: every field given must hold (a set: the value is in it)."""

    codes: frozenset[str] | None = None
    code_prefix: str = ""
    code_suffix: str = ""
    subcodes: frozenset[str] | None = None
    statuses: frozenset[int] | None = None
    min_status: int = 0
    max_status: int = 999
    transient: bool | None = None

    def matches(self, answer: Answer) -> bool:
        """Whether `answer` meets every condition given."""
        return (
            (self.codes is None or answer.code in self.codes)
            and answer.code.startswith(self.code_prefix)
            and answer.code.endswith(self.code_suffix)
            and (self.subcodes is None or answer.subcode in self.subcodes)
            and (self.statuses is None or answer.status in self.statuses)
            and self.min_status <= answer.status <= self.max_status
            and (self.transient is None or answer.transient is self.transient)
        )


class Wait(StrEnum):
    """When the error lets the job try again (resolved against a `Waits`)."""

    NONE = "none"
    #: The answer's Retry-After.
    RETRY_AFTER = "retry_after"
    #: A day from now (daily caps).
    NEXT_DAY = "next_day"
    #: The channel's quota day boundary (`Waits.quota_day`).
    QUOTA_DAY = "quota_day"
    #: Retry-After, else the channel's configured rate limit wait.
    RATE_WINDOW = "rate_window"
    #: The platform's usage header, else Retry-After, else the configured rate limit wait.
    USAGE = "usage"


@dataclass(frozen=True, slots=True)
class Waits:
    """The moments a `Wait` resolves to for one answer."""

    now: datetime
    retry_after: datetime | None = None
    rate_limit_wait: timedelta = timedelta(0)
    quota_day: datetime | None = None
    usage: datetime | None = None

    def resolve(self, wait: Wait) -> datetime | None:
        """The retry moment of `wait` (None: no particular one)."""
        if wait is Wait.RETRY_AFTER:
            return self.retry_after
        if wait is Wait.NEXT_DAY:
            return self.now + timedelta(days=1)
        if wait is Wait.QUOTA_DAY:
            return self.quota_day
        if wait is Wait.RATE_WINDOW:
            return self.retry_after or self.now + self.rate_limit_wait
        if wait is Wait.USAGE:
            return self.usage or self.retry_after or self.now + self.rate_limit_wait
        return None


@dataclass(frozen=True, slots=True)
class Rule:
    """`error` (None: the generic HTTP status mapping) for an answer matching any of `when`
    (the default matches every answer)."""

    error: type[PublishError] | None
    when: tuple[When, ...] = (When(),)
    error_type: str = ""
    hint: str = ""
    wait: Wait = Wait.NONE
    account_wide: bool = False

    def matches(self, answer: Answer) -> bool:
        """Whether any of the rule's conditions holds for `answer`."""
        return any(w.matches(answer) for w in self.when)


def find_rule(rules: Iterable[Rule], answer: Answer) -> Rule | None:
    """The first rule of `rules` matching `answer`."""
    return next((rule for rule in rules if rule.matches(answer)), None)


def classify(
    rules: Iterable[Rule],
    answer: Answer,
    *,
    message: str,
    raw: str,
    waits: Waits,
    platform: str,
    what: str,
) -> PublishError:
    """The typed error the first matching rule makes of `answer`; the generic status mapping
    when the rule says so or none matches."""
    rule = find_rule(rules, answer)
    if rule is None or rule.error is None:
        return error_for_status(
            answer.status, raw, platform=platform, retry_at=waits.retry_after, what=what
        )
    error_type = answer.code if rule.error_type == FROM_CODE else rule.error_type
    retry_at = waits.resolve(rule.wait)
    if issubclass(rule.error, RateLimited):
        return rule.error(
            message,
            account_wide=rule.account_wide,
            raw=raw,
            hint=rule.hint,
            error_type=error_type,
            retry_at=retry_at,
        )
    return rule.error(message, raw=raw, hint=rule.hint, error_type=error_type, retry_at=retry_at)
