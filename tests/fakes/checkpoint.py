"""Checkpoints for publisher tests: a dict-backed one and a JSON-file-backed one.

Both implement postpilot.publishers.base.Checkpoint. `MemoryCheckpoint` records every save and
whether start_publish() was called; `lose_lease_after` makes the N-th save or start_publish
raise LeaseLost (to prove a publisher stops without a further remote step). `FileCheckpoint`
survives the process (a worker killed with SIGKILL leaves its session URI on disk), written
atomically like the real stores write theirs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from postpilot.publishers.errors import LeaseLost


class MemoryCheckpoint:
    """A dict-backed Checkpoint that keeps a history of what was saved."""

    def __init__(
        self, data: Mapping[str, str] | None = None, *, lose_lease_after: int | None = None
    ) -> None:
        self._data: dict[str, str] = dict(data or {})
        self.saves: list[dict[str, str]] = []
        self.started = False
        #: Every save/start_publish in order: ("save", data) or ("start", {}).
        self.events: list[tuple[str, dict[str, str]]] = []
        self._budget = lose_lease_after

    def _spend(self) -> None:
        if self._budget is not None:
            if self._budget <= 0:
                raise LeaseLost("lease lost (test)")
            self._budget -= 1

    @property
    def data(self) -> Mapping[str, str]:
        """What was saved so far."""
        return dict(self._data)

    def save(self, data: Mapping[str, str]) -> None:
        """Replace the saved data."""
        self._spend()
        self._data = dict(data)
        self.saves.append(dict(data))
        self.events.append(("save", dict(data)))

    def start_publish(self) -> None:
        """Record that the irreversible step started."""
        self._spend()
        self.started = True
        self.events.append(("start", {}))


class FileCheckpoint:
    """A Checkpoint stored as JSON in `path` ({"data": {...}, "started": bool})."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, object]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"data": {}, "started": False}
        assert isinstance(value, dict)
        return value

    def _store(self, state: Mapping[str, object]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @property
    def data(self) -> Mapping[str, str]:
        """What was saved so far."""
        data = self._load()["data"]
        assert isinstance(data, dict)
        return {str(k): str(v) for k, v in data.items()}

    @property
    def started(self) -> bool:
        """Whether start_publish() was called."""
        return bool(self._load()["started"])

    def save(self, data: Mapping[str, str]) -> None:
        """Durably replace the saved data."""
        state = self._load()
        state["data"] = dict(data)
        self._store(state)

    def start_publish(self) -> None:
        """Durably record that the irreversible step started."""
        state = self._load()
        state["started"] = True
        self._store(state)
