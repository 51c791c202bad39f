"""`postpilot --serve` does what --run does before each campaign's run: preflight, healing of
needs-reauth blocks, the refusal to seed over prior progress; a refused campaign is one log line
and is tried again when its files change, while the others are served. Worker spec files do not
pile up in the logs folder."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot.credentials import CredentialStore, reauth_reason
from postpilot.runner.locks import RunLock
from postpilot.store import open_store
from postpilot.store.base import BLOCK_NEEDS_REAUTH
from tests.acceptance.helpers import run_postpilot
from tests.fakes.counting_publisher import read_journal
from tests.integration.runner.campaigns import context, make_campaign
from tests.integration.runner.service_proc import Served

pytestmark = pytest.mark.slow

BAD_CSV = 'filename,post_caption\n"bad-0000.mp4,"unterminated\n'


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Services started by a test; killed afterwards if the test failed with one running."""
    started: list[Served] = []
    yield started
    for service in started:
        service.stop()


def _serve(served: list[Served], root: Path, *args: str, **env: str) -> Served:
    service = Served(root, *args, **env)
    served.append(service)
    return service


def _lines(service: Served, text: str) -> list[str]:
    return [line for line in service.err().splitlines() if text in line]


def _stop(service: Served) -> None:
    service.proc.send_signal(signal.SIGTERM)
    assert service.finish() == 143
    assert "Traceback" not in service.err()


def test_bad_captions_are_one_line_and_the_campaign_runs_once_fixed(
    project_root: Path, served: list[Served]
) -> None:
    """A campaign whose captions file is not valid CSV is refused by the preflight in one log
    line naming the file, the line and the fix, without a traceback and without a store; the
    other campaign is published meanwhile; fixing the file publishes the refused one."""
    make_campaign(project_root, "good", ["a1"], 1)
    bad = make_campaign(project_root, "bad", ["b1"], 1)
    good_csv = (bad / "captions.csv").read_text(encoding="utf-8")
    (bad / "captions.csv").write_text(BAD_CSV, encoding="utf-8")
    journal = project_root / "journal.log"
    service = _serve(served, project_root)
    assert service.wait_journal(journal, 1) == ["good-0000.mp4_good"]
    service.wait_for("the refusal", lambda: bool(_lines(service, "Campaign 'bad' not run")))
    [refusal] = _lines(service, "Campaign 'bad' not run")
    assert "captions.csv line 2" in refusal
    assert "Quote a caption" in refusal
    assert not (bad / "progress.db").exists()
    assert service.proc.poll() is None

    (bad / "captions.csv").write_text(good_csv, encoding="utf-8")
    published = service.wait_journal(journal, 2)
    assert sorted(published) == ["bad-0000.mp4_bad", "good-0000.mp4_good"]
    assert len(_lines(service, "Campaign 'bad' not run")) == 1
    _stop(service)
    assert sorted(read_journal(journal)) == sorted(published)


def test_prior_progress_never_imported_is_refused_and_ignore_flag_serves_it(
    project_root: Path, served: list[Served]
) -> None:
    """A campaign folder holding a prior progress.csv never imported is not seeded (as --run
    refuses): one line naming the file and the fixes; --serve --ignore-prior-progress seeds it."""
    folder = make_campaign(project_root, "prior", ["a1"], 1)
    (folder / "progress.csv").write_text("job_id,status\n", encoding="utf-8")
    service = _serve(served, project_root)
    service.wait_for("the refusal", lambda: bool(_lines(service, "Campaign 'prior' not run")))
    [refusal] = _lines(service, "Campaign 'prior' not run")
    assert "progress.csv" in refusal
    assert "--ignore-prior-progress" in refusal
    assert "--migrate" in refusal
    assert not (folder / "progress.db").exists()
    _stop(service)
    assert read_journal(project_root / "journal.log") == []

    again = _serve(served, project_root, "--ignore-prior-progress")
    assert again.wait_journal(project_root / "journal.log", 1) == ["prior-0000.mp4_prior"]
    assert not _lines(again, "not run")
    _stop(again)


def test_new_credentials_lift_a_needs_reauth_block_before_the_run(
    project_root: Path, served: list[Served]
) -> None:
    """An account blocked for re-authorization whose tokens were replaced since is healed by
    the service before the run, as --run heals it, and its job is published."""
    folder = make_campaign(project_root, "auth", ["a1"], 1)
    creds = project_root / "credentials.json"

    def write(token: str) -> None:
        entry = {"platform": "youtube", "refresh_token": "r", "access_token": token}
        creds.write_text(json.dumps({"accounts": {"a1": entry}}), encoding="utf-8")
        creds.chmod(0o600)

    seeded = run_postpilot(project_root, "--campaign", "auth", "--seed-only")
    assert seeded.code == 0, seeded.err
    write("old-token")
    store = open_store(context(folder))
    try:
        reason = reauth_reason(CredentialStore(creds), "a1", "HTTP 401: token revoked")
        store.block_account("a1", BLOCK_NEEDS_REAUTH, reason)
    finally:
        store.close()
    write("new-token")
    service = _serve(served, project_root)
    assert service.wait_journal(project_root / "journal.log", 1) == ["auth-0000.mp4_auth"]
    assert _lines(service, "account a1 has new credentials")
    _stop(service)


def test_spec_files_are_removed_when_runs_end_and_stale_ones_at_start(
    project_root: Path, served: list[Served]
) -> None:
    """A killed run's spec file is removed when the service starts; the spec of each run the
    service makes is removed when that run ends; a campaign whose run lock another run holds
    keeps its spec files (that run still reads them)."""
    make_campaign(project_root, "spec", ["a1"], 1)
    busy = make_campaign(project_root, "busy", ["b1"], 1)
    logs = project_root / "logs"
    for name in ("spec", "busy"):
        (logs / name).mkdir(parents=True)
        (logs / name / "run_20260301T000000-dead00.spec.json").write_text("{}", encoding="utf-8")
    lock = RunLock(context(busy))
    lock.acquire()
    try:
        service = _serve(served, project_root)
        service.wait_journal(project_root / "journal.log", 1)
        service.wait_for("the run to end", lambda: bool(_lines(service, "'spec': run 2")))
        service.wait_for("the busy refusal", lambda: bool(_lines(service, "'busy': run -")))
        assert list((logs / "spec").glob("run_*.spec.json")) == []
        assert [p.name for p in (logs / "busy").glob("run_*.spec.json")] == [
            "run_20260301T000000-dead00.spec.json"
        ]
        _stop(service)
    finally:
        lock.release()
