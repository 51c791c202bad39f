"""A worker stand-in for the kill test: uploads one video through YouTubePublisher.

    python -m tests.integration.publishers.youtube_child FAKE_URL CREDS CHECKPOINT VIDEO

The checkpoint is a JSON file (tests.fakes.checkpoint.FileCheckpoint) so the session URI
survives a SIGKILL of this process. Prints the published video id on success.
"""

from __future__ import annotations

import sys
from pathlib import Path

from postpilot.credentials import CredentialStore
from postpilot.jobs import Job
from postpilot.publishers.base import Account
from postpilot.publishers.youtube import YouTubePublisher
from tests.fakes.checkpoint import FileCheckpoint


def build(fake_url: str, creds: Path) -> YouTubePublisher:
    """The publisher pointed at the fake, with small chunks and no backoff."""
    return YouTubePublisher(
        credentials=CredentialStore(creds),
        api_base=fake_url,
        upload_base=f"{fake_url}/upload",
        token_url=f"{fake_url}/token",
        chunk_size=256 * 1024,
        backoff_seconds=0,
        timeout=30,
    )


def job_for(video: Path) -> Job:
    """The job both runs publish."""
    return Job(job_id="kill-1", account="chan1", video_path=str(video), caption="Killed once")


def main(argv: list[str]) -> int:
    """Publish and print the video id."""
    fake_url, creds, checkpoint, video = argv
    publisher = build(fake_url, Path(creds))
    try:
        published = publisher.publish(
            job_for(Path(video)), Account("chan1"), FileCheckpoint(Path(checkpoint))
        )
    finally:
        publisher.close()
    print(published.remote_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
