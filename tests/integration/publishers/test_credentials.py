"""credentials.json: loading, permission refusal, atomic refresh write-back, rotation, redaction."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from postpilot.credentials import (
    AccountCredentials,
    CredentialStore,
    default_path,
    needs_refresh,
    refresh_oauth,
    secrets_of,
)
from postpilot.errors import CredentialsError
from postpilot.publishers.errors import AuthError, TransientError
from postpilot.publishers.http import HttpClient

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def write_credentials(path: Path, accounts: dict[str, dict[str, Any]], **top: Any) -> Path:
    """Write a credentials file with mode 0600."""
    path.write_text(json.dumps({"accounts": accounts, **top}), encoding="utf-8")
    path.chmod(0o600)
    return path


def account(**overrides: Any) -> dict[str, Any]:
    """A typical account block."""
    block = {
        "platform": "youtube",
        "access_token": "at-old-1111",
        "refresh_token": "rt-keep-2222",
        "expires_at": (NOW + timedelta(hours=1)).isoformat(),
        "client_id": "cid",
        "client_secret": "cs-3333",
        "channel_id": "UC123",
    }
    block.update(overrides)
    return block


def test_get_loads_account_with_platform_ids(project_root: Path) -> None:
    """An account loads with its tokens, an aware expiry and extra platform ids."""
    store = CredentialStore(write_credentials(project_root / "credentials.json", {"a": account()}))
    creds = store.get("a")
    assert creds.account == "a"
    assert creds.access_token == "at-old-1111"
    assert creds.expires_at == NOW + timedelta(hours=1)
    assert creds.platform_id("channel_id") == "UC123"


def test_repr_and_str_hide_secrets(project_root: Path) -> None:
    """Neither repr() nor str() of credentials shows a token or the client secret."""
    store = CredentialStore(write_credentials(project_root / "credentials.json", {"a": account()}))
    creds = store.get("a")
    for text in (repr(creds), str(creds), f"{creds}"):
        for secret in secrets_of(creds):
            assert secret not in text


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_group_or_world_readable_file_is_refused(project_root: Path, mode: int) -> None:
    """A file others can read is refused with the chmod 600 fix named."""
    path = write_credentials(project_root / "credentials.json", {"a": account()})
    path.chmod(mode)
    with pytest.raises(CredentialsError) as info:
        CredentialStore(path).get("a")
    assert f"chmod 600 {path}" in str(info.value)
    assert "at-old-1111" not in str(info.value)


def test_missing_account_names_account_and_file_not_tokens(project_root: Path) -> None:
    """An unknown account is an error naming it and the file, without any token."""
    path = write_credentials(project_root / "credentials.json", {"a": account()})
    with pytest.raises(CredentialsError) as info:
        CredentialStore(path).get("nobody")
    assert "'nobody'" in str(info.value)
    assert str(path) in str(info.value)
    assert "at-old-1111" not in str(info.value)
    assert "rt-keep-2222" not in str(info.value)


def test_missing_and_malformed_files_are_clear(project_root: Path) -> None:
    """A missing file and a file of the wrong shape are CredentialsErrors naming the file."""
    path = project_root / "credentials.json"
    with pytest.raises(CredentialsError, match="not found"):
        CredentialStore(path).get("a")
    path.write_text('{"accounts": []}', encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="wrong shape"):
        CredentialStore(path).get("a")
    path.write_text("{nope", encoding="utf-8")
    with pytest.raises(CredentialsError, match="not valid JSON"):
        CredentialStore(path).get("a")


def test_env_var_overrides_the_default_path(
    project_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """POSTPILOT_CREDENTIALS points the store at another file."""
    assert default_path(project_root) == project_root / "credentials.json"
    monkeypatch.setenv("POSTPILOT_CREDENTIALS", str(tmp_path / "elsewhere.json"))
    assert default_path(project_root) == tmp_path / "elsewhere.json"


def test_needs_refresh_ahead_of_expiry() -> None:
    """A token expiring within the margin needs a refresh; without a refresh token it cannot."""
    creds = AccountCredentials.model_validate(account(expires_at=NOW + timedelta(minutes=2)))
    assert needs_refresh(creds, NOW, timedelta(minutes=5))
    assert not needs_refresh(creds, NOW, timedelta(minutes=1))
    assert not needs_refresh(creds.model_copy(update={"refresh_token": ""}), NOW)
    assert not needs_refresh(creds.model_copy(update={"expires_at": None}), NOW)


def test_update_tokens_is_atomic_0600_and_keeps_refresh_token(project_root: Path) -> None:
    """A write-back keeps other accounts and top-level keys, the stored refresh token, mode 0600."""
    path = write_credentials(
        project_root / "credentials.json",
        {"a": account(), "b": account(access_token="at-b")},
        webhook="whsec_QUJD",
    )
    store = CredentialStore(path)
    new = store.update_tokens("a", "at-new-4444", NOW + timedelta(hours=2))
    assert new.access_token == "at-new-4444"
    assert new.refresh_token == "rt-keep-2222"
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = CredentialStore(path)
    assert again.get("a").access_token == "at-new-4444"
    assert again.get("a").platform_id("channel_id") == "UC123"
    assert again.get("b").access_token == "at-b"
    assert again.webhook_secret() == "whsec_QUJD"
    rotated = store.update_tokens("a", "at-5", NOW, refresh_token="rt-rotated")
    assert rotated.refresh_token == "rt-rotated"
    assert not list(project_root.glob(".credentials.json.*.tmp"))


def _refresh_worker(path: str, name: str, rounds: int) -> None:
    store = CredentialStore(Path(path))
    for i in range(rounds):
        store.update_tokens(name, f"{name}-{i}", None)


@pytest.mark.slow
def test_parallel_writers_never_lose_each_others_updates(project_root: Path) -> None:
    """Processes refreshing different accounts at once all keep their last write."""
    names = [f"acct{i}" for i in range(4)]
    path = write_credentials(project_root / "credentials.json", {n: account() for n in names})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_refresh_worker, args=(str(path), n, 15)) for n in names]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    store = CredentialStore(path)
    assert [store.get(n).access_token for n in names] == [f"{n}-14" for n in names]


def _token_endpoint(server: HTTPServer, answer: dict[str, Any], status: int = 200) -> list[dict]:
    forms: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        forms.append(dict(request.form))
        return Response(json.dumps(answer), status=status, content_type="application/json")

    server.expect_request("/token", method="POST").respond_with_handler(handler)
    return forms


def test_refresh_oauth_sends_form_grant_and_keeps_refresh_token(httpserver: HTTPServer) -> None:
    """The grant is form-encoded; an answer without refresh_token keeps the stored one."""
    forms = _token_endpoint(httpserver, {"access_token": "at-new", "expires_in": 3600})
    creds = AccountCredentials.model_validate({**account(), "account": "a"})
    with HttpClient() as client:
        new = refresh_oauth(client, httpserver.url_for("/token"), creds, now=NOW)
    assert forms == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "rt-keep-2222",
            "client_id": "cid",
            "client_secret": "cs-3333",
        }
    ]
    assert new.access_token == "at-new"
    assert new.refresh_token == "rt-keep-2222"
    assert new.expires_at == NOW + timedelta(hours=1)


def test_rotated_refresh_token_replaces_the_old_one(
    httpserver: HTTPServer, project_root: Path
) -> None:
    """TikTok-style rotation: the new refresh token (and its expiry) is written back."""
    _token_endpoint(
        httpserver,
        {
            "access_token": "at-r",
            "expires_in": 86400,
            "refresh_token": "rt-rotated",
            "refresh_expires_in": 31536000,
        },
    )
    path = write_credentials(
        project_root / "credentials.json",
        {"t": account(platform="tiktok", client_key="ck", expires_at=NOW.isoformat())},
    )
    store = CredentialStore(path)
    with HttpClient() as client:
        creds = store.fresh(
            "t", client, httpserver.url_for("/token"), now=NOW, client_id_field="client_key"
        )
    assert creds.refresh_token == "rt-rotated"
    stored = CredentialStore(path).get("t")
    assert stored.refresh_token == "rt-rotated"
    assert stored.access_token == "at-r"
    assert stored.platform_id("refresh_expires_at").startswith("2027-03-01")


def test_fresh_skips_refresh_when_another_process_already_replaced_the_token(
    httpserver: HTTPServer, project_root: Path
) -> None:
    """A 401'd token that is no longer the stored one is not refreshed again."""
    forms = _token_endpoint(httpserver, {"access_token": "x", "expires_in": 1})
    path = write_credentials(project_root / "credentials.json", {"a": account()})
    with HttpClient() as client:
        creds = CredentialStore(path).fresh(
            "a", client, httpserver.url_for("/token"), now=NOW, rejected_token="at-older"
        )
    assert creds.access_token == "at-old-1111"
    assert forms == []


def test_invalid_grant_is_auth_error_without_tokens(httpserver: HTTPServer) -> None:
    """invalid_grant means re-authorize: AuthError, and no token in its text."""
    _token_endpoint(
        httpserver,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
        status=400,
    )
    creds = AccountCredentials.model_validate({**account(), "account": "a"})
    with HttpClient() as client, pytest.raises(AuthError) as info:
        refresh_oauth(client, httpserver.url_for("/token"), creds, now=NOW)
    text = str(info.value.to_failure())
    assert "invalid_grant" in text
    for secret in secrets_of(creds):
        assert secret not in text


def test_token_endpoint_5xx_is_transient(httpserver: HTTPServer) -> None:
    """A failing token endpoint is retried later, not a re-authorization."""
    _token_endpoint(httpserver, {"error": "backend"}, status=503)
    creds = AccountCredentials.model_validate({**account(), "account": "a"})
    with HttpClient() as client, pytest.raises(TransientError):
        refresh_oauth(client, httpserver.url_for("/token"), creds, now=NOW)
