"""File-system errors in the operator's words: the path and the fix, never a bare errno."""

from __future__ import annotations

import errno

import pytest

from postpilot.cli import _os_error_message


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.EACCES, "check the permissions of /p/progress.db"),
        (errno.EROFS, "/p/progress.db is on a read-only file system: point POSTPILOT_HOME"),
        (errno.ENOSPC, "the disk holding /p/progress.db is full: free space"),
    ],
)
def test_os_errors_name_the_path_and_the_fix(code: int, fix: str) -> None:
    """Permission, read-only and disk-full errors say which file and what to do."""
    message = _os_error_message(OSError(code, "reason", "/p/progress.db"))
    head, hint = message.splitlines()
    assert head == "reason: /p/progress.db"
    assert fix in hint


def test_other_os_errors_keep_their_reason_and_path() -> None:
    """An errno without a known fix still names the path."""
    assert _os_error_message(OSError(errno.EIO, "I/O error", "/p/x")) == "I/O error: /p/x"
