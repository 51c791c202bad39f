"""YouTube upload throughput and memory against the local fake, next to curl. Prints JSON.

    python bench/upload_bench.py [--size-mib 1024] [--chunk-mib 8] [--random]

Creates a video of --size-mib in a temp folder (sparse zeros, or random bytes with --random),
starts the fake YouTube server (tests/fakes/youtube.py, which hashes uploads as they stream and
keeps nothing), then:

- publisher: a child process uploads the file through YouTubePublisher (resumable protocol,
  --chunk-mib chunks streamed from disk); it reports its upload time and its own peak RSS
  (VmHWM from /proc/self/status, and ru_maxrss);
- curl: `curl -T <file>` of the same file to a fresh session URI of the same fake, in one PUT
  with `Content-Range: bytes 0-(N-1)/N` (the reference).

Targets (issue 4): peak RSS < 100 MB; publisher throughput >= 50% of curl's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from postpilot.credentials import CredentialStore  # noqa: E402 - after the sys.path set-up
from postpilot.jobs import Job  # noqa: E402
from postpilot.publishers.base import Account  # noqa: E402
from postpilot.publishers.http import HttpClient  # noqa: E402
from postpilot.publishers.youtube import YouTubePublisher  # noqa: E402
from tests.fakes.checkpoint import MemoryCheckpoint  # noqa: E402
from tests.fakes.mp4 import write_mp4  # noqa: E402
from tests.fakes.youtube import FakeYouTube  # noqa: E402

MIB = 1024 * 1024
ACCESS = "ya29.bench-access"
REFRESH = "1//bench-refresh"


def _vm_hwm_mb() -> float:
    """Peak resident set size of this process in MB (VmHWM), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(fake_url: str, creds: str, video: str, chunk_mib: int) -> int:
    """Upload once through the publisher; print timing and peak memory as JSON."""
    publisher = YouTubePublisher(
        credentials=CredentialStore(Path(creds)),
        api_base=fake_url,
        upload_base=f"{fake_url}/upload",
        token_url=f"{fake_url}/token",
        chunk_size=chunk_mib * MIB,
        backoff_seconds=0,
    )
    job = Job(job_id="bench", account="chan1", video_path=video, caption="Upload bench")
    start = time.perf_counter()
    published = publisher.publish(job, Account("chan1"), MemoryCheckpoint())
    seconds = time.perf_counter() - start
    publisher.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "video_id": published.remote_id,
                "peak_rss_mb": round(_vm_hwm_mb(), 1),
                "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )
    return 0


def _credentials(folder: Path) -> Path:
    path = folder / "credentials.json"
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    account = {
        "platform": "youtube",
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "expires_at": expires,
        "client_id": "bench",
        "client_secret": "bench-secret",
    }
    path.write_text(json.dumps({"accounts": {"chan1": account}}), encoding="utf-8")
    path.chmod(0o600)
    return path


def _session(fake: FakeYouTube, size: int) -> str:
    """A fresh upload session URI on the fake (what curl PUTs to)."""
    with HttpClient() as client:
        response = client.request(
            "POST",
            f"{fake.url}/upload/youtube/v3/videos",
            params={"uploadType": "resumable", "part": "snippet,status"},
            headers={
                "Authorization": f"Bearer {ACCESS}",
                "X-Upload-Content-Length": str(size),
                "X-Upload-Content-Type": "video/mp4",
            },
            json_body={"snippet": {"title": "curl reference"}, "status": {}},
        )
    return str(response.headers["location"])


def _curl(fake: FakeYouTube, video: Path, size: int) -> dict[str, float | int]:
    session = _session(fake, size)
    start = time.perf_counter()
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-T",
            str(video),
            "-H",
            f"Content-Range: bytes 0-{size - 1}/{size}",
            "-H",
            "Content-Type: video/mp4",
            "-H",
            "Expect:",
            session,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    return {"status": int(out.stdout.strip() or 0), "seconds": seconds}


def main() -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--random", action="store_true", help="random bytes instead of sparse")
    parser.add_argument("--child", nargs=4, metavar=("URL", "CREDS", "VIDEO", "CHUNK_MIB"))
    args = parser.parse_args()
    if args.child:
        url, creds, video, chunk = args.child
        return child(url, creds, video, int(chunk))
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory() as tmp, FakeYouTube() as fake:
        folder = Path(tmp)
        fake.add_account("chan1", REFRESH, ACCESS)
        video = write_mp4(folder / "bench.mp4", size, random_payload=args.random)
        creds = _credentials(folder)
        # Warm the page cache so neither side pays for the first disk read.
        subprocess.run(["cat", str(video)], check=True, stdout=subprocess.DEVNULL)
        curl = _curl(fake, video, size)
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                fake.url,
                str(creds),
                str(video),
                str(args.chunk_mib),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        publisher = json.loads(run.stdout.strip().splitlines()[-1])
        videos = fake.videos
        intact = len({v.sha256 for v in videos}) == 1 and all(v.size == size for v in videos)
    mb = size / 1e6
    pub_rate = mb / publisher["seconds"]
    curl_rate = mb / float(curl["seconds"])
    print(
        json.dumps(
            {
                "size_mib": args.size_mib,
                "payload": "random" if args.random else "sparse zeros",
                "chunk_mib": args.chunk_mib,
                "publisher": {
                    "seconds": round(publisher["seconds"], 3),
                    "mb_per_s": round(pub_rate, 1),
                    "peak_rss_mb": publisher["peak_rss_mb"],
                    "ru_maxrss_mb": publisher["ru_maxrss_mb"],
                },
                "curl": {
                    "seconds": round(float(curl["seconds"]), 3),
                    "mb_per_s": round(curl_rate, 1),
                    "http_status": curl["status"],
                },
                "throughput_vs_curl": round(pub_rate / curl_rate, 2),
                "videos_created": len(videos),
                "uploads_intact": intact,
                "targets": {
                    "peak_rss_under_100mb": publisher["peak_rss_mb"] < 100,
                    "throughput_at_least_half_of_curl": pub_rate >= 0.5 * curl_rate,
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
