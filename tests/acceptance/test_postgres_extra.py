"""psycopg is the optional `postgres` extra: the embedded store runs without it, and a
PostgreSQL store configured without it is refused with the install command, before anything
is created. The driver is hidden from real postpilot processes by a meta-path blocker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.helpers import (
    REPO,
    assert_no_traceback,
    copy_examples,
    run_postpilot,
    tree_digest,
)

pytestmark = pytest.mark.slow

DSN = "postgresql://postgres@127.0.0.1:5432/test"

#: Imported by every interpreter started with the folder on PYTHONPATH (site's sitecustomize
#: hook), worker processes included: psycopg and psycopg_pool cannot be found or imported.
BLOCKER = """
import sys


class _NoPostgresDriver:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"psycopg", "psycopg_pool"}:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _NoPostgresDriver())
"""


def _without_driver(tmp_path: Path) -> str:
    """A PYTHONPATH whose interpreters cannot import the PostgreSQL driver."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    return f"{blocker}:{REPO}"


def _demo(root: Path, store: str | None) -> Path:
    copy_examples(root, "demo")
    path = root / "campaigns" / "demo" / "campaign.json"
    if store is not None:
        settings = json.loads(path.read_text(encoding="utf-8"))
        settings["store"] = store
        path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def test_the_blocker_hides_the_driver(tmp_path: Path) -> None:
    """A check on the check: with the blocker on PYTHONPATH, `import psycopg` fails."""
    env = {**os.environ, "PYTHONPATH": _without_driver(tmp_path)}
    probe = subprocess.run(
        [sys.executable, "-c", "import psycopg"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert probe.returncode == 1
    assert "(blocked)" in probe.stderr


def test_the_embedded_store_runs_without_the_driver(tmp_path: Path) -> None:
    """The demo campaign (SQLite store) runs to the end with psycopg unavailable."""
    root = tmp_path / "project"
    _demo(root, None)
    result = run_postpilot(
        root, "--campaign", "demo", "--run", PYTHONPATH=_without_driver(tmp_path)
    )
    assert result.code == 0, result.err
    assert len(list((root / "outbox" / "demo").glob("*/*/post.json"))) == 6


@pytest.mark.parametrize("where", ["campaign.json", "POSTPILOT_STORE"])
def test_a_postgres_store_without_the_driver_names_the_extra(tmp_path: Path, where: str) -> None:
    """A postgresql:// store (campaign.json's `store` or POSTPILOT_STORE) without psycopg: exit
    1, one line naming where the store is set and `pip install 'postpilot[postgres]'`, no
    traceback, no file created."""
    root = tmp_path / "project"
    campaign_json = _demo(root, DSN if where == "campaign.json" else None)
    env = {"PYTHONPATH": _without_driver(tmp_path)}
    if where == "POSTPILOT_STORE":
        env["POSTPILOT_STORE"] = DSN
    before = tree_digest(root)
    result = run_postpilot(root, "--campaign", "demo", "--run", **env)
    assert result.code == 1
    assert_no_traceback(result)
    lines = [line for line in (result.out + result.err).splitlines() if line.strip()]
    named = [line for line in lines if "pip install 'postpilot[postgres]'" in line]
    assert len(named) == 1, lines
    assert (str(campaign_json) if where == "campaign.json" else "POSTPILOT_STORE") in named[0]
    assert DSN not in result.out + result.err
    assert tree_digest(root) == before
