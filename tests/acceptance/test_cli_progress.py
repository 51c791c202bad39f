"""Commands on a campaign's jobs: --seed-only, --status, --reset-day, --retry-all-failed,
--confirm, --export-csv and --import-progress, with their JSON contracts and exit codes."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext
from postpilot.jobs import ErrorCategory, Failure, Job, JobStatus, RetryPolicy, local_day, utcnow
from postpilot.runner.locks import RunLock
from postpilot.store import open_store
from postpilot.store.base import BLOCK_NEEDS_REAUTH, BLOCK_RATE_LIMIT, ClaimRequest, JobStore
from tests.acceptance.helpers import (
    Result,
    assert_no_traceback,
    copy_examples,
    make_campaign,
    run_inprocess,
    run_postpilot,
    tree_digest,
)

STATUS_KEYS = {"total", "pending", "claimed", "success", "failed", "retrying", "skipped"}


def _ctx(root: Path, name: str) -> PostingContext:
    return PostingContext.from_campaign(CampaignConfig.from_folder(root / "campaigns" / name, root))


@pytest.fixture
def store_of(project_root: Path) -> Iterator[Callable[[str], JobStore]]:
    """Open a campaign's store in the test (closed afterwards)."""
    opened: list[JobStore] = []

    def open_(name: str) -> JobStore:
        store = open_store(_ctx(project_root, name))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def _claim(store: JobStore, ctx: PostingContext, job_id: str | None = None) -> Job:
    """Claim jobs until `job_id` (or any job) is ours; others are released."""
    now = utcnow()
    request = ClaimRequest(
        worker_id="test",
        now=now,
        lease=timedelta(seconds=120),
        daily_limit=100,
        day=local_day(now, ctx.timezone),
    )
    held: list[Job] = []
    try:
        while True:
            job = store.claim(request)
            assert job is not None, f"could not claim {job_id}"
            if job_id is None or job.job_id == job_id:
                return job
            held.append(job)
    finally:
        for other in held:
            store.release(other.job_id, other.lease_token)


def _make_unconfirmed(store: JobStore, ctx: PostingContext) -> Job:
    job = _claim(store, ctx)
    now = utcnow()
    assert store.start_publish(job.job_id, job.lease_token, now)
    assert store.mark_unconfirmed(job.job_id, job.lease_token, now, "worker died mid-publish")
    return job


def _make_failed(store: JobStore, ctx: PostingContext, category: ErrorCategory) -> Job:
    job = _claim(store, ctx)
    failure = Failure(
        category, "terminated" if category is ErrorCategory.ACCOUNT else "timeout", "x"
    )
    failed = store.fail(job.job_id, job.lease_token, utcnow(), failure, RetryPolicy())
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    return failed


@pytest.fixture
def demo(project_root: Path) -> Path:
    """The demo example campaign, copied into the test's project root."""
    copy_examples(project_root, "demo")
    return project_root / "campaigns" / "demo"


def _seed(capsys: pytest.CaptureFixture[str], name: str) -> Result:
    result = run_inprocess(capsys, "--campaign", name, "--seed-only", "--json")
    assert result.code == 0, result.err
    return result


def test_seed_only_then_status_json_contract(demo: Path, project_root: Path) -> None:
    """--seed-only seeds the demo campaign; --status --json is one object with the contract's
    keys (real entry point)."""
    seeded = run_postpilot(project_root, "--campaign", "demo", "--seed-only", "--json")
    assert seeded.code == 0, seeded.err
    data = seeded.json()
    assert data["seeded"] > 0
    assert data["campaign"] == "demo"
    # daily limit 1 with 6 accounts: the rest is skipped with a reason, never silently
    assert data["seeded"] + len(data["skipped"]) == 12
    assert all(item["reason"] for item in data["skipped"])
    status = run_postpilot(project_root, "--campaign", "demo", "--status", "--json")
    assert status.code == 0
    body = status.json()
    assert body["campaign"] == "demo"
    assert body["progress_file"] == str(demo / "progress.db")
    assert body["accounts"] == 6
    assert set(body["counts"]) >= STATUS_KEYS | {"unconfirmed"}
    assert body["counts"]["total"] == data["seeded"]
    assert body["counts"]["pending"] == data["seeded"]
    assert body["success_rate"] is None
    assert len(body["per_account"]) == 6
    assert body["daily"]["limit"] == 1
    assert body["blocked"] == []
    assert "[campaign 'demo']" in status.err
    assert_no_traceback(status)


@pytest.mark.usefixtures("demo")
def test_job_ids_are_video_name_and_campaign(
    capsys: pytest.CaptureFixture[str],
    store_of: Callable[[str], JobStore],
) -> None:
    """Seeded job ids are `<video file name>_<campaign name>`."""
    _seed(capsys, "demo")
    store = store_of("demo")
    for job in store.list_jobs():
        assert job.job_id == f"{Path(job.video_path).name}_demo"


@pytest.mark.usefixtures("demo")
def test_second_seed_is_refused_while_jobs_are_pending(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's guard: pending jobs refuse --seed-only (exit 1, naming the campaign);
    --force-reseed bypasses it and only adds jobs that are new."""
    _seed(capsys, "demo")
    result = run_inprocess(capsys, "--campaign", "demo", "--seed-only")
    assert result.code == 1
    assert "Progress file for campaign 'demo' has" in result.err
    assert "pending" in result.err
    assert "No jobs seeded" in result.err
    forced = run_inprocess(capsys, "--campaign", "demo", "--seed-only", "--force-reseed", "--json")
    assert forced.code == 1  # nothing new to add: the seed's "0 jobs" exit
    assert forced.json()["seeded"] == 0


def test_human_status_after_seeding(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The human status shows the seed's sections with the campaign's counts."""
    _seed(capsys, "demo")
    result = run_inprocess(capsys, "--campaign", "demo", "--status")
    assert result.code == 0
    out = result.out
    assert "PARALLEL POSTING STATUS - campaign 'demo'" in out
    assert f"Progress ({demo / 'progress.db'}):" in out
    assert "Unconfirmed:" in out
    assert "Per-account" in out
    assert "demo_alice:" in out
    assert "Campaign Info:" in out
    assert "Running: no orchestrator" in out


@pytest.mark.usefixtures("demo")
def test_run_with_force_reseed_is_refused_when_a_store_exists(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The seed's safety check: --run --force-reseed with an existing progress file exits 1."""
    _seed(capsys, "demo")
    result = run_inprocess(capsys, "--campaign", "demo", "--run", "--force-reseed")
    assert result.code == 1
    assert "--force-reseed not allowed with existing progress file" in result.err
    assert_no_traceback(result)


def test_reset_day_archives_and_the_next_seed_starts_a_new_day(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--reset-day writes archive/progress_YYYYMMDD[_n].csv plus a store snapshot, empties the
    store, and --seed-only afterwards seeds again; archived video paths are absolute."""
    first = _seed(capsys, "demo").json()["seeded"]
    day = local_day(utcnow(), "UTC").replace("-", "")
    result = run_inprocess(capsys, "--campaign", "demo", "--reset-day", "--json")
    assert result.code == 0, result.err
    data = result.json()
    archive = demo / "archive" / f"progress_{day}.csv"
    assert data["archive_csv"] == str(archive)
    assert data["archived"] == first
    assert Path(data["snapshot"]).exists()
    with archive.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows[0]) == 17
    assert len(rows) == first + 1
    # Archives write absolute video paths, like --export-csv and the prior system's files.
    column = rows[0].index("video_path")
    assert all(Path(row[column]).is_absolute() and Path(row[column]).is_file() for row in rows[1:])
    status = run_inprocess(capsys, "--campaign", "demo", "--status", "--json").json()
    assert status["counts"]["total"] == 0
    again = _seed(capsys, "demo").json()
    assert again["seeded"] == first
    second = run_inprocess(capsys, "--campaign", "demo", "--reset-day")
    assert second.code == 0
    assert (demo / "archive" / f"progress_{day}_1.csv").exists()
    assert "Reset complete for campaign 'demo'" in second.out
    assert "--run" in second.out


def test_reset_day_without_a_store_fails_cleanly(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--reset-day before any seeding: exit 1, 'Progress file not found', nothing created."""
    result = run_inprocess(capsys, "--campaign", "demo", "--reset-day")
    assert result.code == 1
    assert f"Progress file not found: {demo / 'progress.db'}" in result.err
    assert not (demo / "archive").exists()


def test_commands_that_rewrite_the_store_are_refused_during_a_run(
    demo: Path, project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """While a run holds the campaign, --reset-day and --seed-only --force-reseed are refused
    with the holder's pid, and change nothing (real entry point, another process)."""
    _seed(capsys, "demo")
    ctx = _ctx(project_root, "demo")
    with RunLock(ctx) as holder:
        before = tree_digest(demo)
        reset = run_postpilot(project_root, "--campaign", "demo", "--reset-day")
        reseed = run_postpilot(
            project_root, "--campaign", "demo", "--seed-only", "--force-reseed", "--json"
        )
        status = run_postpilot(project_root, "--campaign", "demo", "--status", "--json")
        after = tree_digest(demo)
    assert reset.code == 1
    assert f"PID {holder.pid}" in reset.err
    assert "Cannot reset the day for campaign 'demo' while an orchestrator is running" in reset.err
    assert reseed.code == 1
    assert reseed.json()["error"] == "orchestrator_conflict"
    assert status.code == 0
    assert status.json()["running"][0]["pid"] == holder.pid
    assert after == before


def test_retry_all_failed_rearms_retryable_failures_and_never_unconfirmed(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """--retry-all-failed re-arms failed jobs (account/content ones only with
    --retry-include-non-retryable) and never touches unconfirmed jobs."""
    make_campaign(project_root, "c1", ["a", "b", "c"], 3, {"max_attempts": 1})
    _seed(capsys, "c1")
    ctx = _ctx(project_root, "c1")
    store = store_of("c1")
    _make_failed(store, ctx, ErrorCategory.INFRASTRUCTURE)
    _make_failed(store, ctx, ErrorCategory.ACCOUNT)
    unconfirmed = _make_unconfirmed(store, ctx)
    result = run_inprocess(capsys, "--campaign", "c1", "--retry-all-failed", "--json")
    assert result.code == 0
    data = result.json()
    assert data["rearmed"] == 1
    assert data["counts_after"]["failed"] == 1
    assert data["counts_after"]["unconfirmed"] == 1
    human = run_inprocess(capsys, "--campaign", "c1", "--retry-all-failed")
    assert human.code == 0
    assert "No failed jobs to retry for campaign 'c1'" in human.out
    assert "--retry-include-non-retryable" in human.out
    result = run_inprocess(
        capsys, "--campaign", "c1", "--retry-all-failed", "--retry-include-non-retryable", "--json"
    )
    assert result.json()["rearmed"] == 1
    job = store.get(unconfirmed.job_id)
    assert job is not None
    assert job.status is JobStatus.UNCONFIRMED
    status = run_inprocess(capsys, "--campaign", "c1", "--status", "--json").json()
    assert status["counts"]["unconfirmed"] == 1
    assert status["counts"]["retrying"] == 2
    assert status["per_error_type"]["unconfirmed"] == 1


def test_confirm_settles_unconfirmed_jobs(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """--confirm JOB posted makes it a success counted today; not-posted puts it back to
    pending; other jobs and unknown ids are refused with exit 1."""
    make_campaign(project_root, "c1", ["a", "b", "c"], 3)
    _seed(capsys, "c1")
    ctx = _ctx(project_root, "c1")
    store = store_of("c1")
    posted = _make_unconfirmed(store, ctx)
    not_posted = _make_unconfirmed(store, ctx)
    result = run_inprocess(capsys, "--campaign", "c1", "--confirm", posted.job_id, "posted")
    assert result.code == 0, result.err
    assert f"Job '{posted.job_id}' of campaign 'c1' confirmed as posted: now success" in result.out
    data = run_inprocess(
        capsys, "--campaign", "c1", "--confirm", not_posted.job_id, "not-posted", "--json"
    ).json()
    assert data["status"] == "pending"
    status = run_inprocess(capsys, "--campaign", "c1", "--status", "--json").json()
    assert status["counts"]["success"] == 1
    assert status["counts"]["unconfirmed"] == 0
    assert status["daily"]["per_account"][posted.account] == 1
    again = run_inprocess(capsys, "--campaign", "c1", "--confirm", posted.job_id, "not-posted")
    assert again.code == 1
    assert "is success, not unconfirmed" in again.err
    unknown = run_inprocess(capsys, "--campaign", "c1", "--confirm", "nope.mp4_c1", "posted")
    assert unknown.code == 1
    assert "No job 'nope.mp4_c1' in campaign 'c1'" in unknown.err


def test_reset_day_is_refused_while_jobs_are_unconfirmed(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """An unconfirmed job may have been posted: --reset-day refuses and says how to resolve it."""
    folder = make_campaign(project_root, "c1", ["a", "b"], 2)
    _seed(capsys, "c1")
    _make_unconfirmed(store_of("c1"), _ctx(project_root, "c1"))
    result = run_inprocess(capsys, "--campaign", "c1", "--reset-day")
    assert result.code == 1
    assert "1 jobs are unconfirmed" in result.err
    assert "--confirm JOB_ID posted|not-posted" in result.err
    assert not (folder / "archive").exists()


@pytest.mark.usefixtures("demo")
def test_export_then_import_round_trips_multiline_captions(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    store_of: Callable[[str], JobStore],
) -> None:
    """--export-csv writes the 17-column format; after --reset-day, --import-progress brings
    every job back with its multi-line, emoji caption byte for byte."""
    _seed(capsys, "demo")
    store = store_of("demo")
    original = {j.job_id: j.caption for j in store.list_jobs()}
    assert any("\n" in caption for caption in original.values())
    target = tmp_path / "export.csv"
    result = run_inprocess(capsys, "--campaign", "demo", "--export-csv", str(target), "--json")
    assert result.code == 0
    assert result.json()["exported"] == len(original)
    with target.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[:5] == ["job_id", "account", "video_path", "caption", "status"]
    assert len(header) == 17
    assert run_inprocess(capsys, "--campaign", "demo", "--reset-day").code == 0
    imported = run_inprocess(
        capsys, "--campaign", "demo", "--import-progress", str(target), "--json"
    )
    assert imported.code == 0, imported.err
    assert imported.json()["imported"] == len(original)
    assert {j.job_id: j.caption for j in store.list_jobs()} == original
    again = run_inprocess(capsys, "--campaign", "demo", "--import-progress", str(target))
    assert again.code == 0
    assert f"{len(original)} jobs were already in the store and left unchanged" in again.out


def test_import_reports_unknown_columns_and_bad_rows(
    project_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prior 13-column CSV with an extra column and a shifted row imports what it can and
    reports the rest; accounts outside the campaign are named."""
    make_campaign(project_root, "c1", ["a"], 1)
    prior = tmp_path / "prior.csv"
    header = [
        "job_id",
        "account",
        "video_path",
        "caption",
        "status",
        "worker_id",
        "claimed_at",
        "completed_at",
        "error",
        "attempts",
        "max_attempts",
        "retry_at",
        "error_type",
        "platform",
    ]
    with prior.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(["v1.mp4_c1", "a", "/v/v1.mp4", "two\nlines ✨", "success"] + [""] * 9)
        writer.writerow(["v2.mp4_c1", "ghost", "/v/v2.mp4", "x", "failed"] + [""] * 9)
        writer.writerow(["broken", "row"])
    result = run_inprocess(capsys, "--campaign", "c1", "--import-progress", str(prior), "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["imported"] == 2
    assert data["unknown_columns"] == ["platform"]
    assert any("line 5" in w or "not imported" in w for w in data["warnings"])
    assert data["accounts_not_in_campaign"] == ["ghost"]


def test_import_of_a_non_progress_file_changes_nothing(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CSV that is not a progress file is refused before any store is created."""
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    before = tree_digest(demo)
    result = run_inprocess(capsys, "--campaign", "demo", "--import-progress", str(other))
    assert result.code == 1
    assert "not a progress CSV" in result.err
    assert tree_digest(demo) == before


def test_export_refuses_to_overwrite_the_store(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--export-csv onto the job store itself is refused."""
    _seed(capsys, "demo")
    before = (demo / "progress.db").read_bytes()
    result = run_inprocess(capsys, "--campaign", "demo", "--export-csv", str(demo / "progress.db"))
    assert result.code == 1
    assert "job store" in result.err
    assert (demo / "progress.db").read_bytes() == before


@pytest.mark.usefixtures("demo")
def test_status_json_has_no_secrets_and_is_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    """The status object carries no lease tokens (and parses as JSON)."""
    _seed(capsys, "demo")
    out = run_inprocess(capsys, "--campaign", "demo", "--status", "--json").out
    assert "lease_token" not in out
    assert isinstance(json.loads(out), dict)


@pytest.mark.usefixtures("demo")
def test_status_shows_blocked_accounts_with_their_reason(
    capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """Accounts that need re-authorization or wait for a rate window are listed with the
    reason (and the window's end), in JSON and in the human status."""
    _seed(capsys, "demo")
    store = store_of("demo")
    store.block_account("demo_alice", BLOCK_NEEDS_REAUTH, "token revoked by the owner")
    until = utcnow() + timedelta(hours=1)
    store.block_account("demo_bob", BLOCK_RATE_LIMIT, "daily upload quota", until)
    store.block_account("demo_carol", BLOCK_RATE_LIMIT, "window over", utcnow() - timedelta(1))
    data = run_inprocess(capsys, "--campaign", "demo", "--status", "--json").json()
    blocked = {b["account"]: b for b in data["blocked"]}
    assert set(blocked) == {"demo_alice", "demo_bob"}
    assert blocked["demo_alice"]["block"] == "needs_reauth"
    assert blocked["demo_alice"]["reason"] == "token revoked by the owner"
    assert blocked["demo_bob"]["until"] == until.isoformat()
    human = run_inprocess(capsys, "--campaign", "demo", "--status").out
    assert "demo_alice:" in human
    assert "[needs_reauth: token revoked by the owner]" in human
    assert "rate_limit until" in human


def test_progress_store_of_another_campaign_is_refused(
    demo: Path, project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Edge case 5: a progress store copied from campaign 'demo' into campaign 'copy' is refused
    by every command, naming both campaigns, and is left untouched."""
    _seed(capsys, "demo")
    copy = project_root / "campaigns" / "copy"
    shutil.copytree(demo, copy)
    (copy / "campaign.json").unlink()
    before = tree_digest(copy)
    for args in (["--status"], ["--seed-only", "--force-reseed"], ["--retry-all-failed"]):
        result = run_inprocess(capsys, "--campaign", "copy", *args, "--json")
        assert result.code == 1
        assert result.json()["error"] == "wrong_campaign_store"
        assert "belongs to campaign 'demo', not to campaign 'copy'" in result.err
        assert_no_traceback(result)
    assert tree_digest(copy) == before


def test_unblock_lifts_a_reauth_block(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """--unblock ACCOUNT lifts a needs-reauth block (after re-authorizing); an account that is
    not blocked is refused with exit 1."""
    make_campaign(project_root, "c1", ["a", "b"], 2)
    _seed(capsys, "c1")
    store = store_of("c1")
    store.block_account("a", BLOCK_NEEDS_REAUTH, "token revoked")
    result = run_inprocess(capsys, "--campaign", "c1", "--unblock", "a", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["was"] == BLOCK_NEEDS_REAUTH
    assert store.account_states(["a"])["a"].block == ""
    again = run_inprocess(capsys, "--campaign", "c1", "--unblock", "a")
    assert again.code == 1
    assert "Not blocked in campaign 'c1': a (nothing was unblocked)" in again.err


def test_unblock_takes_several_accounts_or_all(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """--unblock A B lifts both; --unblock --all lifts every blocked account; a name that is
    not blocked refuses the whole call; --unblock alone is a usage error."""
    make_campaign(project_root, "c1", ["a", "b", "c", "d"], 4)
    _seed(capsys, "c1")
    store = store_of("c1")
    for account in ("a", "b", "c"):
        store.block_account(account, BLOCK_NEEDS_REAUTH, "token revoked")
    refused = run_inprocess(capsys, "--campaign", "c1", "--unblock", "a", "d")
    assert refused.code == 1
    assert store.account_states(["a"])["a"].block == BLOCK_NEEDS_REAUTH
    both = run_inprocess(capsys, "--campaign", "c1", "--unblock", "a", "b", "--json")
    assert both.code == 0, both.err
    assert [u["account"] for u in json.loads(both.out)["unblocked"]] == ["a", "b"]
    status = run_inprocess(capsys, "--campaign", "c1", "--status")
    assert "--campaign c1 --unblock c (or --unblock --all)" in status.out
    every = run_inprocess(capsys, "--campaign", "c1", "--unblock", "--all", "--json")
    assert every.code == 0, every.err
    assert [u["account"] for u in json.loads(every.out)["unblocked"]] == ["c"]
    states = store.account_states(["a", "b", "c", "d"])
    assert all(state.block == "" for state in states.values())
    assert run_inprocess(capsys, "--campaign", "c1", "--unblock").code == 2


def test_reauth_block_lifts_itself_when_credentials_change(
    project_root: Path, capsys: pytest.CaptureFixture[str], store_of: Callable[[str], JobStore]
) -> None:
    """A needs-reauth block records the credentials it failed with; new tokens for that account
    lift it at the next run's preflight, unchanged ones do not."""
    from postpilot.campaign import CampaignConfig
    from postpilot.config import PostingContext
    from postpilot.credentials import CredentialStore, reauth_reason
    from postpilot.preflight import heal_reauth_blocks

    make_campaign(project_root, "c1", ["a", "b"], 2)
    _seed(capsys, "c1")
    creds = project_root / "credentials.json"

    def write(token_a: str) -> None:
        entry = {"platform": "youtube", "refresh_token": "r"}
        data = {"accounts": {"a": {**entry, "access_token": token_a}, "b": entry}}
        creds.write_text(json.dumps(data), encoding="utf-8")
        creds.chmod(0o600)

    write("old-token")
    store = store_of("c1")
    for account in ("a", "b"):
        reason = reauth_reason(CredentialStore(creds), account, "HTTP 401: token revoked")
        store.block_account(account, BLOCK_NEEDS_REAUTH, reason)
    ctx = PostingContext.from_campaign(
        CampaignConfig.from_folder(project_root / "campaigns" / "c1", project_root)
    )
    assert heal_reauth_blocks(ctx) == []
    write("new-token")
    assert heal_reauth_blocks(ctx) == ["a"]
    states = store.account_states(["a", "b"])
    assert (states["a"].block, states["b"].block) == ("", BLOCK_NEEDS_REAUTH)
    status = run_inprocess(capsys, "--campaign", "c1", "--status")
    assert "[credentials" not in status.out
    assert "HTTP 401: token revoked" in status.out


@pytest.mark.slow
def test_imported_mid_publish_rows_are_never_published_again_and_hold_their_account(
    project_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prior rows left claimed / in_progress come in unconfirmed, naming file and line; the
    next --run publishes neither (reconcile cannot see the prior system's post) nor anything
    else of their accounts, while a free account's job is published; --confirm settles one."""
    folder = make_campaign(project_root, "c1", ["a", "b", "c"], 4)
    prior = tmp_path / "prior.csv"
    rows = [
        ("c1-000.mp4_c1", "a", "claimed"),
        ("c1-001.mp4_c1", "a", "pending"),
        ("c1-002.mp4_c1", "b", "in_progress"),
        ("c1-003.mp4_c1", "c", "pending"),
    ]
    with prior.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["job_id", "account", "video_path", "caption", "status"])
        for job_id, account, status in rows:
            video = folder / "videos" / job_id.removesuffix("_c1")
            writer.writerow([job_id, account, str(video), f"caption of {job_id}", status])
    imported = run_inprocess(
        capsys, "--campaign", "c1", "--import-progress", str(prior), "--json"
    ).json()
    assert imported["imported"] == 4
    assert imported["counts"]["unconfirmed"] == 2
    assert any("line 2: job c1-000.mp4_c1 was claimed" in w for w in imported["warnings"])
    run = run_postpilot(
        project_root, "--campaign", "c1", "--run", "--json", "--retry-delay", "0",
        "--max-passes", "1", "--workers", "2",
        POSTPILOT_BACKOFF_SECONDS="0", POSTPILOT_LEASE_SECONDS="10",
    )  # fmt: skip
    assert_no_traceback(run)
    results = run.json()
    posted = sorted(p.parent.name for p in (project_root / "outbox" / "c1").glob("*/*/post.json"))
    assert posted == ["c1-003.mp4_c1"], posted
    assert (results["success"], results["unconfirmed"], results["pending"]) == (1, 2, 1)
    held = {b["job_id"]: b["reason"] for b in results["blocked"]}
    assert "held" in held["c1-001.mp4_c1"]
    ctx = _ctx(project_root, "c1")
    store = open_store(ctx)
    try:
        stuck = store.get("c1-000.mp4_c1")
        assert stuck is not None
        assert stuck.status is JobStatus.UNCONFIRMED
        assert f"{prior} line 2" in stuck.error
    finally:
        store.close()
    settled = run_inprocess(capsys, "--campaign", "c1", "--confirm", "c1-000.mp4_c1", "posted")
    assert settled.code == 0, settled.err
    status = run_inprocess(capsys, "--campaign", "c1", "--status", "--json").json()
    assert status["counts"]["success"] == 2


@pytest.mark.usefixtures("demo")
def test_status_of_a_store_copied_without_its_project_ledger_creates_nothing(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A campaign folder brought in with its progress.db but no project ledger: --status shows
    the store's counts (the ledger reads as empty) and creates no file or folder."""
    seeded = _seed(capsys, "demo").json()["seeded"]
    shutil.rmtree(project_root / ".postpilot")
    before = sorted(p.relative_to(project_root) for p in project_root.rglob("*"))
    result = run_inprocess(capsys, "--campaign", "demo", "--status", "--json")
    assert result.code == 0, result.err
    assert result.json()["counts"]["total"] == seeded
    assert sorted(p.relative_to(project_root) for p in project_root.rglob("*")) == before
