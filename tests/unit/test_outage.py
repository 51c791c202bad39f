"""Riding out store outages (runner/outage.py) and POSTPILOT_STORE_OUTAGE_SECONDS."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from rich.console import Console

from postpilot import env_help, report, settings
from postpilot.config import ParallelConfig
from postpilot.errors import ConfigError, StoreFull, StoreOutageTooLong, StoreUnavailable
from postpilot.runner.outage import Outage


class Flaky:
    """Fails with `error` for its first `failures` calls, then answers the `now` it got."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or StoreUnavailable("store down")
        self.calls: list[datetime] = []

    def __call__(self, now: datetime) -> datetime:
        self.calls.append(now)
        if len(self.calls) <= self.failures:
            raise self.error
        return now


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_an_invalid_budget_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A negative, non-numeric or non-finite POSTPILOT_STORE_OUTAGE_SECONDS is refused by name."""
    monkeypatch.setenv("POSTPILOT_STORE_OUTAGE_SECONDS", value)
    with pytest.raises(ConfigError, match="POSTPILOT_STORE_OUTAGE_SECONDS"):
        settings.load()


def test_the_budget_defaults_to_30_seconds_and_reaches_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unset it is 30 s; a value set reaches the worker configuration; --help lists it."""
    assert ParallelConfig.from_env(1).store_outage_seconds == 30.0
    monkeypatch.setenv("POSTPILOT_STORE_OUTAGE_SECONDS", "4.5")
    assert ParallelConfig.from_env(1).store_outage_seconds == 4.5
    assert "POSTPILOT_STORE_OUTAGE_SECONDS" in env_help.help_text()


def test_an_outage_within_the_budget_is_ridden_out_with_one_line_each_way() -> None:
    """Three failed tries, then the answer: one line when it starts, one when it ends, and
    each try after the first carries a later `now` than the one before."""
    lines: list[str] = []
    outage = Outage(30.0, lines.append)
    flaky = Flaky(3)
    start = datetime(2026, 1, 1, 12, 0, 0).astimezone()
    result, again = outage.call(flaky, start)
    assert again
    assert len(flaky.calls) == 4
    assert result == flaky.calls[-1]
    assert flaky.calls == sorted(flaky.calls)
    assert flaky.calls[0] < flaky.calls[-1]
    assert len(lines) == 2
    assert "riding it out for up to 30s" in lines[0]
    assert "store down" in lines[0]
    assert "reachable again" in lines[1]
    assert outage.outages == 1
    assert outage.longest > 0


def test_past_the_budget_the_outage_gives_up_and_tries_nothing_more() -> None:
    """With no budget the first failure gives up with a message naming the setting; after
    that a call fails without reaching the store."""
    outage = Outage(0.0, lambda _line: None)
    flaky = Flaky(100)
    now = datetime(2026, 1, 1).astimezone()
    with pytest.raises(StoreOutageTooLong, match="POSTPILOT_STORE_OUTAGE_SECONDS=0") as info:
        outage.call(flaky, now)
    assert "store down" in str(info.value)
    with pytest.raises(StoreOutageTooLong):
        outage.call(flaky, now)
    assert len(flaky.calls) == 1


def test_other_store_errors_are_not_retried() -> None:
    """A full disk is not an outage: it is raised at once, untouched."""
    outage = Outage(30.0, lambda _line: None)
    flaky = Flaky(1, StoreFull("disk full"))
    with pytest.raises(StoreFull):
        outage.call(flaky, datetime(2026, 1, 1).astimezone())
    assert len(flaky.calls) == 1
    assert outage.outages == 0


def test_the_summary_of_a_run_its_store_stopped_says_it_stopped() -> None:
    """A run that started and lost its store prints "Run stopped" and the store's message."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True)
    message = "PostgreSQL store postgresql://u@db:5432/x is unavailable"
    report.render_run_summary(
        {"error": "store_unavailable", "message": message, "run_id": "r1", "context": "c"},
        console,
    )
    assert f"Run stopped: {message}" in buffer.getvalue()
