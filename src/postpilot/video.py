"""The old import path of the video preflight.

It lives in postpilot/publishers/video.py, beside the channels whose limits it checks. This
module remains because the tests and the specification import `postpilot.video`; it
re-exports those names and holds no logic.
"""

from __future__ import annotations

from postpilot.publishers.video import VideoInfo, VideoLimits, preflight, read_header

__all__ = ["VideoInfo", "VideoLimits", "preflight", "read_header"]
