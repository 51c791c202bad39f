"""The dashboard flags of --serve (--dashboard-only, --host, --port, TLS) on the parser, and
their usage checks. Split from serve_options.py (which serves) so that the parser, and with it
`--help` and `--version`, imports only argparse (tests/acceptance/test_cli_imports.py).
"""

from __future__ import annotations

import argparse

#: postpilot.web.server uses these (not imported here: it pulls in the ASGI stack).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8377


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be 0-65535, not {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The serving flags, as their own help group."""
    group = parser.add_argument_group("the dashboard of --serve (docs/dashboard.md)")
    group.add_argument(
        "--dashboard-only",
        action="store_true",
        help="with --serve: serve the dashboard without publishing",
    )
    group.add_argument(
        "--host",
        default=None,
        metavar="ADDR",
        help="dashboard address (default 127.0.0.1; any other needs TLS or --insecure)",
    )
    group.add_argument(
        "--port",
        type=_port,
        default=None,
        metavar="N",
        help=f"dashboard port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    group.add_argument("--tls-cert", metavar="FILE", help="PEM certificate for HTTPS")
    group.add_argument("--tls-key", metavar="FILE", help="PEM private key for HTTPS")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host over plain HTTP (warns)",
    )


#: For the command line's "no option the action would ignore" check: (dest, flag, actions).
OPTION_SCOPE: tuple[tuple[str, str, tuple[str, ...]], ...] = tuple(
    (dest, flag, ("serve",))
    for dest, flag in (
        ("dashboard_only", "--dashboard-only"),
        ("host", "--host"),
        ("port", "--port"),
        ("tls_cert", "--tls-cert"),
        ("tls_key", "--tls-key"),
        ("insecure", "--insecure"),
    )
)


def usage_problem(args: argparse.Namespace) -> str:
    """A usage error in the serving flags, or "" (OPTION_SCOPE covers the other actions)."""
    given = [flag for dest, flag, _ in OPTION_SCOPE if getattr(args, dest) not in (None, False)]
    if given and not args.serve:
        return f"{given[0]} only applies with --serve"
    if bool(args.tls_cert) != bool(args.tls_key):
        return "--tls-cert and --tls-key go together"
    return ""
