"""The shared "renew the token once on a refused token, then resend" rule of the platform
channels (postpilot.publishers.oauth)."""

from __future__ import annotations

from postpilot.credentials import AccountCredentials
from postpilot.publishers.oauth import TokenSession, send_renewing


def _creds(token: str) -> AccountCredentials:
    return AccountCredentials(account="acct", access_token=token, refresh_token="refresh-xyz")


class _Platform:
    """Answers 'rejected' to every token but `good`, and records each token it was sent."""

    def __init__(self, good: str) -> None:
        self.good = good
        self.sent: list[str] = []

    def send(self, creds: AccountCredentials) -> str:
        self.sent.append(creds.access_token)
        return "ok" if creds.access_token == self.good else "rejected"


def test_a_refused_token_is_renewed_once_and_the_request_resent() -> None:
    """A 'token rejected' answer renews the token and resends with the new one."""
    platform = _Platform(good="token-new")
    session = TokenSession("acct", _creds("token-old"))
    answer = send_renewing(
        session,
        platform.send,
        token_rejected=lambda a: a == "rejected",
        renew=lambda s: _creds("token-new"),
    )
    assert answer == "ok"
    assert platform.sent == ["token-old", "token-new"]
    assert session.token == "token-new"
    assert "token-old" in session.secrets
    assert "token-new" in session.secrets


def test_a_second_refusal_is_returned_not_resent() -> None:
    """After one renewal a refused token is the caller's to map: no third send."""
    platform = _Platform(good="never")
    session = TokenSession("acct", _creds("token-a"))
    renewals: list[str] = []

    def renew(s: TokenSession) -> AccountCredentials:
        renewals.append(s.token)
        return _creds(f"token-{len(renewals) + 1}")

    answer = send_renewing(
        session, platform.send, token_rejected=lambda a: a == "rejected", renew=renew
    )
    assert answer == "rejected"
    assert platform.sent == ["token-a", "token-2"]
    again = send_renewing(
        session, platform.send, token_rejected=lambda a: a == "rejected", renew=renew
    )
    assert again == "rejected"
    assert renewals == ["token-a"]
    assert platform.sent == ["token-a", "token-2", "token-2"]


def test_any_other_answer_is_never_resent() -> None:
    """An answer that is not a token refusal (success, or any other error) is sent once."""
    platform = _Platform(good="token-a")
    session = TokenSession("acct", _creds("token-a"))
    answer = send_renewing(
        session,
        lambda creds: "server error" if platform.send(creds) else "",
        token_rejected=lambda a: a == "rejected",
        renew=lambda s: _creds("token-b"),
    )
    assert answer == "server error"
    assert platform.sent == ["token-a"]
    assert not session.renewed


def test_no_new_credentials_keeps_the_first_answer() -> None:
    """A renewal that finds nothing newer returns the refusal without a resend."""
    platform = _Platform(good="never")
    session = TokenSession("acct", _creds("token-a"))
    answer = send_renewing(
        session, platform.send, token_rejected=lambda a: a == "rejected", renew=lambda s: None
    )
    assert answer == "rejected"
    assert platform.sent == ["token-a"]
    assert session.renewed


def test_the_session_repr_shows_no_token() -> None:
    """Neither the current nor a replaced token appears in the session's repr."""
    session = TokenSession("acct", _creds("token-old-123"))
    session.replace(_creds("token-new-456"))
    text = repr(session)
    assert "acct" in text
    for secret in ("token-old-123", "token-new-456", "refresh-xyz"):
        assert secret not in text
