"""The help's text is argparse's own: the light formatter and constants of cli_parser.py change
only what --help imports, never what it prints."""

from __future__ import annotations

import argparse
import shutil

import pytest

from postpilot import cli_parser, paths


def test_state_file_named_in_the_help_is_the_legacy_default() -> None:
    """The legacy job source the help names is postpilot.paths.STATE_FILE."""
    assert cli_parser.STATE_FILE == paths.STATE_FILE


@pytest.mark.parametrize("columns", [None, "", "abc", "-4", "0", "57", "133"])
def test_terminal_columns_agree_with_shutil(
    monkeypatch: pytest.MonkeyPatch, columns: str | None
) -> None:
    """The help's width is what shutil.get_terminal_size() gives, for any COLUMNS."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert cli_parser.terminal_columns() == shutil.get_terminal_size().columns


@pytest.mark.parametrize("columns", ["60", "80", "140"])
def test_help_and_version_are_what_argparse_prints(
    monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    """--help and --version read the same as with argparse's RawDescriptionHelpFormatter."""
    monkeypatch.setenv("COLUMNS", columns)
    ours = cli_parser.build_parser()
    stock = cli_parser.build_parser()
    stock.formatter_class = argparse.RawDescriptionHelpFormatter
    assert ours.format_help() == stock.format_help()
    assert "POSTPILOT_HOME" in ours.format_help()
    version = next(a for a in ours._actions if isinstance(a, argparse._VersionAction))
    ours_v = ours._get_formatter()
    stock_v = stock._get_formatter()
    ours_v.add_text(version.version)
    stock_v.add_text(version.version)
    assert ours_v.format_help() == stock_v.format_help()
