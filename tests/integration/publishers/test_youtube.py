"""YouTube publisher against the local fake: resumable upload, faults, tokens, quota, reconcile."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpilot.credentials import CredentialStore
from postpilot.errors import ConfigError
from postpilot.jobs import Job, next_local_midnight
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, Published, ReconcileResult
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.youtube import (
    FINAL_SENT,
    SESSION_URI,
    YouTubePublisher,
    derive_description,
    derive_title,
)
from tests.fakes.checkpoint import FileCheckpoint, MemoryCheckpoint
from tests.fakes.mp4 import write_mp4
from tests.fakes.youtube import FakeYouTube
from tests.integration.publishers.youtube_child import job_for

CHUNK = 256 * 1024
SIZE = 5 * CHUNK + 12345
ACCESS = "ya29.initial-access-token-AAAA"
REFRESH = "1//refresh-token-BBBB"
SECRET = "client-secret-CCCC"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    """A running fake YouTube with account chan1 registered."""
    with FakeYouTube() as server:
        server.add_account("chan1", REFRESH, ACCESS)
        yield server


@pytest.fixture
def creds_path(project_root: Path) -> Path:
    """credentials.json (0600) for chan1 with a valid-looking token."""
    path = project_root / "credentials.json"
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    path.write_text(
        json.dumps(
            {
                "accounts": {
                    "chan1": {
                        "platform": "youtube",
                        "access_token": ACCESS,
                        "refresh_token": REFRESH,
                        "expires_at": expires,
                        "client_id": "cid.apps.googleusercontent.com",
                        "client_secret": SECRET,
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A random-content MP4 a little over five 256 KiB chunks."""
    return write_mp4(tmp_path / "clip.mp4", SIZE, random_payload=True)


class Sleeps(list[float]):
    """Records backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


_OPEN: list[YouTubePublisher] = []


@pytest.fixture(autouse=True)
def _close_publishers() -> Iterator[None]:
    """Close every publisher a test made (their pooled sockets)."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def make(fake: FakeYouTube, creds_path: Path, **kw: object) -> YouTubePublisher:
    """A publisher aimed at the fake with 256 KiB chunks and recorded sleeps (closed after
    the test)."""
    options: dict[str, object] = {
        "chunk_size": CHUNK,
        "backoff_seconds": 0.0,
        "sleep": Sleeps(),
        "timeout": 30.0,
    }
    options.update(kw)
    publisher = YouTubePublisher(
        credentials=CredentialStore(creds_path),
        api_base=fake.url,
        upload_base=f"{fake.url}/upload",
        token_url=fake.token_url,
        **options,  # type: ignore[arg-type]
    )
    _OPEN.append(publisher)
    return publisher


def job(video: Path, caption: str = "Sunset over the bay\nShot on a phone #sunset") -> Job:
    """A job for chan1."""
    return Job(job_id="job-1", account="chan1", video_path=str(video), caption=caption)


def sha(path: Path) -> str:
    """sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_uploads_in_chunks_and_returns_the_video(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A clean publish: session saved before start_publish, one video with the file's bytes."""
    checkpoint = MemoryCheckpoint()
    publisher = make(fake, creds_path, privacy_status="unlisted")
    published = publisher.publish(job(video), Account("chan1"), checkpoint)
    (created,) = fake.videos
    assert published == Published(created.video_id, f"https://youtu.be/{created.video_id}")
    assert created.sha256 == sha(video)
    assert created.title == "Sunset over the bay"
    assert created.description == "Sunset over the bay\nShot on a phone #sunset"
    assert created.privacy_status == "unlisted"
    assert fake.data_puts == 6
    kinds = [kind for kind, _ in checkpoint.events]
    assert kinds[:2] == ["save", "start"]
    assert SESSION_URI in checkpoint.events[0][1]
    assert checkpoint.data[FINAL_SENT] == "1"


def test_caption_to_title_and_description() -> None:
    """Title: first non-empty line, no angle brackets, at most 100 chars; description <= 5000 B."""
    assert derive_title("\n\n  <b>Hello</b>   world \nmore", "f") == "bHello/b world"
    assert derive_title("", "my_clip") == "my_clip"
    long = derive_title("x" * 300, "f")
    assert len(long) == 100
    description = derive_description("🎉" * 2000)
    assert len(description.encode("utf-8")) <= 5000
    assert description == "🎉" * 1250


def test_server_error_mid_upload_resumes_through_the_probe(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A 503 on the third chunk is resumed via bytes */N; exactly one video, intact bytes."""
    fake.fail_put(503, nth=3)
    publisher = make(fake, creds_path)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert [v.sha256 for v in fake.videos] == [sha(video)]
    assert fake.probes == 1
    assert fake.initiations == 1


def test_retry_after_on_a_chunk_is_honoured(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A 503 with Retry-After waits at least that long before probing."""
    fake.fail_put(503, nth=2, retry_after="2")
    sleeps = Sleeps()
    publisher = make(fake, creds_path, sleep=sleeps)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert len(fake.videos) == 1
    assert sleeps
    assert max(sleeps) > 1.0


def test_dropped_connection_mid_chunk_resumes_from_what_the_server_kept(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """The server keeps 100000 bytes of a cut chunk; the client resumes exactly there."""
    fake.drop_after(100_000)
    publisher = make(fake, creds_path)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert [v.sha256 for v in fake.videos] == [sha(video)]
    assert fake.probes == 1


def test_partial_acceptance_308_drives_the_next_offset(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A 308 whose Range is shorter than what was sent makes the client resend the rest."""
    fake.partial_accept(1000)
    publisher = make(fake, creds_path)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert [v.sha256 for v in fake.videos] == [sha(video)]


def test_expired_access_token_is_refreshed_once_and_written_back(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A 401 refreshes the token once, retries, and stores the new token atomically."""
    fake.expire_access_tokens()
    publisher = make(fake, creds_path)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert len(fake.videos) == 1
    assert fake.token_refreshes == 1
    stored = CredentialStore(creds_path).get("chan1")
    assert stored.access_token not in ("", ACCESS)
    assert stored.refresh_token == REFRESH
    assert os.stat(creds_path).st_mode & 0o777 == 0o600


def test_token_is_refreshed_ahead_of_expiry(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A token expiring within the margin is refreshed before the first request (no 401)."""
    CredentialStore(creds_path).update_tokens(
        "chan1", ACCESS, datetime.now(UTC) + timedelta(seconds=30)
    )
    publisher = make(fake, creds_path)
    publisher.publish(job(video), Account("chan1"), MemoryCheckpoint())
    assert fake.token_refreshes == 1
    assert all(status != 401 for _, _, status in fake.log)


def test_refused_refresh_is_an_auth_error_before_any_upload(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """401 then invalid_grant: AuthError (needs re-auth), nothing saved or started."""
    fake.expire_access_tokens()
    fake.invalid_grant = True
    checkpoint = MemoryCheckpoint()
    with pytest.raises(AuthError) as info:
        make(fake, creds_path).publish(job(video), Account("chan1"), checkpoint)
    assert "invalid_grant" in info.value.to_failure().message
    assert checkpoint.events == []
    assert fake.sessions == {}


@pytest.mark.parametrize("knob", ["quota_limit", "upload_limit_exceeded"])
def test_exhausted_quota_waits_for_the_pacific_quota_day(
    fake: FakeYouTube, creds_path: Path, video: Path, knob: str
) -> None:
    """quotaExceeded / uploadLimitExceeded: account-wide RateLimited until midnight PT."""
    if knob == "quota_limit":
        fake.quota_limit = 50
    else:
        fake.upload_limit_exceeded = True
    checkpoint = MemoryCheckpoint()
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        make(fake, creds_path).publish(job(video), Account("chan1"), checkpoint)
    assert info.value.account_wide
    assert info.value.retry_at in {
        next_local_midnight(before, "America/Los_Angeles"),
        next_local_midnight(datetime.now(UTC), "America/Los_Angeles"),
    }
    assert "Exceeded" in info.value.raw or "exceeded" in info.value.raw
    assert not checkpoint.started


def test_invalid_metadata_is_a_content_error_with_the_platform_body(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """400 invalidCategoryId is final (content) and keeps the reason and message."""
    with pytest.raises(ContentError) as info:
        make(fake, creds_path, category_id="music").publish(
            job(video), Account("chan1"), MemoryCheckpoint()
        )
    assert info.value.error_type == "invalidCategoryId"
    assert "The category is invalid." in info.value.raw


def test_a_lost_final_response_is_recovered_by_the_probe(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """The video was created but its answer lost: the probe returns it; no second video."""
    fake.lose_final_response(1)
    published = make(fake, creds_path).publish(job(video), Account("chan1"), MemoryCheckpoint())
    (created,) = fake.videos
    assert published.remote_id == created.video_id


def test_a_refused_probe_after_the_last_byte_is_unconfirmed(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """The last byte's answer is lost and the probe is refused (403): OutcomeUnknown, never a
    plain failure that could be re-armed; reconcile later finds the one video."""
    fake.lose_final_response(1)
    fake.fail_probes(403)
    publisher = make(fake, creds_path)
    checkpoint = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown, match="could not be read"):
        publisher.publish(job(video), Account("chan1"), checkpoint)
    (created,) = fake.videos
    answer = publisher.reconcile(job(video), checkpoint.data)
    assert answer.result is ReconcileResult.POSTED
    assert answer.remote_id == created.video_id


def test_lost_answers_end_unconfirmed_and_reconcile_finds_the_video(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """With every answer lost the job is unconfirmed; reconcile later says POSTED with the id."""
    fake.lose_final_response(100)
    checkpoint = MemoryCheckpoint()
    publisher = make(fake, creds_path, max_resumes=2)
    with pytest.raises(OutcomeUnknown):
        publisher.publish(job(video), Account("chan1"), checkpoint)
    fake.lose_final_response(0)
    answer = publisher.reconcile(job(video), checkpoint.data)
    (created,) = fake.videos
    assert answer.result is ReconcileResult.POSTED
    assert answer.remote_id == created.video_id
    assert answer.url == f"https://youtu.be/{created.video_id}"


def test_a_later_attempt_resumes_the_same_session(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """Out of resumes before the last byte: transient; the retry continues the saved session."""
    for nth in (2, 3, 4):
        fake.fail_put(503, nth=nth)
    checkpoint = MemoryCheckpoint()
    with pytest.raises(TransientError) as info:
        make(fake, creds_path, max_resumes=1).publish(job(video), Account("chan1"), checkpoint)
    assert not isinstance(info.value, OutcomeUnknown)
    assert fake.videos == []
    assert reconcile_now(fake, creds_path, video, checkpoint) is ReconcileResult.NOT_POSTED
    make(fake, creds_path).publish(job(video), Account("chan1"), checkpoint)
    assert [v.sha256 for v in fake.videos] == [sha(video)]
    assert fake.initiations == 1


def reconcile_now(
    fake: FakeYouTube, creds_path: Path, video: Path, checkpoint: MemoryCheckpoint
) -> ReconcileResult:
    """What a fresh publisher's reconcile says about the checkpoint."""
    return make(fake, creds_path).reconcile(job(video), checkpoint.data).result


def test_expired_session_before_the_last_byte_starts_a_new_one(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """A 404 session with the last byte never sent is provably empty: a new session is used."""
    fake.fail_put(503, nth=2)
    checkpoint = MemoryCheckpoint()
    publisher = make(fake, creds_path, max_resumes=0)
    with pytest.raises(TransientError):
        publisher.publish(job(video), Account("chan1"), checkpoint)
    fake.expire_sessions()
    assert reconcile_now(fake, creds_path, video, checkpoint) is ReconcileResult.NOT_POSTED
    make(fake, creds_path).publish(job(video), Account("chan1"), checkpoint)
    assert fake.initiations == 2
    assert [v.sha256 for v in fake.videos] == [sha(video)]


def test_expired_session_after_the_last_byte_is_never_restarted(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """After the last byte was sent a vanished session means "unknown", never a re-upload."""
    fake.lose_final_response(100)
    checkpoint = MemoryCheckpoint()
    with pytest.raises(OutcomeUnknown):
        make(fake, creds_path, max_resumes=1).publish(job(video), Account("chan1"), checkpoint)
    fake.expire_sessions()
    assert reconcile_now(fake, creds_path, video, checkpoint) is ReconcileResult.UNKNOWN
    with pytest.raises(OutcomeUnknown):
        make(fake, creds_path).publish(job(video), Account("chan1"), checkpoint)
    assert fake.initiations == 1
    assert len(fake.videos) == 1


def test_reconcile_without_a_session_is_not_posted(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """No session saved means no byte was ever sent."""
    answer = make(fake, creds_path).reconcile(job(video), {})
    assert answer.result is ReconcileResult.NOT_POSTED


def test_lease_lost_before_the_first_byte_stops_the_upload(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """If the session cannot be saved (lease gone), no byte is uploaded."""
    with pytest.raises(PublishError):
        make(fake, creds_path).publish(
            job(video), Account("chan1"), MemoryCheckpoint(lose_lease_after=0)
        )
    assert fake.data_puts == 0
    assert fake.videos == []


def test_no_token_in_logs_errors_or_checkpoints(
    fake: FakeYouTube, creds_path: Path, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Across refreshes, faults, refusals and reconcile, no token or secret is ever written."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    checkpoints: list[MemoryCheckpoint] = []

    def attempt(**kw: object) -> None:
        checkpoint = MemoryCheckpoint()
        checkpoints.append(checkpoint)
        publisher = make(fake, creds_path, **kw)
        try:
            publisher.publish(job(video), Account("chan1"), checkpoint)
        except PublishError as exc:
            texts.extend([str(exc), exc.to_failure().message, repr(exc)])
        texts.append(repr(publisher.reconcile(job(video), checkpoint.data)))

    fake.expire_access_tokens()
    fake.fail_put(503, nth=2)
    fake.drop_after(5000)
    attempt()
    fake.lose_final_response(100)
    attempt(max_resumes=1)
    fake.lose_final_response(0)
    fake.quota_limit = 0
    attempt()
    fake.quota_limit = None
    fake.expire_access_tokens()
    fake.invalid_grant = True
    attempt()
    stored = CredentialStore(creds_path).get("chan1")
    tokens = {ACCESS, REFRESH, SECRET, stored.access_token, *fake.access_tokens}
    written = "\n".join(texts) + caplog.text + json.dumps([c.saves for c in checkpoints])
    assert texts
    for token in tokens:
        assert token not in written


def test_upload_memory_does_not_grow_with_the_video(
    fake: FakeYouTube, creds_path: Path, tmp_path: Path
) -> None:
    """A 48 MiB upload (8 MiB chunks) never holds more than a fraction of it in memory."""
    big = write_mp4(tmp_path / "big.mp4", 48 * 1024 * 1024)
    publisher = make(fake, creds_path, chunk_size=8 * 1024 * 1024)
    tracemalloc.start()
    try:
        publisher.publish(job(big), Account("chan1"), MemoryCheckpoint())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(fake.videos) == 1
    assert peak < 16 * 1024 * 1024


@pytest.mark.slow
def test_worker_killed_mid_upload_resumes_the_same_session(
    fake: FakeYouTube, creds_path: Path, video: Path, tmp_path: Path
) -> None:
    """SIGKILL a process mid-upload; the next run resumes its session; exactly one video."""
    state = tmp_path / "checkpoint.json"
    fake.pause_at(3 * CHUNK + 777)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.publishers.youtube_child",
            fake.url,
            str(creds_path),
            str(state),
            str(video),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert fake.paused.wait(60), child.stderr.read() if child.poll() is not None else ""
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        fake.release()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    checkpoint = FileCheckpoint(state)
    assert checkpoint.started
    assert fake.videos == []
    publisher = make(fake, creds_path)
    published = publisher.publish(job_for(video), Account("chan1"), checkpoint)
    (created,) = fake.videos
    assert published.remote_id == created.video_id
    assert created.sha256 == sha(video)
    assert fake.initiations == 1
    assert fake.probes >= 1


def test_account_missing_from_credentials_is_an_auth_error(
    fake: FakeYouTube, creds_path: Path, video: Path
) -> None:
    """An account without credentials is blocked (needs re-auth) with a message naming it."""
    other = Job(job_id="j2", account="nobody", video_path=str(video), caption="x")
    with pytest.raises(AuthError) as info:
        make(fake, creds_path).publish(other, Account("nobody"), MemoryCheckpoint())
    assert "'nobody'" in str(info.value)
    assert fake.sessions == {}


def test_from_config_validates_the_block(project_root: Path) -> None:
    """Base URLs and settings come from the block; bad chunk sizes and keys are refused."""
    block = {
        "type": "youtube",
        "api_base": "http://127.0.0.1:9",
        "upload_base": "http://127.0.0.1:9/upload",
        "token_url": "http://127.0.0.1:9/token",
        "privacy_status": "unlisted",
        "chunk_size": 2 * CHUNK,
    }
    publisher = build_publisher(block, project_root, "camp")
    assert isinstance(publisher, YouTubePublisher)
    assert publisher.upload_base == "http://127.0.0.1:9/upload"
    assert publisher.chunk_size == 2 * CHUNK
    assert publisher.credentials.path == project_root / "credentials.json"
    publisher.close()
    for bad, match in (
        ({"chunk_size": 1000}, "multiple of 262144"),
        ({"privacy_status": "friends"}, "privacy_status"),
        ({"chunksize": 5}, "unknown youtube"),
        ({"timeout": "soon"}, "invalid youtube"),
    ):
        with pytest.raises(ConfigError, match=match):
            build_publisher({**block, **bad}, project_root, "camp")
