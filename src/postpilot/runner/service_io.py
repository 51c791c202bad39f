"""What the service (runner/service.py) exchanges with the world around its loop: the signals it
handles, its log file, the companions it runs beside its campaigns (the dashboard) and the next
run times it notes for --status. Split from runner/service.py, which keeps the loop."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

from postpilot.config import Config
from postpilot.log import PlainFormatter
from postpilot.runner.locks import ServiceLock
from postpilot.runner.service_campaign import ServedCampaign

#: The service's logger: these are the service's lines.
log = logging.getLogger("postpilot.service")

SERVICE_LOG = "service.log"
#: How long a companion (the dashboard) gets to stop after the service was asked to stop.
COMPANION_STOP_SECONDS = 10.0

#: Something the service runs beside its campaigns (the dashboard, postpilot.web): called in a
#: thread of its own with the event that is set when the service stops; it returns when set.
Companion = Callable[[threading.Event], None]

SignalHandler = Callable[[int, FrameType | None], None]


@contextlib.contextmanager
def handling(handlers: Mapping[signal.Signals, SignalHandler]) -> Iterator[None]:
    """Install `handlers` for as long as the block runs, then put the previous ones back."""
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def service_log_file(root: Path) -> Iterator[None]:
    """Everything the service and its runs log also goes to <root>/logs/service.log
    (WatchedFileHandler: logrotate may move the file away)."""
    logs = root / Config.LOGS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.WatchedFileHandler(logs / SERVICE_LOG, encoding="utf-8")
    handler.setFormatter(PlainFormatter())
    logger = logging.getLogger("postpilot")
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def start_companions(
    companions: Sequence[Companion], stop: threading.Event
) -> list[threading.Thread]:
    """Start each companion in a daemon thread of its own; `stop` is set when they must end."""
    threads = []
    for companion in companions:
        thread = threading.Thread(
            target=_companion, args=(companion, stop), name="companion", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def _companion(companion: Companion, stop: threading.Event) -> None:
    try:
        companion(stop)
    except Exception:  # a dashboard failure must not take the publishing down
        log.exception("A companion of the service failed; publishing goes on")


def join_companions(threads: Iterable[threading.Thread]) -> None:
    """Give each companion COMPANION_STOP_SECONDS to end (they are daemons: none holds exit)."""
    for thread in threads:
        thread.join(COMPANION_STOP_SECONDS)


def note_next_runs(lock: ServiceLock, campaigns: Iterable[ServedCampaign]) -> None:
    """Tell --status when each campaign runs next (None: it is running)."""
    next_runs: dict[str, str | None] = {}
    for campaign in campaigns:
        due = None if campaign.thread is not None or campaign.due is None else campaign.due
        next_runs[campaign.name] = due.isoformat(timespec="seconds") if due else None
    with contextlib.suppress(OSError):
        lock.note_next_runs(next_runs)
