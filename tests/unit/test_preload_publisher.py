"""preload_publisher: a worker process imports its channel's module before its first pass,
and a channel that cannot load is left to build_publisher to report, as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postpilot.errors import ConfigError
from postpilot.publishers import build_publisher, preload_publisher


def test_a_custom_channel_module_is_imported_without_building_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The module the block names is imported; from_config is not called."""
    (tmp_path / "preload_channel.py").write_text(
        "BUILT = []\n"
        "class Channel:\n"
        "    @classmethod\n"
        "    def from_config(cls, block, root):\n"
        "        BUILT.append(block)\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "preload_channel", raising=False)
    preload_publisher({"type": "custom", "class": "preload_channel:Channel"})
    module = sys.modules["preload_channel"]
    assert module.BUILT == []


def test_a_channel_that_cannot_load_is_reported_by_its_build_not_by_the_preload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that fails at import, or a class that is missing: preload says nothing, and
    the build raises as it always has."""
    (tmp_path / "broken_channel.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    preload_publisher({"type": "custom", "class": "broken_channel:Channel"})
    preload_publisher({"type": "custom", "class": "no_such_module_here:Channel"})
    preload_publisher({"type": "custom"})
    with pytest.raises(ConfigError, match="no_such_module_here"):
        build_publisher({"type": "custom", "class": "no_such_module_here:Channel"}, tmp_path, "c")
    with pytest.raises(RuntimeError, match="boom"):
        build_publisher({"type": "custom", "class": "broken_channel:Channel"}, tmp_path, "c")


def test_a_builtin_channel_preloads_its_http_client() -> None:
    """A built-in API channel also imports the HTTP client its build would (in a fresh
    interpreter: this one may have imported it already)."""
    probe = (
        "import sys\n"
        "from postpilot.publishers import preload_publisher\n"
        "before = 'postpilot.publishers.http' in sys.modules\n"
        "preload_publisher({'type': 'webhook'})\n"
        "print(before, 'postpilot.publishers.http' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "True"]
