"""Faults a platform fake injects *after* it acted on a request: the post (or container, or
upload task) exists and is journaled first, then the answer is lost, replaced by a 500, or never
comes. The fault suite (tests/faults/) uses these to prove postpilot never resends a request
that may have created a post; the fakes never deduplicate on postpilot's behalf.

    faults = AfterFaults()
    faults.arm("publish", After.DROP, every=5)     # every 5th acting request to the route
    faults.arm("put", [After.DROP, After.ERROR])   # ... taking the kinds in turn
    kind = faults.pick("publish", key)             # under the fake's lock, after acting
    faults.apply(kind, handler, reply_500)         # answer the fault instead of the reply
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler

#: The longest a hung answer waits for heal() before the connection is cut anyway.
HANG_CAP_SECONDS = 120.0


class After(StrEnum):
    """What happens to the answer of a request the fake already acted on."""

    DROP = "drop"  # the connection is cut unanswered (a lost response)
    ERROR = "error"  # a 500 answer (the fake's platform error body)
    HANG = "hang"  # no answer until heal() (a read timeout, a job timeout, a kill)


@dataclass
class _Plan:
    kinds: tuple[After, ...]
    every: int
    seen: int = 0
    used: int = 0


@dataclass
class AfterFaults:
    """Which acting requests get which fault; thread-safe through the owning fake's lock."""

    plans: dict[str, _Plan] = field(default_factory=dict)
    #: route -> (key, kind) of the faulted requests (key: container id, publish id...), in order.
    faulted: dict[str, list[tuple[str, After]]] = field(default_factory=dict)
    #: How many handler threads are hanging right now.
    hanging: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    _counter_lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, route: str, kind: After | Sequence[After], every: int = 5) -> None:
        """Fault every `every`-th acting request to `route` (the 1st of each `every`), with
        `kind`, or with each of the given kinds in turn."""
        kinds = (kind,) if isinstance(kind, After) else tuple(kind)
        self.plans[route] = _Plan(kinds, every)
        self.released.clear()

    def pick(self, route: str, key: str) -> After | None:
        """The fault for this acting request, if it is one of the chosen (call under the
        fake's lock, after the action was recorded)."""
        plan = self.plans.get(route)
        if plan is None:
            return None
        plan.seen += 1
        if (plan.seen - 1) % plan.every:
            return None
        kind = plan.kinds[plan.used % len(plan.kinds)]
        plan.used += 1
        self.faulted.setdefault(route, []).append((key, kind))
        return kind

    def keys(self, route: str, kind: After | None = None) -> list[str]:
        """The keys faulted on `route` (with `kind` only, when given)."""
        return [k for k, used in self.faulted.get(route, []) if kind in (None, used)]

    def heal(self) -> None:
        """No more faults; hung answers are released (their connections cut)."""
        self.plans.clear()
        self.released.set()

    def apply(
        self, kind: After, handler: BaseHTTPRequestHandler, error: Callable[[], None]
    ) -> None:
        """Answer `kind` on `handler`: cut, `error()` (a 500), or hang until heal()."""
        if kind is After.ERROR:
            error()
            return
        if kind is After.HANG:
            with self._counter_lock:
                self.hanging += 1
            try:
                self.released.wait(HANG_CAP_SECONDS)
            finally:
                with self._counter_lock:
                    self.hanging -= 1
        drop(handler)


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Cut the connection without an answer."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
