"""A run's stop request (SIGINT/SIGTERM, or a fault the run cannot work past) and the signal
handlers that record it."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType


@dataclass
class Shutdown:
    """A stop request: the first signal's number, how many came, and an event to wait on.

    A run makes its own; the service (runner/service.py) shares one between its campaign runs,
    so a signal it receives stops every run it started."""

    signum: int | None = None
    count: int = 0
    deadline: float | None = None
    event: threading.Event = field(default_factory=threading.Event)

    def request(self, signum: int) -> None:
        """Record a SIGINT/SIGTERM: the first one drains, a second one stops at once."""
        self.count += 1
        if self.signum is None:
            self.signum = signum
        self.event.set()


@contextlib.contextmanager
def signals_to(shutdown: Shutdown) -> Iterator[None]:
    """SIGINT and SIGTERM request `shutdown` while the block runs (the previous handlers are
    put back after). Off the main thread nothing is installed: the main thread owns the
    signals, and a service running campaigns in threads shares its `shutdown` with them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        shutdown.request(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
