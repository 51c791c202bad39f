"""`--export-csv` and `--import-progress`: the jobs as the prior progress CSV, both ways."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postpilot.config import Config, PostingContext
from postpilot.errors import PostpilotError
from postpilot.ops.common import (
    MAX_NAMED,
    OperationFailed,
    OpResult,
    open_ctx,
    progress_exists,
    refuse_if_running,
    require_progress,
    run_lock,
    zero_counts,
)


@dataclass(frozen=True, kw_only=True)
class ExportResult(OpResult):
    """How many jobs were written, and where."""

    exported: int
    path: Path

    def fields_json(self) -> dict[str, Any]:
        """exported, path."""
        return {"exported": self.exported, "path": str(self.path)}


@dataclass(frozen=True, kw_only=True)
class ImportResult(OpResult):
    """What an import added, left alone, and warned about."""

    imported: int
    already_present: int
    rows: int
    unknown_columns: list[str]
    warnings: list[str]
    accounts_not_in_campaign: list[str]
    counts: dict[str, int]

    def fields_json(self) -> dict[str, Any]:
        """imported, already_present, rows, unknown_columns, warnings,
        accounts_not_in_campaign, counts."""
        return {
            "imported": self.imported,
            "already_present": self.already_present,
            "rows": self.rows,
            "unknown_columns": list(self.unknown_columns),
            "warnings": list(self.warnings),
            "accounts_not_in_campaign": self.accounts_not_in_campaign,
            "counts": self.counts,
        }


def _protected_files(ctx: PostingContext) -> dict[Path, str]:
    """Files an export must never replace, even with --force: inputs, stores, credentials."""
    from postpilot.credentials import default_path

    named: dict[Path, str] = {}

    def add(path: str | Path | None, what: str, sidecars: bool = False) -> None:
        if path:
            base = Path(path).resolve()
            named[base] = what
            if sidecars:
                for suffix in ("-wal", "-shm", "-journal"):
                    named[base.with_name(base.name + suffix)] = what

    add(ctx.accounts_file, "the accounts file")
    add(ctx.captions_file, "the captions file")
    add(ctx.state_file, "the scheduler state file")
    add(ctx.progress_file, f"the job store of {ctx.describe()}", sidecars=True)
    add(ctx.ledger_file, "the project ledger", sidecars=True)
    add(default_path(Path(ctx.project_root)), "the credentials file")
    add(ctx.base_dir / Config.CAMPAIGN_JSON, "campaign.json")
    add(Path(ctx.project_root) / Config.PROJECT_JSON, "the project settings")
    return named


def export_jobs(ctx: PostingContext, path: str | Path, *, force: bool = False) -> ExportResult:
    """Write the jobs as the prior 17-column progress CSV (LF line ends, as the prior files).

    Never over a campaign input, a store, the ledger or credentials; over another existing
    file only with `force`."""
    from postpilot.store.csv_io import export_csv

    desc = ctx.describe()
    target = Path(path).expanduser().resolve()
    require_progress(ctx)
    if target.is_dir():
        raise OperationFailed(f"--export-csv {path}: is a folder; give a file name")
    if not target.parent.is_dir():
        raise OperationFailed(f"--export-csv {path}: folder {target.parent} does not exist")
    protected = _protected_files(ctx)
    if target in protected:
        raise OperationFailed(
            f"--export-csv {path}: that is {protected[target]}; an export never replaces it\n"
            "  Give a new file name, e.g. progress_export.csv"
        )
    if ctx.videos_dir and target.is_relative_to(Path(ctx.videos_dir).resolve()):
        raise OperationFailed(
            f"--export-csv {path}: inside the campaign's videos folder; write it elsewhere"
        )
    if target.exists() and not force:
        raise OperationFailed(
            f"--export-csv {path}: the file exists\n"
            "  Give a new file name, or add --force to replace it"
        )
    with open_ctx(ctx) as store:
        count = export_csv(store.list_jobs(), target, videos_dir=ctx.videos_dir)
    from postpilot.migration.prior import record_imported

    # Its rows are this store's own: an export next to the campaign never blocks seeding.
    record_imported(Path(ctx.project_root), [target])
    message = f"Exported {count} jobs of {desc} to {target}"
    return ExportResult(
        campaign=ctx.campaign_name,
        context=desc,
        exported=count,
        path=target,
        message=message,
        messages=[message],
    )


def import_jobs(ctx: PostingContext, path: str | Path) -> ImportResult:
    """Add the jobs of a prior progress CSV (13 to 17 columns) whose ids are not in the store;
    unknown columns and suspicious rows are reported, never silently dropped."""
    from postpilot.store.csv_io import import_csv

    desc = ctx.describe()
    source = Path(path).expanduser()
    if not source.is_file():
        raise OperationFailed(f"--import-progress {path}: file not found")
    from postpilot.migration.prior import record_imported

    # Validates the whole file before any write; naive times are the campaign's local time.
    parsed = import_csv(source, ctx.store_name, timezone=ctx.timezone, videos_dir=ctx.videos_dir)
    try:
        accounts = set(ctx.get_accounts())
    except (PostpilotError, OSError):
        accounts = set()
    foreign = sorted({j.account for j in parsed.jobs if j.account and j.account not in accounts})
    refuse_if_running(ctx, "import jobs")
    if not parsed.jobs and not progress_exists(ctx):
        created, counts = 0, zero_counts()  # a header-only file creates no store
    else:
        with open_ctx(ctx) as store, run_lock(ctx, "import jobs"):
            created = store.insert_jobs(parsed.jobs)
            counts = store.counts()
    record_imported(Path(ctx.project_root), [source])
    existing = len(parsed.jobs) - created
    message = f"Imported {created} jobs into {desc} from {source}"
    messages = [message]
    if existing:
        messages.append(f"  {existing} jobs were already in the store and left unchanged")
    if parsed.unknown_columns:
        messages.append(
            "  Unknown columns (their values were not imported): "
            + ", ".join(parsed.unknown_columns)
        )
    messages += [f"  Warning: {w}" for w in parsed.warnings[:MAX_NAMED]]
    if len(parsed.warnings) > MAX_NAMED:
        messages.append(f"  ... and {len(parsed.warnings) - MAX_NAMED} more warnings (see --json)")
    if foreign:
        messages.append(
            f"  {len(foreign)} accounts are not in {ctx.accounts_file}; their jobs will not "
            f"run: {', '.join(foreign[:MAX_NAMED])}"
        )
    return ImportResult(
        campaign=ctx.campaign_name,
        context=desc,
        imported=created,
        already_present=existing,
        rows=len(parsed.jobs),
        unknown_columns=list(parsed.unknown_columns),
        warnings=list(parsed.warnings),
        accounts_not_in_campaign=foreign,
        counts=counts,
        message=message,
        messages=messages,
    )
