"""One project root whatever the working directory; runtime files never in the campaign folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.helpers import make_campaign, run_postpilot

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}


@pytest.mark.slow
def test_campaign_by_path_uses_its_project_from_any_directory(
    project_root: Path, tmp_path: Path
) -> None:
    """`--campaign <root>/campaigns/c` run from elsewhere (no POSTPILOT_HOME) uses <root>'s
    ledger, outbox, logs and run lock, says so first, and leaves in the campaign folder only
    its inputs and its job store."""
    folder = make_campaign(project_root, "c", ["c_a", "c_b"], 2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_postpilot(
        project_root,
        "--campaign",
        str(folder),
        "--run",
        "--max-passes",
        "1",
        cwd=elsewhere,
        POSTPILOT_HOME="",
        **FAST,
    )
    assert result.code == 0, result.err
    first = next(line for line in result.err.splitlines() if line.strip())
    assert f"project root {project_root}" in first
    assert list(elsewhere.iterdir()) == []
    assert (project_root / ".postpilot" / "ledger.db").exists()
    assert len(list((project_root / "outbox" / "c").glob("*/*/post.json"))) == 2
    assert list((project_root / "logs" / "c").glob("worker_*.log"))
    left = {p.name for p in folder.iterdir()}
    assert left <= {"accounts.txt", "captions.csv", "videos", "progress.db", "campaign.json"} | {
        "progress.db-wal",
        "progress.db-shm",
    }
