"""Helpers for driving the real `postpilot` command line, in a subprocess or in-process."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from postpilot.cli import run_cli
from tests.fakes.mp4 import mp4_bytes

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@dataclass(frozen=True)
class Result:
    """What one command printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as exactly one JSON value."""
        return json.loads(self.out)


def run_postpilot(root: Path, *args: str, cwd: Path | None = None, **env: str) -> Result:
    """Run `python -m postpilot ARGS` (the console entry) with POSTPILOT_HOME=root."""
    environ = dict(os.environ)
    environ.update({"POSTPILOT_HOME": str(root), "PYTHONPATH": str(REPO), "COLUMNS": "200"})
    environ.pop("POSTPILOT_STORE", None)
    environ.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "postpilot", *args],
        cwd=cwd or root,
        env=environ,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_inprocess(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """Run the same entry point in this process (POSTPILOT_HOME is the test's project root)."""
    capsys.readouterr()
    code = run_cli(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


#: A campaign's inputs: anything else in an example folder is what a run left there.
CAMPAIGN_INPUTS = ("campaign.json", "accounts.txt", "captions.csv", "videos")


def copy_examples(root: Path, *names: str) -> None:
    """Copy the inputs of examples/campaigns/<name> (all by default) under <root>/campaigns/.

    Only the inputs: running the README's demo command first leaves a store, logs and a lock
    in the example folder, and a copied store would make these tests start mid-campaign."""
    source = EXAMPLES / "campaigns"
    for folder in sorted(source.iterdir()):
        if folder.is_dir() and (not names or folder.name in names):
            target = root / "campaigns" / folder.name
            target.mkdir(parents=True)
            for name in CAMPAIGN_INPUTS:
                if (folder / name).is_dir():
                    shutil.copytree(folder / name, target / name)
                elif (folder / name).is_file():
                    shutil.copy2(folder / name, target / name)


def copy_legacy_example(root: Path) -> None:
    """Copy examples/legacy (accounts.txt, scheduler_state.json, videos) into the root."""
    shutil.copytree(EXAMPLES / "legacy", root, dirs_exist_ok=True)


def make_campaign(
    root: Path,
    name: str,
    accounts: list[str],
    videos: int,
    settings: dict[str, Any] | None = None,
) -> Path:
    """A small campaign under <root>/campaigns/<name> with distinct videos and captions."""
    folder = root / "campaigns" / name
    (folder / "videos").mkdir(parents=True)
    (folder / "accounts.txt").write_text("\n".join(accounts) + "\n", encoding="utf-8")
    rows = ["filename,post_caption"]
    for i in range(videos):
        (folder / "videos" / f"{name}-{i:03d}.mp4").write_bytes(
            mp4_bytes(payload=f"{name} video {i}".encode() * 16)
        )
        rows.append(f'{name}-{i:03d}.mp4,"caption {i}\nline two 🎬"')
    (folder / "captions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if settings is not None:
        (folder / "campaign.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and folder under root with a hash of its content (folders: "dir")."""
    digest: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            digest[rel] = "dir"
        else:
            digest[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def assert_no_traceback(result: Result) -> None:
    """A failing command explains itself; it never dumps a Python traceback."""
    assert "Traceback" not in result.err
    assert "Traceback" not in result.out
