"""Instagram Reels publisher against the local Graph API fake: flows, faults, resume, reconcile."""

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

from postpilot.jobs import Job
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, ReconcileResult
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    LeaseLost,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.instagram import ContainerGone, InstagramPublisher
from tests.acceptance.helpers import run_postpilot
from tests.fakes.checkpoint import MemoryCheckpoint
from tests.fakes.instagram import DAY, FakeInstagram
from tests.fakes.mp4 import write_mp4
from tests.integration.publishers.leaks import everything_written

IG_USER = "17841400000000042"
TOKEN = "IGQVJ-test-token-AAAA1111"
ACCOUNT = "shop"


@pytest.fixture
def fake() -> Iterator[FakeInstagram]:
    """A running fake Graph API that accepts TOKEN (50 days of life left, 2 days old)."""
    with FakeInstagram() as server:
        server.add_token(TOKEN)
        yield server


def write_credentials(root: Path, token: str = TOKEN, expires_in: timedelta | None = None) -> Path:
    """credentials.json (0600) for ACCOUNT with its ig_user_id."""
    path = root / "credentials.json"
    expires = datetime.now(UTC) + (expires_in or timedelta(days=50))
    block = {
        "platform": "instagram",
        "access_token": token,
        "expires_at": expires.isoformat(),
        "client_id": "app-1",
        "client_secret": "app-secret-ZZZZ9999",
        "ig_user_id": IG_USER,
    }
    path.write_text(json.dumps({"accounts": {ACCOUNT: block}}), encoding="utf-8")
    path.chmod(0o600)
    return path


_OPEN: list[InstagramPublisher] = []


@pytest.fixture(autouse=True)
def _close_publishers() -> Iterator[None]:
    """Close every publisher a test built (their HTTP connections)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def publisher(root: Path, fake: FakeInstagram, **overrides: Any) -> InstagramPublisher:
    """A publisher pointed at the fake through campaign.json-style config (closed after the
    test)."""
    block: dict[str, Any] = {
        "type": "instagram",
        "api_base": fake.api_base,
        "upload_base": fake.url,
        "poll_interval": 0.01,
        "poll_timeout": 5,
        **overrides,
    }
    built = build_publisher(block, root, "camp")
    assert isinstance(built, InstagramPublisher)
    _OPEN.append(built)
    return built


def make_job(root: Path, size: int = 6000, caption: str = "new drop #reels") -> Job:
    """A job with a small real MP4 (random payload, so its hash is meaningful)."""
    video = write_mp4(root / f"clip-{size}.mp4", size, random_payload=True)
    return Job(job_id="job-1", account=ACCOUNT, video_path=str(video), caption=caption)


@pytest.fixture
def env(project_root: Path, fake: FakeInstagram) -> tuple[Path, FakeInstagram]:
    """Credentials written; the project root and the fake."""
    write_credentials(project_root)
    return project_root, fake


def test_happy_path_uploads_then_publishes_once(env: tuple[Path, FakeInstagram]) -> None:
    """Resumable flow: container saved, file streamed intact, polled, published with permalink."""
    root, fake = env
    job = make_job(root)
    cp = MemoryCheckpoint()
    result = publisher(root, fake).publish(job, Account(ACCOUNT), cp)
    assert fake.published_count(IG_USER) == 1
    media = fake.media[result.remote_id]
    assert result.url == media.permalink
    container = fake.containers[media.container_id]
    assert container.sha256 == hashlib.sha256(Path(job.video_path).read_bytes()).hexdigest()
    assert container.caption == job.caption
    kinds = [kind for kind, _ in cp.events]
    assert kinds == ["save", "save", "start"]
    assert cp.events[0][1]["container_id"] == container.id
    assert cp.events[1][1]["uploaded"] == "1"
    assert fake.count("limit") == 1


def test_video_url_mode_sends_the_url_and_no_bytes(env: tuple[Path, FakeInstagram]) -> None:
    """video_url mode creates the container from the public URL and never uploads."""
    root, fake = env
    job = make_job(root)
    pub = publisher(root, fake, mode="video_url", video_url_base="https://cdn.example/v/")
    pub.publish(job, Account(ACCOUNT), MemoryCheckpoint())
    (container,) = fake.containers.values()
    assert container.video_url == f"https://cdn.example/v/{Path(job.video_path).name}"
    assert fake.count("upload") == 0
    assert fake.published_count() == 1


def test_registry_builds_from_config_and_checks_mode(project_root: Path) -> None:
    """from_config rejects video_url mode without a base and unknown modes."""
    from postpilot.errors import ConfigError

    with pytest.raises(ConfigError, match="video_url_base"):
        build_publisher({"type": "instagram", "mode": "video_url"}, project_root, "c")
    with pytest.raises(ConfigError, match="mode"):
        build_publisher({"type": "instagram", "mode": "ftp"}, project_root, "c")


def test_preflight_and_caption_fail_before_any_request(env: tuple[Path, FakeInstagram]) -> None:
    """A non-MP4 file or an over-long caption is a ContentError with no quota spent."""
    root, fake = env
    bad = root / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    pub = publisher(root, fake)
    with pytest.raises(ContentError):
        pub.publish(
            Job(job_id="j", account=ACCOUNT, video_path=str(bad), caption="x"),
            Account(ACCOUNT),
            MemoryCheckpoint(),
        )
    with pytest.raises(ContentError, match="2200"):
        pub.publish(make_job(root, caption="x" * 2201), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.requests == []


@pytest.mark.slow
def test_exhausted_quota_waits_for_the_window_without_creating(
    env: tuple[Path, FakeInstagram],
) -> None:
    """quota_usage >= quota_total: account-wide RateLimited until the oldest post leaves."""
    root, fake = env
    fake.set_quota(IG_USER, total=1)
    pub = publisher(root, fake)
    pub.publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    (first,) = fake.media.values()
    with pytest.raises(RateLimited) as info:
        pub.publish(make_job(root, size=7000), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.account_wide
    assert info.value.error_type == "publishing_limit"
    expected = datetime.fromtimestamp(int(first.timestamp) + DAY, UTC)
    assert info.value.retry_at is not None
    assert abs((info.value.retry_at - expected).total_seconds()) < 2
    assert len(fake.containers) == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_seeded_usage_without_visible_posts_waits_a_whole_window(
    env: tuple[Path, FakeInstagram],
) -> None:
    """When recent media cannot explain the usage, the wait is the whole 24 h window."""
    root, fake = env
    fake.set_quota(IG_USER, total=50, usage=50)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.retry_at is not None
    assert info.value.retry_at >= before + timedelta(seconds=DAY)
    assert fake.count("create") == 0


@pytest.mark.slow
def test_quota_error_at_publish_keeps_the_container_for_later(
    env: tuple[Path, FakeInstagram],
) -> None:
    """Code 9/2207042 at media_publish parks the account; the retry publishes without re-upload."""
    root, fake = env
    fake.fail_next("publish", 9, subcode=2207042, message="reached maximum number of posts")
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(RateLimited) as info:
        pub.publish(job, Account(ACCOUNT), cp)
    assert info.value.account_wide
    assert cp.data["container_id"]
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.count("upload") == 1
    assert len(fake.containers) == 1
    assert fake.published_count() == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("route", "kwargs"),
    [
        ("create", {"status": 503, "raw": "<html>Service Unavailable</html>"}),
        ("create", {"code": 2, "message": "Service temporarily unavailable", "status": 500}),
        ("node", {"code": 1, "message": "An unknown error occurred", "is_transient": True}),
        ("upload", {"status": 502, "raw": "bad gateway"}),
    ],
)
def test_transient_failures_retry_to_exactly_one_post(
    env: tuple[Path, FakeInstagram], route: str, kwargs: dict[str, Any]
) -> None:
    """5xx and transient envelopes are TransientError; the next attempt ends with one post."""
    root, fake = env
    fake.fail_next(route, **kwargs)
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError):
        pub.publish(job, Account(ACCOUNT), cp)
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.published_count() == 1
    assert len(fake.containers) == 1


@pytest.mark.slow
def test_dropped_upload_resumes_on_the_same_container(env: tuple[Path, FakeInstagram]) -> None:
    """A connection cut mid-upload is transient; the retry re-uploads to the saved container."""
    root, fake = env
    fake.drop_next("upload", after_bytes=64 * 1024)
    pub = publisher(root, fake)
    job = make_job(root, size=3 * 1024 * 1024)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError):
        pub.publish(job, Account(ACCOUNT), cp)
    assert "uploaded" not in cp.data
    assert cp.data["container_id"]
    assert not cp.started
    pub.publish(job, Account(ACCOUNT), cp)
    (container,) = fake.containers.values()
    assert container.received == container.file_size == 3 * 1024 * 1024
    assert fake.published_count() == 1


@pytest.mark.slow
def test_rate_codes_wait_for_regain_time_or_retry_after(env: tuple[Path, FakeInstagram]) -> None:
    """Code 17 uses X-Business-Use-Case-Usage's regain time; a 429 uses Retry-After."""
    root, fake = env
    usage = {
        "123": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 7}]
    }
    fake.fail_next(
        "limit",
        17,
        message="User request limit reached",
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    pub = publisher(root, fake)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        pub.publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.account_wide
    assert info.value.retry_at is not None
    assert before + timedelta(minutes=7) <= info.value.retry_at
    assert info.value.retry_at <= datetime.now(UTC) + timedelta(minutes=7)
    fake.fail_next("create", status=429, raw="", headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        pub.publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.retry_at is not None
    assert info.value.retry_at >= before + timedelta(seconds=30)


@pytest.mark.slow
def test_container_error_is_a_content_error_with_the_status(
    env: tuple[Path, FakeInstagram],
) -> None:
    """status_code ERROR fails the job with Meta's status text; nothing is published."""
    root, fake = env
    fake.next_container("ERROR", status="Error: 2207026: unsupported video format")
    with pytest.raises(ContentError, match="2207026"):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.count("publish") == 0


@pytest.mark.slow
def test_expired_container_is_cleared_and_recreated(env: tuple[Path, FakeInstagram]) -> None:
    """EXPIRED clears the checkpoint (TransientError); the next attempt makes a new container."""
    root, fake = env
    fake.next_container("EXPIRED")
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(ContainerGone):
        pub.publish(job, Account(ACCOUNT), cp)
    assert cp.data == {}
    pub.publish(job, Account(ACCOUNT), cp)
    assert len(fake.containers) == 2
    assert fake.published_count() == 1


@pytest.mark.slow
def test_processing_past_timeout_then_expiry_on_resume(env: tuple[Path, FakeInstagram]) -> None:
    """IN_PROGRESS past poll_timeout is transient; 25 h later the resume finds it EXPIRED."""
    root, fake = env
    fake.next_container("IN_PROGRESS")
    pub = publisher(root, fake, poll_timeout=0.05)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError, match="still IN_PROGRESS"):
        pub.publish(job, Account(ACCOUNT), cp)
    first = cp.data["container_id"]
    fake.advance(25 * 3600)
    pub.publish(job, Account(ACCOUNT), cp)
    assert cp.data["container_id"] != first
    assert fake.published_count() == 1


@pytest.mark.slow
def test_lost_publish_response_is_unconfirmed_then_reconciled(
    env: tuple[Path, FakeInstagram],
) -> None:
    """The post is made but the answer is lost: OutcomeUnknown; reconcile finds it; a resumed
    publish returns it without posting again."""
    root, fake = env
    fake.lose_publish_response()
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown):
        pub.publish(job, Account(ACCOUNT), cp)
    assert cp.started
    (media,) = fake.media.values()
    fresh = publisher(root, fake)
    found = fresh.reconcile(job, cp.data)
    assert found.result is ReconcileResult.POSTED
    assert (found.remote_id, found.url) == (media.id, media.permalink)
    again = fresh.publish(job, Account(ACCOUNT), MemoryCheckpoint(cp.data))
    assert again.remote_id == media.id
    assert fake.published_count() == 1


@pytest.mark.slow
def test_reconcile_not_posted_and_unknown(env: tuple[Path, FakeInstagram]) -> None:
    """A server-side failure of media_publish is OutcomeUnknown (never retried blindly); the
    container then says NOT_POSTED, as does no container; an unreachable API is UNKNOWN."""
    root, fake = env
    fake.fail_next("publish", 1, message="unknown", is_transient=True)
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown):
        pub.publish(job, Account(ACCOUNT), cp)
    assert pub.reconcile(job, cp.data).result is ReconcileResult.NOT_POSTED
    assert pub.reconcile(job, {}).result is ReconcileResult.NOT_POSTED
    fake.stop()
    assert pub.reconcile(job, cp.data).result is ReconcileResult.UNKNOWN


@pytest.mark.slow
def test_not_ready_at_media_publish_is_a_plain_retry(env: tuple[Path, FakeInstagram]) -> None:
    """Meta's own "media not ready for publishing" (2207027) proves nothing was published: a
    plain retry (not OutcomeUnknown), and the retry publishes exactly one Reel."""
    root, fake = env
    fake.fail_next("publish", 9007, subcode=2207027, message="Media ID is not available")
    pub = publisher(root, fake)
    job = make_job(root)
    cp = MemoryCheckpoint()
    with pytest.raises(TransientError) as info:
        pub.publish(job, Account(ACCOUNT), cp)
    assert not isinstance(info.value, OutcomeUnknown)
    pub.publish(job, Account(ACCOUNT), cp)
    assert fake.published_count() == 1


@pytest.mark.slow
def test_crash_before_publish_resumes_without_reupload(env: tuple[Path, FakeInstagram]) -> None:
    """A worker that dies after the upload (lease lost at start_publish) leaves a checkpoint a
    fresh publisher finishes with no new container, no re-upload and exactly one post."""
    root, fake = env
    job = make_job(root)
    crashed = MemoryCheckpoint(lose_lease_after=2)
    with pytest.raises(LeaseLost):
        publisher(root, fake).publish(job, Account(ACCOUNT), crashed)
    assert fake.count("publish") == 0
    resumed = MemoryCheckpoint(crashed.data)
    publisher(root, fake).publish(job, Account(ACCOUNT), resumed)
    assert len(fake.containers) == 1
    assert fake.count("upload") == 1
    assert fake.published_count() == 1
    assert resumed.events[0] == ("start", {})


@pytest.mark.slow
@pytest.mark.parametrize("grant", ["fb_exchange_token", "ig_refresh_token"])
def test_token_near_expiry_is_refreshed_and_written_back_0600(
    project_root: Path, fake: FakeInstagram, grant: str
) -> None:
    """A long-lived token within the margin is refreshed first; the file stays 0600."""
    path = write_credentials(project_root, expires_in=timedelta(days=2))
    fake.add_token(TOKEN, age_seconds=58 * DAY, expires_in=2 * DAY)
    extra = {"token_url": f"{fake.url}/refresh_access_token"} if grant == "ig_refresh_token" else {}
    publisher(project_root, fake, **extra).publish(
        make_job(project_root), Account(ACCOUNT), MemoryCheckpoint()
    )
    stored = json.loads(path.read_text())["accounts"][ACCOUNT]
    assert stored["access_token"] != TOKEN
    assert stored["access_token"] in fake.tokens
    assert stored["ig_user_id"] == IG_USER
    assert datetime.fromisoformat(stored["expires_at"]) > datetime.now(UTC) + timedelta(days=50)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.count("refresh" if grant == "ig_refresh_token" else "exchange") == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_token_too_young_to_refresh_keeps_working(project_root: Path, fake: FakeInstagram) -> None:
    """A refresh refused (token < 24 h old) keeps the still-valid token; the post goes out."""
    path = write_credentials(project_root, expires_in=timedelta(days=1))
    fake.add_token(TOKEN, age_seconds=3600)
    before = path.read_text()
    publisher(project_root, fake, token_url=f"{fake.url}/refresh_access_token").publish(
        make_job(project_root), Account(ACCOUNT), MemoryCheckpoint()
    )
    assert path.read_text() == before
    assert fake.count("refresh") == 1
    assert fake.published_count() == 1


@pytest.mark.slow
def test_expired_token_is_auth_error_without_refresh(env: tuple[Path, FakeInstagram]) -> None:
    """Code 190/463 (expired) cannot be refreshed: AuthError, nothing created."""
    root, fake = env
    fake.expire_token(TOKEN)
    with pytest.raises(AuthError, match="190/463"):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.count("create") == 0
    write_credentials(root, expires_in=timedelta(days=-1))
    fake.requests.clear()
    with pytest.raises(AuthError, match="expired"):
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.requests == []


@pytest.mark.slow
def test_token_replaced_by_another_process_is_picked_up(env: tuple[Path, FakeInstagram]) -> None:
    """A 190 for a token another process already replaced retries with the stored new token."""
    root, fake = env
    fake.revoke_token(TOKEN)
    fake.add_token("IGQVJ-newer-token-BBBB2222")
    fake.on_next("limit", lambda: write_credentials(root, token="IGQVJ-newer-token-BBBB2222"))
    publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert fake.published_count() == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("code", "subcode", "expected", "error_type"),
    [
        (10, None, AuthError, "permission_missing"),
        (100, 2207026, ContentError, "content_rejected"),
        (9004, None, ContentError, "content_rejected"),
        (368, None, RateLimited, "activity_restricted"),
    ],
)
def test_error_envelope_mapping(
    env: tuple[Path, FakeInstagram],
    code: int,
    subcode: int | None,
    expected: type[PublishError],
    error_type: str,
) -> None:
    """Graph codes map to the taxonomy, keeping the raw body."""
    root, fake = env
    fake.fail_next("create", code, subcode=subcode, message="refused for a reason")
    with pytest.raises(expected) as info:
        publisher(root, fake).publish(make_job(root), Account(ACCOUNT), MemoryCheckpoint())
    assert info.value.error_type == error_type
    assert "refused for a reason" in info.value.raw


@pytest.mark.slow
def test_no_token_in_errors_or_logs(
    project_root: Path, fake: FakeInstagram, caplog: pytest.LogCaptureFixture
) -> None:
    """Tokens and the app secret never appear in raised errors, raw bodies or any log line,
    even when the platform echoes the token or a refresh puts it in a URL."""
    caplog.set_level(logging.DEBUG)
    write_credentials(project_root, expires_in=timedelta(days=2))
    fake.add_token(TOKEN, age_seconds=58 * DAY, expires_in=2 * DAY)
    secrets = [TOKEN, "app-secret-ZZZZ9999"]
    errors: list[PublishError] = []
    pub = publisher(project_root, fake)
    fake.fail_next("create", 100, message=f"bad token {TOKEN} in call")
    fake.drop_next("upload", after_bytes=10)
    fake.lose_publish_response()
    for _ in range(4):
        try:
            pub.publish(make_job(project_root), Account(ACCOUNT), MemoryCheckpoint())
        except PublishError as exc:
            errors.append(exc)
    new_token = json.loads((project_root / "credentials.json").read_text())["accounts"][ACCOUNT][
        "access_token"
    ]
    secrets.append(new_token)
    fake.expire_token(new_token)
    with pytest.raises(AuthError) as info:
        pub.publish(make_job(project_root), Account(ACCOUNT), MemoryCheckpoint())
    errors.append(info.value)
    assert len(errors) >= 4
    texts = [caplog.text] + [f"{e} {e.raw} {e.hint} {e.to_failure().message}" for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text


FAST_ARGS = ("--retry-delay", "0", "--max-passes", "2", "--workers", "2")


def make_campaign(root: Path, publisher_block: dict[str, Any], accounts: list[str]) -> None:
    """A campaign of two real small MP4s per account, two posts per account per day."""
    folder = root / "campaigns" / "reels"
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    rows = ["filename,post_caption"]
    for i in range(2 * len(accounts)):
        write_mp4(folder / "videos" / f"v{i}.mp4", 5000 + i, random_payload=True)
        rows.append(f'v{i}.mp4,"caption {i} #reels"')
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = {"max_posts_per_account_per_day": 2, "publisher": publisher_block}
    (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")


@pytest.mark.slow
def test_cli_run_publishes_a_campaign_end_to_end(project_root: Path, fake: FakeInstagram) -> None:
    """`postpilot --campaign reels --run` against the fake: every job posted once, and no token
    in the output, the worker logs or the job store."""

    tokens = {"shop": TOKEN, "studio": "IGQVJ-second-token-CCCC3333"}
    fake.add_token(tokens["studio"])
    accounts = {
        name: {
            "platform": "instagram",
            "access_token": token,
            "expires_at": (datetime.now(UTC) + timedelta(days=50)).isoformat(),
            "ig_user_id": f"1784140000000{i}",
        }
        for i, (name, token) in enumerate(tokens.items())
    }
    creds = project_root / "credentials.json"
    creds.write_text(json.dumps({"accounts": accounts}), encoding="utf-8")
    creds.chmod(0o600)
    block = {
        "type": "instagram",
        "api_base": fake.api_base,
        "upload_base": fake.url,
        "poll_interval": 0.01,
    }
    make_campaign(project_root, block, list(tokens))
    proc = run_postpilot(
        project_root,
        "--campaign",
        "reels",
        "--run",
        "--json",
        *FAST_ARGS,
        POSTPILOT_BACKOFF_SECONDS="0",
        POSTPILOT_LEASE_SECONDS="10",
    )
    assert proc.code == 0, proc.err
    assert json.loads(proc.out)["success"] == 4
    assert fake.published_count("17841400000000") == 2
    assert fake.published_count("17841400000001") == 2
    assert {m.caption for m in fake.media.values()} == {f"caption {i} #reels" for i in range(4)}
    written = everything_written(project_root, proc.out, proc.err)
    for token in tokens.values():
        assert token.encode() not in written
