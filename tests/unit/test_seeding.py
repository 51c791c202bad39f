"""Seeding: the pure, deterministic plan, legacy scheduler_state.json, and the example campaigns."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpilot.campaign import CampaignConfig, compute_sha256
from postpilot.config import PostingContext
from postpilot.errors import ConfigError
from postpilot.jobs import Job, JobStatus, local_day
from postpilot.seeding import (
    LEGACY_NOT_SEEDED,
    REASON_DAILY_LIMIT,
    REASON_DUPLICATE_ID,
    REASON_IN_STORE,
    REASON_NO_ACCOUNTS,
    REASON_POSTED,
    SeedPlan,
    SeedVideo,
    account_capacity,
    legacy_video_path,
    load_scheduler_state,
    plan_jobs,
    seed_store,
)
from postpilot.store.base import BLOCK_NEEDS_REAUTH, ClaimRequest
from postpilot.store.memory import MemoryJobStore, MemoryLedger

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
NOW = datetime(2025, 12, 20, 12, 0, tzinfo=UTC)
TODAY = "2025-12-20"


def videos(n: int, prefix: str = "v") -> list[SeedVideo]:
    """n videos with distinct content hashes."""
    return [
        SeedVideo(
            f"/v/{prefix}{i:02d}.mp4", f"{prefix}{i:02d}.mp4", f"caption {i}", f"sha{prefix}{i}"
        )
        for i in range(n)
    ]


def plan(
    accounts: list[str],
    vids: Sequence[SeedVideo],
    *,
    existing: Sequence[Job] = (),
    daily: dict[str, int] | None = None,
    posted: set[tuple[str, str]] | None = None,
    limit: int = 1,
    **kwargs: object,
) -> SeedPlan:
    """plan_jobs for campaign "c" with sensible defaults."""
    posted = posted or set()
    return plan_jobs(
        "c",
        accounts,
        vids,
        existing=existing,
        daily_counts=daily or {},
        is_posted=lambda account, sha: (account, sha) in posted,
        daily_limit=limit,
        max_attempts=3,
        job_id_suffix="_c",
        day=TODAY,
        **kwargs,  # type: ignore[arg-type]
    )


def job(job_id: str, account: str, status: JobStatus, **fields: object) -> Job:
    """A stored job (as list_jobs would return it)."""
    return Job(
        job_id=job_id, account=account, video_path="/v/x", caption="x", status=status
    ).evolve(**fields)


# -- assignment ---------------------------------------------------------------------------------
def test_round_robin_in_file_order_with_job_ids_and_fields() -> None:
    """Videos go to accounts in file order, one cursor across videos; ids are <file>_<campaign>."""
    result = plan(["a", "b", "c"], videos(5), limit=2)
    assert [(j.job_id, j.account) for j in result.jobs] == [
        ("v00.mp4_c", "a"),
        ("v01.mp4_c", "b"),
        ("v02.mp4_c", "c"),
        ("v03.mp4_c", "a"),
        ("v04.mp4_c", "b"),
    ]
    first = result.jobs[0]
    assert (first.status, first.max_attempts, first.campaign) == (JobStatus.PENDING, 3, "c")
    assert (first.video_path, first.caption, first.content_sha256) == (
        "/v/v00.mp4",
        "caption 0",
        "shav0",
    )
    assert [j.seq for j in result.jobs] == [1, 2, 3, 4, 5]
    assert result.skipped == []


def test_same_inputs_give_the_same_plan() -> None:
    """Seeding is deterministic: no shuffle, no clock."""
    args = (["a", "b", "c", "d"], videos(9))
    assert plan(*args, limit=2) == plan(*args, limit=2)


def test_daily_limit_caps_jobs_and_the_rest_are_skipped_with_a_reason() -> None:
    """6 accounts x limit 1 over 12 videos: 6 jobs, 6 videos skipped for the daily limit."""
    result = plan([f"a{i}" for i in range(6)], videos(12))
    assert len(result.jobs) == 6
    assert len({j.account for j in result.jobs}) == 6
    assert result.skipped == [(f"v{i:02d}.mp4_c", REASON_DAILY_LIMIT) for i in range(6, 12)]
    assert len(plan([f"a{i}" for i in range(6)], videos(12), limit=2).jobs) == 12


def test_unassignable_video_is_skipped_and_seeding_continues() -> None:
    """A video already posted to every account is skipped; later videos still get accounts (B7)."""
    vids = videos(3)
    posted = {("a", "shav0"), ("b", "shav0")}
    result = plan(["a", "b"], vids, posted=posted)
    assert [(j.job_id, j.account) for j in result.jobs] == [("v01.mp4_c", "a"), ("v02.mp4_c", "b")]
    assert result.skipped == [("v00.mp4_c", REASON_POSTED)]


def test_content_posted_to_one_account_goes_to_another() -> None:
    """The ledger's posted content (I4) moves the video to the next account with room."""
    result = plan(["a", "b"], videos(1), posted={("a", "shav0")})
    assert [j.account for j in result.jobs] == ["b"]


def test_identical_content_is_never_planned_twice_for_one_account() -> None:
    """Two files with the same bytes go to different accounts, or one is skipped."""
    same = [
        SeedVideo("/v/x.mp4", "x.mp4", "x", "same"),
        SeedVideo("/v/y.mp4", "y.mp4", "y", "same"),
    ]
    assert [j.account for j in plan(["a", "b"], same, limit=5).jobs] == ["a", "b"]
    result = plan(["a"], same, limit=5)
    assert [j.job_id for j in result.jobs] == ["x.mp4_c"]
    assert result.skipped == [("y.mp4_c", REASON_POSTED)]


def test_content_already_in_the_store_for_an_account_is_not_planned_again() -> None:
    """A pending job of the same content for the account counts as taken; a failed one does not."""
    pending = job("old.mp4_c", "a", JobStatus.PENDING, content_sha256="shav0")
    result = plan(["a", "b"], videos(1), existing=[pending], limit=5)
    assert [j.account for j in result.jobs] == ["b"]
    failed = job("old.mp4_c", "a", JobStatus.FAILED, content_sha256="shav0")
    assert [j.account for j in plan(["a", "b"], videos(1), existing=[failed], limit=5).jobs] == [
        "a"
    ]


def test_no_accounts_means_no_jobs_never_an_unassigned_row() -> None:
    """Without accounts every video is skipped; no job is ever created with an empty account."""
    result = plan(["", ""], videos(2))
    assert result.jobs == []
    assert result.skipped == [("v00.mp4_c", REASON_NO_ACCOUNTS), ("v01.mp4_c", REASON_NO_ACCOUNTS)]
    assert all(j.account for j in plan(["a", "", "b"], videos(4), limit=3).jobs)


def test_existing_ids_are_skipped_and_seq_continues() -> None:
    """Jobs already in the store are not planned again; new seq numbers follow the highest."""
    existing = [job("v00.mp4_c", "a", JobStatus.SUCCESS, seq=7)]
    result = plan(["a", "b"], videos(2), existing=existing, limit=2)
    assert [j.job_id for j in result.jobs] == ["v01.mp4_c"]
    assert result.jobs[0].seq == 8
    assert result.skipped == [("v00.mp4_c", REASON_IN_STORE)]


def test_duplicate_ids_within_one_seeding_are_reported() -> None:
    """Two videos that map to one job id: the second is skipped with its reason."""
    dup = [SeedVideo("/a/x.mp4", "x.mp4", "1", "s1"), SeedVideo("/b/x.mp4", "x.mp4", "2", "s2")]
    result = plan(["a", "b"], dup)
    assert [j.video_path for j in result.jobs] == ["/a/x.mp4"]
    assert result.skipped == [("x.mp4_c", REASON_DUPLICATE_ID)]


# -- the daily room -----------------------------------------------------------------------------
def test_open_jobs_use_the_room_failed_and_skipped_do_not() -> None:
    """pending/claimed/retrying/unconfirmed hold a place today; failed and skipped never posted."""
    existing = [
        job("p", "a", JobStatus.PENDING),
        job("c", "a", JobStatus.CLAIMED),
        job("r", "b", JobStatus.RETRYING),
        job("u", "b", JobStatus.UNCONFIRMED),
        job("f", "c", JobStatus.FAILED, error_category="infrastructure"),
        job("s", "c", JobStatus.SKIPPED),
    ]
    room = account_capacity(["a", "b", "c"], existing, {}, 3, day=TODAY)
    assert room == {"a": 1, "b": 1, "c": 3}


def test_todays_successes_are_not_counted_twice_with_the_ledger() -> None:
    """A success of today is in the ledger too: room = limit - max(ledger, store successes)."""
    done = job("s", "a", JobStatus.SUCCESS, completed_at=NOW - timedelta(hours=1))
    assert account_capacity(["a"], [done], {"a": 1}, 2, day=TODAY) == {"a": 1}
    # Another campaign's post today is only in the ledger.
    assert account_capacity(["a"], [done], {"a": 2}, 2, day=TODAY) == {"a": 0}
    # A ledger that lost its row still sees the store's success.
    assert account_capacity(["a"], [done], {}, 2, day=TODAY) == {"a": 1}


def test_successes_of_earlier_days_leave_today_free() -> None:
    """The limit is per calendar day (I3): yesterday's success does not block today's seeding."""
    old = job("s", "a", JobStatus.SUCCESS, completed_at=NOW - timedelta(days=1))
    result = plan(["a"], videos(1), existing=[old])
    assert [j.account for j in result.jobs] == ["a"]


def test_today_is_the_campaign_timezone_day() -> None:
    """A success at 23:30 UTC is on the next day in Tokyo, so it uses that day's room."""
    late = job("s", "a", JobStatus.SUCCESS, completed_at=datetime(2025, 12, 19, 23, 30, tzinfo=UTC))
    assert account_capacity(["a"], [late], {}, 1, day=TODAY, timezone="Asia/Tokyo") == {"a": 0}
    assert account_capacity(["a"], [late], {}, 1, day=TODAY, timezone="UTC") == {"a": 1}


def test_ledger_count_from_other_campaigns_uses_the_room() -> None:
    """Posts made today by another campaign (ledger) leave only the rest of the limit."""
    result = plan(["a", "b"], videos(4), daily={"a": 2}, limit=2)
    assert [j.account for j in result.jobs] == ["b", "b"]
    assert result.capacity == {"a": 0, "b": 2}


# -- account health (D10) -------------------------------------------------------------------------
def test_accounts_with_an_account_error_get_no_new_jobs() -> None:
    """A terminated account (failed, category account) is excluded and reported."""
    dead = job("old", "a", JobStatus.FAILED, error_category="account", error_type="terminated")
    result = plan(["a", "b"], videos(2), existing=[dead], limit=2)
    assert {j.account for j in result.jobs} == {"b"}
    assert [a for a, _ in result.excluded_accounts] == ["a"]
    assert "terminated" in result.excluded_accounts[0][1]


def test_excluded_accounts_from_the_ledger_are_skipped() -> None:
    """Accounts blocked for re-authorization (passed as excluded) get nothing."""
    result = plan(["a", "b"], videos(2), limit=2, excluded={"a": "blocked until re-authorized"})
    assert {j.account for j in result.jobs} == {"b"}
    assert result.excluded_accounts == [("a", "blocked until re-authorized")]


# -- lazy hashing -------------------------------------------------------------------------------
def test_hashing_happens_only_for_videos_that_may_be_assigned() -> None:
    """Once every account is full, the remaining videos are skipped without reading them."""
    hashed: list[str] = []

    def hash_content(video: SeedVideo) -> str:
        hashed.append(video.filename)
        return "h-" + video.filename

    unhashed = [SeedVideo(f"/v/{i}.mp4", f"{i}.mp4", "c") for i in range(10)]
    result = plan(["a", "b"], unhashed, hash_content=hash_content)
    assert hashed == ["0.mp4", "1.mp4"]
    assert [j.content_sha256 for j in result.jobs] == ["h-0.mp4", "h-1.mp4"]


def test_unreadable_video_is_skipped_with_the_reason() -> None:
    """A video that vanished before hashing is skipped; the next one still gets the account."""

    def hash_content(video: SeedVideo) -> str:
        if video.filename == "0.mp4":
            raise FileNotFoundError(2, "No such file or directory")
        return "ok"

    unhashed = [SeedVideo(f"/v/{i}.mp4", f"{i}.mp4", "c") for i in range(2)]
    result = plan(["a"], unhashed, hash_content=hash_content)
    assert [j.job_id for j in result.jobs] == ["1.mp4_c"]
    assert result.skipped == [("0.mp4_c", "video file cannot be read: No such file or directory")]


# -- legacy scheduler_state.json ----------------------------------------------------------------
def _state(path: Path, jobs: list[object], **extra: object) -> Path:
    path.write_text(json.dumps({"jobs": jobs, **extra}), encoding="utf-8")
    return path


def test_state_file_with_last_saved_and_extra_keys_is_accepted(tmp_path: Path) -> None:
    """The scheduler_state_parallel variant (last_saved, worker_id, in_use) loads."""
    path = _state(
        tmp_path / "s.json",
        [
            {"id": "A-1", "video_path": "chunk\\x\\A-1.mp4", "caption": "cap\nline", "account": "z",
             "status": "retrying", "last_heartbeat": "", "worker_id": 0},
            {"id": "B-1", "video_path": "b.mp4", "caption": "b", "status": "in_progress"},
            {"id": "C-1", "video_path": "c.mp4", "caption": "c", "status": "success"},
            {"id": "D-1", "video_path": "d.mp4", "caption": "d", "status": "pending"},
            {"id": "E-1", "video_path": "e.mp4", "caption": "e", "status": "failed"},
        ],
        accounts=[{"name": "z", "in_use": False}],
        settings={"num_workers": 3},
        last_saved="2025-12-13T11:32:49.706420",
    )  # fmt: skip
    jobs = load_scheduler_state(path)
    assert [(j.id, j.status) for j in jobs] == [("A-1", "retrying"), ("D-1", "pending")]
    assert (jobs[0].video_path, jobs[0].caption, jobs[0].account) == (
        "chunk\\x\\A-1.mp4",
        "cap\nline",
        "z",
    )


def test_legacy_example_state_file_with_saved_at_loads() -> None:
    """examples/legacy's scheduler_state.json (saved_at variant) gives its pending/retrying jobs."""
    jobs = load_scheduler_state(EXAMPLES / "legacy" / "scheduler_state.json")
    assert [j.id for j in jobs] == ["DMNmeE-oIXY-1", "DQa0LxW_9rT-1", "E5tYu7IoP0a-2"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "invalid JSON at line 1"),
        ('{"accounts": []}', 'a "jobs" list'),
        ('{"jobs": {}}', 'a "jobs" list'),
        ("[]", 'a "jobs" list'),
        ('{"jobs": ["x"]}', "jobs[0] must be an object"),
        ('{"jobs": [{"status": "pending", "video_path": "v"}]}', "jobs[0] key 'id'"),
        ('{"jobs": [{"status": "pending", "id": "a"}]}', "jobs[0] key 'video_path'"),
    ],
)
def test_bad_state_files_are_config_errors_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    """Invalid JSON, no jobs list or a broken job: ConfigError with the file and the problem."""
    path = tmp_path / "scheduler_state.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scheduler_state(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_state_file_says_how_to_fix_it(tmp_path: Path) -> None:
    """A missing state file names the path and points to --state-file / --campaign."""
    with pytest.raises(ConfigError, match="--state-file"):
        load_scheduler_state(tmp_path / "nope.json")


def test_windows_relative_paths_resolve_under_the_project_root(tmp_path: Path) -> None:
    """chunk\\src\\x.mp4 becomes <root>/chunk/src/x.mp4; absolute paths stay as given."""
    assert legacy_video_path("chunk_01c\\a.b\\x.mp4", tmp_path) == tmp_path / "chunk_01c/a.b/x.mp4"
    assert legacy_video_path("/abs/x.mp4", tmp_path) == Path("/abs/x.mp4")
    assert str(legacy_video_path("C:\\Users\\x.mp4", tmp_path)) == "C:\\Users\\x.mp4"


# -- the examples -------------------------------------------------------------------------------
def _campaign_plan(name: str) -> tuple[CampaignConfig, SeedPlan]:
    campaign = CampaignConfig.from_folder(EXAMPLES / "campaigns" / name, REPO)
    seed_videos = [
        SeedVideo(m.video_path, m.filename, m.caption, compute_sha256(m.video_path))
        for m in campaign.match_videos().matched
    ]
    result = plan_jobs(
        campaign.name,
        campaign.get_accounts(),
        seed_videos,
        existing=[],
        daily_counts={},
        is_posted=lambda _account, _sha: False,
        daily_limit=campaign.max_posts_per_account_per_day,
        max_attempts=campaign.max_attempts,
        job_id_suffix=f"_{campaign.name}",
    )
    return campaign, result


def test_demo_plan_gives_each_of_six_accounts_one_job() -> None:
    """demo: 6 accounts at limit 1 over 12 videos: 6 jobs, 6 skipped for the daily limit."""
    campaign, result = _campaign_plan("demo")
    assert len(result.jobs) == 6
    assert [j.account for j in result.jobs] == campaign.get_accounts()
    assert all(j.job_id.endswith(".mp4_demo") for j in result.jobs)
    assert {reason for _, reason in result.skipped} == {REASON_DAILY_LIMIT}
    assert len(result.skipped) == 6


def test_podcast_plan_gives_each_account_two_jobs() -> None:
    """podcast: 3 accounts at limit 2 take all 6 nested videos, two each."""
    campaign, result = _campaign_plan("podcast")
    assert len(result.jobs) == 6
    assert result.skipped == []
    per_account = {a: sum(j.account == a for j in result.jobs) for a in campaign.get_accounts()}
    assert set(per_account.values()) == {2}
    assert "A1sDf3GhJkL-1.MP4_podcast" in {j.job_id for j in result.jobs}


# -- seed_store against the reference in-memory store -----------------------------------------
def _ctx(folder: Path, project: Path) -> PostingContext:
    return PostingContext.from_campaign(CampaignConfig.from_folder(folder, project))


def _publish_all(store: MemoryJobStore, now: datetime, limit: int) -> int:
    """Claim and complete every claimable job, as workers would; how many were published."""
    done = 0
    request = ClaimRequest("w0", now, timedelta(minutes=1), limit, local_day(now, "UTC"))
    while (claimed := store.claim(request)) is not None:
        assert store.complete(claimed.job_id, claimed.lease_token, now, day=request.day)
        done += 1
    return done


def test_seed_store_seeds_the_demo_once_and_the_next_day_anew(project_root: Path) -> None:
    """demo: 6 jobs today; a re-seed adds nothing; after today's posts, tomorrow gets 6 more."""
    ctx = _ctx(EXAMPLES / "campaigns" / "demo", project_root)
    store = MemoryJobStore("demo")
    first = seed_store(ctx, store, NOW)
    assert (first.created, first.planned, first.considered) == (6, 6, 12)
    assert first.match_report is not None
    assert first.match_report.counts()["matched"] == 12
    assert all(j.content_sha256 and j.account for j in store.list_jobs())
    again = seed_store(ctx, store, NOW)
    assert again.created == 0
    assert {r for _, r in again.skipped} == {REASON_IN_STORE, REASON_DAILY_LIMIT}
    assert _publish_all(store, NOW, 1) == 6
    assert seed_store(ctx, store, NOW).created == 0
    tomorrow = seed_store(ctx, store, NOW + timedelta(days=1))
    assert tomorrow.created == 6
    first_ids = {j.job_id for j in store.list_jobs(statuses=[JobStatus.SUCCESS])}
    new_ids = {j.job_id for j in store.list_jobs(statuses=[JobStatus.PENDING])}
    assert len(new_ids) == 6
    assert not first_ids & new_ids


def test_seed_store_podcast_fills_the_limit_of_two(project_root: Path) -> None:
    """podcast: 3 accounts x 2 per day take all 6 nested videos."""
    ctx = _ctx(EXAMPLES / "campaigns" / "podcast", project_root)
    store = MemoryJobStore("podcast")
    result = seed_store(ctx, store, NOW)
    assert result.created == 6
    assert result.skipped == []
    assert sorted(j.account for j in store.list_jobs()).count("pod_clips_one") == 2


def test_seed_store_never_gives_an_account_content_it_got_in_another_campaign(
    project_root: Path, tmp_path: Path
) -> None:
    """Identical bytes in a second campaign go to another account (the shared ledger, I4)."""
    ledger = MemoryLedger()
    one = _make(tmp_path / "one", ["a", "b"], {"x.mp4": b"same bytes"}, limit=5)
    two = _make(tmp_path / "two", ["a", "b"], {"y.mp4": b"same bytes"}, limit=5)
    store_one = MemoryJobStore("one", ledger)
    assert seed_store(_ctx(one, project_root), store_one, NOW).created == 1
    assert [j.account for j in store_one.list_jobs()] == ["a"]
    _publish_all(store_one, NOW, 5)
    store_two = MemoryJobStore("two", ledger)
    seed_store(_ctx(two, project_root), store_two, NOW)
    assert [j.account for j in store_two.list_jobs()] == ["b"]


def test_seed_store_counts_other_campaigns_posts_today(project_root: Path, tmp_path: Path) -> None:
    """A post made today by another campaign uses the shared account's daily room (I3)."""
    ledger = MemoryLedger()
    one = _make(tmp_path / "one", ["shared"], {"x.mp4": b"one"}, limit=1)
    two = _make(tmp_path / "two", ["shared"], {"y.mp4": b"two"}, limit=1)
    store_one = MemoryJobStore("one", ledger)
    seed_store(_ctx(one, project_root), store_one, NOW)
    _publish_all(store_one, NOW, 1)
    result = seed_store(_ctx(two, project_root), MemoryJobStore("two", ledger), NOW)
    assert result.created == 0
    assert result.skipped == [("y.mp4_two", REASON_DAILY_LIMIT)]


def test_seed_store_skips_accounts_that_need_reauthorization(
    project_root: Path, tmp_path: Path
) -> None:
    """An account blocked for re-auth in the ledger gets no job and is reported."""
    folder = _make(tmp_path / "c", ["a", "b"], {"x.mp4": b"1", "y.mp4": b"2"}, limit=2)
    store = MemoryJobStore("c")
    store.block_account("a", BLOCK_NEEDS_REAUTH, "token revoked")
    result = seed_store(_ctx(folder, project_root), store, NOW)
    assert {j.account for j in store.list_jobs()} == {"b"}
    assert result.excluded_accounts == [("a", "blocked until re-authorized")]


def test_seed_store_legacy_mode_uses_state_ids_and_root_relative_videos(project_root: Path) -> None:
    """Legacy: pending/retrying state jobs, ids kept, backslash paths resolved, no empty account."""
    shutil.copytree(EXAMPLES / "legacy", project_root, dirs_exist_ok=True)
    ctx = PostingContext.legacy(project_root=str(project_root))
    store = MemoryJobStore(ctx.store_name)
    result = seed_store(ctx, store, NOW)
    jobs = store.list_jobs()
    assert [(j.job_id, j.account) for j in jobs] == [
        ("DMNmeE-oIXY-1", "legacy_one"),
        ("DQa0LxW_9rT-1", "legacy_two"),
    ]
    assert jobs[0].video_path == str(project_root / "chunk_01c/2bears.1cave/DMNmeE-oIXY-1.mp4")
    assert jobs[0].caption == "Bears at the cave 🐻\n#wildlife"
    # The state's success job is reported, never dropped silently.
    assert result.skipped == [
        ("F2gHj4KlZx1-1", LEGACY_NOT_SEEDED["success"]),
        ("E5tYu7IoP0a-2", REASON_DAILY_LIMIT),
    ]
    assert result.match_report is None


def test_seed_store_legacy_accounts_override_and_missing_videos(project_root: Path) -> None:
    """--accounts replaces accounts.txt; a state job whose video is gone is skipped by name."""
    shutil.copytree(EXAMPLES / "legacy", project_root, dirs_exist_ok=True)
    (project_root / "chunk_01c" / "2bears.1cave" / "DMNmeE-oIXY-1.mp4").unlink()
    ctx = PostingContext.legacy(project_root=str(project_root), accounts=("solo",))
    store = MemoryJobStore(ctx.store_name)
    result = seed_store(ctx, store, NOW)
    assert [(j.job_id, j.account) for j in store.list_jobs()] == [("DQa0LxW_9rT-1", "solo")]
    assert result.skipped[0] == ("F2gHj4KlZx1-1", LEGACY_NOT_SEEDED["success"])
    assert result.skipped[1][0] == "DMNmeE-oIXY-1"
    assert result.skipped[1][1].startswith("video file not found: ")
    assert result.skipped[2:] == [("E5tYu7IoP0a-2", REASON_DAILY_LIMIT)]


def _make(folder: Path, accounts: list[str], files: dict[str, bytes], limit: int) -> Path:
    """A campaign folder with the given video bytes and a caption for each."""
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    rows = ["filename,post_caption", *(f"{name},caption of {name}" for name in files)]
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for name, data in files.items():
        (folder / "videos" / name).write_bytes(data)
    config = {"max_posts_per_account_per_day": limit}
    (folder / "campaign.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
