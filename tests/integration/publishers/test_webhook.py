"""Webhook publisher against a local receiver: Standard Webhooks signatures, streaming, errors."""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError, hmac_data

from postpilot.errors import ConfigError
from postpilot.jobs import Job
from postpilot.publishers import build_publisher
from postpilot.publishers.base import Account, ReconcileResult
from postpilot.publishers.errors import (
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from postpilot.publishers.http import NetworkError
from postpilot.publishers.webhook import WEBHOOK_ID, WebhookPublisher, verify_signature
from tests.fakes.checkpoint import MemoryCheckpoint
from tests.fakes.mp4 import box, mvhd, write_mp4
from tests.fakes.webhook_receiver import Answer, WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
CAPTION = 'Morning run 🏃\nline two with "quotes"'


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A running receiver."""
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A small random MP4."""
    return write_mp4(tmp_path / "run clip.mp4", 300_000, random_payload=True)


_OPEN: list[WebhookPublisher] = []


@pytest.fixture(autouse=True)
def _close_publishers() -> Iterator[None]:
    """Close every publisher a test made."""
    yield
    while _OPEN:
        _OPEN.pop().close()


def make(receiver: WebhookReceiver, **kw: object) -> WebhookPublisher:
    """A publisher posting to the receiver's /hook."""
    options: dict[str, object] = {"url": f"{receiver.url}/hook", "secret": SECRET}
    options.update(kw)
    publisher = WebhookPublisher(**options)  # type: ignore[arg-type]
    _OPEN.append(publisher)
    return publisher


def job(video: Path, sha: str = "") -> Job:
    """A job for acct1."""
    return Job(
        job_id="camp:acct1:run clip.mp4",
        account="acct1",
        video_path=str(video),
        caption=CAPTION,
        content_sha256=sha,
    )


def text_safe_mp4(path: Path) -> Path:
    """A valid MP4 whose bytes are all ASCII (so its multipart body is valid UTF-8)."""
    payload = bytes(range(0x20, 0x7F)) * 300
    payload = payload[: 0x7000 - 8]
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isommp41")
    path.write_bytes(ftyp + box(b"moov", mvhd(5.14, timescale=100)) + box(b"mdat", payload))
    path.read_bytes().decode("ascii")
    return path


def test_multipart_delivery_verifies_with_the_reference_library(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    """The standardwebhooks library verifies a multipart delivery (its verify() needs a UTF-8
    body, hence a text-safe MP4); id and url come from the receiver's JSON answer."""
    video = text_safe_mp4(tmp_path / "run clip.mp4")
    checkpoint = MemoryCheckpoint()
    published = make(receiver).publish(job(video), Account("acct1"), checkpoint)
    (delivery,) = receiver.deliveries
    assert delivery.body is not None
    Webhook(SECRET).verify(delivery.body, delivery.headers, json_parse=False)
    assert verify_signature(SECRET, delivery.headers, [delivery.body])
    assert published.remote_id == "r-camp:acct1:run clip.mp4"
    assert published.url.startswith("https://x/")
    assert checkpoint.events == [("save", {WEBHOOK_ID: "camp:acct1:run clip.mp4"}), ("start", {})]


def test_binary_multipart_delivery_carries_fields_and_file_and_verifies(
    receiver: WebhookReceiver, video: Path
) -> None:
    """A binary video is sent byte-exact with the fields; its signature verifies over the raw
    bytes with the library's own HMAC and key decoding."""
    make(receiver).publish(job(video), Account("acct1"), MemoryCheckpoint())
    (delivery,) = receiver.deliveries
    assert delivery.body is not None
    headers = delivery.headers
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + delivery.body
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = "v1," + base64.b64encode(hmac_data(key, signed)).decode()
    assert headers["webhook-signature"] == expected
    assert verify_signature(SECRET, headers, [delivery.body])
    fields, files = delivery.form()
    digest = hashlib.sha256(video.read_bytes()).hexdigest()
    assert fields == {
        "account": "acct1",
        "caption": CAPTION,
        "job_id": "camp:acct1:run clip.mp4",
        "sha256": digest,
    }
    assert files["file"] == video.read_bytes()
    assert delivery.headers["webhook-id"] == "camp:acct1:run clip.mp4"
    assert delivery.headers["idempotency-key"] == '"camp:acct1:run clip.mp4"'
    assert "transfer-encoding" not in delivery.headers


def test_json_mode_sends_a_signed_video_url(receiver: WebhookReceiver, video: Path) -> None:
    """json mode posts a small signed JSON body whose video_url is built from the base."""
    publisher = make(receiver, mode="json", video_url_base="https://cdn.example/v/")
    publisher.publish(job(video, sha="ab" * 32), Account("acct1"), MemoryCheckpoint())
    (delivery,) = receiver.deliveries
    assert delivery.body is not None
    payload = Webhook(SECRET).verify(delivery.body, delivery.headers)
    assert payload["type"] == "publish.requested"
    assert payload["data"]["video_url"] == "https://cdn.example/v/run%20clip.mp4"
    assert payload["data"]["sha256"] == "ab" * 32
    assert payload["data"]["caption"] == CAPTION


def test_tampered_body_or_wrong_secret_fails_verification(
    receiver: WebhookReceiver, video: Path
) -> None:
    """The signature covers the exact bytes: a changed byte or another secret fails."""
    publisher = make(receiver, mode="json", video_url_base="https://cdn.example/v")
    publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    make(receiver).publish(job(video), Account("acct1"), MemoryCheckpoint())
    signed_json, signed_multipart = receiver.deliveries
    assert signed_json.body is not None
    assert signed_multipart.body is not None
    tampered = signed_json.body.replace(b"Morning", b"Evening")
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, signed_json.headers)
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(signed_json.body, signed_json.headers)
    flipped = bytearray(signed_multipart.body)
    flipped[-100] ^= 1
    assert not verify_signature(SECRET, signed_multipart.headers, [bytes(flipped)])
    assert not verify_signature(other, signed_multipart.headers, [signed_multipart.body])


def test_429_with_retry_after_is_rate_limited_until_then(
    receiver: WebhookReceiver, video: Path
) -> None:
    """429 + Retry-After waits that long; the redelivery keeps the same webhook-id."""
    receiver.answer(Answer(429, {"error": "slow down"}, {"Retry-After": "120"}))
    publisher = make(receiver)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert info.value.retry_at is not None
    assert info.value.retry_at >= before + timedelta(seconds=119)
    assert "slow down" in info.value.raw
    publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    ids = {d.headers["webhook-id"] for d in receiver.deliveries}
    assert ids == {"camp:acct1:run clip.mp4"}
    assert len(receiver.deliveries) == 2


def test_408_is_transient(receiver: WebhookReceiver, video: Path) -> None:
    """408 (the receiver timed out reading the request, so took nothing) is retried later."""
    receiver.answer(Answer(408, {"error": "too slow"}))
    with pytest.raises(TransientError) as info:
        make(receiver).publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert not isinstance(info.value, OutcomeUnknown)
    assert not info.value.maybe_delivered


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_unconfirmed_unless_the_receiver_dedupes(
    receiver: WebhookReceiver, video: Path, status: int
) -> None:
    """A 5xx does not prove the post was not taken: OutcomeUnknown naming how to settle it;
    with receiver_deduplicates it is a plain retry of the same webhook-id."""
    receiver.answer(Answer(status, {"error": "boom"}), Answer(status, {"error": "boom"}))
    with pytest.raises(OutcomeUnknown) as info:
        make(receiver).publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert "--confirm" in info.value.hint
    assert "boom" in info.value.raw
    with pytest.raises(TransientError) as retried:
        make(receiver, receiver_deduplicates=True).publish(
            job(video), Account("acct1"), MemoryCheckpoint()
        )
    assert not isinstance(retried.value, OutcomeUnknown)


@pytest.mark.parametrize("status", [301, 400, 403, 404, 410, 422])
def test_other_statuses_are_permanent_with_the_body_kept(
    receiver: WebhookReceiver, video: Path, status: int
) -> None:
    """3xx and other 4xx are final; the receiver's body is kept without the secret."""
    receiver.answer(Answer(status, {"error": "refused", "echo": SECRET}))
    with pytest.raises(PermanentError) as info:
        make(receiver).publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert "refused" in info.value.raw
    assert SECRET not in info.value.to_failure().message
    assert SECRET.removeprefix("whsec_") not in info.value.to_failure().message


def test_dropped_connection_is_outcome_unknown(receiver: WebhookReceiver, video: Path) -> None:
    """A connection cut after the request arrived is OutcomeUnknown (the job becomes
    unconfirmed), with the status_url hint when one is configured."""
    receiver.drop_next = 1
    asking = make(receiver, status_url=f"{receiver.url}/status/{{job_id}}")
    with pytest.raises(OutcomeUnknown) as info:
        asking.publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert "status_url" in info.value.hint
    assert info.value.error_type == "webhook_answer_lost"
    assert len(receiver.deliveries) == 1


def test_opt_in_dedupe_lets_a_dropped_delivery_be_resent(
    receiver: WebhookReceiver, video: Path
) -> None:
    """With receiver_deduplicates a cut connection is a plain retry; the redelivery with the
    same webhook-id is accepted once by the deduping receiver."""
    receiver.drop_next = 1
    publisher = make(receiver, receiver_deduplicates=True)
    with pytest.raises(TransientError) as info:
        publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert not isinstance(info.value, OutcomeUnknown)
    assert not info.value.maybe_delivered
    publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert list(receiver.accepted) == ["camp:acct1:run clip.mp4"]
    assert {d.headers["webhook-id"] for d in receiver.deliveries} == {"camp:acct1:run clip.mp4"}


def test_unreachable_receiver_is_a_plain_retry(video: Path) -> None:
    """A refused connection never reached the receiver: a NetworkError that may be retried."""
    with WebhookReceiver() as gone:
        url = gone.url
    publisher = WebhookPublisher(url=f"{url}/hook", secret=SECRET, timeout=2)
    _OPEN.append(publisher)
    with pytest.raises(NetworkError) as info:
        publisher.publish(job(video), Account("acct1"), MemoryCheckpoint())
    assert not info.value.maybe_delivered
    assert not isinstance(info.value, OutcomeUnknown)


def test_reconcile_uses_the_status_url_or_says_unknown(
    receiver: WebhookReceiver, video: Path
) -> None:
    """Without status_url the answer is UNKNOWN; with it, accepted ids are POSTED, others not."""
    plain = make(receiver)
    asking = make(receiver, status_url=f"{receiver.url}/status/{{job_id}}")
    checkpoint = MemoryCheckpoint()
    assert asking.reconcile(job(video), {}).result is ReconcileResult.NOT_POSTED
    assert asking.reconcile(job(video), {WEBHOOK_ID: "x"}).result is ReconcileResult.NOT_POSTED
    plain.publish(job(video), Account("acct1"), checkpoint)
    assert plain.reconcile(job(video), checkpoint.data).result is ReconcileResult.UNKNOWN
    answer = asking.reconcile(job(video), checkpoint.data)
    assert answer.result is ReconcileResult.POSTED
    assert answer.remote_id == "r-camp:acct1:run clip.mp4"


def test_reconcile_without_status_url_allows_redelivery_only_with_the_opt_in(
    receiver: WebhookReceiver, video: Path
) -> None:
    """Without status_url, a deduping receiver's unconfirmed job may be redelivered
    (NOT_POSTED); any other receiver's stays UNKNOWN."""
    sent = {WEBHOOK_ID: "camp:acct1:run clip.mp4"}
    dedupes = make(receiver, receiver_deduplicates=True)
    assert dedupes.reconcile(job(video), sent).result is ReconcileResult.NOT_POSTED
    assert make(receiver).reconcile(job(video), sent).result is ReconcileResult.UNKNOWN


@pytest.mark.parametrize("value", ["true", 1, None])
def test_receiver_deduplicates_must_be_a_json_boolean(
    project_root: Path, monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    """A non-boolean receiver_deduplicates is a ConfigError naming the key; true is kept."""
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    block = {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "HOOK_SECRET"}
    with pytest.raises(ConfigError, match="receiver_deduplicates"):
        WebhookPublisher.from_config({**block, "receiver_deduplicates": value}, project_root)
    built = WebhookPublisher.from_config({**block, "receiver_deduplicates": True}, project_root)
    _OPEN.append(built)
    assert built.receiver_deduplicates
    plain = WebhookPublisher.from_config(block, project_root)
    _OPEN.append(plain)
    assert not plain.receiver_deduplicates


def test_from_config_reads_the_secret_from_env_or_credentials(
    project_root: Path, monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver
) -> None:
    """secret_env wins; else credentials.json's "webhook"; neither is a clear ConfigError."""
    block = {"type": "webhook", "url": f"{receiver.url}/hook"}
    with pytest.raises(ConfigError, match="whsec_"):
        build_publisher(block, project_root, "camp")
    creds = project_root / "credentials.json"
    creds.write_text(json.dumps({"accounts": {}, "webhook": SECRET}), encoding="utf-8")
    creds.chmod(0o600)
    publisher = build_publisher(block, project_root, "camp")
    assert isinstance(publisher, WebhookPublisher)
    publisher.close()
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    publisher = build_publisher({**block, "secret_env": "HOOK_SECRET"}, project_root, "camp")
    publisher.close()
    with pytest.raises(ConfigError, match="NOPE"):
        build_publisher({**block, "secret_env": "NOPE"}, project_root, "camp")
    with pytest.raises(ConfigError, match="video_url_base"):
        build_publisher({**block, "mode": "json"}, project_root, "camp")
    with pytest.raises(ConfigError, match="unknown webhook"):
        build_publisher({**block, "urll": "x"}, project_root, "camp")
    assert SECRET not in repr(publisher)


def test_large_multipart_upload_memory_stays_flat(tmp_path: Path) -> None:
    """A 40 MiB video is hashed, signed and sent without holding it in memory."""
    big = write_mp4(tmp_path / "big.mp4", 40 * 1024 * 1024)
    with WebhookReceiver(keep_bytes=0) as server:
        publisher = make(server)
        tracemalloc.start()
        try:
            publisher.publish(job(big), Account("acct1"), MemoryCheckpoint())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        (delivery,) = server.deliveries
    assert delivery.length > 40 * 1024 * 1024
    assert peak < 12 * 1024 * 1024
