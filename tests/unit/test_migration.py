"""The migration's pure parts: path resolution, newest row per job, the ledger file, the
campaign.json translation, grouped reasons and the state-file fallback."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from postpilot.campaign import load_captions, match_videos
from postpilot.jobs import Job, JobStatus
from postpilot.migration import history as hist
from postpilot.migration.prior import progress_files, read_prior_campaign, resolve_state_file
from postpilot.migration.translate import translate_settings
from postpilot.operations import group_reasons
from postpilot.store.base import name_key
from postpilot.store.csv_io import import_csv
from tests.fakes.prior_project import COLUMNS_13, _csv, _row


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_windows_absolute_and_backslash_paths_resolve_by_name_and_sub_path(
    tmp_path: Path,
) -> None:
    """A Windows absolute path finds the file by name; a backslash sub-path picks the one
    of two same-named files whose folders match."""
    videos = tmp_path / "videos"
    one = _touch(videos / "chunk_01a" / "creator" / "x-1.mp4")
    two = _touch(videos / "chunk_01c" / "creator" / "x-1.mp4")
    only = _touch(videos / "grq" / "solo.mp4")
    resolver = hist.PathResolver(videos, [videos], [])
    assert resolver.resolve(r"C:\Users\op\campaigns\viral\grq\solo.mp4") == (only, "")
    assert resolver.resolve(r"chunk_01c\creator\x-1.mp4") == (two, "")
    assert resolver.resolve(r"D:\old\chunk_01a\creator\x-1.mp4") == (one, "")
    path, why = resolver.resolve(r"C:\elsewhere\x-1.mp4")
    assert path is None
    assert "2 files named x-1.mp4" in why
    assert resolver.resolve(r"C:\gone\missing.mp4")[0] is None


def test_path_map_rewrites_a_prefix_case_and_separators_ignored(tmp_path: Path) -> None:
    """--path-map OLD=NEW tries the path under NEW first (Windows prefix, any case)."""
    moved = _touch(tmp_path / "new" / "sub" / "v.mp4")
    resolver = hist.PathResolver(None, [], [(r"C:\Users\Op\Videos", str(tmp_path / "new"))])
    assert resolver.resolve(r"c:\users\op\videos\sub\v.mp4") == (moved, "")


def _job(job_id: str, status: JobStatus, account: str = "a", **kw: object) -> Job:
    return Job(
        job_id=job_id,
        account=account,
        video_path=f"/nowhere/{job_id}",
        caption="c",
        status=status,
        campaign="viral",
        **kw,
    )  # type: ignore[arg-type]


def test_newest_row_wins_and_every_success_still_counts() -> None:
    """A pending row of a newer archive beats an older success of the same job (another
    account re-seeded it), and that older success still becomes a ledger post."""
    plan = hist.StorePlan(store="viral", timezone="UTC")
    for name in ("progress_20251216.csv", "progress_20251219.csv"):
        plan.files[name] = hist.FileReport(path=name)
    old_time = datetime(2025, 12, 16, 10, tzinfo=UTC)
    rows = [
        hist.make_row(
            _job("v.mp4_viral", JobStatus.SUCCESS, "a", completed_at=old_time),
            "progress_20251216.csv",
            2,
            datetime(2025, 12, 16, 23, tzinfo=UTC),
            (0, "2025-12-16", 0),
        ),
        hist.make_row(
            _job("v.mp4_viral", JobStatus.PENDING, "b"),
            "progress_20251219.csv",
            2,
            datetime(2025, 12, 19, 23, tzinfo=UTC),
            (0, "2025-12-19", 0),
        ),
    ]
    hist.merge_rows(plan, rows, hist.PathResolver(None, [], []), set())
    assert ("a", "v.mp4_viral") in plan.posted_pairs
    assert [(p.account, p.day) for p in plan.posts] == [("a", "2025-12-16")]
    assert plan.files["progress_20251216.csv"].superseded == 1
    # The winner's video is not on this machine: reported, not imported.
    assert plan.jobs == []
    assert plan.files["progress_20251219.csv"].not_imported == 1
    assert plan.unresolved


def test_a_pending_row_of_a_posted_pair_is_not_imported(tmp_path: Path) -> None:
    """A pending job whose account already posted its video (per the ledger file) is left
    out, so no run publishes it to that account again."""
    video = _touch(tmp_path / "videos" / "v.mp4")
    plan = hist.StorePlan(store="viral", timezone="UTC")
    plan.files["progress.csv"] = hist.FileReport(path="progress.csv")
    job = Job(job_id="v.mp4_viral", account="a", video_path=str(video), caption="c")
    rows = [hist.make_row(job, "progress.csv", 2, None, (1, "", 0))]
    hist.merge_rows(plan, rows, hist.PathResolver(video.parent, [], []), {("a", "v.mp4")})
    assert plan.jobs == []
    assert "already posted" in plan.files["progress.csv"].details[0]


def test_naive_times_are_local_in_the_campaign_timezone(tmp_path: Path) -> None:
    """23:30 naive in Europe/Berlin is 22:30 UTC, and its post counts on the local day."""
    path = tmp_path / "progress_20251220.csv"
    row = _row("v.mp4_c", "a", "v.mp4", "success", completed_at="2025-12-20T23:30:00")
    _csv(path, COLUMNS_13, [row])
    job = import_csv(path, "c", timezone="Europe/Berlin").jobs[0]
    assert job.completed_at == datetime(2025, 12, 20, 22, 30, tzinfo=UTC)
    plan = hist.StorePlan(store="c", timezone="Europe/Berlin")
    plan.files[path.name] = hist.FileReport(path=str(path))
    rows = [hist.make_row(job, path.name, 2, None, (0, "", 0))]
    hist.merge_rows(plan, rows, hist.PathResolver(None, [], []), set())
    assert {p.day for p in plan.posts} == {"2025-12-20"}
    assert plan.posts[0].key == name_key("v.mp4")


def test_ledger_file_rebuilt_comments_and_broken_lines(tmp_path: Path) -> None:
    """`rebuilt` has no day, comments and blanks are skipped, a broken line is reported."""
    path = tmp_path / "all_posted_videos.txt"
    path.write_text("# header\n\na|C:\\x\\v1.mp4|rebuilt\nb|v2.mp4|2025-12-20T10:00:00\nbad\n")
    entries, problems, comments = hist.read_ledger_file(path, "UTC")
    assert [(e.account, e.video, e.when is None) for e in entries] == [
        ("a", "v1.mp4", True),
        ("b", "v2.mp4", False),
    ]
    assert problems == ["line 5: expected account|video|timestamp; not imported"]
    assert comments == 2
    posts, report = hist.ledger_posts(entries, {("b", "v2.mp4")}, "UTC", path.name)
    assert [(p.account, p.day) for p in posts] == [("a", "")]
    assert report.superseded == 1


def test_archives_are_ordered_by_name_date_and_the_current_file_last(tmp_path: Path) -> None:
    """progress_YYYYMMDD[_n] by date and suffix, undated copies by modification time,
    progress.csv newest."""
    for name in (
        "progress.csv",
        "progress_20251219_1.csv",
        "progress_20251219.csv",
        "progress_backup_165048.csv",
        "progress_20251217.csv",
    ):
        _touch(tmp_path / name)
    stamp = datetime(2025, 12, 18, 12, tzinfo=UTC).timestamp()
    os.utime(tmp_path / "progress_backup_165048.csv", (stamp, stamp))
    names = [f.path.name for f in progress_files(tmp_path, "progress.csv", "UTC")]
    assert names == [
        "progress_20251217.csv",
        "progress_backup_165048.csv",
        "progress_20251219.csv",
        "progress_20251219_1.csv",
        "progress.csv",
    ]


def test_translation_of_platform_videos_folder_and_shortcode_captions(tmp_path: Path) -> None:
    """platform -> publisher.type, the videos folder -> videos_dir, shortcode/Text captions
    -> explicit columns, unknown keys dropped with a line each."""
    folder = tmp_path / "c"
    _touch(folder / "accounts.txt", b"a\n")
    _touch(folder / "grq" / "X-1.mp4")
    _touch(folder / "caps.csv", b"Text,shortcode\nhello,X\n")
    _touch(folder / "follow_progress.csv", b"a\n")
    (folder / "campaign.json").write_text(json.dumps({"platform": "TikTok", "extra": 1}))
    prior = read_prior_campaign(folder)
    assert prior.captions_file == folder / "caps.csv"
    settings, lines, refused = translate_settings(prior, "UTC")
    assert refused == ""
    assert settings["publisher"] == {"type": "tiktok"}
    assert settings["videos_dir"] == str(folder / "grq")
    assert settings["captions"] == {"filename_column": "shortcode", "caption_column": "Text"}
    assert any(line.startswith("extra: dropped") for line in lines)


def test_reasons_are_grouped_with_at_most_five_examples() -> None:
    """983 missing videos become one line with the count and five examples."""
    items = [(f"J{i}", f"video file not found: /p/J{i}.mp4") for i in range(983)]
    items.append(("K", "every account reached its daily limit"))
    lines = group_reasons(items)
    assert len(lines) == 2
    assert lines[0].startswith("video file not found: 983 (e.g. J0 (/p/J0.mp4), ")
    assert lines[0].endswith("and 978 more)")
    assert len(lines[0]) < 300


def test_state_file_falls_back_to_the_parallel_variant(tmp_path: Path) -> None:
    """scheduler_state.json when present, else scheduler_state_parallel.json."""
    assert resolve_state_file(tmp_path).name == "scheduler_state.json"
    _touch(tmp_path / "scheduler_state_parallel.json", b"{}")
    assert resolve_state_file(tmp_path).name == "scheduler_state_parallel.json"
    _touch(tmp_path / "scheduler_state.json", b"{}")
    assert resolve_state_file(tmp_path).name == "scheduler_state.json"


def test_a_video_with_an_empty_caption_is_counted_once(tmp_path: Path) -> None:
    """A video whose caption row is empty counts under empty_captions only, not also as a
    video without a caption."""
    _touch(tmp_path / "videos" / "e.mp4")
    _touch(tmp_path / "videos" / "n.mp4")
    captions = _touch(tmp_path / "captions.csv", b"filename,post_caption\ne.mp4,\n")
    report = match_videos(load_captions(captions), tmp_path / "videos")
    assert report.counts()["empty_captions"] == 1
    assert report.videos_without_captions == ["n.mp4"]


def test_seeding_honours_name_keyed_history() -> None:
    """A video the ledger knows only by file name (history without content) is never planned
    for that account; another account still gets it."""
    from postpilot.seeding import SeedVideo, plan_jobs

    posted = {("a", name_key("v.mp4"))}
    plan = plan_jobs(
        "c",
        ["a", "b"],
        [SeedVideo("/videos/sub/v.mp4", "v.mp4", "cap", content_sha256="f" * 64)],
        existing=[],
        daily_counts={},
        is_posted=lambda account, key: (account, key) in posted,
        daily_limit=1,
        max_attempts=3,
        job_id_suffix="_c",
    )
    assert [(j.account, j.job_id) for j in plan.jobs] == [("b", "v.mp4_c")]


def test_the_legacy_scheduler_variant_migrates_too(project_root: Path, tmp_path: Path) -> None:
    """The `saved_at` variant of the state file: its pending job is left to seeding with its
    path resolved here, and seeding then finds the video."""
    from postpilot.config import PostingContext
    from postpilot.migration.apply import migrate_data
    from postpilot.seeding import seed_store
    from postpilot.store.memory import MemoryJobStore
    from tests.fakes.prior_project import old_state_variant

    old = tmp_path / "old"
    _touch(old / "chunk_01c" / "other" / "L3.mp4")
    _touch(old / "accounts.txt", b"leg_a\n")
    old_state_variant(old / "scheduler_state.json")
    data = migrate_data(old)
    legacy = next(c for c in data["campaigns"] if c["name"] == "legacy")
    assert legacy["state_file"] == "read scheduler_state.json"
    state = json.loads((project_root / "scheduler_state.json").read_text(encoding="utf-8"))
    assert state["jobs"][0]["video_path"] == str(old / "chunk_01c" / "other" / "L3.mp4")
    ctx = PostingContext.legacy(project_root=str(project_root))
    store = MemoryJobStore(ctx.store_name)
    result = seed_store(ctx, store, datetime.now(UTC))
    assert result.created == 1


def test_migrated_history_counts_on_the_prior_local_day(project_root: Path, tmp_path: Path) -> None:
    """With postpilot.json's timezone, a success written at 23:30 local time counts on that
    local day (it is already the next day in UTC), and the campaign gets that timezone."""
    from postpilot.campaign import CampaignConfig
    from postpilot.config import PostingContext
    from postpilot.migration.apply import migrate_data
    from postpilot.store import open_store

    (project_root / "postpilot.json").write_text('{"timezone": "America/New_York"}')
    folder = tmp_path / "old" / "campaigns" / "c"
    _touch(folder / "accounts.txt", b"a\n")
    _touch(folder / "videos" / "v.mp4", b"video")
    _touch(folder / "captions.csv", b"filename,post_caption\nv.mp4,hi\n")
    row = _row(
        "v.mp4_c", "a", "C:\\old\\videos\\v.mp4", "success", completed_at="2025-12-20T23:30:00"
    )
    _csv(folder / "progress.csv", COLUMNS_13, [row])
    migrate_data(tmp_path / "old")
    settings = json.loads((project_root / "campaigns/c/campaign.json").read_text("utf-8"))
    assert settings["timezone"] == "America/New_York"
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(project_root / "campaigns/c"))
    store = open_store(ctx)
    try:
        assert store.daily_count("a", "2025-12-20") == 1
        assert store.daily_count("a", "2025-12-21") == 0
        assert store.is_posted("a", name_key("v.mp4"))
    finally:
        store.close()


def test_migrated_jobs_store_paths_relative_to_the_campaigns_videos_folder(
    tmp_path: Path,
) -> None:
    """A prior absolute path resolved below the migrated campaign's videos folder is stored
    relative to it (like seeded jobs); one resolved elsewhere stays absolute."""
    videos = tmp_path / "prior" / "videos"
    inside = _touch(videos / "sub" / "v.mp4")
    outside = _touch(tmp_path / "elsewhere" / "w.mp4")
    plan = hist.StorePlan(store="viral", timezone="UTC")
    plan.files["progress.csv"] = hist.FileReport(path="progress.csv")
    rows = [
        hist.make_row(
            Job(job_id=f"{p.name}_viral", account="a", video_path=str(p), caption="c"),
            "progress.csv",
            n + 2,
            None,
            (1, "", 0),
        )
        for n, p in enumerate((inside, outside))
    ]
    resolver = hist.PathResolver(videos, [], [], store_relative_to=videos)
    hist.merge_rows(plan, rows, resolver, set())
    assert sorted(j.video_path for j in plan.jobs) == sorted(["sub/v.mp4", str(outside)])
