"""Waiting for a platform to finish: read a status until it is final or a deadline passes.

The one loop of the channels that wait on the platform after an upload (TikTok's publish status
in publishers/tiktok.py, Instagram's container status in publishers/instagram.py). Each channel
gives what is its own: how to read the status (which may raise the channel's error for a
failed or unreadable one), when it is final, and the error for a status still not final at the
deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from postpilot.publishers.errors import PublishError

T = TypeVar("T")


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    interval: float,
    timeout: float,
    timed_out: Callable[[T], PublishError],
) -> T:
    """The first answer of `fetch()` that is `done`, read every `interval` seconds. An answer
    read once `timeout` seconds have passed and still not done raises `timed_out(answer)`;
    whatever `fetch` raises goes to the caller."""
    deadline = time.monotonic() + timeout
    while True:
        answer = fetch()
        if done(answer):
            return answer
        if time.monotonic() >= deadline:
            raise timed_out(answer)
        time.sleep(interval)
