"""The HTTP plumbing the platform fakes share: a threaded server on 127.0.0.1 whose handler
hands every request to the fake's `dispatch(handler, method)`, and which can cut every open
keep-alive connection so a stopped fake looks unreachable."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, Self


class Dispatcher(Protocol):
    """A fake: answers one request on `handler`."""

    def dispatch(self, handler: FakeHandler, method: str) -> None:
        """Answer the request."""


class FakeHandler(BaseHTTPRequestHandler):
    """Passes GET, POST and PUT to the server's fake."""

    protocol_version = "HTTP/1.1"
    # Headers and body in one segment, no Nagle: small answers are not delayed 40 ms each.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: FakeServer

    def do_GET(self) -> None:
        self.server.fake.dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.fake.dispatch(self, "POST")

    def do_PUT(self) -> None:
        self.server.fake.dispatch(self, "PUT")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the fake's own request log."""


class FakeServer(ThreadingHTTPServer):
    """A threaded server on an ephemeral loopback port that tracks its open connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: Dispatcher) -> None:
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.fake = fake
        self.active: set[socket.socket] = set()
        self.active_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.active_lock:
            self.active.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.active_lock:
            self.active.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Cut every open keep-alive connection (a stopped fake must look unreachable)."""
        with self.active_lock:
            sockets = list(self.active)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class ServedFake:
    """Lifecycle and virtual clock shared by the platform fakes: start()/stop() (or `with`),
    `url`, and now()/advance(). Subclasses implement dispatch(handler, method)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._server: FakeServer | None = None

    def dispatch(self, handler: FakeHandler, method: str) -> None:
        """Answer one request (each fake's own routes)."""
        raise NotImplementedError

    def start(self) -> Self:
        """Serve on an ephemeral 127.0.0.1 port in a background thread."""
        self._server = FakeServer(self)
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections (a stopped fake looks unreachable)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_all()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port> of the running fake."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def now(self) -> float:
        """The fake's clock (real time plus what advance() added)."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (tokens, containers and upload URLs age)."""
        with self._lock:
            self._offset += seconds
