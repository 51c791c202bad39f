"""End to end from the CLI: the demo campaign published through YouTube and the webhook fakes,
then a grep of everything the run left behind (logs, store, export, output) for any token."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.acceptance.helpers import copy_examples, run_postpilot
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fakes.youtube import FakeYouTube
from tests.integration.publishers.leaks import everything_written

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}
WHSEC = "whsec_" + base64.b64encode(b"cli-webhook-secret-0123456789ab").decode()


def demo_accounts(root: Path) -> list[str]:
    """The demo campaign's accounts."""
    text = (root / "campaigns" / "demo" / "accounts.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def set_publisher(root: Path, block: dict[str, object]) -> None:
    """Point the demo campaign at `block`."""
    path = root / "campaigns" / "demo" / "campaign.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    settings["publisher"] = block
    path.write_text(json.dumps(settings), encoding="utf-8")


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    """A running fake YouTube."""
    with FakeYouTube() as server:
        yield server


@pytest.mark.slow
def test_youtube_campaign_runs_end_to_end_and_leaks_no_token(
    project_root: Path, fake: FakeYouTube
) -> None:
    """--run publishes every demo job to the fake (expired tokens refreshed and written back);
    logs, store, CSV export and output hold no token."""
    copy_examples(project_root, "demo")
    accounts = demo_accounts(project_root)
    creds: dict[str, dict[str, str]] = {}
    stale = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for i, name in enumerate(accounts):
        fake.add_account(name, f"1//refresh-{name}-{i:04d}")
        creds[name] = {
            "platform": "youtube",
            "access_token": f"ya29.stale-{name}-{i:04d}",
            "refresh_token": f"1//refresh-{name}-{i:04d}",
            "expires_at": stale,
            "client_id": "cli-client",
            "client_secret": "cli-client-secret-XYZ",
        }
    cred_file = project_root / "credentials.json"
    cred_file.write_text(json.dumps({"accounts": creds}), encoding="utf-8")
    cred_file.chmod(0o600)
    set_publisher(
        project_root,
        {
            "type": "youtube",
            "api_base": fake.url,
            "upload_base": f"{fake.url}/upload",
            "token_url": fake.token_url,
            "backoff_seconds": 0,
        },
    )
    fake.fail_put(503, nth=2)
    run = run_postpilot(
        project_root, "--campaign", "demo", "--run", "--json", "--retry-delay", "0", **FAST
    )
    assert run.code == 0, run.err
    summary = run.json()
    assert summary["seeded"] > 0
    assert summary["success"] == summary["seeded"]
    assert len(fake.videos) == summary["seeded"]
    assert len({(v.account, v.sha256) for v in fake.videos}) == len(fake.videos)
    assert all(v.privacy_status == "private" for v in fake.videos)
    export = project_root / "export.csv"
    exported = run_postpilot(project_root, "--campaign", "demo", "--export-csv", str(export))
    status = run_postpilot(project_root, "--campaign", "demo", "--status", "--json")
    assert exported.code == 0, exported.err
    stored = json.loads(cred_file.read_text(encoding="utf-8"))["accounts"]
    tokens = {v for c in creds.values() for k, v in c.items() if "token" in k or "secret" in k}
    tokens |= {c["access_token"] for c in stored.values()}
    assert fake.token_refreshes >= 1
    written = everything_written(project_root, run.out, run.err, status.out, status.err)
    for token in tokens:
        assert token.encode() not in written, token


@pytest.mark.slow
def test_webhook_campaign_runs_end_to_end(project_root: Path) -> None:
    """--run delivers every demo job once to the webhook, signed; the secret is never written."""
    copy_examples(project_root, "demo")
    cred_file = project_root / "credentials.json"
    cred_file.write_text(json.dumps({"accounts": {}, "webhook": WHSEC}), encoding="utf-8")
    cred_file.chmod(0o600)
    with WebhookReceiver() as receiver:
        set_publisher(project_root, {"type": "webhook", "url": f"{receiver.url}/hook"})
        run = run_postpilot(
            project_root, "--campaign", "demo", "--run", "--json", "--retry-delay", "0", **FAST
        )
        assert run.code == 0, run.err
        summary = run.json()
        assert summary["success"] == summary["seeded"] > 0
        assert len(receiver.accepted) == summary["seeded"]
        for delivery in receiver.deliveries:
            assert delivery.headers["webhook-signature"].startswith("v1,")
    written = everything_written(project_root, run.out, run.err)
    assert WHSEC.encode() not in written
    assert WHSEC.removeprefix("whsec_").encode() not in written
