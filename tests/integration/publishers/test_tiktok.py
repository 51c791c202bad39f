"""TikTok publisher against the local Content Posting API fake: chunk rules, flows, faults,
resume, token rotation and reconcile."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postpilot.jobs import Job
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, ReconcileResult
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    LeaseLost,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.tiktok import MIB, ChunkPlan, TikTokPublisher, chunk_plan
from tests.acceptance.helpers import run_postpilot
from tests.fakes.checkpoint import MemoryCheckpoint
from tests.fakes.mp4 import write_mp4
from tests.fakes.tiktok import FakeTikTok, chunk_plan_error
from tests.integration.publishers.leaks import everything_written

OPEN_ID = "open-1"
ACCESS = "act.test-access-AAAA1111"
REFRESH = "rft.test-refresh-BBBB2222"
SECRET = "cs-client-secret-CCCC3333"
ACCOUNT = "creator"
GIB = 1024 * MIB


# -- chunk arithmetic -------------------------------------------------------------------------


def spans_cover(plan: ChunkPlan) -> bool:
    """The plan's chunks are contiguous and cover the file exactly."""
    offset = 0
    for index in range(plan.count):
        first, length = plan.span(index)
        if first != offset or length <= 0:
            return False
        offset += length
    return offset == plan.video_size


@pytest.mark.parametrize(
    ("size", "preferred", "chunk", "count"),
    [
        (1, 16 * MIB, 1, 1),
        (5 * MIB - 1, 16 * MIB, 5 * MIB - 1, 1),
        (5 * MIB, 16 * MIB, 5 * MIB, 1),
        (16 * MIB, 16 * MIB, 16 * MIB, 1),
        (16 * MIB + 1, 16 * MIB, 16 * MIB, 1),
        (32 * MIB, 16 * MIB, 16 * MIB, 2),
        (64 * MIB, 64 * MIB, 64 * MIB, 1),
        (64 * MIB + 1, 64 * MIB, 32 * MIB, 2),
        (100 * MIB, 64 * MIB, 50 * MIB, 2),
        (128 * MIB + 1, 64 * MIB, 64 * MIB, 2),
        (50_000_123, 10_000_000, 10_000_000, 5),
        (12 * MIB, 1, 5 * MIB, 2),
        (4 * GIB, 5 * MIB, 5 * MIB, 819),
        (10 * GIB, 5 * MIB, 10_737_419, 999),
    ],
)
def test_chunk_plan_edges(size: int, preferred: int, chunk: int, count: int) -> None:
    """Edge sizes follow the guide: whole under 5 MB, floor count, last absorbs the rest."""
    plan = chunk_plan(size, preferred)
    assert (plan.chunk_size, plan.count) == (chunk, count)
    assert spans_cover(plan)
    assert chunk_plan_error(size, plan.chunk_size, plan.count) == ""


def test_chunk_plan_matches_the_guides_example() -> None:
    """The guide's 50,000,123-byte example: 5 chunks, the last 10,000,123 bytes."""
    plan = chunk_plan(50_000_123, 10_000_000)
    assert plan.span(4) == (40_000_000, 10_000_123)


def test_chunk_plan_refuses_what_1000_chunks_cannot_carry() -> None:
    """Over 1000 x 64 MB is a ContentError (never an invalid init)."""
    with pytest.raises(ContentError):
        chunk_plan(1001 * 64 * MIB + 64 * MIB, 64 * MIB)


@given(
    size=st.integers(min_value=1, max_value=64_000 * MIB),
    preferred=st.integers(min_value=1, max_value=200 * MIB),
)
def test_chunk_plan_is_always_valid(size: int, preferred: int) -> None:
    """Any size up to 62.5 GiB gets a plan the platform's rules accept, covering the file."""
    plan = chunk_plan(size, preferred)
    assert chunk_plan_error(size, plan.chunk_size, plan.count) == ""
    assert spans_cover(plan)


@pytest.mark.parametrize(
    ("size", "chunk", "count"),
    [
        (4 * MIB, 1 * MIB, 4),  # under 5 MB must be whole
        (20 * MIB, 4 * MIB, 5),  # chunk under 5 MB
        (20 * MIB, 5 * MIB, 3),  # count is not floor(size / chunk)
        (100 * MIB, 100 * MIB, 1),  # over 64 MB as one chunk
        (200 * MIB, 65 * MIB, 3),  # chunk over 64 MB
        (6000 * MIB, 5 * MIB, 1200),  # over 1000 chunks
    ],
)
def test_fake_refuses_invalid_chunk_plans(size: int, chunk: int, count: int) -> None:
    """The fake's init validation rejects what TikTok's rules reject."""
    assert chunk_plan_error(size, chunk, count) != ""


# -- fixtures -----------------------------------------------------------------------------------

_OPEN: list[TikTokPublisher] = []


@pytest.fixture(autouse=True)
def _close_publishers() -> Iterator[None]:
    """Close every publisher a test built."""
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    """A running fake with one creator whose access token lives a day."""
    with FakeTikTok() as server:
        server.add_creator(
            OPEN_ID, ACCESS, REFRESH, client_key="ck-1", username="shop", access_ttl=86400
        )
        yield server


def write_credentials(
    root: Path, access: str = ACCESS, refresh: str = REFRESH, expires_in: timedelta | None = None
) -> Path:
    """credentials.json (0600) for ACCOUNT."""
    path = root / "credentials.json"
    block = {
        "platform": "tiktok",
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": (datetime.now(UTC) + (expires_in or timedelta(hours=2))).isoformat(),
        "client_key": "ck-1",
        "client_secret": SECRET,
        "open_id": OPEN_ID,
    }
    path.write_text(json.dumps({"accounts": {ACCOUNT: block}}), encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def env(project_root: Path, fake: FakeTikTok) -> tuple[Path, FakeTikTok]:
    """Credentials written; the project root and the fake."""
    write_credentials(project_root)
    return project_root, fake


def publisher(root: Path, fake: FakeTikTok, **overrides: Any) -> TikTokPublisher:
    """A publisher pointed at the fake through campaign.json-style config."""
    block: dict[str, Any] = {
        "type": "tiktok",
        "api_base": fake.url,
        "poll_interval": 0.01,
        "poll_timeout": 5,
        **overrides,
    }
    built = build_publisher(block, root, "camp")
    assert isinstance(built, TikTokPublisher)
    _OPEN.append(built)
    return built


def make_job(root: Path, size: int = 6000, caption: str = "hello #fyp", **kw: Any) -> Job:
    """A job with a real small MP4 (random payload) or a sparse big one."""
    video = write_mp4(root / f"clip-{size}.mp4", size, random_payload=size < MIB, **kw)
    return Job(job_id="job-1", account=ACCOUNT, video_path=str(video), caption=caption)


def sha256_of(path: str) -> str:
    """The file's hash, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(MIB):
            digest.update(block)
    return digest.hexdigest()


# -- flows --------------------------------------------------------------------------------------


def test_direct_post_happy_path(env: tuple[Path, FakeTikTok]) -> None:
    """creator_info, init, one PUT, polled to PUBLISH_COMPLETE: the post id and URL come back."""
    root, fake = env
    job = make_job(root)
    cp = MemoryCheckpoint()
    result = publisher(root, fake, privacy_level="PUBLIC_TO_EVERYONE").publish(
        job, Account(ACCOUNT), cp
    )
    (task,) = fake.tasks.values()
    assert result.remote_id == task.post_id
    assert result.url == f"https://www.tiktok.com/@shop/video/{task.post_id}"
    assert task.sha256 == sha256_of(job.video_path)
    assert (task.title, task.privacy_level) == (job.caption, "PUBLIC_TO_EVERYONE")
    assert [kind for kind, _ in cp.events] == ["save", "start"]
    assert cp.events[0][1]["publish_id"] == task.publish_id
    assert fake.count("creator_info") == 1
    assert fake.published_count(OPEN_ID) == 1


def test_inbox_mode_ends_in_the_inbox(env: tuple[Path, FakeTikTok]) -> None:
    """Inbox mode uses the inbox init, skips creator_info and ends at SEND_TO_USER_INBOX."""
    root, fake = env
    result = publisher(root, fake, mode="inbox").publish(
        make_job(root), Account(ACCOUNT), MemoryCheckpoint()
    )
    (task,) = fake.tasks.values()
    assert task.inbox
    assert task.status == "SEND_TO_USER_INBOX"
    assert result.remote_id == task.publish_id
    assert fake.count("creator_info") == 0
    assert fake.count("inbox_init") == 1


def test_private_post_returns_the_publish_id(env: tuple[Path, FakeTikTok]) -> None:
    """A SELF_ONLY post has no public id: the publish_id is the remote id."""
    root, fake = env
    result = publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    (task,) = fake.tasks.values()
    assert result.remote_id == task.publish_id


@pytest.mark.slow
def test_big_sparse_file_is_chunked_sequentially(env: tuple[Path, FakeTikTok]) -> None:
    """A 70 MB file in 5 MB chunks: 14 sequential PUTs (206...201), the last one absorbing the
    remainder, the bytes intact."""
    root, fake = env
    job = make_job(root, size=70 * MIB + 12345)
    publisher(root, fake, chunk_size_mb=5).publish(job, Account(ACCOUNT), MemoryCheckpoint())
    (task,) = fake.tasks.values()
    assert (task.chunk_size, task.total) == (5 * MIB, 14)
    ranges = [(first, last) for _p, first, last, _t, _s in fake.puts]
    assert ranges[0] == (0, 5 * MIB - 1)
    assert ranges[-1] == (65 * MIB, 70 * MIB + 12344)
    assert [s for *_r, s in fake.puts] == [206] * 13 + [201]
    assert task.sha256 == sha256_of(job.video_path)
    assert fake.published_count() == 1


def test_config_errors_are_clear(project_root: Path) -> None:
    """Unknown modes and non-boolean flags are refused when the publisher is built."""
    from postpilot.errors import ConfigError

    with pytest.raises(ConfigError, match="mode"):
        build_publisher({"type": "tiktok", "mode": "drafts"}, project_root, "c")
    with pytest.raises(ConfigError, match="disable_duet"):
        build_publisher({"type": "tiktok", "disable_duet": "yes"}, project_root, "c")


# -- pre-checks ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_privacy_level_not_offered_is_permanent(env: tuple[Path, FakeTikTok]) -> None:
    """An unaudited app only offers SELF_ONLY: a PUBLIC configuration fails before init."""
    root, fake = env
    fake.unaudited = True
    with pytest.raises(PermanentError, match="SELF_ONLY") as info:
        publisher(root, fake, privacy_level="PUBLIC_TO_EVERYONE").publish(
            make_job(root), Account(ACCOUNT), MemoryCheckpoint()
        )
    assert "privacy_level" in info.value.hint
    assert fake.count("init") == 0


@pytest.mark.slow
def test_video_longer_than_creator_limit_fails_before_init(
    env: tuple[Path, FakeTikTok],
) -> None:
    """max_video_post_duration_sec below the video's duration is a ContentError before init."""
    root, fake = env
    fake.creators[OPEN_ID].max_video_post_duration_sec = 3
    with pytest.raises(ContentError, match="limit of 3 s"):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.count("init") == 0


@pytest.mark.slow
def test_daily_cap_parks_the_account_for_a_day(env: tuple[Path, FakeTikTok]) -> None:
    """spam_risk_too_many_posts (per creator per day) is an account-wide RateLimited."""
    root, fake = env
    fake.creators[OPEN_ID].daily_cap = 0
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.account_wide
    assert info.value.retry_at is not None
    assert info.value.retry_at >= before + timedelta(days=1)
    assert fake.count("init") == 0


@pytest.mark.slow
def test_rate_limit_exceeded_honours_retry_after(env: tuple[Path, FakeTikTok]) -> None:
    """429 rate_limit_exceeded is a RateLimited for this job, at Retry-After."""
    root, fake = env
    fake.fail_next("init", "rate_limit_exceeded", status=429, headers={"Retry-After": "20"})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert not info.value.account_wide
    assert info.value.retry_at is not None
    assert info.value.retry_at >= before + timedelta(seconds=20)


@pytest.mark.slow
def test_fake_enforces_init_rate_per_minute(env: tuple[Path, FakeTikTok]) -> None:
    """The seventh init within a minute is refused by the fake as TikTok does."""
    root, fake = env
    pub = publisher(root, fake, mode="inbox")
    for _ in range(6):
        pub.publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    with pytest.raises(RateLimited):
        pub.publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.published_count() == 6


# -- faults and resume ------------------------------------------------------------------------


@pytest.mark.slow
def test_server_error_at_init_retries_to_one_post(env: tuple[Path, FakeTikTok]) -> None:
    """5xx internal_error at init is transient; the retry posts exactly once."""
    root, fake = env
    fake.fail_next("init", "internal_error", status=500)
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError):
        pub.publish(job, Account(ACCOUNT), cp)
    assert cp.data == {}
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.published_count() == 1


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["drop", "503"])
def test_failed_middle_chunk_resumes_at_the_chunk_boundary(
    env: tuple[Path, FakeTikTok], fault: str
) -> None:
    """A chunk cut mid-body (or a 5xx) is transient; the retry asks uploaded_bytes and sends only
    the missing chunks on the same publish_id."""
    root, fake = env

    def arm() -> None:
        if fault == "drop":
            fake.drop_next("put", after_bytes=100_000)
        else:
            fake.fail_next("put", status=503)

    fake.on_next("put", arm)
    pub = publisher(root, fake, chunk_size_mb=5)
    job = make_job(root, size=16 * MIB)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError):
        pub.publish(job, Account(ACCOUNT), cp)
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.count("init") == 1
    firsts = [first for _p, first, *_rest in fake.puts]
    assert firsts == [0, 5 * MIB, 10 * MIB]
    (task,) = fake.tasks.values()
    assert task.sha256 == sha256_of(job.video_path)
    assert fake.published_count() == 1


@pytest.mark.slow
def test_crash_after_init_resumes_same_publish_id(env: tuple[Path, FakeTikTok]) -> None:
    """A worker that dies after saving the publish_id leaves a checkpoint a fresh publisher
    finishes on the same publish_id: one init, one post."""
    root, fake = env
    job = make_job(root)
    crashed = MemoryCheckpoint(lose_lease_after=1)
    with pytest.raises(LeaseLost):
        publisher(root, fake).publish(job, Account(ACCOUNT), crashed)
    assert fake.puts == []
    resumed = MemoryCheckpoint(crashed.data)
    result = publisher(root, fake).publish(job, Account(ACCOUNT), resumed)
    assert result.remote_id == crashed.data["publish_id"]
    assert fake.count("init") == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_expired_upload_url_on_resume_starts_a_new_upload(env: tuple[Path, FakeTikTok]) -> None:
    """An upload URL past its hour answers 403: the resume makes a new init (nothing was posted)
    and ends with exactly one post."""
    root, fake = env
    job = make_job(root)
    crashed = MemoryCheckpoint(lose_lease_after=1)
    with pytest.raises(LeaseLost):
        publisher(root, fake).publish(job, Account(ACCOUNT), crashed)
    fake.advance(2 * 3600)
    resumed = MemoryCheckpoint(crashed.data)
    publisher(root, fake).publish(job, Account(ACCOUNT), resumed)
    assert fake.count("init") == 2
    assert resumed.data["publish_id"] != crashed.data["publish_id"]
    assert fake.published_count() == 1


@pytest.mark.slow
def test_lost_final_chunk_answer_is_unconfirmed_then_reconciled(
    env: tuple[Path, FakeTikTok],
) -> None:
    """The final chunk completes the upload but its answer is lost: OutcomeUnknown; reconcile
    says unknown while processing, then posted; a resumed publish never re-uploads."""
    root, fake = env
    fake.lose_final_put_response()
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown):
        publisher(root, fake).publish(job, Account(ACCOUNT), cp)
    fresh = publisher(root, fake)
    assert fresh.reconcile(job, cp.data).result is ReconcileResult.UNKNOWN
    found = fresh.reconcile(job, cp.data)
    assert found.result is ReconcileResult.POSTED
    assert found.remote_id == cp.data["publish_id"]
    again = fresh.publish(job, Account(ACCOUNT), MemoryCheckpoint(cp.data))
    assert again.remote_id == found.remote_id
    assert fake.count("init") == 1
    assert len(fake.puts) == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_failed_publish_maps_fail_reason(env: tuple[Path, FakeTikTok]) -> None:
    """FAILED with a content reason is a ContentError; another reason is transient and the
    retry starts a new upload; the checkpoint is cleared either way."""
    root, fake = env
    fake.next_publish("FAILED", fail_reason="duration_check_failed")
    pub = publisher(root, fake)
    cp = MemoryCheckpoint()
    with pytest.raises(ContentError, match="duration_check_failed"):
        pub.publish(make_job(root), Account(ACCOUNT), cp)
    assert cp.data == {}
    fake.next_publish("FAILED", fail_reason="internal_server_hiccup")
    job = make_job(root, size=7000)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError):
        pub.publish(job, Account(ACCOUNT), cp)
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.published_count() == 1


@pytest.mark.slow
def test_never_finishing_publish_keeps_polling_not_reposting(
    env: tuple[Path, FakeTikTok],
) -> None:
    """Processing past poll_timeout after the final chunk is OutcomeUnknown (the post is under
    way) with the publish_id kept; a later attempt polls the same publish_id, never re-uploads,
    and reconcile says unknown."""
    root, fake = env
    fake.next_publish("NEVER")
    pub = publisher(root, fake, poll_timeout=0.05)
    job = make_job(root)
    cp = MemoryCheckpoint()
    for _ in range(2):
        with pytest.raises(OutcomeUnknown, match="still PROCESSING_UPLOAD"):
            pub.publish(job, Account(ACCOUNT), cp)
    assert fake.count("init") == 1
    assert len(fake.puts) == 1
    assert pub.reconcile(job, cp.data).result is ReconcileResult.UNKNOWN


@pytest.mark.slow
def test_reconcile_not_posted_cases_and_unreachable(env: tuple[Path, FakeTikTok]) -> None:
    """No publish_id, an upload that never completed, or FAILED are NOT_POSTED; no API is
    UNKNOWN."""
    root, fake = env
    pub = publisher(root, fake)
    job = make_job(root)
    assert pub.reconcile(job, {}).result is ReconcileResult.NOT_POSTED
    crashed = MemoryCheckpoint(lose_lease_after=1)
    with pytest.raises(LeaseLost):
        pub.publish(job, Account(ACCOUNT), crashed)
    assert pub.reconcile(job, crashed.data).result is ReconcileResult.NOT_POSTED
    fake.next_publish("FAILED", fail_reason="file_format_check_failed")
    cp = MemoryCheckpoint()
    with pytest.raises(ContentError):
        pub.publish(make_job(root, size=7000), Account(ACCOUNT), cp)
    failed = {"publish_id": cp.saves[0]["publish_id"], "video_size": "7000"}
    assert pub.reconcile(job, failed).result is ReconcileResult.NOT_POSTED
    fake.stop()
    assert pub.reconcile(job, crashed.data).result is ReconcileResult.UNKNOWN


# -- tokens -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_rejected_token_refreshes_once_with_rotation(env: tuple[Path, FakeTikTok]) -> None:
    """access_token_invalid refreshes once; the rotated refresh token replaces the old one in a
    0600 file, the old one is dead, and the post goes out."""
    root, fake = env
    fake.expire_access_token(ACCESS)
    publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    path = root / "credentials.json"
    stored = json.loads(path.read_text())["accounts"][ACCOUNT]
    assert stored["access_token"] != ACCESS
    assert stored["refresh_token"] != REFRESH
    assert REFRESH not in fake.refresh_tokens
    assert stored["refresh_token"] in fake.refresh_tokens
    assert stored["refresh_expires_at"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.count("token") == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_token_is_refreshed_ahead_of_expiry(project_root: Path, fake: FakeTikTok) -> None:
    """A token expiring within the margin is refreshed before the first call."""
    write_credentials(project_root, expires_in=timedelta(minutes=2))
    publisher(project_root, fake).publish(
        make_job(project_root), Account(ACCOUNT), MemoryCheckpoint()
    )
    assert fake.requests[0] == ("POST", "token")
    assert fake.published_count() == 1


@pytest.mark.slow
def test_dead_refresh_token_is_auth_error(env: tuple[Path, FakeTikTok]) -> None:
    """An expired access token with a revoked refresh token: AuthError, nothing uploaded."""
    root, fake = env
    fake.expire_access_token(ACCESS)
    fake.refresh_tokens.clear()
    with pytest.raises(AuthError):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.count("init") == 0


@pytest.mark.slow
def test_second_rejection_after_refresh_is_auth_error(env: tuple[Path, FakeTikTok]) -> None:
    """A token refused again after the one refresh is an AuthError (no refresh loop)."""
    root, fake = env
    fake.fail_next("creator_info", "access_token_invalid", status=401, times=2)
    with pytest.raises(AuthError):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.count("token") == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "status", "expected", "error_type"),
    [
        ("scope_not_authorized", 401, AuthError, "scope_missing"),
        ("spam_risk_user_banned_from_posting", 403, AuthError, "banned"),
        (
            "unaudited_client_can_only_post_to_private_accounts",
            403,
            PermanentError,
            "app_not_audited",
        ),
        ("spam_risk_too_many_pending_share", 403, RateLimited, "daily_cap"),
        ("invalid_params", 400, PermanentError, "rejected"),
    ],
)
def test_error_code_mapping(
    env: tuple[Path, FakeTikTok],
    code: str,
    status: int,
    expected: type[PublishError],
    error_type: str,
) -> None:
    """TikTok error codes map to the taxonomy and keep the raw body."""
    root, fake = env
    fake.fail_next("init", code, status=status, message="because")
    with pytest.raises(expected) as info:
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.error_type == error_type
    assert code in str(info.value)
    assert "because" in info.value.raw


@pytest.mark.slow
def test_no_token_in_errors_or_logs(
    env: tuple[Path, FakeTikTok], caplog: pytest.LogCaptureFixture
) -> None:
    """Access, refresh (old and rotated) tokens and the client secret never appear in errors,
    raw bodies or log lines, even when the platform echoes them."""
    root, fake = env
    caplog.set_level(logging.DEBUG)
    fake.expire_access_token(ACCESS)
    fake.fail_next("init", "internal_error", status=500, message=f"echo {REFRESH} {ACCESS}")
    fake.lose_final_put_response()
    pub = publisher(root, fake)
    errors: list[PublishError] = []
    for size in (6000, 6001):
        try:
            pub.publish(make_job(root, size=size), Account(ACCOUNT), MemoryCheckpoint())
        except PublishError as exc:
            errors.append(exc)
    stored = json.loads((root / "credentials.json").read_text())["accounts"][ACCOUNT]
    fake.expire_access_token(stored["access_token"])
    fake.refresh_tokens.clear()
    with pytest.raises(AuthError) as info:
        pub.publish(make_job(root, size=6002), Account(ACCOUNT), MemoryCheckpoint())
    errors.append(info.value)
    assert len(errors) == 3
    secrets = [ACCESS, REFRESH, SECRET, stored["access_token"], stored["refresh_token"]]
    texts = [caplog.text] + [f"{e} {e.raw} {e.hint} {e.to_failure().message}" for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text


FAST_ARGS = ("--retry-delay", "0", "--max-passes", "2", "--workers", "2")


# -- end to end ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_run_publishes_a_campaign_end_to_end(project_root: Path, fake: FakeTikTok) -> None:
    """`postpilot --campaign clips --run` against the fake: every job posted once (one of them
    after a rotating refresh), and no token in the output, the worker logs or the job store."""

    fake.add_creator("open-2", "act.second-DDDD4444", "rft.second-EEEE5555", client_key="ck-1")
    fake.expire_access_token(ACCESS)
    write_credentials(project_root)
    creds = project_root / "credentials.json"
    data = json.loads(creds.read_text())
    data["accounts"]["studio"] = {
        **data["accounts"][ACCOUNT],
        "access_token": "act.second-DDDD4444",
        "refresh_token": "rft.second-EEEE5555",
        "open_id": "open-2",
    }
    creds.write_text(json.dumps(data), encoding="utf-8")
    folder = project_root / "campaigns" / "clips"
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text(f"{ACCOUNT}\nstudio\n", encoding="utf-8")
    rows = ["filename,post_caption"]
    for i in range(4):
        write_mp4(folder / "videos" / f"v{i}.mp4", 5000 + i, random_payload=True)
        rows.append(f'v{i}.mp4,"clip {i} #fyp"')
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    block = {"type": "tiktok", "api_base": fake.url, "poll_interval": 0.01}
    settings = {"max_posts_per_account_per_day": 2, "publisher": block}
    (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    proc = run_postpilot(
        project_root,
        "--campaign",
        "clips",
        "--run",
        "--json",
        *FAST_ARGS,
        POSTPILOT_BACKOFF_SECONDS="0",
        POSTPILOT_LEASE_SECONDS="10",
    )
    assert proc.code == 0, proc.err
    assert json.loads(proc.out)["success"] == 4
    assert fake.published_count(OPEN_ID) == 2
    assert fake.published_count("open-2") == 2
    assert fake.count("token") == 1
    stored = json.loads(creds.read_text())["accounts"][ACCOUNT]
    secrets = [ACCESS, REFRESH, SECRET, stored["access_token"], stored["refresh_token"]]
    secrets += ["act.second-DDDD4444", "rft.second-EEEE5555"]
    written = everything_written(project_root, proc.out, proc.err)
    for secret in secrets:
        assert secret.encode() not in written


@pytest.mark.slow
def test_server_error_on_the_final_chunk_is_unconfirmed_not_retried(
    env: tuple[Path, FakeTikTok],
) -> None:
    """A 5xx answering the chunk that starts the post is OutcomeUnknown, not a retry; reconcile
    then proves nothing was posted (the platform lacks bytes) and the resumed publish posts once."""
    root, fake = env
    fake.fail_next("put", status=503)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown, match="HTTP 503"):
        publisher(root, fake).publish(job, Account(ACCOUNT), cp)
    assert publisher(root, fake).reconcile(job, cp.data).result is ReconcileResult.NOT_POSTED
    publisher(root, fake).publish(job, Account(ACCOUNT), MemoryCheckpoint(cp.data))
    assert fake.count("init") == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_unreadable_status_after_the_final_chunk_is_unconfirmed(
    env: tuple[Path, FakeTikTok],
) -> None:
    """Once the final chunk is accepted the post is under way: a failing status read is
    OutcomeUnknown; the later attempt polls the same publish_id and never re-uploads."""
    root, fake = env
    fake.fail_next("status", status=500)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown, match="status could not be read"):
        publisher(root, fake).publish(job, Account(ACCOUNT), cp)
    again = publisher(root, fake).publish(job, Account(ACCOUNT), MemoryCheckpoint(cp.data))
    assert again.remote_id
    assert fake.count("init") == 1
    assert len(fake.puts) == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_dropped_middle_chunk_is_a_plain_retry(env: tuple[Path, FakeTikTok]) -> None:
    """A cut non-final chunk cannot have started the post: a TransientError that is not
    'maybe delivered', so the worker retries it."""
    root, fake = env
    fake.drop_next("put", after_bytes=100_000)
    with pytest.raises(TransientError) as info:
        publisher(root, fake, chunk_size_mb=5).publish(
            make_job(root, size=16 * MIB), Account(ACCOUNT), MemoryCheckpoint()
        )
    assert not isinstance(info.value, OutcomeUnknown)
    assert not info.value.maybe_delivered
