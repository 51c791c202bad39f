"""Where and how the dashboard listens: loopback by default, other addresses only with TLS or
an explicit --insecure, the command line's --serve --dashboard-only, and the event stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from postpilot.jobs import utcnow
from postpilot.serve_options import check_bind
from postpilot.web import BindRefused, TLSFiles, start_dashboard
from tests.acceptance.helpers import REPO, run_postpilot
from tests.web.helpers import client, make_unconfirmed, running_dashboard, seeded_demo, token

#: Every interface: what the refusal is about (never actually bound here).
ANY_ADDRESS = "0.0.0.0"  # noqa: S104


def test_non_loopback_host_needs_tls_or_insecure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """0.0.0.0 is refused without TLS files, accepted with them, and with --insecure only
    after a warning; loopback needs neither."""
    check_bind("127.0.0.1", None, False)
    check_bind("::1", None, False)
    with pytest.raises(BindRefused, match="without TLS"):
        check_bind(ANY_ADDRESS, None, False)
    with pytest.raises(BindRefused, match="does not exist"):
        check_bind(ANY_ADDRESS, TLSFiles(tmp_path / "c.pem", tmp_path / "k.pem"), False)
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "k.pem").write_text("key")
    check_bind(ANY_ADDRESS, TLSFiles(tmp_path / "c.pem", tmp_path / "k.pem"), False)
    check_bind(ANY_ADDRESS, None, True)
    assert "plain HTTP (--insecure)" in caplog.text


def test_cli_refuses_a_public_host_without_tls(project_root: Path) -> None:
    """`--serve --dashboard-only --host 0.0.0.0` exits 1 explaining the fix; nothing listens
    and no token file is written."""
    result = run_postpilot(project_root, "--serve", "--dashboard-only", "--host", ANY_ADDRESS)
    assert result.code == 1
    assert "--tls-cert FILE --tls-key FILE" in result.err
    assert "Traceback" not in result.err
    assert not (project_root / ".postpilot" / "serve.token").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dashboard-only"], "--dashboard-only only applies with --serve"),
        (["--serve", "--dashboard-only", "--port", "70000"], "--port must be 0-65535"),
        (["--serve", "--dashboard-only", "--tls-cert", "x"], "go together"),
        (["--host", "127.0.0.1", "--status"], "--host does not apply to --status"),
    ],
)
def test_serving_flags_usage_errors(project_root: Path, args: list[str], message: str) -> None:
    """Wrong combinations of the serving flags are usage errors (exit 2) naming the flag."""
    result = run_postpilot(project_root, *args)
    assert result.code == 2
    assert message in result.err


def test_port_in_use_is_a_clear_error(project_root: Path) -> None:
    """A second dashboard on a taken port fails naming the port and the fix."""
    seeded_demo(project_root)
    with running_dashboard(project_root) as handle:
        port = int(handle.url.rsplit(":", 1)[1].strip("/"))
        with pytest.raises(BindRefused, match=f"127.0.0.1:{port}.*\n.*--port"):
            start_dashboard(project_root, "127.0.0.1", port)


@pytest.mark.slow
def test_dashboard_only_serves_until_sigterm(project_root: Path) -> None:
    """`postpilot --serve --dashboard-only` prints the URL and login link, answers with the
    token, and exits 0 on SIGTERM."""
    seeded_demo(project_root)
    env = {**os.environ, "POSTPILOT_HOME": str(project_root), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postpilot", "--serve", "--dashboard-only", "--port", "0"],
        cwd=project_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        link = proc.stdout.readline()
        assert "dashboard (no publishing) at http://127.0.0.1:" in first
        url = first.rsplit(" ", 1)[1].strip()
        # Piped output may be kept in a log: it names the token file instead of the token.
        assert token(project_root) not in first + link
        assert "login?token=TOKEN" in link
        assert ".postpilot/serve.token" in link
        answer = httpx.get(
            url + "api/overview", headers={"Authorization": f"Bearer {token(project_root)}"}
        )
        assert answer.status_code == 200
        assert [c["name"] for c in answer.json()["campaigns"]] == ["demo", "podcast"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert token(project_root) not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_event_stream_pushes_the_overview_when_it_changes(project_root: Path) -> None:
    """/api/events sends the overview at once and again after the counts change."""
    ctx = seeded_demo(project_root)
    with running_dashboard(project_root) as handle, client(handle, project_root) as h:
        events: list[str] = []
        with h.stream("GET", "/api/events", timeout=30) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            changed = False
            deadline = time.monotonic() + 60
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                if line.startswith("data: ") and '"unconfirmed": 1' in line:
                    break
                if len(events) == 1 and not changed:
                    make_unconfirmed(ctx)
                    changed = True
                assert time.monotonic() < deadline, "no update arrived"
    assert events[:2] == ["overview", "overview"]


@pytest.mark.slow
def test_serve_runs_the_dashboard_beside_the_publishing(project_root: Path) -> None:
    """`postpilot --serve --port 0` publishes and serves the dashboard: the login link is on
    stderr, the page's numbers show the published job, and no log or file but the token file
    holds the token; SIGTERM stops both."""
    from tests.integration.runner.campaigns import make_campaign
    from tests.integration.runner.service_proc import Served

    make_campaign(project_root, "solo", ["a1"], 1)
    service = Served(project_root, "--port", "0")
    try:
        service.wait_for("the login link", lambda: "login?token=" in service.err())
        line = next(x for x in service.err().splitlines() if "postpilot dashboard at" in x)
        url = line.rsplit(" ", 1)[1].strip()
        secret = token(project_root)
        headers = {"Authorization": f"Bearer {secret}"}

        def published() -> bool:
            answer = httpx.get(url + "api/overview", headers=headers, timeout=10)
            rows = answer.json()["campaigns"]
            return bool(rows) and rows[0]["counts"]["success"] == 1

        service.wait_for("the page to show the publish", published)
        service.proc.send_signal(signal.SIGTERM)
        assert service.finish() == 143
        with pytest.raises(httpx.HTTPError):
            httpx.get(url + "api/overview", headers=headers, timeout=5)
        for path in project_root.rglob("*"):
            if path.is_file() and path.name != "serve.token":
                assert secret.encode() not in path.read_bytes(), path
    finally:
        service.stop()


@pytest.mark.slow
def test_service_publishes_nothing_while_paused_and_at_once_after_resume(
    project_root: Path,
) -> None:
    """A campaign paused from the dashboard is run by --serve without a claim (its log says
    paused, the channel saw nothing); resuming from the page publishes it on the next poll,
    long before the service's 15-minute recheck."""
    from postpilot import operations
    from tests.fakes.counting_publisher import read_journal
    from tests.integration.runner.campaigns import context as folder_context
    from tests.integration.runner.campaigns import make_campaign
    from tests.integration.runner.service_proc import Served
    from tests.web.helpers import store_of

    folder = make_campaign(project_root, "solo", ["a1"], 1)
    ctx = folder_context(folder)
    assert operations.seed_data(ctx)["ok"]
    with store_of(ctx) as store:
        store.set_paused(True, "test", utcnow())  # type: ignore[attr-defined]
    journal = project_root / "journal.log"
    service = Served(project_root, "--port", "0")
    try:
        service.wait_for("the paused run", lambda: "paused; no jobs are claimed" in service.err())
        assert read_journal(journal) == []
        service.wait_for("the login link", lambda: "login?token=" in service.err())
        line = next(x for x in service.err().splitlines() if "postpilot dashboard at" in x)
        url = line.rsplit(" ", 1)[1].strip()
        answer = httpx.post(
            url + "api/campaigns/solo/resume",
            headers={
                "Authorization": f"Bearer {token(project_root)}",
                "Idempotency-Key": "resume-from-test",
            },
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        service.wait_journal(journal, 1)
    finally:
        service.stop()
