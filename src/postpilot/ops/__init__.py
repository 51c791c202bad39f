"""What each command does, one module per command family (the CLI and the dashboard render
the results; nothing here prints).

- common.py: the progress store and the run lock every command shares, the operation errors;
- campaigns.py: `--campaign` lookup and `--list-campaigns` data;
- status.py: `--status` data; seed.py: `--seed-only`; reset.py: `--reset-day`;
- retry.py: `--retry-all-failed`; confirm.py: `--confirm` and `--unblock`;
- stop.py: `--stop-all`; transfer.py: `--export-csv` and `--import-progress`;
- run.py: `--run` (the runner imported on use) and its exit code.

The specification's names with their own return types live in postpilot/compat.py;
postpilot/operations.py re-exports everything for the imports that predate this package.
"""
