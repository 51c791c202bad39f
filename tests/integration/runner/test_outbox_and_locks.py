"""The outbox channel's atomic, idempotent folders and the per-campaign run lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from postpilot.config import PostingContext
from postpilot.errors import ConflictError
from postpilot.jobs import Job
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, ReconcileResult
from postpilot.publishers.errors import ContentError
from postpilot.publishers.outbox import OutboxPublisher, safe_component
from postpilot.runner import locks
from postpilot.runner.locks import RunLock, check_for_running_orchestrators, stop_all
from tests.fakes.mp4 import mp4_bytes


class RecordingCheckpoint:
    """A checkpoint that only remembers whether the irreversible step was announced."""

    def __init__(self) -> None:
        self.started = False
        self._data: dict[str, str] = {}

    @property
    def data(self) -> Mapping[str, str]:
        return self._data

    def save(self, data: Mapping[str, str]) -> None:
        self._data = dict(data)

    def start_publish(self) -> None:
        self.started = True


def make_job(tmp_path: Path, job_id: str = "clip.mp4_demo", account: str = "acct") -> Job:
    video = tmp_path / "clip.mp4"
    video.write_bytes(mp4_bytes(payload=b"x" * 100))
    return Job(job_id, account, str(video), "line one\nline two 🎬", content_sha256="ab" * 32)


def test_outbox_writes_a_complete_folder(project_root: Path, tmp_path: Path) -> None:
    """A post is a folder with the video and post.json; the publish was announced first."""
    publisher = build_publisher({"type": "outbox"}, project_root, "demo")
    job = make_job(tmp_path)
    checkpoint = RecordingCheckpoint()
    published = publisher.publish(job, Account("acct"), checkpoint)
    folder = project_root / "outbox" / "demo" / "acct" / "clip.mp4_demo"
    post = json.loads((folder / "post.json").read_text(encoding="utf-8"))
    assert post["caption"] == "line one\nline two 🎬"
    assert (post["account"], post["job_id"], post["sha256"]) == ("acct", job.job_id, "ab" * 32)
    assert (folder / "clip.mp4").read_bytes() == Path(job.video_path).read_bytes()
    assert checkpoint.started
    assert published.remote_id == job.job_id
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".tmp-")]


def test_outbox_is_idempotent_and_reconciles(project_root: Path, tmp_path: Path) -> None:
    """Publishing the same job again reuses the folder; reconcile says posted only when complete."""
    publisher = OutboxPublisher(project_root / "outbox", "demo")
    job = make_job(tmp_path)
    assert publisher.reconcile(job, {}).result is ReconcileResult.NOT_POSTED
    publisher.publish(job, Account("acct"), RecordingCheckpoint())
    again = RecordingCheckpoint()
    publisher.publish(job, Account("acct"), again)
    assert not again.started
    assert publisher.reconcile(job, {}).result is ReconcileResult.POSTED
    (publisher.post_dir(job) / "post.json").unlink()
    assert publisher.reconcile(job, {}).result is ReconcileResult.NOT_POSTED


def test_outbox_missing_video_is_a_content_error(project_root: Path, tmp_path: Path) -> None:
    """A missing source video fails as content (never retried) before anything is written."""
    job = make_job(tmp_path).evolve(video_path=str(tmp_path / "gone.mp4"))
    with pytest.raises(ContentError):
        OutboxPublisher(project_root / "outbox", "demo").publish(
            job, Account("acct"), RecordingCheckpoint()
        )
    assert not (project_root / "outbox" / "demo" / "acct" / job.job_id).exists()


@pytest.mark.parametrize("name", ["../../etc", "a/b", "..", ".", "", "x\x00y", "/abs"])
def test_outbox_names_cannot_escape(name: str) -> None:
    """Account and job names become one safe path component, whatever they contain."""
    component = safe_component(name)
    assert component not in {"", ".", ".."}
    assert "/" not in component
    assert "\x00" not in component


def test_distinct_names_never_share_a_folder() -> None:
    """Names that need cleaning keep a hash, so two accounts never share an outbox folder."""
    assert safe_component("a/b") != safe_component("a_b")
    assert safe_component("plain-name") == "plain-name"


def _ctx(root: Path) -> PostingContext:
    return PostingContext.legacy(project_root=str(root))


def test_run_lock_refuses_a_second_holder(project_root: Path) -> None:
    """A second lock on the same campaign is refused naming the holder's pid and start."""
    ctx = _ctx(project_root)
    with RunLock(ctx) as info:
        with pytest.raises(ConflictError, match=f"PID {os.getpid()}"):
            RunLock(ctx).acquire()
        [holder] = check_for_running_orchestrators(ctx)
        assert holder.pid == info.pid
    assert check_for_running_orchestrators(ctx) == []


def test_run_lock_dies_with_its_holder(project_root: Path) -> None:
    """The kernel frees the lock when the holding process is killed: no stale lock."""
    ctx = _ctx(project_root)
    code = (
        "import sys, time;"
        "from postpilot.config import PostingContext;"
        "from postpilot.runner.locks import RunLock;"
        f"lock = RunLock(PostingContext.legacy(project_root={str(project_root)!r}));"
        "lock.acquire();"
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    assert [r.pid for r in check_for_running_orchestrators(ctx)] == [holder.pid]
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert check_for_running_orchestrators(ctx) == []
    with RunLock(ctx):
        pass


def test_the_status_probe_sees_what_filelock_sees(project_root: Path) -> None:
    """--status's flock probe (no filelock import) answers as filelock's own probe does, for a
    free lock and for one another process holds, and leaves the lock takeable."""
    ctx = _ctx(project_root)
    path = locks.lock_path(ctx)
    with RunLock(ctx):
        pass  # the lock file now exists, free
    assert locks._held(path) is False
    assert locks._held_by_filelock(path) is False
    code = (
        "import time; from filelock import FileLock;"
        f"lock = FileLock({str(path)!r}, timeout=0); lock.acquire();"
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert locks._held(path) is True
        assert locks._held_by_filelock(path) is True
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert locks._held(path) is False
    with RunLock(ctx):
        assert locks._held(path) is True  # held by this process, through another open file
    assert locks._held(path) is False


def test_stop_all_without_a_run_says_so(project_root: Path) -> None:
    """--stop-all with nothing running signals nothing and says so."""
    report = stop_all(_ctx(project_root), timeout=1)
    assert report.stopped == []
    assert "No orchestrator is running" in report.others[0]
