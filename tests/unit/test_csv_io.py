"""The prior 17-column progress CSV: export, import (drift and corruption) and archive names."""

from __future__ import annotations

import csv
import os
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from postpilot.errors import ConfigError
from postpilot.jobs import IMPORTED_FROM, Job, JobStatus
from postpilot.store.csv_io import COLUMNS, archive_csv_path, export_csv, import_csv

T0 = datetime(2025, 12, 26, 11, 55, 38, 114683, tzinfo=UTC)
HEADER = ",".join(COLUMNS)


def sample_jobs() -> list[Job]:
    """Jobs covering every exported field, multi-line text and emoji included."""
    return [
        Job(
            job_id="_q1pT8Pot5vS-2.mp4_viral",
            account="acct_x",
            video_path="/c/viral/grq/_q1pT8Pot5vS-2.mp4",
            caption='Line one 🎬, "quoted"\r\nline two\n\n#tag 👩‍👩‍👧',
            status=JobStatus.SUCCESS,
            worker_id="4",
            claimed_at=T0,
            completed_at=T0 + timedelta(minutes=3),
            attempts=1,
            max_attempts=3,
            campaign="viral",
            seq=1,
            video_id="remote-1",
        ),
        Job(
            job_id="-UAxgY2Tma0u-2.mp4_viral",
            account="acct_y",
            video_path="/c/viral/grq/-UAxgY2Tma0u-2.mp4",
            caption="plain",
            status=JobStatus.RETRYING,
            error="Traceback (most recent call last):\n  boom, with a comma\n",
            attempts=2,
            max_attempts=10,
            retry_at=T0 + timedelta(minutes=5),
            error_type="connection_dropped",
            error_category="infrastructure",
            pass_number=2,
            run_id="run-7",
            campaign="viral",
            seq=2,
        ),
    ]


def test_export_writes_the_seventeen_columns_in_order(tmp_path: Path) -> None:
    """The header is the prior ProgressTracker.COLUMNS; values use ISO timestamps."""
    path = tmp_path / "out.csv"
    assert export_csv(sample_jobs(), path) == 2
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(COLUMNS)
    assert len(COLUMNS) == 17
    assert rows[1][6] == "2025-12-26T11:55:38.114683+00:00"
    assert rows[2][11] == (T0 + timedelta(minutes=5)).isoformat()
    assert rows[2][14] == "2"
    assert rows[1][14] == ""


def test_export_never_writes_tokens_leases_or_checkpoints(tmp_path: Path) -> None:
    """Lease tokens and checkpoint data (which may hold session URLs) stay out of the CSV."""
    job = sample_jobs()[0].evolve(
        lease_token="tok-SECRET",
        lease_expires_at=T0,
        checkpoint={"session_uri": "https://upload.example/s?upload_id=SECRET2"},
    )
    path = tmp_path / "out.csv"
    export_csv([job], path)
    text = path.read_text(encoding="utf-8")
    assert "SECRET" not in text


def test_export_then_import_round_trips_multiline_captions_and_emoji(tmp_path: Path) -> None:
    """Every exported column comes back identical, CRLF and emoji inside captions included."""
    path = tmp_path / "round.csv"
    jobs = sample_jobs()
    export_csv(jobs, path)
    result = import_csv(path, "viral")
    assert result.warnings == []
    assert result.unknown_columns == []
    for original, back in zip(jobs, result.jobs, strict=True):
        for column in COLUMNS:
            assert getattr(back, column) == getattr(original, column), column
        assert back.campaign == "viral"


def test_export_is_atomic_and_leaves_no_temp_file(tmp_path: Path) -> None:
    """An export replaces the old file in one step and leaves nothing else in the folder."""
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "out.csv"
    path.write_text("old content\n", encoding="utf-8")
    export_csv(sample_jobs(), path)
    assert sorted(os.listdir(folder)) == ["out.csv"]
    assert path.read_text(encoding="utf-8").startswith(HEADER)


def test_failed_export_keeps_the_old_file_and_cleans_up(tmp_path: Path) -> None:
    """If writing fails half way, the previous file is untouched and no temp file remains."""
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "out.csv"
    path.write_text("old content\n", encoding="utf-8")

    def jobs() -> object:
        yield sample_jobs()[0]
        raise RuntimeError("store went away")

    with pytest.raises(RuntimeError):
        export_csv(jobs(), path)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert sorted(os.listdir(folder)) == ["out.csv"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_import_accepts_thirteen_columns_with_defaults(tmp_path: Path) -> None:
    """An old 13-column archive imports; missing trailing columns take their defaults."""
    header = ",".join(COLUMNS[:13])
    row = "j1,acct,/v/x.mp4,cap,failed,0,2025-12-16T10:00:00.123456,,boom,3,,,adb_timeout"
    result = import_csv(_write(tmp_path / "p.csv", f"{header}\n{row}\n"), "c")
    assert result.warnings == []
    job = result.jobs[0]
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED, 3, 3)
    assert (job.error_type, job.error_category, job.pass_number) == ("adb_timeout", "", None)
    assert job.claimed_at == datetime(2025, 12, 16, 10, 0, 0, 123456, tzinfo=UTC)


def test_import_reports_unknown_columns_like_platform(tmp_path: Path) -> None:
    """A 16-column archive with an extra platform column imports; the column is reported."""
    header = ",".join([*COLUMNS[:15], "platform"])
    row = "j1,acct,/v/x.mp4,cap,pending,,,,,0,3,,,,,instagram"
    result = import_csv(_write(tmp_path / "p.csv", f"{header}\n{row}\n"), "c")
    assert result.unknown_columns == ["platform"]
    assert [j.job_id for j in result.jobs] == ["j1"]


def test_import_reads_bom_and_multiline_fields(tmp_path: Path) -> None:
    """A BOM before the header and quoted multi-line captions/errors are read correctly."""
    text = f'\ufeff{HEADER}\nj1,a,/v,"two\nlines 🎙️",failed,,,,"err\nmore",1,3,,,content,,,\n'
    result = import_csv(_write(tmp_path / "p.csv", text), "c")
    assert result.jobs[0].caption == "two\nlines 🎙️"
    assert result.jobs[0].error == "err\nmore"


def test_corrupt_rows_are_reported_by_line_and_not_imported(tmp_path: Path) -> None:
    """Shifted columns and unknown statuses (the podcast archive's damage) are not imported;
    a row left mid-publish is imported as unconfirmed with a warning."""
    lines = [
        HEADER,
        "good1,a,/v/1.mp4,cap,success,1,,,,0,3,,,,,,",
        "broken,a,/v/2.mp4,first line of an unquoted caption",  # line 3: too few fields
        "1,terminated,2025-12-22T10:00:00,x,1,,,,,0,3,,,,,,",  # line 4: status "1"
        "old,a,/v/3.mp4,cap,verification_pending,,,,,0,3,,,,,,",  # line 5
        "badtime,a,/v/4.mp4,cap,pending,,yesterday,,,0,3,,,,,,",  # line 6
        "badint,a,/v/5.mp4,cap,pending,,,,,many,3,,,,,,",  # line 7
        ",a,/v/6.mp4,cap,pending,,,,,0,3,,,,,,",  # line 8
        "good1,b,/v/1.mp4,cap,pending,,,,,0,3,,,,,,",  # line 9: repeated id
        "good2,a,/v/7.mp4,cap,skipped,,,,,0,3,,,,,,",
    ]
    result = import_csv(_write(tmp_path / "p.csv", "\n".join(lines) + "\n"), "c")
    assert [j.job_id for j in result.jobs] == ["good1", "old", "good2"]
    assert [w.split(":")[0] for w in result.warnings] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
        "line 8",
        "line 9",
    ]
    assert "shifted columns" in result.warnings[0]
    assert "unknown status '1'" in result.warnings[1]
    assert "verification_pending" in result.warnings[2]
    assert "not an ISO timestamp" in result.warnings[3]
    assert "not a whole number" in result.warnings[4]
    assert "first row is kept" in result.warnings[6]


@pytest.mark.parametrize("prior", ["claimed", "in_progress", "verification_pending"])
def test_rows_left_mid_publish_come_in_unconfirmed_naming_file_and_line(
    tmp_path: Path, prior: str
) -> None:
    """A row the prior system was publishing may be posted: it becomes unconfirmed (never
    pending), its reason names the file and line, and the warning says so."""
    rows = [
        "j0,a,/v0,cap,success,1,,,,0,3,,,,,,",
        f"j1,a,/v,cap,{prior},3,2025-12-26T11:48:32.058822,,,0,3,,,,,,",
    ]
    source = _write(tmp_path / "p.csv", HEADER + "\n" + "\n".join(rows) + "\n")
    result = import_csv(source, "c")
    job = result.jobs[1]
    assert (job.status, job.lease_token) == (JobStatus.UNCONFIRMED, "")
    assert f"{source} line 3" in job.error
    assert prior in job.error
    assert job.error_type == "unconfirmed"
    assert job.checkpoint == {IMPORTED_FROM: f"{source} line 3"}
    assert result.warnings[0].startswith(f"line 3: job j1 was {prior} (possibly posted)")


def test_naive_timestamps_are_utc_and_aware_ones_are_kept(tmp_path: Path) -> None:
    """Naive prior timestamps are read as UTC; an explicit offset is respected."""
    row = "j1,a,/v,cap,success,,2025-12-26T11:55:38,2025-12-26T12:00:00+01:00,,0,3,,,,,,"
    job = import_csv(_write(tmp_path / "p.csv", f"{HEADER}\n{row}\n"), "c").jobs[0]
    assert job.claimed_at == datetime(2025, 12, 26, 11, 55, 38, tzinfo=UTC)
    assert job.completed_at == datetime(2025, 12, 26, 12, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("filename,post_caption\nv.mp4,cap\n", "missing column(s) job_id, account, video_path"),
    ],
)
def test_files_that_are_not_progress_csvs_are_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    """An empty file or a captions file given by mistake is a ConfigError naming the file."""
    path = _write(tmp_path / "p.csv", text)
    with pytest.raises(ConfigError) as info:
        import_csv(path, "c")
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_import_file_is_a_config_error(tmp_path: Path) -> None:
    """Importing a file that does not exist names it."""
    with pytest.raises(ConfigError, match="not found"):
        import_csv(tmp_path / "nope.csv", "c")


def test_archive_names_count_up_when_the_day_is_taken(tmp_path: Path) -> None:
    """progress_YYYYMMDD.csv, then _1, _2 ...; a db snapshot of a name also takes it."""
    day = date(2025, 12, 19)
    first = archive_csv_path(tmp_path, day)
    assert first.name == "progress_20251219.csv"
    first.write_text("x", encoding="utf-8")
    second = archive_csv_path(tmp_path, "2025-12-19")
    assert second.name == "progress_20251219_1.csv"
    (tmp_path / "progress_20251219_1.db").write_bytes(b"snapshot")
    assert archive_csv_path(tmp_path, day).name == "progress_20251219_2.csv"
