"""Start-up: the command line imports only what the chosen action needs (no timing here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.helpers import copy_examples

REPO = Path(__file__).resolve().parents[2]
#: What `--help` and `--version` may import of postpilot: the entry point and the parser.
PARSER_MODULES = {
    "postpilot",
    "postpilot.__main__",
    "postpilot.cli",
    "postpilot.cli_errors",
    "postpilot.cli_parser",
    "postpilot.env_help",
    "postpilot.serve_flags",
}
HEAVY = ("pydantic", "pydantic_settings", "rich", "psycopg", "psycopg_pool", "httpx2")

#: Runs the console entry point in a fresh interpreter, then writes what it had imported.
PROBE = """
import json, os, runpy, sys
sys.argv = ["postpilot", *json.loads(os.environ["PROBE_ARGS"])]
try:
    runpy.run_module("postpilot", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
loader = sys.modules.get("pydantic.plugin._loader")
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({
        "code": code,
        "modules": sorted(sys.modules),
        "plugins_scanned": loader is not None and loader._plugins is not None,
    }, out)
"""


def probe(tmp_path: Path, *args: str, home: Path | None = None) -> dict[str, object]:
    """Run `postpilot ARGS` in a subprocess; its exit code and the modules it imported."""
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTPILOT_", "PYDANTIC_"))}
    env.update(
        PROBE_ARGS=json.dumps(list(args)),
        PROBE_OUT=str(out),
        POSTPILOT_HOME=str(home or tmp_path),
        PYTHONPATH=str(REPO),
    )
    subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, check=True, timeout=120
    )
    result: dict[str, object] = json.loads(out.read_text())
    return result


def heavy(modules: object) -> list[str]:
    """The heavy top-level packages among the imported modules."""
    assert isinstance(modules, list)
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_library(tmp_path: Path, flag: str) -> None:
    """--help and --version exit 0 without importing pydantic, rich, psycopg or httpx2."""
    result = probe(tmp_path, flag)
    assert result["code"] == 0
    assert heavy(result["modules"]) == []
    modules = result["modules"]
    assert isinstance(modules, list)
    # The parser and its constants, nothing else of postpilot (no config, store, settings).
    assert {m for m in modules if m.startswith("postpilot")} <= PARSER_MODULES


def test_status_imports_neither_channels_nor_other_stores(tmp_path: Path) -> None:
    """--status on the demo (an embedded store) loads no channel, no PostgreSQL driver, neither
    filelock nor pydantic, and never scans installed packages for pydantic plugins."""
    copy_examples(tmp_path, "demo")
    result = probe(tmp_path, "--campaign", "demo", "--status", "--json")
    assert result["code"] == 0
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "psycopg" not in heavy(modules)
    assert "httpx2" not in heavy(modules)
    assert "filelock" not in {m.split(".")[0] for m in modules}  # the lock is probed with flock
    # The demo's campaign.json and environment are plain: read without pydantic.
    assert "pydantic" not in heavy(modules)
    assert not [
        m
        for m in modules
        if m.startswith("postpilot.publishers.") and m != "postpilot.publishers.base"
    ]
    assert result["plugins_scanned"] is False


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["piped", "json"])
def test_status_not_drawn_on_a_terminal_imports_no_rich(
    tmp_path: Path, json_flag: list[str]
) -> None:
    """--status into a pipe (plain text) and --status --json print without importing rich or
    httpx2 and without scanning installed packages for pydantic plugins."""
    copy_examples(tmp_path, "demo")
    result = probe(tmp_path, "--campaign", "demo", "--status", *json_flag)
    assert result["code"] == 0
    modules = result["modules"]
    assert isinstance(modules, list)
    assert "rich" not in heavy(modules)
    assert "httpx2" not in heavy(modules)
    assert result["plugins_scanned"] is False
    if not json_flag:
        assert "postpilot.status_report" in modules  # it did draw the status, as plain text
