"""Shared test set-up: every test runs with its own project root and no inherited store DSN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postpilot import clock


@pytest.fixture(autouse=True)
def _isolated_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point POSTPILOT_HOME at a fresh folder so no test reads or writes the checkout."""
    home = tmp_path / "project"
    home.mkdir()
    monkeypatch.setenv("POSTPILOT_HOME", str(home))
    monkeypatch.delenv("POSTPILOT_STORE", raising=False)
    monkeypatch.delenv("POSTPILOT_CREDENTIALS", raising=False)
    monkeypatch.delenv(clock.ENV_NOW, raising=False)
    return home


@pytest.fixture(autouse=True)
def _fresh_clock() -> Iterator[None]:
    """Each test anchors POSTPILOT_NOW afresh; no offset leaks into the next test."""
    clock.reset()
    yield
    clock.reset()


@pytest.fixture
def project_root(_isolated_project: Path) -> Path:
    """The test's project root (POSTPILOT_HOME)."""
    return _isolated_project
