"""One orchestrator per campaign: an OS-level lock plus a registry file saying who holds it.

The lock is an flock on `<project>/.postpilot/runs/<campaign>/.postpilot-run.lock` (legacy mode:
`.postpilot/legacy-run.lock`), never in the campaign folder, which may be read-only: the
kernel releases it when the holder dies, so a crash never leaves a stale lock (the prior system
scanned the process list instead, and left stale locks behind). The registry file next to it
records pid,
host, start time and worker pids, so a refused run can name the holder and --stop-all can find
the processes to stop.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from postpilot import clock
from postpilot.config import Config, PostingContext
from postpilot.errors import ConflictError

if TYPE_CHECKING:
    # Imported where a lock is taken: --status only probes (_held), without filelock (nor
    # socket and signal, imported where a lock is taken or a holder stopped).
    from filelock import FileLock

LOCK_NAME = ".postpilot-run.lock"
REGISTRY_NAME = ".postpilot-run.json"


def _run_dir(ctx: PostingContext) -> Path:
    # Under the project root, never in the campaign folder (it may be a read-only mount).
    return ctx.runtime_dir


def lock_path(ctx: PostingContext) -> Path:
    """The campaign's run lock file."""
    name = LOCK_NAME if ctx.is_campaign_mode() else f"{Config.LEGACY_CAMPAIGN_NAME}-run.lock"
    return _run_dir(ctx) / name


def registry_path(ctx: PostingContext) -> Path:
    """The campaign's run registry file."""
    name = REGISTRY_NAME if ctx.is_campaign_mode() else f"{Config.LEGACY_CAMPAIGN_NAME}-run.json"
    return _run_dir(ctx) / name


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Who holds a campaign's run lock."""

    pid: int
    host: str
    started_at: datetime
    campaign: str
    worker_pids: tuple[int, ...] = ()
    command: str = ""

    def describe(self) -> str:
        """One line naming the holder, e.g. "PID 1234 on host x since 2026-11-28T14:00:00Z"."""
        since = self.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"PID {self.pid} on host {self.host} since {since}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["worker_pids"] = list(self.worker_pids)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        """Parse a registry file's content."""
        return cls(
            pid=int(data["pid"]),
            host=str(data.get("host", "")),
            started_at=datetime.fromisoformat(str(data["started_at"])),
            campaign=str(data.get("campaign", "")),
            worker_pids=tuple(int(p) for p in data.get("worker_pids", [])),
            command=str(data.get("command", "")),
        )


def _read_registry(ctx: PostingContext) -> RunInfo | None:
    return _read_info(registry_path(ctx))


def _read_info(path: Path) -> RunInfo | None:
    try:
        return RunInfo.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_registry(ctx: PostingContext, info: RunInfo) -> None:
    _write_info(registry_path(ctx), info)


def _write_info(path: Path, info: RunInfo) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info.to_json(), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _take(
    path: Path, registry: Path, scope: str, refusal: Callable[[str], str]
) -> tuple[FileLock, RunInfo]:
    """Take the flock at `path` without waiting and record this process in `registry`; when
    another process holds it, raise ConflictError with `refusal(<the holder, described>)`."""
    import socket

    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = _read_info(registry)
        raise ConflictError(refusal(holder.describe() if holder else "another process")) from None
    info = RunInfo(
        pid=os.getpid(),
        host=socket.gethostname(),
        started_at=clock.now(),
        campaign=scope,
        command=" ".join(sys.argv),
    )
    _write_info(registry, info)
    return lock, info


#: flock's answers when another open file holds the lock (filelock's own list).
_CONTENTION = frozenset({errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK})


def _held(path: Path) -> bool:
    """Whether another process holds the lock at `path`. A lock file on a file system with
    flock is held by an flock (module docstring), so this probes with fcntl.flock on the
    existing file and leaves it as it was; importing filelock would cost --status a tenth of
    its start-up. filelock's own probe answers whenever this one cannot (no write access, no
    flock on this file system: filelock then locks softly)."""
    try:
        import fcntl
    except ImportError:  # not a Unix
        return _held_by_filelock(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return _held_by_filelock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _CONTENTION:
            return True
        return _held_by_filelock(path)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _held_by_filelock(path: Path) -> bool:
    from filelock import FileLock, Timeout

    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


class RunLock:
    """Hold the campaign's run lock for the life of a run (a context manager)."""

    def __init__(self, ctx: PostingContext) -> None:
        self._ctx = ctx
        self._lock: FileLock | None = None
        self.info: RunInfo | None = None

    def acquire(self) -> RunInfo:
        """Take the lock or raise ConflictError naming the holder."""
        self._lock, self.info = _take(
            lock_path(self._ctx),
            registry_path(self._ctx),
            self._ctx.store_name,
            lambda who: (
                f"Another orchestrator is running for {self._ctx.describe()}: {who}\n"
                "  Wait for it to finish, or stop it with --stop-all"
            ),
        )
        return self.info

    def set_worker_pids(self, pids: list[int]) -> None:
        """Record the current worker pids for --stop-all."""
        if self.info is None:
            return
        self.info = RunInfo(
            pid=self.info.pid,
            host=self.info.host,
            started_at=self.info.started_at,
            campaign=self.info.campaign,
            worker_pids=tuple(pids),
            command=self.info.command,
        )
        _write_registry(self._ctx, self.info)

    def release(self) -> None:
        """Remove the registry and release the lock."""
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            registry_path(self._ctx).unlink()
        self._lock.release()
        self._lock = None

    def __enter__(self) -> RunInfo:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def check_for_running_orchestrators(ctx: PostingContext) -> list[RunInfo]:
    """The run holding this campaign's lock, if any (empty list when free)."""
    path = lock_path(ctx)
    if not path.exists():
        return []
    if _held(path):
        holder = _read_registry(ctx)
        return [holder] if holder else [RunInfo(0, "?", clock.now(), ctx.store_name)]
    return []


@dataclass(frozen=True, slots=True)
class StopReport:
    """What --stop-all did."""

    stopped: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"stopped": list(self.stopped), "others": list(self.others)}


def _alive(pid: int) -> bool:
    """Whether `pid` is running; a zombie (exited, not yet reaped by its parent) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True
    # The state letter follows the parenthesised command name, which may contain spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    remaining = [p for p in pids if _alive(p)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.1)
        remaining = [p for p in remaining if _alive(p)]
    return remaining


def stop_all(ctx: PostingContext, timeout: float) -> StopReport:
    """Stop this campaign's orchestrator and workers: SIGTERM, wait, then SIGKILL.

    The orchestrator treats SIGTERM as a graceful shutdown (running publishes finish); what is
    still alive after `timeout` is killed, and its interrupted publishes are settled by the next
    run's recovery (lease expiry -> unconfirmed -> reconcile). Only processes recorded in this
    campaign's registry are signalled; nothing else on the machine is touched.
    """
    import signal
    import socket

    holders = check_for_running_orchestrators(ctx)
    if not holders or holders[0].pid <= 0:
        return StopReport(others=[f"No orchestrator is running for {ctx.describe()}"])
    info = holders[0]
    if info.host != socket.gethostname():
        return StopReport(others=[f"{info.describe()} runs on another host; stop it there"])
    stopped: list[str] = []
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
        stopped.append(f"Sent SIGTERM to orchestrator PID {info.pid}")
    left = _wait_gone([info.pid], timeout)
    if left:
        for pid in [info.pid, *info.worker_pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                stopped.append(f"Killed PID {pid} (did not stop within {timeout:g}s)")
        _wait_gone([info.pid, *info.worker_pids], 5.0)
    else:
        # Workers follow their orchestrator; kill any that outlived it.
        for pid in _wait_gone(list(info.worker_pids), 5.0):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                stopped.append(f"Killed orphan worker PID {pid}")
    stopped.append(f"Stopped {ctx.describe()} (orchestrator PID {info.pid})")
    return StopReport(stopped=stopped)


# -- the service lock: one `--serve` per project root ----------------------------------------
SERVICE_LOCK_NAME = "service.lock"
SERVICE_REGISTRY_NAME = "service.json"
#: The scope recorded by a service that serves every enabled campaign of its project.
ALL_CAMPAIGNS = ""


def service_lock_path(root: Path) -> Path:
    """The project's service lock (`.postpilot/service.lock`)."""
    return root / Config.STATE_DIR / SERVICE_LOCK_NAME


def service_registry_path(root: Path) -> Path:
    """Who holds the service lock (`.postpilot/service.json`)."""
    return root / Config.STATE_DIR / SERVICE_REGISTRY_NAME


class ServiceLock:
    """Held by `postpilot --serve` for its whole life: the run lock's flock-and-registry pattern
    at the project level, so a second service on the same root is refused naming the holder.
    `scope` is the one campaign it serves, or ALL_CAMPAIGNS."""

    def __init__(self, root: Path, scope: str = ALL_CAMPAIGNS) -> None:
        self._root = root
        self._scope = scope
        self._lock: FileLock | None = None
        self.info: RunInfo | None = None

    def acquire(self) -> RunInfo:
        """Take the lock or raise ConflictError naming the holder's pid."""
        self._lock, self.info = _take(
            service_lock_path(self._root),
            service_registry_path(self._root),
            self._scope,
            lambda who: (
                f"A postpilot service is already running for project {self._root}: {who}\n"
                "  One service serves every campaign of a project; stop it with --stop-all"
            ),
        )
        return self.info

    def note_next_runs(self, next_runs: dict[str, str | None]) -> None:
        """Record when each served campaign runs next (None: running now), for --status."""
        if self.info is None:
            return
        path = service_registry_path(self._root)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        data = {**self.info.to_json(), "next_runs": next_runs}
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def release(self) -> None:
        """Remove the registry and release the lock."""
        if self._lock is None:
            return
        with contextlib.suppress(OSError):
            service_registry_path(self._root).unlink()
        self._lock.release()
        self._lock = None


def service_holder(root: Path) -> RunInfo | None:
    """The running service of this project root, if any."""
    path = service_lock_path(root)
    if not path.exists():
        return None
    if _held(path):
        holder = _read_info(service_registry_path(root))
        return holder or RunInfo(0, "?", clock.now(), ALL_CAMPAIGNS)
    return None


def service_status(root: Path, campaign: str | None = None) -> dict[str, Any] | None:
    """The running service as --status shows it (when it serves `campaign`, or any without
    one): its holder fields, a describe line and each campaign's next run."""
    info = service_holder(root)
    if info is None or (campaign is not None and info.campaign not in (ALL_CAMPAIGNS, campaign)):
        return None
    try:
        raw = json.loads(service_registry_path(root).read_text(encoding="utf-8"))
        next_runs = raw.get("next_runs", {}) if isinstance(raw, dict) else {}
    except (OSError, ValueError):
        next_runs = {}
    serves = info.campaign or "every enabled campaign"
    return {
        **info.to_json(),
        "serves": serves,
        "next_runs": next_runs if isinstance(next_runs, dict) else {},
        "describe": f"{info.describe()}, serving {serves}",
    }


def stop_service(root: Path, timeout: float, campaign: str | None = None) -> StopReport:
    """Stop the project's service (when it serves `campaign`, or always without one): SIGTERM,
    which drains it like a run, then SIGKILL after `timeout`. Its workers notice their parent is
    gone and stop after the job in hand; leases settle anything interrupted."""
    import signal
    import socket

    info = service_holder(root)
    if info is None or info.pid <= 0:
        return StopReport()
    if campaign is not None and info.campaign not in (ALL_CAMPAIGNS, campaign):
        return StopReport()
    if info.host != socket.gethostname():
        return StopReport(others=[f"The service {info.describe()} runs on another host"])
    stopped: list[str] = []
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGTERM)
        stopped.append(f"Sent SIGTERM to the service PID {info.pid}")
    if _wait_gone([info.pid], timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)
            stopped.append(f"Killed the service PID {info.pid} (did not stop within {timeout:g}s)")
        _wait_gone([info.pid], 5.0)
    stopped.append(f"Stopped the service of project {root} (PID {info.pid})")
    return StopReport(stopped=stopped)
