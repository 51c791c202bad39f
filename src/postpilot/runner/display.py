"""What a campaign run shows while it runs: the display protocol (postpilot.report provides
the live one) and the fallback that sends events to the log."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger("postpilot.runner")


class RunDisplay(Protocol):
    """What the orchestrator shows while it runs (postpilot.report provides them)."""

    def update(self, counts: dict[str, int], active_workers: int, pass_number: int) -> None:
        """New counts."""

    def event(self, message: str) -> None:
        """Something happened worth a line."""

    def close(self) -> None:
        """The run is over."""


class LogDisplay:
    """Fallback display: events go to the log."""

    def update(self, counts: dict[str, int], active_workers: int, pass_number: int) -> None:
        """Counts are reported in the summary only."""

    def event(self, message: str) -> None:
        """Log the event."""
        log.info("%s", message)

    def close(self) -> None:
        """Nothing to close."""
