"""What only the SQLite store has: files, WAL, schema versions, campaign ownership, several OS
processes on one database, kill -9, and the recovery of a crash between its two commits."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpilot.errors import SchemaVersionError, StoreUnavailable, WrongCampaignStore
from postpilot.jobs import Job, JobStatus
from postpilot.store import open_store
from postpilot.store.base import ClaimRequest, JobStore
from postpilot.store.sqlite import SCHEMA_VERSION, SqliteJobStore

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
DAY = "2024-05-01"
LEASE = timedelta(minutes=5)


def request(now: datetime = NOW) -> ClaimRequest:
    """A claim request with test defaults."""
    return ClaimRequest(worker_id="w", now=now, lease=LEASE, daily_limit=10, day=DAY)


def jobs(n: int, accounts: int) -> list[Job]:
    """n jobs spread round robin over `accounts` accounts."""
    return [
        Job(job_id=f"j{i:05d}", account=f"acc{i % accounts}", video_path=f"v{i}.mp4", caption="c")
        for i in range(n)
    ]


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """A progress file and a ledger file, neither created yet."""
    return tmp_path / "campaigns" / "alpha" / "progress.db", tmp_path / ".postpilot" / "ledger.db"


def open_alpha(paths: tuple[Path, Path], campaign: str = "alpha") -> SqliteJobStore:
    """Open the SQLite store for `campaign` on the fixture's files."""
    return SqliteJobStore(paths[0], paths[1], campaign)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection to inspect or doctor a store file."""
    return sqlite3.connect(str(path), isolation_level=None)


def test_files_are_in_wal_mode(paths: tuple[Path, Path]) -> None:
    """Both the progress file and the ledger use WAL, and the ledger's folder is created."""
    store = open_alpha(paths)
    store.close()
    for path in paths:
        with raw(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            assert version.fetchone()[0] == str(SCHEMA_VERSION)


def test_open_store_uses_the_context_paths(project_root: Path) -> None:
    """open_store puts a legacy context's store at its progress file and the project ledger."""
    from postpilot.config import PostingContext

    ctx = PostingContext.legacy(project_root=str(project_root))
    store = open_store(ctx)
    try:
        assert isinstance(store, SqliteJobStore)
        assert store.campaign == ctx.store_name
        assert store.progress_path == Path(ctx.progress_file)
        assert store.ledger_path == ctx.ledger_file
    finally:
        store.close()


def test_open_store_takes_its_busy_timeout_from_the_environment(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """POSTPILOT_STORE_BUSY_SECONDS sets how long each write waits for another process's lock
    (SQLite's busy_timeout on the store's connection); unset, it is 30 s."""
    from postpilot.config import PostingContext

    ctx = PostingContext.legacy(project_root=str(project_root))
    for value, millis in (("2.5", 2500), (None, 30000)):
        if value is None:
            monkeypatch.delenv("POSTPILOT_STORE_BUSY_SECONDS", raising=False)
        else:
            monkeypatch.setenv("POSTPILOT_STORE_BUSY_SECONDS", value)
        store = open_store(ctx)
        try:
            assert isinstance(store, SqliteJobStore)
            assert store._conn.execute("PRAGMA busy_timeout").fetchone() == (millis,)
        finally:
            store.close()


def test_store_of_another_campaign_is_refused(paths: tuple[Path, Path]) -> None:
    """A progress file seeded for one campaign refuses another, naming both and the file."""
    open_alpha(paths).close()
    with pytest.raises(WrongCampaignStore) as caught:
        open_alpha(paths, "beta")
    message = str(caught.value)
    assert "'alpha'" in message
    assert "'beta'" in message
    assert str(paths[0]) in message


@pytest.mark.parametrize("which", [0, 1], ids=["progress", "ledger"])
def test_newer_schema_is_refused(paths: tuple[Path, Path], which: int) -> None:
    """A file written by a newer postpilot is refused with a clear message, never misread."""
    open_alpha(paths).close()
    with raw(paths[which]) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="99") as caught:
        open_alpha(paths)
    assert str(paths[which]) in str(caught.value)


def test_lock_held_past_timeout_is_store_unavailable(paths: tuple[Path, Path]) -> None:
    """A write lock held by another process past the busy timeout becomes StoreUnavailable."""
    open_alpha(paths).close()
    store = SqliteJobStore(paths[0], paths[1], "alpha", busy_timeout=0.05)
    blocker = raw(paths[1])
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.claim(request())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        store.close()


def test_snapshot_is_a_consistent_copy(paths: tuple[Path, Path], tmp_path: Path) -> None:
    """snapshot writes a standalone copy of the campaign's jobs."""
    store = open_alpha(paths)
    store.insert_jobs(jobs(3, 2))
    store.snapshot(tmp_path / "copy.db")
    store.close()
    with raw(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3


def test_orphan_account_lease_of_this_campaign_is_free(paths: tuple[Path, Path]) -> None:
    """A crash after the claim's ledger commit leaves a lease for an unclaimed job: this
    campaign treats it as free and recovery removes it; other campaigns wait for its expiry."""
    store = open_alpha(paths)
    other = SqliteJobStore(paths[0].with_name("beta.db"), paths[1], "beta")
    try:
        store.insert_jobs(jobs(1, 1))
        other.insert_jobs([Job(job_id="b", account="acc0", video_path="b.mp4", caption="c")])
        with raw(paths[1]) as conn:
            conn.execute(
                "INSERT INTO account_leases VALUES ('acc0', 'alpha', 'j00000', 'lost', ?)",
                ((NOW + LEASE).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),),
            )
        assert other.claim(request()) is None
        got = store.claim(request())
        assert got is not None
        assert got.job_id == "j00000"
        assert store.account_states(["acc0"])["acc0"].leased_by == ("alpha", "j00000")
    finally:
        store.close()
        other.close()


def test_crash_between_complete_commits_recovers_as_success(paths: tuple[Path, Path]) -> None:
    """A crash after complete() committed the ledger but not the job: recovery makes the job
    a success from the ledger's record, without counting the post twice."""
    store = open_alpha(paths)
    try:
        store.insert_jobs(jobs(1, 1))
        held = store.claim(request())
        assert held is not None
        store.start_publish(held.job_id, held.lease_token, NOW)
        # Replay the ledger half of complete() only, as a crash between the commits leaves it.
        with raw(paths[1]) as conn:
            conn.execute(
                "INSERT INTO posted VALUES ('alpha', 'j00000', ?, 'acc0', '', ?, 'r1', 'u', ?)",
                (held.lease_token, DAY, NOW.isoformat()),
            )
            conn.execute("INSERT INTO daily_counts VALUES ('acc0', ?, 1)", (DAY,))
            conn.execute("DELETE FROM account_leases")
        recovery = store.recover_expired(NOW + LEASE)
        assert list(recovery.unconfirmed) == []
        job = store.get("j00000")
        assert job is not None
        assert job.status is JobStatus.SUCCESS
        assert job.remote_id == "r1"
        assert store.daily_count("acc0", DAY) == 1
    finally:
        store.close()


def test_a_claim_the_ledger_completed_is_settled_as_success_not_unconfirmed(
    paths: tuple[Path, Path],
) -> None:
    """A full disk (or a crash) between complete()'s two commits, then its claim is settled
    as a dead worker's or a failed run's (mark_unconfirmed): it becomes the success the ledger
    recorded, holds nothing, and a reconcile that finds the post cannot count it twice."""
    store = open_alpha(paths)
    try:
        store.insert_jobs(jobs(2, 1))
        held = store.claim(request())
        assert held is not None
        store.start_publish(held.job_id, held.lease_token, NOW)
        with raw(paths[1]) as conn:  # the ledger half of complete() only
            conn.execute(
                "INSERT INTO posted VALUES ('alpha', ?, ?, 'acc0', '', ?, 'r1', 'u', ?)",
                (held.job_id, held.lease_token, DAY, NOW.isoformat()),
            )
            conn.execute("INSERT INTO daily_counts VALUES ('acc0', ?, 1)", (DAY,))
        assert not store.mark_unconfirmed(held.job_id, held.lease_token, NOW, "worker died")
        job = store.get(held.job_id)
        assert job is not None
        assert job.status is JobStatus.SUCCESS
        assert job.remote_id == "r1"
        assert not store.resolve_unconfirmed(held.job_id, True, NOW, day=DAY)
        assert store.daily_count("acc0", DAY) == 1
        state = store.account_states(["acc0"])["acc0"]
        assert (state.held_by, state.unconfirmed, state.leased_by) == (None, 0, None)
        again = store.claim(request())  # the account is free for its next job
        assert again is not None
        assert again.job_id != held.job_id
    finally:
        store.close()


def _spawn(mode: str, paths: tuple[Path, Path], barrier: Path, peers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.store.sqlite_worker",
            mode,
            str(paths[0]),
            str(paths[1]),
            "alpha",
            str(barrier),
            str(peers),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _lines(proc: subprocess.Popen[str]) -> list[dict[str, object]]:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.slow
def test_two_processes_never_share_a_job_or_an_account(
    paths: tuple[Path, Path], tmp_path: Path
) -> None:
    """Racing processes claim every account exactly once, and then complete every job exactly
    once between them."""
    store = open_alpha(paths)
    store.insert_jobs(jobs(120, 8))
    procs = [_spawn("claim", paths, tmp_path / "b1", 2) for _ in range(2)]
    claims = [line for proc in procs for line in _lines(proc)]
    assert sorted(str(c["account"]) for c in claims) == [f"acc{i}" for i in range(8)]
    assert len({c["job_id"] for c in claims}) == 8
    store.recover_expired(datetime.now(UTC) + timedelta(days=1))
    store.close()

    procs = [_spawn("cycle", paths, tmp_path / "b2", 2) for _ in range(2)]
    done = [line for proc in procs for line in _lines(proc)]
    assert all(line["completed"] for line in done)
    assert sorted(str(line["job_id"]) for line in done) == [j.job_id for j in jobs(120, 8)]
    store = open_alpha(paths)
    assert store.counts()["success"] == 120
    store.close()


def _integrity(path: Path) -> str:
    with raw(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
def test_kill_9_mid_claim_loop_leaves_a_consistent_store(
    paths: tuple[Path, Path], tmp_path: Path
) -> None:
    """SIGKILL at an arbitrary moment of a claim loop loses nothing: the files are intact, at
    most each killed loop's running claim is left, and recovery brings every job back."""
    store = open_alpha(paths)
    store.insert_jobs(jobs(400, 5))
    store.close()
    rounds = 3
    for round_ in range(rounds):
        proc = _spawn("forever", paths, tmp_path / f"k{round_}", 1)
        assert proc.stdout is not None
        for _ in range(15 + 10 * round_):
            assert proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        for path in paths:
            assert _integrity(path) == "ok"

    store = open_alpha(paths)
    try:
        counts = store.counts()
        assert counts["total"] == 400
        # One per killed loop at most: where each kill lands is the machine's timing (on a
        # busy CI machine all three loops were killed holding a claim).
        assert counts["claimed"] <= rounds
        later = datetime.now(UTC) + timedelta(days=1)
        store.recover_expired(later)
        counts = store.counts()
        assert counts["claimed"] == 0
        day = later.date().isoformat()
        successes = store.list_jobs([JobStatus.SUCCESS])
        ledger = sum(
            store.daily_count(f"acc{i}", d)
            for i in range(5)
            for d in {j.completed_at.date().isoformat() for j in successes if j.completed_at}
        )
        assert ledger == len(successes)
        # Every job that is not final can be claimed again.
        waiting = counts["pending"] + counts["retrying"]
        claimed = 0
        while (job := store.claim(ClaimRequest("w", later, LEASE, 10**9, day))) is not None:
            claimed += 1
            assert store.complete(job.job_id, job.lease_token, later, day=day)
        assert claimed == waiting
    finally:
        store.close()


def test_store_is_a_job_store(paths: tuple[Path, Path]) -> None:
    """SqliteJobStore satisfies the JobStore protocol."""
    store = open_alpha(paths)
    try:
        assert isinstance(store, JobStore)
    finally:
        store.close()
