"""Logging for the command line: configured by the entry point only, never at import time.

The prior system's logs vanished into a file because an imported module called basicConfig
first. Here only `postpilot.cli.main()` calls `setup_logging`; library modules just
ask for `logging.getLogger("postpilot....")`.

Every line names the context it is about (`PostingContext.describe()`, a rule of the specification,
see docs/architecture.md):
`set_context` is called once main() has built the context, and a filter stamps it on each
record. Lines go to stderr (stdout is for data): plain timestamped lines when stderr is not a
terminal, rich's handler when it is.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # rich is imported only when a terminal is drawn on (start-up time)
    from rich.console import Console

LOGGER_NAME = "postpilot"
#: Shown before main() knows which campaign the command is about.
DEFAULT_CONTEXT = "postpilot"

_context = DEFAULT_CONTEXT
_handler: logging.Handler | None = None
_console: Console | None = None


class _ContextFilter(logging.Filter):
    """Stamps the current context on every record (as `record.context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "context"):
            record.context = _context
        return True


class PlainFormatter(logging.Formatter):
    """`2026-11-28T14:00:00Z WARNING [campaign 'demo'] message`, UTC, with the prefix repeated
    on every physical line so a multi-line message never loses its context."""

    def __init__(self) -> None:
        super().__init__(datefmt="%Y-%m-%dT%H:%M:%SZ")
        self.converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, self.datefmt)
        prefix = f"{stamp} {record.levelname:<7} [{getattr(record, 'context', _context)}] "
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def set_context(description: str) -> None:
    """Name the context every following log line is about (ctx.describe())."""
    global _context
    _context = description


def current_context() -> str:
    """The context log lines are stamped with now."""
    return _context


def shared_console() -> Console | None:
    """The stderr console of the rich handler, when one is installed; live displays must draw
    through it so that log lines print above them instead of tearing them."""
    return _console


def setup_logging(*, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Install the one handler of the `postpilot` logger (idempotent: replaces a previous one).

    `stream` defaults to sys.stderr; a terminal gets rich's handler, anything else plain lines.
    """
    global _handler, _console
    out = stream if stream is not None else sys.stderr
    logger = logging.getLogger(LOGGER_NAME)
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler.close()
    handler: logging.Handler
    if _isatty(out):
        from rich.console import Console
        from rich.logging import RichHandler

        _console = Console(file=out, stderr=out is sys.stderr)
        handler = RichHandler(
            console=_console,
            show_path=False,
            markup=False,
            rich_tracebacks=False,
            log_time_format="%H:%M:%S",
        )
        handler.setFormatter(logging.Formatter("[%(context)s] %(message)s"))
    else:
        _console = None
        handler = logging.StreamHandler(out)
        handler.setFormatter(PlainFormatter())
    handler.addFilter(_ContextFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    _handler = handler


def teardown_logging() -> None:
    """Remove the handler installed by setup_logging (for in-process callers such as tests)."""
    global _handler, _console
    if _handler is not None:
        logging.getLogger(LOGGER_NAME).removeHandler(_handler)
        _handler.close()
    _handler = None
    _console = None
    set_context(DEFAULT_CONTEXT)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
