"""The command line's dashboard flags (--dashboard-only, --host, --port, TLS) for --serve,
kept apart from cli.py's campaign actions; the flags and their usage checks are in
serve_flags.py. The dashboard package (and with it the ASGI stack)
is imported only when the dashboard starts.

`postpilot --serve` runs the publishing service (runner/service.py) with the dashboard as its
companion; `--serve --dashboard-only` serves the dashboard alone.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from postpilot.config import Config
from postpilot.errors import PostpilotError

# The flags themselves are in serve_flags.py (the parser imports it, light for --help); kept
# importable from here.
from postpilot.serve_flags import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    OPTION_SCOPE,
    add_arguments,
    usage_problem,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "FIRST_RUNS_WAIT_SECONDS",
    "OPTION_SCOPE",
    "BindRefused",
    "TLSFiles",
    "add_arguments",
    "check_bind",
    "dashboard_companion",
    "is_loopback",
    "serve_dashboard",
    "usage_problem",
]

log = logging.getLogger("postpilot.web")

#: Longest wait of the dashboard for the service's first runs before it starts anyway.
FIRST_RUNS_WAIT_SECONDS = 15.0


class BindRefused(PostpilotError):
    """The dashboard will not listen where it was asked to (exit 1)."""


@dataclass(frozen=True)
class TLSFiles:
    """A certificate chain and its key, both PEM."""

    certfile: Path
    keyfile: Path


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tls: TLSFiles | None, insecure: bool) -> None:
    """Refuse a non-loopback address without TLS or --insecure; warn when insecure."""
    if is_loopback(host):
        return
    if tls is not None:
        for path in (tls.certfile, tls.keyfile):
            if not path.is_file():
                raise BindRefused(f"--tls files: {path} does not exist")
        return
    if not insecure:
        raise BindRefused(
            f"Refusing to serve the dashboard on {host} without TLS: anyone on that network "
            "could read the traffic\n"
            "  Give --tls-cert FILE --tls-key FILE, or --insecure to serve plain HTTP anyway "
            "(only on a network you trust), or leave --host out to stay on 127.0.0.1"
        )
    log.warning(
        "Serving the dashboard on %s over plain HTTP (--insecure): the token and every page "
        "cross the network unencrypted",
        host,
    )


def serve_dashboard(args: argparse.Namespace) -> int:
    """`--serve --dashboard-only`: the dashboard alone, until SIGINT/SIGTERM."""
    from postpilot.web import serve_dashboard_only

    tls = TLSFiles(Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else None
    return serve_dashboard_only(
        Config.project_root(),
        args.host or DEFAULT_HOST,
        DEFAULT_PORT if args.port is None else args.port,
        tls=tls,
        insecure=args.insecure,
    )


def dashboard_companion(args: argparse.Namespace) -> Callable[[threading.Event], None]:
    """The dashboard as a companion of the service: it starts once the service holds the
    project (so a second service is refused for that, not for the port) and has scheduled its
    first runs (loading the ASGI stack must not delay a slot due at start), and it stops with
    the service.
    A --host refused without TLS fails the command before anything starts; a port that turns
    out taken is logged and publishing goes on without the page. The login link goes to
    stderr only: stdout may carry --json, and the service's log file must not hold the token.
    """
    tls = TLSFiles(Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else None
    host = args.host or DEFAULT_HOST
    port = DEFAULT_PORT if args.port is None else args.port
    check_bind(host, tls, args.insecure)
    root = Config.project_root()

    def companion(service_stopping: threading.Event) -> None:
        if _wait_for_first_runs(root, service_stopping):
            return
        from postpilot.web import start_dashboard

        try:
            handle = start_dashboard(
                root, host, port, service_stopping, tls=tls, insecure=args.insecure
            )
        except BindRefused as exc:
            for line in str(exc).splitlines():
                log.error("dashboard: %s", line)
            log.error("dashboard: not started; publishing goes on without it")
            return
        print(f"postpilot dashboard at {handle.url}", file=sys.stderr, flush=True)
        print(handle.login_hint(sys.stderr, root), file=sys.stderr, flush=True)
        service_stopping.wait()
        handle.stop()

    return companion


def _wait_for_first_runs(root: Path, stopping: threading.Event) -> bool:
    """Publishing first: wait until the service scheduled every campaign after its first run
    (or FIRST_RUNS_WAIT_SECONDS), so loading the dashboard never delays a slot that is due at
    start. True when the service stopped meanwhile."""
    from postpilot.runner.locks import service_status

    deadline = time.monotonic() + FIRST_RUNS_WAIT_SECONDS
    while time.monotonic() < deadline:
        status = service_status(root)
        runs = (status or {}).get("next_runs") or {}
        if runs and None not in runs.values():
            break
        if stopping.wait(0.2):
            return True
    return stopping.is_set()
