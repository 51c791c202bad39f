"""Serving the dashboard: uvicorn in a thread of the calling process, so the publishing service
can run it as a companion (`start_dashboard`) and `--serve --dashboard-only` can run it alone
(`serve_dashboard_only`).

Binding: 127.0.0.1 by default; postpilot.serve_options.check_bind refuses any other address
without TLS files or --insecure (it lives there so the command line can check before it
imports the ASGI stack). uvicorn's access log is off: the login link carries the token in its
query string and must never reach a log.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import uvicorn

from postpilot.serve_options import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    BindRefused,
    TLSFiles,
    check_bind,
    is_loopback,
)
from postpilot.web.app import create_app
from postpilot.web.auth import Credentials, load_or_create_token, token_path

log = logging.getLogger("postpilot.web")

#: Seconds open event streams get to end when the dashboard stops.
GRACEFUL_SECONDS = 3


@dataclass
class DashboardHandle:
    """A running dashboard."""

    url: str
    login_url: str
    thread: threading.Thread
    server: uvicorn.Server
    stopping: threading.Event

    def login_hint(self, stream: TextIO, root: Path) -> str:
        """The line that tells the operator how to log in. The token is printed only to a
        terminal: piped or under systemd this output is kept in a log, and tokens never are."""
        if stream.isatty():
            return f"Open this link once to log in: {self.login_url}"
        return (
            f"Open {self.url}login?token=TOKEN once to log in, with TOKEN read from "
            f"{token_path(root)} (not printed here: this output is not a terminal)"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to stop and wait for its thread."""
        self.stopping.set()
        self.server.should_exit = True
        self.thread.join(timeout)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - only naming the address for the link
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def start_dashboard(
    root: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    stop_event: threading.Event | None = None,
    *,
    tls: TLSFiles | None = None,
    insecure: bool = False,
) -> DashboardHandle:
    """Start the dashboard of the project at `root` in a daemon thread and return once it
    accepts connections. Setting `stop_event` (or calling handle.stop()) shuts it down.
    Port 0 picks a free port (handle.url says which)."""
    check_bind(host, tls, insecure)
    token = load_or_create_token(root)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BindRefused(
            f"Cannot listen on {host}:{port}: {exc.strerror}\n"
            "  Choose another port with --port, or stop the program using it"
        ) from None
    bound = sock.getsockname()[1]
    names = {f"{_url_host(host)}:{bound}", f"{host}:{bound}"}
    if is_loopback(host):
        names |= {f"127.0.0.1:{bound}", f"localhost:{bound}", f"[::1]:{bound}"}
    stopping = stop_event if stop_event is not None else threading.Event()
    app = create_app(root, Credentials(token), frozenset(names), stopping, secure=tls is not None)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        ssl_certfile=str(tls.certfile) if tls else None,
        ssl_keyfile=str(tls.keyfile) if tls else None,
    )
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            app.close()  # the campaigns' stores the dashboard kept open

    thread = threading.Thread(target=run, name="postpilot-dashboard", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.02)
    if not server.started:
        raise BindRefused(f"The dashboard on {host}:{bound} did not start; see the log above")

    def watch() -> None:
        stopping.wait()
        server.should_exit = True

    threading.Thread(target=watch, name="postpilot-dashboard-stop", daemon=True).start()
    scheme = "https" if tls else "http"
    url = f"{scheme}://{_url_host(host)}:{bound}/"
    return DashboardHandle(url, f"{url}login?token={token}", thread, server, stopping)


def serve_dashboard_only(
    root: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    tls: TLSFiles | None = None,
    insecure: bool = False,
    announce: bool = True,
) -> int:
    """`--serve --dashboard-only`: serve until SIGINT/SIGTERM (the normal way to stop a
    server, so exit 0); 1 when the server died."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        handle = start_dashboard(root, host, port, stop, tls=tls, insecure=insecure)
        if announce:
            print(f"postpilot dashboard (no publishing) at {handle.url}", flush=True)
            print(handle.login_hint(sys.stdout, root), flush=True)
        while not stop.wait(0.5):
            if not handle.thread.is_alive():
                log.error("the dashboard server stopped unexpectedly")
                return 1
        handle.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
