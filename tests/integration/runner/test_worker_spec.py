"""The worker spec carries the orchestrator's campaign settings as one serialised
ContextSettings: a worker's context, read back from the spec file, has the campaign's settings."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from postpilot.config import ContextSettings
from postpilot.runner.worker_spec import WorkerSpec
from tests.integration.runner.campaigns import context, make_campaign


def test_a_spec_read_back_rebuilds_the_campaign_settings_of_the_orchestrator(
    tmp_path: Path,
) -> None:
    """A spec written from a campaign's context and read back gives a context with every
    campaign setting (accounts_file aside: a worker is given its accounts) and its host paths."""
    folder = make_campaign(tmp_path, "spec", ["a1"], 1, daily_limit=3)
    ctx = context(folder)
    path = tmp_path / "run.spec.json"
    WorkerSpec(
        run_id="r", settings=WorkerSpec.settings_of(ctx.settings), store_dsn=None,
        accounts=["a1"], lease_seconds=30.0, job_timeout_seconds=600.0,
        idle_poll_seconds=0.05, backoff_base_seconds=0.0, backoff_cap_seconds=0.0,
    ).write(path)  # fmt: skip
    written = json.loads(path.read_text(encoding="utf-8"))
    assert not {"campaign_name", "progress_file", "timezone", "daily_limit"} & written.keys()
    spec = WorkerSpec.read(path)
    worker_ctx = spec.context()
    assert isinstance(worker_ctx.settings, ContextSettings)
    for name in (f.name for f in fields(ContextSettings) if f.name != "accounts_file"):
        assert getattr(worker_ctx.settings, name) == getattr(ctx.settings, name), name
    assert worker_ctx.accounts_file == ""
    assert (spec.progress_file, spec.videos_dir) == (ctx.progress_file, ctx.videos_dir)
    assert (spec.campaign_name, spec.daily_limit, spec.timezone) == ("spec", 3, ctx.timezone)
    assert (spec.project_root, dict(spec.publisher)) == (ctx.project_root, dict(ctx.publisher))
    assert worker_ctx.store_name == ctx.store_name
    assert worker_ctx.logs_dir == ctx.logs_dir
