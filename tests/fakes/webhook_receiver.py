"""A local webhook receiver for tests: records deliveries, answers from a script, dedupes.

A real HTTP/1.1 server on 127.0.0.1. Each POST to any path is read in blocks (hashed; the raw
body kept only up to `keep_bytes`, so large videos cost no memory) and recorded as a Delivery.
Answers come from `script` (a queue of Answer; default 200 with {"id", "url"}). `drop_next`
closes the connection after reading a request, without answering. Like a well-behaved
receiver it dedupes on `webhook-id`: a repeated id that was already accepted gets the first
answer again and is not counted twice in `accepted`. `GET /status/<id>` answers 200 with the
accepted post or 404, for publisher.reconcile().
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request


@dataclass
class Answer:
    """One scripted answer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    """One received request."""

    path: str
    headers: dict[str, str]
    length: int
    sha256: str
    #: The raw body when it was at most keep_bytes long, else None.
    body: bytes | None
    status: int = 0

    def form(self) -> tuple[dict[str, str], dict[str, bytes]]:
        """(text fields, file fields) of a multipart body (which must have been kept)."""
        assert self.body is not None, "body too large to keep"
        environ = EnvironBuilder(
            method="POST",
            data=self.body,
            headers={"Content-Type": self.headers["content-type"]},
        ).get_environ()
        request = Request(environ)
        try:
            fields = dict(request.form.items())
            files = {k: f.read() for k, f in request.files.items()}
        finally:
            request.close()
        return fields, files


class WebhookReceiver:
    """See the module docstring."""

    def __init__(self, keep_bytes: int = 8 * 1024 * 1024) -> None:
        self.keep_bytes = keep_bytes
        self.deliveries: list[Delivery] = []
        self.script: deque[Answer] = deque()
        self.accepted: dict[str, Answer] = {}
        self.drop_next = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        """Serve on an ephemeral 127.0.0.1 port."""
        handler = type("Handler", (_Handler,), {"receiver": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next requests."""
        with self._lock:
            self.script.extend(answers)


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, answer: Answer) -> None:
        data = b"" if answer.body is None else json.dumps(answer.body).encode("utf-8")
        self.send_response(answer.status)
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """Status lookups for reconcile."""
        path = urlsplit(self.path).path
        msg_id = unquote(path.removeprefix("/status/"))
        with self.receiver._lock:
            accepted = self.receiver.accepted.get(msg_id)
        if path.startswith("/status/") and accepted is not None:
            self._send(Answer(200, accepted.body))
        else:
            self._send(Answer(404, {"error": "unknown id"}))

    def do_POST(self) -> None:
        """Record the delivery, then answer from the script."""
        receiver = self.receiver
        length = int(self.headers.get("Content-Length") or 0)
        digest = hashlib.sha256()
        kept = bytearray() if length <= receiver.keep_bytes else None
        left = length
        while left > 0:
            block = self.rfile.read(min(left, 1024 * 1024))
            if not block:
                return
            digest.update(block)
            if kept is not None:
                kept += block
            left -= len(block)
        delivery = Delivery(
            path=urlsplit(self.path).path,
            headers={k.lower(): v for k, v in self.headers.items()},
            length=length,
            sha256=digest.hexdigest(),
            body=bytes(kept) if kept is not None else None,
        )
        msg_id = delivery.headers.get("webhook-id", "")
        with receiver._lock:
            receiver.deliveries.append(delivery)
            if receiver.drop_next:
                receiver.drop_next -= 1
                drop = True
            else:
                drop = False
                answer = receiver.accepted.get(msg_id)
                if answer is None:
                    answer = (
                        receiver.script.popleft()
                        if receiver.script
                        else Answer(200, {"id": f"r-{msg_id}", "url": f"https://x/{msg_id}"})
                    )
                    if 200 <= answer.status < 300 and msg_id:
                        receiver.accepted[msg_id] = answer
        if drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        delivery.status = answer.status
        self._send(answer)
