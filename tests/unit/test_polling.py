"""The channels' one status-polling loop (postpilot.publishers.polling.poll_until)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from postpilot.publishers.errors import OutcomeUnknown, PermanentError, PublishError
from postpilot.publishers.polling import poll_until


def _reader(*answers: str) -> tuple[list[str], Callable[[], str]]:
    reads: list[str] = []
    pending = list(answers)

    def fetch() -> str:
        answer = pending.pop(0) if len(pending) > 1 else pending[0]
        reads.append(answer)
        return answer

    return reads, fetch


def _timed_out(answer: str) -> PublishError:
    return OutcomeUnknown(f"still {answer}")


def test_reads_until_an_answer_is_done() -> None:
    """Not-done answers are read again until one is done; that answer is returned."""
    reads, fetch = _reader("PROCESSING", "PROCESSING", "DONE")
    answer = poll_until(
        fetch,
        lambda a: a == "DONE",
        interval=0,
        timeout=3600,
        timed_out=_timed_out,
    )
    assert (answer, reads) == ("DONE", ["PROCESSING", "PROCESSING", "DONE"])


def test_a_done_first_answer_is_read_once_even_past_the_deadline() -> None:
    """The deadline is checked only after an answer that is not done."""
    reads, fetch = _reader("DONE")
    assert (
        poll_until(fetch, lambda a: a == "DONE", interval=0, timeout=0, timed_out=_timed_out)
        == "DONE"
    )
    assert reads == ["DONE"]


def test_past_the_deadline_the_last_answer_makes_the_error() -> None:
    """A not-done answer read after the deadline raises timed_out(that answer)."""
    _reads, fetch = _reader("PROCESSING")
    with pytest.raises(OutcomeUnknown, match="still PROCESSING"):
        poll_until(fetch, lambda a: a == "DONE", interval=0, timeout=0, timed_out=_timed_out)


def test_an_error_of_the_read_goes_to_the_caller() -> None:
    """What fetch raises (a channel's failed status) ends the polling unchanged."""

    def fetch() -> str:
        raise PermanentError("status ERROR")

    with pytest.raises(PermanentError, match="status ERROR"):
        poll_until(fetch, lambda a: True, interval=0, timeout=3600, timed_out=_timed_out)
