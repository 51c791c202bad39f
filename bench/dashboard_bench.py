"""Dashboard latency: pages (first byte, full load) and the JSON API under 20 concurrent
clients. Prints JSON; not a test.

    python bench/dashboard_bench.py [--campaigns 10] [--big-jobs 100000] [--clients 20]
                                    [--seconds 30]

Set-up: a project with N small campaigns (120 jobs each) and one campaign of --big-jobs jobs
(60% success, 5% failed, 1% unconfirmed, the rest pending, over 30 days and 50 accounts),
written through the real SQLite store. The dashboard runs as `postpilot --serve
--dashboard-only` in its own process on 127.0.0.1, like a user starts it.

Pages: "first byte" is the time to the response headers of the HTML; "full load" adds what
the page's script then fetches (stylesheet, script, favicon, and its API calls: the overview;
or the campaign, its first page of jobs and the chart), fetched in the page's order on one
keep-alive connection. Each is measured cold (the status cache expired: 1.2 s since the last
request) and warm. Load: --clients threads, each with its own connection, loop for --seconds
over the API calls the pages make (overview, campaign, jobs pages at random offsets, filters
and searches, status), recording every latency and every non-200 answer.

References measured in the same run, on the same server and connections: a static file
(/static/style.css) and a trivial API call (/api/session: authentication, routing, JSON), i.e.
what the server, HTTP and the client cost without any postpilot work; the machine's load
average is printed before and after (the machine may be shared).
Targets: page < 300 ms, API p99 < 200 ms, no error under load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from postpilot.jobs import Job, JobStatus  # noqa: E402 - after the sys.path set-up above
from postpilot.store import open_store  # noqa: E402
from tests.integration.runner.campaigns import context, make_campaign  # noqa: E402

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def _jobs(name: str, n: int, accounts: int, days: int) -> list[Job]:
    rng = random.Random(name)
    jobs = []
    for i in range(n):
        roll = rng.random()
        status = (
            JobStatus.SUCCESS
            if roll < 0.60
            else JobStatus.FAILED
            if roll < 0.65
            else JobStatus.UNCONFIRMED
            if roll < 0.66
            else JobStatus.PENDING
        )
        done = START + timedelta(days=i % days, minutes=i % 600)
        finished = status in (JobStatus.SUCCESS, JobStatus.FAILED)
        jobs.append(
            Job(
                job_id=f"{name}-v{i:06d}.mp4_{name}",
                account=f"{name}-acct{i % accounts:02d}",
                video_path=f"/videos/{name}/v{i:06d}.mp4",
                caption=f"caption {i} of {name} #launch",
                status=status,
                seq=i + 1,
                claimed_at=done if status is not JobStatus.PENDING else None,
                completed_at=done if finished else None,
                error="platform said: 503 upstream\nhint: retried" if roll < 0.66 else "",
                error_type="server_error" if status == JobStatus.FAILED else "",
            )
        )
    return jobs


def build_project(root: Path, campaigns: int, big_jobs: int) -> None:
    """The benchmark's campaigns, written through the real store."""
    specs = [(f"c{i:02d}", 120, 6, 5) for i in range(campaigns)] + [("big", big_jobs, 50, 30)]
    for name, n, accounts, days in specs:
        folder = make_campaign(root, name, [f"{name}-acct{a:02d}" for a in range(accounts)], 1)
        store = open_store(context(folder))
        try:
            store.insert_jobs(_jobs(name, n, accounts, days))
        finally:
            store.close()


def start_server(root: Path) -> tuple[subprocess.Popen[str], str, str]:
    """`postpilot --serve --dashboard-only --port 0`; (process, base URL, token)."""
    env = dict(os.environ, POSTPILOT_HOME=str(root), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "postpilot", "--serve", "--dashboard-only", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().rsplit(" ", 1)[1].strip().rstrip("/")
    proc.stdout.readline()  # the login link
    token = (root / ".postpilot" / "serve.token").read_text(encoding="utf-8").strip()
    return proc, url, token


PAGES = {
    "overview": [
        "/",
        "/static/style.css",
        "/static/app.js",
        "/static/favicon.svg",
        "/api/overview",
    ],
    "campaign_100k": [
        "/campaigns/big",
        "/static/style.css",
        "/static/app.js",
        "/static/favicon.svg",
        "/api/campaigns/big",
        "/api/campaigns/big/jobs?offset=0&limit=50",
        "/api/campaigns/big/chart.svg",
    ],
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def measure_page(http: httpx.Client, paths: list[str], cold: bool) -> tuple[float, float]:
    """(first byte, full load) of one page view, in seconds."""
    if cold:
        time.sleep(1.2)
    start = time.perf_counter()
    with http.stream("GET", paths[0]) as answer:
        first_byte = time.perf_counter() - start
        answer.read()
        assert answer.status_code == 200, (paths[0], answer.status_code)
    for path in paths[1:]:
        assert http.get(path).status_code == 200, path
    return first_byte, time.perf_counter() - start


def pages(url: str, token: str, runs: int) -> dict[str, Any]:
    """Median and worst of `runs` cold and warm views of each page."""
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for name, paths in PAGES.items():
            for cold in (True, False):
                views = [measure_page(http, paths, cold) for _ in range(runs)]
                firsts, fulls = [v[0] for v in views], [v[1] for v in views]
                out[f"{name}_{'cold' if cold else 'warm'}"] = {
                    "first_byte_ms_median": _ms(statistics.median(firsts)),
                    "full_load_ms_median": _ms(statistics.median(fulls)),
                    "full_load_ms_max": _ms(max(fulls)),
                }
        reference = [measure_page(http, ["/static/style.css"], False)[1] for _ in range(runs)]
        out["reference_static_file_ms_median"] = _ms(statistics.median(reference))
    return out


def _api_paths(rng: random.Random, big_jobs: int, campaigns: int) -> str:
    choice = rng.randrange(8)
    if choice == 0:
        return "/api/overview"
    if choice == 1:
        return "/api/campaigns/big"
    if choice in (2, 3):
        return f"/api/campaigns/big/jobs?offset={rng.randrange(0, big_jobs, 50)}&limit=50"
    if choice == 4:
        return "/api/campaigns/big/jobs?status=failed&offset=0&limit=50"
    if choice == 5:
        return f"/api/campaigns/big/jobs?q=v0{rng.randrange(100):02d}&limit=50"
    if choice == 6:
        return f"/api/campaigns/c{rng.randrange(campaigns):02d}/status"
    return f"/api/campaigns/big/jobs?account=big-acct{rng.randrange(50):02d}&limit=50"


def _kind(path: str) -> str:
    """What a request asks for, for the per-kind percentiles (`jobs?q`, `status`, ...)."""
    base, _, query = path.partition("?")
    name = base.rsplit("/", 1)[-1] if base.count("/") > 3 else base
    keys = [
        part.split("=")[0]
        for part in query.split("&")
        if part and not part.startswith(("offset", "limit"))
    ]
    return name + (f"?{','.join(keys)}" if keys else "")


def load(url: str, token: str, clients: int, seconds: float, paths: Any) -> dict[str, Any]:
    """`clients` threads hammering for `seconds`: latency percentiles and errors."""
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        rng = random.Random(index)
        mine: list[float] = []
        kinds: dict[str, list[float]] = {}
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            while time.monotonic() < deadline:
                path = paths(rng)
                start = time.perf_counter()
                try:
                    answer = http.get(path)
                    answer.read()
                    if answer.status_code != 200:
                        with lock:
                            errors.append(f"{answer.status_code} {path}")
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__} {path}")
                mine.append(time.perf_counter() - start)
                kinds.setdefault(_kind(path), []).append(mine[-1])
        with lock:
            latencies.extend(mine)
            for kind, values in kinds.items():
                by_kind.setdefault(kind, []).extend(values)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return _ms(ordered[min(len(ordered) - 1, int(p * len(ordered)))])

    return {
        "requests": len(ordered),
        "requests_per_second": round(len(ordered) / seconds, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": _ms(ordered[-1]),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p99_ms_by_kind": {
            kind: _ms(sorted(v)[min(len(v) - 1, int(0.99 * len(v)))])
            for kind, v in sorted(by_kind.items())
        },
    }


def main() -> None:
    """Build the project, start the dashboard, measure, print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--big-jobs", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["POSTPILOT_HOME"] = str(root)
        started = time.perf_counter()
        build_project(root, args.campaigns, args.big_jobs)
        built = time.perf_counter() - started
        proc, url, token = start_server(root)
        try:
            page_figures = pages(url, token, args.runs)
            api = load(
                url,
                token,
                args.clients,
                args.seconds,
                lambda rng: _api_paths(rng, args.big_jobs, args.campaigns),
            )
            reference = load(url, token, args.clients, 5.0, lambda _rng: "/static/style.css")
            # The floor for the API: the same stack (auth, routing, JSON) with no postpilot work.
            trivial = load(url, token, args.clients, 10.0, lambda _rng: "/api/session")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
    print(
        json.dumps(
            {
                "cpu_count": os.cpu_count(),
                "campaigns": args.campaigns + 1,
                "big_campaign_jobs": args.big_jobs,
                "setup_seconds": round(built, 1),
                "pages": page_figures,
                "api_under_load": {"clients": args.clients, "seconds": args.seconds, **api},
                "reference_static_file_under_load": reference,
                "reference_trivial_api_under_load": trivial,
                "api_p99_over_trivial_api_p99": round(api["p99_ms"] / trivial["p99_ms"], 2),
                "load_average_before": load_before,
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "targets": {"page_ms": 300, "api_p99_ms": 200, "errors": 0},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
