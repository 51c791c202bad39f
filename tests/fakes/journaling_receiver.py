"""A deliberately NON-idempotent Standard Webhooks receiver for fault tests.

A real HTTP/1.1 server on 127.0.0.1. Every POST whose `webhook-signature` verifies (HMAC over
the raw streamed body, computed here independently of postpilot) is a new post: it is appended
to `journal` (and, when `journal_path` is given, to that file, fsynced) BEFORE any fault is
injected. A repeated `webhook-id` is journaled again, so a blind resend shows up as a
duplicate. Faults hit the first delivery of every `every`-th new webhook-id (every=5: 20%):

    drop    close the connection without answering (a lost response)
    hang    keep the connection open, unanswered, until stop() (a hang after accept)
    error   answer 500 (the post was kept anyway)

`GET /status/<webhook-id>` answers 200 {"posted": true, "id": ...} for a journaled id, else 404
(for the publisher's status_url reconcile).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.fakes.http_server import FakeHandler, ServedFake

READ_BLOCK = 256 * 1024


class Fault(StrEnum):
    """What the receiver does after journaling a faulted delivery."""

    NONE = "none"
    DROP = "drop"
    HANG = "hang"
    ERROR = "error"


@dataclass(frozen=True)
class Accepted:
    """One journaled delivery."""

    webhook_id: str
    sha256: str
    length: int
    fault: Fault
    at: float


class JournalingReceiver(ServedFake):
    """See the module docstring."""

    def __init__(
        self,
        secret: str,
        *,
        fault: Fault = Fault.NONE,
        every: int = 5,
        journal_path: Path | None = None,
    ) -> None:
        super().__init__()
        self._key = base64.b64decode(secret.removeprefix("whsec_"))
        self.fault = fault
        self.every = every
        self.journal_path = journal_path
        self.journal: list[Accepted] = []
        self.refused = 0
        self.status_asks = 0
        self._seen: set[str] = set()
        self._released = threading.Event()

    def stop(self) -> None:
        """Release hung deliveries, then stop serving."""
        self._released.set()
        super().stop()

    # -- assertions ------------------------------------------------------------------------

    def counts(self) -> Counter[str]:
        """How many times each webhook-id was journaled."""
        with self._lock:
            return Counter(a.webhook_id for a in self.journal)

    def duplicates(self) -> int:
        """Deliveries beyond the first of each webhook-id (0 for a never-twice sender)."""
        return sum(n - 1 for n in self.counts().values())

    def faulted(self) -> set[str]:
        """The webhook-ids whose first delivery was faulted."""
        with self._lock:
            return {a.webhook_id for a in self.journal if a.fault is not Fault.NONE}

    # -- serving ---------------------------------------------------------------------------

    def dispatch(self, handler: FakeHandler, method: str) -> None:
        """POST: verify, journal, then fault or answer 200; GET /status/<id>: journaled?"""
        path = urlsplit(handler.path).path
        if method == "GET" and path.startswith("/status/"):
            self._status(handler, unquote(path.removeprefix("/status/")))
        elif method == "POST":
            self._deliver(handler)
        else:
            _reply(handler, 404, {"error": "no such endpoint"})

    def _status(self, handler: FakeHandler, webhook_id: str) -> None:
        with self._lock:
            self.status_asks += 1
            known = any(a.webhook_id == webhook_id for a in self.journal)
        if known:
            _reply(handler, 200, {"posted": True, "id": f"post-{webhook_id}"})
        else:
            _reply(handler, 404, {"posted": False})

    def _deliver(self, handler: FakeHandler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        length = int(headers.get("content-length") or 0)
        mac = hmac.new(
            self._key, f"{webhook_id}.{headers.get('webhook-timestamp', '')}.".encode(), "sha256"
        )
        digest = hashlib.sha256()
        left = length
        while left > 0:
            block = handler.rfile.read(min(READ_BLOCK, left))
            if not block:
                return  # the sender went away mid-body: nothing was accepted
            mac.update(block)
            digest.update(block)
            left -= len(block)
        expected = "v1," + base64.b64encode(mac.digest()).decode("ascii")
        offered = headers.get("webhook-signature", "").split()
        if not any(hmac.compare_digest(expected, o) for o in offered):
            with self._lock:
                self.refused += 1
            _reply(handler, 401, {"error": "bad signature"})
            return
        with self._lock:
            fault = Fault.NONE
            if webhook_id not in self._seen:
                self._seen.add(webhook_id)
                if self.every and len(self._seen) % self.every == 0:
                    fault = self.fault
            entry = Accepted(webhook_id, digest.hexdigest(), length, fault, time.time())
            self.journal.append(entry)
            self._write(entry)
        if fault is Fault.DROP or fault is Fault.HANG:
            if fault is Fault.HANG:
                self._released.wait()
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is Fault.ERROR:
            _reply(handler, 500, {"error": "internal error after storing the post"})
            return
        _reply(handler, 200, {"id": f"post-{webhook_id}", "url": f"https://hooks.test/{length}"})

    def _write(self, entry: Accepted) -> None:
        if self.journal_path is None:
            return
        with open(self.journal_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"webhook_id": entry.webhook_id, "fault": entry.fault}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _reply(handler: FakeHandler, status: int, body: object) -> None:
    data = json.dumps(body).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
