"""A prior-orchestrator project root, written the way that system wrote its files.

Our own data, shaped as its formats are: campaign folders with videos in a `grq/` folder and
in nested `videos/chunk_*/<creator>/` folders, progress CSVs in the four column layouts seen
(13, 15, 16 with an extra `platform` column, 17), Windows absolute and backslash-relative
video paths, naive local timestamps with and without microseconds, an unquoted multi-line
error that shifted columns, `verification_pending`, empty accounts, hand-set `skipped` rows,
the posted ledger with `rebuilt` timestamps, and both scheduler state variants.

`PriorProject` records what the history says was posted, so tests can assert that nothing of
it is published again and that every job that should run does.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from postpilot.store.csv_io import COLUMNS
from tests.fakes.mp4 import mp4_bytes

COLUMNS_17 = list(COLUMNS)
COLUMNS_13 = COLUMNS_17[:13]
COLUMNS_15 = COLUMNS_17[:15]
COLUMNS_16 = [*COLUMNS_17[:13], "platform", *COLUMNS_17[13:15]]

WIN_ROOT = r"C:\Users\op\geelark"


@dataclass
class PriorProject:
    """Where things are and what the history says."""

    root: Path
    #: (account, video file name) pairs the prior history shows as posted.
    posted: set[tuple[str, str]] = field(default_factory=set)
    #: (account, video file name) pairs that must be published by the next run.
    must_run: set[tuple[str, str]] = field(default_factory=set)
    #: Every file written, with its bytes, to prove the migration changed none.
    files: dict[Path, bytes] = field(default_factory=dict)

    def snapshot(self) -> dict[Path, bytes]:
        """Every file under the root now (path -> bytes)."""
        return {p: p.read_bytes() for p in sorted(self.root.rglob("*")) if p.is_file()}


def _video(path: Path, n: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mp4_bytes(payload=f"prior video {n} {path.name}".encode() * 4))


def _csv(path: Path, columns: list[str], rows: list[dict[str, str]], raw_tail: str = "") -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    path.write_text(buf.getvalue() + raw_tail, encoding="utf-8", newline="")


def _row(job_id: str, account: str, path: str, status: str, **kw: str) -> dict[str, str]:
    base = {
        "job_id": job_id,
        "account": account,
        "video_path": path,
        "caption": f"caption of {job_id}\nwith a second line #tag",
        "status": status,
        "attempts": "0",
        "max_attempts": "3",
    }
    base.update(kw)
    return base


def _iso(moment: datetime, micro: bool = True) -> str:
    return moment.isoformat() if micro else moment.replace(microsecond=0).isoformat()


def build_prior_project(root: Path, now: datetime) -> PriorProject:
    """Write the prior project under `root`. `now` is naive local time of the prior machine
    (the campaign's timezone); today's rows are dated from it."""
    project = PriorProject(root=root)
    today = now - timedelta(minutes=30)
    day1 = now - timedelta(days=3)
    day2 = now - timedelta(days=2)
    _viral(root, project, today, day1, day2)
    _podcast(root)
    _legacy(root, project, today, day1)
    (root / "all_posted_videos.txt").write_text(
        "# Rebuilt from historical data on 2025-12-22 (prior ledger)\n"
        "acct_a|v1.mp4|rebuilt\n"
        f"acct_c|{WIN_ROOT}\\campaigns\\viral\\grq\\v5.mp4|rebuilt\n"
        f"acct_b|v6.mp4|{_iso(day2)}\n"
        "this line is broken\n"
        "\n",
        encoding="utf-8",
    )
    project.posted |= {("acct_c", "v5.mp4"), ("acct_b", "v6.mp4")}
    project.files = project.snapshot()
    return project


def _viral(
    root: Path, project: PriorProject, today: datetime, day1: datetime, day2: datetime
) -> None:
    folder = root / "campaigns" / "viral"
    folder.mkdir(parents=True)
    (folder / "accounts.txt").write_text("acct_a\nacct_b\nacct_c\nacct_d\n", encoding="utf-8")
    (folder / "campaign.json").write_text(
        json.dumps({"name": "viral", "max_posts_per_account_per_day": 1, "notes": "x"}),
        encoding="utf-8",
    )
    (folder / "progress.csv.lock").write_bytes(b"")
    lines = ["filename,onscreen_text,post_caption"]
    for n in range(1, 10):
        _video(folder / "grq" / f"v{n}.mp4", n)
        lines.append(f'v{n}.mp4,"on screen {n}\nline two","post {n} #viral"')
    lines.append('v9.mp4,"dup","duplicate caption row"')
    _video(folder / "grq" / "v10.mp4", 10)
    lines.append('v10.mp4,"on screen 10",')  # an empty caption
    (folder / "captions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def win(n: int) -> str:
        return f"{WIN_ROOT}\\campaigns\\viral\\grq\\v{n}.mp4"

    # 13 columns, oldest archive: v1 posted by acct_a; v2 pending for acct_b.
    _csv(
        folder / "progress_20251216.csv",
        COLUMNS_13,
        [
            _row(
                "v1.mp4_viral",
                "acct_a",
                win(1),
                "success",
                worker_id="0",
                claimed_at=_iso(day1),
                completed_at=_iso(day1 + timedelta(minutes=4)),
            ),
            _row("v2.mp4_viral", "acct_b", win(2), "pending"),
        ],
    )
    # 15 columns: v2 success for acct_b the next day; v3 failed with an account error.
    _csv(
        folder / "progress_20251217.csv",
        COLUMNS_15,
        [
            _row(
                "v2.mp4_viral",
                "acct_b",
                win(2),
                "success",
                worker_id="1",
                claimed_at=_iso(day2, micro=False),
                completed_at=_iso(day2 + timedelta(minutes=6), micro=False),
            ),
            _row(
                "v3.mp4_viral",
                "acct_c",
                win(3),
                "failed",
                attempts="1",
                claimed_at=_iso(day2),
                completed_at=_iso(day2 + timedelta(minutes=2)),
                error="terminated: we disabled your account",
                error_type="terminated",
                error_category="account",
            ),
        ],
    )
    # 16 columns (extra `platform`), a hand-made copy with an older view of v2 (pending).
    backup = folder / "progress_backup_165048.csv"
    _csv(
        backup,
        COLUMNS_16,
        [_row("v2.mp4_viral", "acct_b", win(2), "pending", platform="instagram")],
    )
    stamp = (day1 - timedelta(days=1)).timestamp()
    os.utime(backup, (stamp, stamp))
    # 17 columns, the current file.
    shifted = (
        "v9.mp4_viral,acct_d,"
        + win(9)
        + ',"post 9",failed,2,'
        + _iso(today)
        + ","
        + _iso(today)
        + ",Error: element not found\nTraceback line,1,3,,claude_stuck,"
        "infrastructure,,,\r\n"
    )
    _csv(
        folder / "progress.csv",
        COLUMNS_17,
        [
            _row(
                "v4.mp4_viral",
                "acct_a",
                win(4),
                "success",
                worker_id="0",
                claimed_at=_iso(today),
                completed_at=_iso(today + timedelta(minutes=5)),
            ),
            _row(
                "v5.mp4_viral",
                "acct_c",
                win(5),
                "verification_pending",
                worker_id="2",
                claimed_at=_iso(today),
            ),
            _row("v6.mp4_viral", "", win(6), "pending"),
            _row("v7.mp4_viral", "acct_b", win(7), "skipped"),
            _row(
                "v8.mp4_viral",
                "acct_d",
                r"grq\v8.mp4",
                "retrying",
                attempts="1",
                claimed_at=_iso(today - timedelta(hours=2)),
                completed_at=_iso(today - timedelta(hours=2)),
                retry_at=_iso(today - timedelta(hours=1)),
                error="adb timeout",
                error_type="adb_timeout",
                error_category="infrastructure",
            ),
        ],
        raw_tail=shifted,
    )
    project.posted |= {("acct_a", "v1.mp4"), ("acct_b", "v2.mp4"), ("acct_a", "v4.mp4")}
    # v8 (retrying, acct_d) runs; v6 (unassigned) and v7 (skipped) are seeded like new videos.
    project.must_run |= {("acct_d", "v8.mp4")}


def _podcast(root: Path) -> None:
    folder = root / "campaigns" / "podcast"
    (folder / "videos" / "chunk_01a" / "creator.one").mkdir(parents=True)
    (folder / "accounts.txt").write_text("pod_a\npod_b\n", encoding="utf-8")
    (folder / "campaign.json").write_text(json.dumps({"platform": "instagram"}), encoding="utf-8")
    _video(folder / "videos" / "chunk_01a" / "creator.one" / "p1-1.mp4", 101)
    _video(folder / "videos" / "chunk_01c" / "creator.two" / "p2-1.mp4", 102)
    (folder / "captions.csv").write_text(
        'filename,caption\np1-1.mp4,"multi\nline 🎙️"\np2-1.mp4,second\n', encoding="utf-8"
    )
    (folder / "follow_progress.csv").write_text("account,status\n", encoding="utf-8")
    _csv(folder / "progress_20251222.csv", COLUMNS_17, [])  # header only


def _legacy(root: Path, project: PriorProject, today: datetime, day1: datetime) -> None:
    (root / "accounts.txt").write_text("leg_a\nleg_b\nleg_c\n", encoding="utf-8")
    for n, sub in ((1, "2bears.1cave"), (2, "2bears.1cave"), (3, "other"), (4, "other")):
        _video(root / "chunk_01c" / sub / f"L{n}.mp4", 200 + n)

    def rel(n: int) -> str:
        return f"chunk_01c\\{'2bears.1cave' if n <= 2 else 'other'}\\L{n}.mp4"

    jobs = [
        {
            "id": "L1",
            "video_path": rel(1),
            "caption": "legacy 1",
            "account": "leg_a",
            "status": "success",
            "attempts": 0,
            "max_attempts": 3,
            "last_error": "",
            "last_attempt": _iso(day1),
            "completed_at": _iso(day1 + timedelta(minutes=3)),
            "source_folder": "chunk_01c",
            "last_heartbeat": "",
            "worker_id": 0,
        },
        {
            "id": "L2",
            "video_path": rel(2),
            "caption": "legacy 2",
            "account": "leg_b",
            "status": "in_progress",
            "attempts": 0,
            "max_attempts": 3,
            "last_error": "",
            "last_attempt": _iso(today),
            "completed_at": "",
            "source_folder": "chunk_01c",
            "last_heartbeat": _iso(today),
            "worker_id": 1,
        },
        {
            "id": "L3",
            "video_path": rel(3),
            "caption": "legacy 3",
            "account": "",
            "status": "retrying",
            "attempts": 2,
            "max_attempts": 3,
            "last_error": "Stale job cleanup (was in_progress on worker 0)",
            "last_attempt": _iso(day1),
            "completed_at": "",
            "source_folder": "chunk_01c",
            "last_heartbeat": "",
            "worker_id": 0,
        },
        {
            "id": "L4",
            "video_path": rel(4),
            "caption": "legacy 4",
            "account": "",
            "status": "pending",
            "attempts": 0,
            "max_attempts": 3,
            "last_error": "",
            "last_attempt": "",
            "completed_at": "",
            "source_folder": "chunk_01c",
            "last_heartbeat": "",
            "worker_id": 0,
        },
        {
            "id": "L5",
            "video_path": "chunk_01c\\gone\\L5.mp4",
            "caption": "legacy 5",
            "account": "",
            "status": "pending",
            "attempts": 0,
            "max_attempts": 3,
            "last_error": "",
            "last_attempt": "",
            "completed_at": "",
            "source_folder": "x",
            "last_heartbeat": "",
            "worker_id": 0,
        },
    ]
    state = {
        "jobs": jobs,
        "accounts": [
            {
                "name": "leg_a",
                "posts_today": 0,
                "last_post_date": "2025-12-13",
                "consecutive_failures": 0,
                "cooldown_until": "",
                "in_use": False,
            }
        ],
        "settings": {
            "posts_per_account_per_day": 1,
            "delay_between_posts": 10,
            "humanize": True,
            "num_workers": 3,
        },
        "last_saved": _iso(today),
    }
    (root / "scheduler_state_parallel.json").write_text(json.dumps(state), encoding="utf-8")
    # The legacy progress: L3 unassigned, L4 hand-set skipped; L1 success.
    _csv(
        root / "parallel_progress_20251214.csv",
        COLUMNS_17,
        [
            _row(
                "L1",
                "leg_a",
                rel(1),
                "success",
                claimed_at=_iso(day1),
                completed_at=_iso(day1 + timedelta(minutes=3)),
            ),
            _row("L3", "", rel(3), "pending"),
            _row("L4", "", rel(4), "skipped"),
        ],
    )
    project.posted |= {("leg_a", "L1.mp4")}
    # L3 and L4 are seeded from the state file to free accounts (leg_c gets one of them).


def old_state_variant(path: Path) -> None:
    """The legacy scheduler's own variant (`saved_at`, error_type, screenshot_path)."""
    state = {
        "jobs": [
            {
                "id": "S1",
                "video_path": "chunk_01c\\other\\L3.mp4",
                "caption": "s1",
                "account": "",
                "status": "pending",
                "attempts": 0,
                "max_attempts": 3,
                "last_error": "",
                "last_attempt": "",
                "completed_at": "",
                "source_folder": "chunk_01c",
                "error_type": "",
                "screenshot_path": "",
            },
        ],
        "accounts": [
            {
                "name": "leg_a",
                "last_post_date": "",
                "posts_today": 0,
                "total_posts": 0,
                "total_failures": 0,
                "consecutive_failures": 0,
                "cooldown_until": "",
            }
        ],
        "settings": {
            "max_retries": 3,
            "retry_delay_minutes": 0.25,
            "posts_per_account_per_day": 1,
            "humanize": True,
            "delay_between_posts": 10,
            "video_folders": ["chunk_01c"],
        },
        "saved_at": "2025-12-13T11:32:49.706420",
    }
    path.write_text(json.dumps(state), encoding="utf-8")
