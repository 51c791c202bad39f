"""heartbeat.Settled: a slot sleeping for lack of work wakes when another slot of its process
settles a job or the process stops, not at the end of its idle delay."""

from __future__ import annotations

import threading
import time

from postpilot.runner.heartbeat import Settled


def _sleep_in_thread(settled: Settled, since: int, stopping: threading.Event) -> list[float]:
    woke: list[float] = []

    def sleeper() -> None:
        start = time.monotonic()
        settled.wait(since, 120.0, stopping)
        woke.append(time.monotonic() - start)

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(0.05)
    return woke


def _assert_woke_early(woke: list[float]) -> None:
    """The sleeper returned, well before its 120 s timeout."""
    deadline = time.monotonic() + 60
    while not woke and time.monotonic() < deadline:
        time.sleep(0.01)
    assert woke
    assert woke[0] < 60


def test_a_settled_job_wakes_a_sleeping_slot() -> None:
    """bump() ends a 120 s sleep begun before it; the sleeper returns long before its timeout."""
    settled, stopping = Settled(), threading.Event()
    woke = _sleep_in_thread(settled, settled.generation, stopping)
    settled.bump()
    _assert_woke_early(woke)


def test_a_job_settled_before_the_sleep_is_not_missed() -> None:
    """A bump between reading the generation and sleeping makes the sleep return at once."""
    settled = Settled()
    since = settled.generation
    settled.bump()
    start = time.monotonic()
    settled.wait(since, 120.0, threading.Event())
    assert time.monotonic() - start < 60


def test_stopping_wakes_a_sleeping_slot() -> None:
    """A stopping process (stopping set, then bump) ends the sleep too."""
    settled, stopping = Settled(), threading.Event()
    woke = _sleep_in_thread(settled, settled.generation, stopping)
    stopping.set()
    settled.bump()
    _assert_woke_early(woke)
