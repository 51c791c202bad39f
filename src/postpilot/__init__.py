"""postpilot: campaign publishing orchestrator (the command line is postpilot.cli)."""

from __future__ import annotations

#: The one place the version is written (pyproject.toml reads it from here).
__version__ = "0.1.0"
