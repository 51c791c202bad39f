"""--status on a read-only project: it reports the store and creates or changes no file.

As root the command runs in a private mount namespace where the project is bind-mounted
read-only over itself (root ignores write bits); otherwise the tree's write bits are removed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.helpers import REPO, Result, make_campaign, run_postpilot, tree_digest

FAST = {"POSTPILOT_BACKOFF_SECONDS": "0", "POSTPILOT_LEASE_SECONDS": "10"}

#: Mounts $1 read-only over itself, proves a write fails there, then runs the command.
READ_ONLY_SH = (
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" || exit 97; '
    'touch "$1/.probe" 2>/dev/null && exit 98; shift; exec "$@"'
)


def _without_write_bits(root: Path, on: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode & ~bits if on else mode | stat.S_IWUSR)


@pytest.fixture
def read_only_runner() -> Iterator[object]:
    """A function running the CLI over a read-only project root."""
    root_user = os.geteuid() == 0
    if root_user and shutil.which("unshare") is None:
        reason = "running as root without unshare(1): cannot make the project read-only"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    chmodded: list[Path] = []

    def run(root: Path, *args: str) -> Result:
        env = dict(os.environ)
        env.update({"POSTPILOT_HOME": str(root), "PYTHONPATH": str(REPO), "COLUMNS": "200"})
        env.pop("POSTPILOT_STORE", None)
        command = [sys.executable, "-m", "postpilot", *args]
        if root_user:
            unshare = ["unshare", "--mount", "--propagation", "private"]
            command = [*unshare, "sh", "-c", READ_ONLY_SH, "sh", str(root), *command]
        else:
            _without_write_bits(root, True)
            chmodded.append(root)
        proc = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if root_user and proc.returncode in (97, 98):
            reason = f"could not mount the project read-only (exit {proc.returncode})"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    yield run
    for root in chmodded:
        _without_write_bits(root, False)


@pytest.mark.slow
def test_status_on_a_read_only_project(project_root: Path, read_only_runner: object) -> None:
    """After a run, --status on the project mounted read-only shows the run's counts and
    leaves every file as it was (no lock, registry, log or SQLite side file)."""
    make_campaign(project_root, "r", ["r_a", "r_b"], 2)
    ran = run_postpilot(project_root, "--campaign", "r", "--run", "--max-passes", "1", **FAST)
    assert ran.code == 0, ran.err
    before = tree_digest(project_root)
    run = read_only_runner
    assert callable(run)
    result = run(project_root, "--campaign", "r", "--status", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["counts"]["success"] == 2, data
    assert tree_digest(project_root) == before
