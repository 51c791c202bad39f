"""The dashboard's JSON API over real HTTP: access control, headers, the same numbers as
`--status --json`, actions with idempotency keys and CSRF, and JSON errors for bad input."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from postpilot.jobs import JobStatus
from postpilot.web.auth import CONTENT_SECURITY_POLICY
from tests.acceptance.helpers import run_inprocess
from tests.web.helpers import (
    block,
    client,
    context,
    make_failed,
    make_unconfirmed,
    running_dashboard,
    seeded_demo,
    store_of,
    token,
)

GET_ENDPOINTS = (
    "/",
    "/campaigns/demo",
    "/api/session",
    "/api/overview",
    "/api/campaigns/demo",
    "/api/campaigns/demo/status",
    "/api/campaigns/demo/jobs",
    "/api/campaigns/demo/outcomes",
    "/api/campaigns/demo/chart.svg",
    "/api/openapi.json",
    "/static/app.js",
)


def _post(http, path: str, key: str, body: dict | None = None, **headers: str):
    return http.post(path, json=body or {}, headers={"Idempotency-Key": key, **headers})


def test_every_request_without_the_token_is_refused(project_root: Path) -> None:
    """No token (or a wrong one) gets 401 with a JSON error on pages, API and assets alike."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root, auth=False) as h:
        for path in GET_ENDPOINTS:
            answer = h.get(path)
            assert answer.status_code == 401, path
            assert "not logged in" in answer.json()["error"]
        wrong = h.get("/api/overview", headers={"Authorization": "Bearer " + "x" * 43})
        assert wrong.status_code == 401
        forged = h.get("/api/overview", headers={"Cookie": "postpilot_session=abc"})
        assert forged.status_code == 401
        posted = _post(h, "/api/campaigns/demo/pause", "key-unauth-1")
        assert posted.status_code == 401
    with store_of(context(project_root, "demo")) as store:
        assert store.pause_state() is None  # type: ignore[attr-defined]


def test_token_file_is_private_reused_and_never_returned(project_root: Path) -> None:
    """The token is created 0600 once, kept across restarts, and no answer ever contains it."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        secret = token(project_root)
        path = project_root / ".postpilot" / "serve.token"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        for endpoint in GET_ENDPOINTS:
            answer = h.get(endpoint)
            assert answer.status_code == 200, endpoint
            assert secret not in answer.text, endpoint
    with running_dashboard(project_root):
        assert token(project_root) == secret


def test_the_login_link_with_its_token_is_printed_only_to_a_terminal(project_root: Path) -> None:
    """A terminal gets the whole login link; a pipe or a file (what a log keeps) gets the
    address and the token file's path, never the token."""
    seeded_demo(project_root)
    master, follower = os.openpty()
    with running_dashboard(project_root) as handle, open(follower, "w") as terminal:
        secret = token(project_root)
        assert handle.login_hint(terminal, project_root).endswith(f"login?token={secret}")
        with (project_root / "captured.log").open("w") as piped:
            hint = handle.login_hint(piped, project_root)
        assert secret not in hint
        assert str(project_root / ".postpilot" / "serve.token") in hint
    os.close(master)


def test_login_link_sets_a_strict_httponly_cookie(project_root: Path) -> None:
    """The printed link, opened once, leaves a cookie that authenticates; the token leaves the
    address; a wrong token in the link is refused."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root, auth=False) as h:
        assert handle.login_url.startswith(handle.url + "login?token=")
        bad = h.get("/login", params={"token": "nope"})
        assert bad.status_code == 401
        answer = h.get(handle.login_url.removeprefix(handle.url.rstrip("/")))
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert token(project_root).lower() not in cookie
        assert h.get("/api/overview").status_code == 200


def test_every_response_carries_the_strict_policy(project_root: Path) -> None:
    """Pages, API answers, assets and errors all carry the CSP and nosniff headers."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        answers = [h.get(p) for p in (*GET_ENDPOINTS, "/api/nothing")]
        with client(handle, project_root, auth=False) as anonymous:
            answers.append(anonymous.get("/api/overview"))
        for answer in answers:
            assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "unsafe-inline" not in answer.headers["content-security-policy"]


def test_foreign_host_header_is_refused(project_root: Path) -> None:
    """A request naming another host (DNS rebinding) is refused even with the token."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        answer = h.get("/api/overview", headers={"Host": "evil.example:80"})
        assert answer.status_code == 421


def test_api_status_is_what_status_json_prints(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GET /api/campaigns/demo/status and `--status --json` report the same numbers."""
    ctx = seeded_demo(project_root)
    make_unconfirmed(ctx)
    failed = make_failed(ctx)
    block(ctx, failed.account)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        api = h.get("/api/campaigns/demo/status").json()
        cli = run_inprocess(capsys, "--campaign", "demo", "--status", "--json")
        overview = h.get("/api/overview").json()
    assert cli.code == 0
    assert api == cli.json()
    row = next(c for c in overview["campaigns"] if c["name"] == "demo")
    assert row["counts"] == api["counts"]
    assert row["unconfirmed"] == api["counts"]["unconfirmed"] == 1
    assert row["blocked"] == api["blocked"]
    assert row["success_rate"] == api["success_rate"]
    assert row["today"]["posted"] == api["daily"]["total"]


def test_confirm_and_unblock_are_recorded_once_per_key(project_root: Path) -> None:
    """Confirming and unblocking act once per Idempotency-Key, are kept with who and when,
    and a replay returns the first answer without acting again."""
    ctx = seeded_demo(project_root)
    job = make_unconfirmed(ctx)
    block(ctx, "demo_alice")
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        path = f"/api/campaigns/demo/jobs/{job.job_id}/confirm"
        first = _post(h, path, "confirm-key-1", {"posted": True})
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "success"
        again = _post(h, path, "confirm-key-1", {"posted": True})
        assert again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        other = _post(h, "/api/campaigns/demo/accounts/demo_alice/unblock", "confirm-key-1")
        assert other.status_code == 422
        unblocked = _post(h, "/api/campaigns/demo/accounts/demo_alice/unblock", "unblock-key-1")
        assert unblocked.status_code == 200, unblocked.text
        twice = _post(h, "/api/campaigns/demo/accounts/demo_alice/unblock", "unblock-key-2")
        assert twice.status_code == 409
        assert "not blocked" in twice.json()["error"].lower()
        actions = h.get("/api/campaigns/demo").json()["actions"]
    assert sorted(a["action"] for a in actions) == ["confirm", "unblock"]
    assert all("via dashboard (bearer" in a["actor"] and a["at"] for a in actions)
    with store_of(ctx) as store:
        assert store.get(job.job_id).status is JobStatus.SUCCESS  # type: ignore[union-attr]
        assert not store.account_states(["demo_alice"])["demo_alice"].block


def test_cookie_sessions_need_the_csrf_header_for_actions(project_root: Path) -> None:
    """With the login cookie, a POST without X-CSRF-Token or from another origin is refused;
    with the page's CSRF value it acts."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root, auth=False) as h:
        h.get("/login", params={"token": token(project_root)})
        csrf = h.get("/api/session").json()["csrf"]
        assert csrf
        assert csrf != token(project_root)
        bare = _post(h, "/api/campaigns/demo/pause", "csrf-key-1")
        assert bare.status_code == 403
        foreign = _post(
            h,
            "/api/campaigns/demo/pause",
            "csrf-key-2",
            **{"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
        )
        assert foreign.status_code == 403
        good = _post(h, "/api/campaigns/demo/pause", "csrf-key-3", **{"X-CSRF-Token": csrf})
        assert good.status_code == 200, good.text
        assert h.get("/api/campaigns/demo").json()["paused"]["by"].endswith("(cookie, 127.0.0.1)")


def test_paused_campaign_claims_nothing_until_resumed(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run of a paused campaign publishes nothing and --status says paused; after resume
    the same run publishes."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        assert _post(h, "/api/campaigns/demo/pause", "pause-key-1").status_code == 200
        paused_run = run_inprocess(capsys, "--campaign", "demo", "--run", "--json")
        status = run_inprocess(capsys, "--campaign", "demo", "--status")
        assert _post(h, "/api/campaigns/demo/resume", "resume-key-1").status_code == 200
        resumed_run = run_inprocess(capsys, "--campaign", "demo", "--run", "--json")
    assert paused_run.json()["success"] == 0
    assert "Paused: claims nothing until resumed" in status.out
    assert resumed_run.json()["success"] == 6


def test_retry_failed_rearms_from_the_page(project_root: Path) -> None:
    """Retry failed puts failed jobs back (non-retryable ones when asked)."""
    ctx = seeded_demo(project_root)
    failed = make_failed(ctx)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        plain = _post(h, "/api/campaigns/demo/retry-failed", "retry-key-1")
        assert plain.json()["rearmed"] == 0
        forced = _post(
            h, "/api/campaigns/demo/retry-failed", "retry-key-2", {"include_non_retryable": True}
        )
        assert forced.json()["rearmed"] == 1
    with store_of(ctx) as store:
        assert store.get(failed.job_id).status is JobStatus.RETRYING  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/campaigns/demo/jobs?limit=0", None, 422),
        ("GET", "/api/campaigns/demo/jobs?limit=100000", None, 422),
        ("GET", "/api/campaigns/demo/jobs?offset=-1", None, 422),
        ("GET", "/api/campaigns/demo/jobs?status=bogus", None, 422),
        ("GET", "/api/campaigns/nope", None, 404),
        ("GET", "/api/nothing/here", None, 404),
        ("POST", "/api/campaigns/demo/jobs/nope/confirm", {"posted": True}, 409),
        ("POST", "/api/campaigns/demo/jobs/x/confirm", {"posted": "maybe"}, 422),
        ("POST", "/api/campaigns/demo/jobs/x/confirm", {"posted": True, "extra": 1}, 422),
        ("POST", "/api/campaigns/demo/jobs/x/confirm", "not json", 422),
        ("POST", "/api/campaigns/nope/pause", {}, 404),
    ],
)
def test_bad_input_is_a_json_4xx(
    project_root: Path, method: str, path: str, body: object, status: int
) -> None:
    """Bad parameters, bodies and names get a 4xx with a JSON error, never a traceback."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        content = body if isinstance(body, str) else json.dumps(body)
        answer = h.request(
            method,
            path,
            content=content if body is not None else None,
            headers={"Idempotency-Key": "bad-input-key", "Content-Type": "application/json"},
        )
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]
    assert "Traceback" not in answer.text
    assert "maybe" not in answer.text  # the input is not echoed back


def test_actions_need_a_valid_idempotency_key(project_root: Path) -> None:
    """An action without an Idempotency-Key, or with a malformed one, changes nothing (400)."""
    ctx = seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        missing = h.post("/api/campaigns/demo/pause", json={})
        malformed = _post(h, "/api/campaigns/demo/pause", "a b")
    assert missing.status_code == malformed.status_code == 400
    assert "Idempotency-Key" in missing.json()["error"]
    with store_of(ctx) as store:
        assert store.pause_state() is None  # type: ignore[attr-defined]


def test_openapi_document_describes_the_api(project_root: Path) -> None:
    """/api/openapi.json lists every endpoint the page uses, actions as POSTs."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        doc = h.get("/api/openapi.json").json()
    paths = doc["paths"]
    assert {"/api/overview", "/api/campaigns/{name}/jobs", "/api/events"} <= set(paths)
    assert "post" in paths["/api/campaigns/{name}/jobs/{job_id}/confirm"]
    assert "post" in paths["/api/campaigns/{name}/accounts/{account}/unblock"]
