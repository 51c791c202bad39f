"""The OAuth session of the platform channels and their one rule for a refused token:
renew the token once, then resend the same request.

A channel sends every authorized request through `send_renewing`. When the platform's answer
says the access token itself was refused, the request was turned away at the door: nothing was
created, so sending it again cannot post twice. Only then, and only once per session, does the
session renew its token (a refresh at the token endpoint, or a re-read of credentials.json that
another process may have refreshed) and resend. Every other answer, a success, any other
refusal, a server error, and every transport failure (raised by the HTTP client, never caught
here) goes back to the channel untouched, whose own never-twice rules decide
(docs/never-twice.md, "Channel by channel").

The session remembers every token it used (`secrets`), so that a token replaced mid-publish is
still removed from messages and raw bodies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from postpilot.publishers.credentials import AccountCredentials, secrets_of

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class TokenSession:
    """One account's credentials as one publish (or one request) uses them."""

    account: str
    creds: AccountCredentials
    #: Whether this session's one renewal was spent (a second refusal is final).
    renewed: bool = False
    #: Tokens this session used before a renewal: still redacted from errors (never in repr).
    former: tuple[str, ...] = field(default=(), repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret of the current and the former credentials, for redact()."""
        return (*secrets_of(self.creds), *self.former)

    @property
    def token(self) -> str:
        """The current access token."""
        return self.creds.access_token

    def replace(self, creds: AccountCredentials) -> None:
        """Use `creds` from now on; the old ones stay redacted."""
        self.former = self.secrets
        self.creds = creds


def send_renewing(
    session: TokenSession,
    send: Callable[[AccountCredentials], T],
    *,
    token_rejected: Callable[[T], bool],
    renew: Callable[[TokenSession], AccountCredentials | None],
) -> T:
    """`send(creds)`; when `token_rejected(answer)` and the session has not renewed yet, renew
    once and send again with the new credentials.

    `token_rejected` must be true only for an answer that proves the request was refused for its
    token (nothing was created). `renew` returns the new credentials, or None when there are none
    to try (then the first answer stands); it raises the channel's AuthError when the renewal
    itself fails. The answer returned may still be a refusal: the caller maps it.
    """
    answer = send(session.creds)
    if session.renewed or not token_rejected(answer):
        return answer
    session.renewed = True
    fresh = renew(session)
    if fresh is None:
        return answer
    session.replace(fresh)
    return send(session.creds)
