"""The clock seam: POSTPILOT_NOW anchors "now", time advances, children agree, bad values fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postpilot import clock
from postpilot.errors import ConfigError
from tests.acceptance.helpers import REPO, assert_no_traceback, make_campaign, run_postpilot

ANCHOR = "2030-03-31T08:55:00+02:00"


def _child_offset(extra: dict[str, str] | None = None) -> float:
    """The offset a fresh Python process resolves with this process's environment (+ extra)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), **(extra or {}))
    code = "from postpilot import clock; print(repr(clock.offset().total_seconds()))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout)


def test_without_the_variable_now_is_the_wall_clock() -> None:
    """No POSTPILOT_NOW: the offset is exactly zero and now() is aware UTC."""
    assert clock.offset() == timedelta(0)
    before = clock.wall()
    current = clock.now()
    assert current.tzinfo is not None
    assert current.utcoffset() == timedelta(0)
    assert before <= current <= clock.wall()


def test_postpilot_now_anchors_now_and_time_then_advances(monkeypatch: pytest.MonkeyPatch) -> None:
    """now() starts at POSTPILOT_NOW and moves by exactly the real time that passed since."""
    monkeypatch.setenv(clock.ENV_NOW, ANCHOR)
    anchor = datetime.fromisoformat(ANCHOR)
    w0 = clock.wall()
    first = clock.now()
    w1 = clock.wall()
    assert anchor <= first <= anchor + (w1 - w0)
    second = clock.now()
    assert first <= second
    assert second - first <= clock.wall() - w0


def test_a_child_process_inherits_the_parents_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child started later with the same POSTPILOT_NOW reuses the parent's offset exactly."""
    monkeypatch.setenv(clock.ENV_NOW, ANCHOR)
    parent = clock.offset().total_seconds()
    assert _child_offset() == parent


def test_a_child_with_another_postpilot_now_anchors_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded offset belongs to one POSTPILOT_NOW value; a different value is re-anchored."""
    monkeypatch.setenv(clock.ENV_NOW, ANCHOR)
    parent = clock.offset()
    later = "2030-04-07T08:55:00+02:00"
    child = timedelta(seconds=_child_offset({clock.ENV_NOW: later}))
    assert child - parent > timedelta(days=6)


@pytest.mark.parametrize("raw", ["tomorrow", "2030-03-31T08:55:00", "2030-13-01T00:00:00+00:00"])
def test_a_bad_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    """Garbage, a missing UTC offset or an impossible date: ConfigError naming POSTPILOT_NOW."""
    monkeypatch.setenv(clock.ENV_NOW, raw)
    with pytest.raises(ConfigError, match="POSTPILOT_NOW") as info:
        clock.now()
    assert "offset" in str(info.value)


def test_cli_refuses_a_bad_postpilot_now_and_creates_nothing(project_root: Path) -> None:
    """`postpilot --run` with a bad POSTPILOT_NOW exits non-zero, names it, writes nothing."""
    make_campaign(project_root, "demo", ["acct1"], 1)
    before = sorted(p.relative_to(project_root).as_posix() for p in project_root.rglob("*"))
    result = run_postpilot(project_root, "--campaign", "demo", "--run", POSTPILOT_NOW="soon")
    assert result.code != 0
    assert "POSTPILOT_NOW" in result.err
    assert_no_traceback(result)
    after = sorted(p.relative_to(project_root).as_posix() for p in project_root.rglob("*"))
    assert after == before


@pytest.mark.slow
def test_worker_processes_publish_at_the_shifted_time(project_root: Path) -> None:
    """A real --run under POSTPILOT_NOW: every worker stamps its posts on the shifted day."""
    make_campaign(project_root, "demo", ["acct1", "acct2"], 2)
    result = run_postpilot(
        project_root, "--campaign", "demo", "--run", "--workers", "2", POSTPILOT_NOW=ANCHOR
    )
    assert result.code == 0, result.err
    posts = sorted((project_root / "outbox").rglob("post.json"))
    assert len(posts) == 2
    anchor = datetime.fromisoformat(ANCHOR)
    for post in posts:
        stamp = datetime.fromisoformat(json.loads(post.read_text())["published_at"])
        assert anchor <= stamp < anchor + timedelta(days=1)
        assert stamp.astimezone(UTC).year == 2030
