"""A real TCP proxy for store outages: postpilot talks to PostgreSQL through it, and a test
cuts every connection and refuses new ones for a while (the server itself, shared with other
tests, is never restarted).

    proxy = TcpProxy("127.0.0.1", 5432).start()    # proxy.port: where clients connect
    proxy.down()                                    # cut all connections, refuse new ones
    proxy.up()                                      # accept again (same port)
    proxy.close()

While down the port is not listened on, so a connect is refused at once, as it is while a
server restarts. Threads, not asyncio: one accept thread and two copy threads per connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class TcpProxy:
    """See the module docstring."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        #: Connections accepted so far (a test can tell that clients came back).
        self.accepted = 0

    def start(self) -> TcpProxy:
        """Listen (on a free port the first time, on the same port after down())."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def down(self) -> None:
        """Stop listening and cut every open connection."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            _close(listener)
        for client, server in pairs:
            _close(client)
            _close(server)

    def up(self) -> None:
        """Accept connections again, on the same port."""
        if self._listener is None:
            self.start()

    def close(self) -> None:
        """Down for good."""
        self.down()

    def __enter__(self) -> TcpProxy:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    _close(client)
                    _close(server)
                    return
                self._pairs.add((client, server))
                self.accepted += 1
            pair = (client, server)
            threading.Thread(target=self._copy, args=(client, server, pair), daemon=True).start()
            threading.Thread(target=self._copy, args=(server, client, pair), daemon=True).start()

    def _copy(
        self,
        source: socket.socket,
        sink: socket.socket,
        pair: tuple[socket.socket, socket.socket],
    ) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._pairs.discard(pair)
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
