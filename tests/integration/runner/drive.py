"""Runs one campaign the way the CLI does, for runner tests that need a separate process.

    python -m tests.integration.runner.drive CAMPAIGN_DIR WORKERS [MAX_PASSES]

Prints the results dict as JSON on stdout and exits with its exit_code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from postpilot.campaign import CampaignConfig
from postpilot.config import PostingContext, RetryConfig
from postpilot.runner.orchestrator import run_parallel_posting


def main() -> int:
    """Run the campaign and report."""
    folder, workers = Path(sys.argv[1]), int(sys.argv[2])
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ctx = PostingContext.from_campaign(CampaignConfig.from_folder(folder))
    results = run_parallel_posting(
        ctx, num_workers=workers, retry_config=RetryConfig(max_passes=passes, retry_delay_seconds=0)
    )
    print(json.dumps(results, default=str))
    return int(results["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
