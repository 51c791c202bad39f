"""The --migrate command: plan (postpilot.migration.migrate), then write, then report.

Writes only into the current project, each file only when it is absent, while holding the
run lock of each store it fills (a running orchestrator refuses the migration).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from postpilot.campaign import CampaignConfig
from postpilot.config import Config, PostingContext
from postpilot.errors import ConflictError
from postpilot.migration import prior
from postpilot.migration.history import FileReport
from postpilot.migration.migrate import (
    SHOWN,
    MigrationRefused,
    Target,
    _parse_path_map,
    plan_migration,
)
from postpilot.store.base import HistoricPost, SupportsHistory


def _check_roots(source: Path, project: Path) -> None:
    if not source.is_dir():
        raise MigrationRefused(f"--migrate {source}: not a folder")
    if source == project:
        raise MigrationRefused(
            f"--migrate {source}: that is this project's own root; the prior project is "
            "never changed, so migrate into a new folder:\n"
            f"  mkdir ../postpilot-project && cd ../postpilot-project && "
            f"postpilot --migrate {source}"
        )
    markers = [
        source / Config.CAMPAIGNS_DIR,
        source / prior.LEGACY_PROGRESS,
        source / prior.PRIOR_LEDGER_FILE,
        source / Config.ACCOUNTS_FILE,
        *(source / n for n in prior.PRIOR_STATE_FILES),
    ]
    if not any(m.exists() for m in markers):
        raise MigrationRefused(
            f"--migrate {source}: not a prior project root (none of campaigns/, "
            f"{prior.LEGACY_PROGRESS}, {prior.PRIOR_LEDGER_FILE}, accounts.txt, "
            f"{' or '.join(prior.PRIOR_STATE_FILES)} is there)"
        )


def _context(target: Target, project: Path, settings: Any) -> PostingContext:
    if target.folder is not None:
        return PostingContext.from_campaign(CampaignConfig.from_folder(target.folder, project))
    return PostingContext.legacy(
        project_root=str(project),
        publisher=settings.publisher,
        store_dsn=settings.store,
        timezone=settings.timezone,
        max_attempts=settings.max_attempts,
        max_posts_per_account_per_day=settings.max_posts_per_account_per_day,
    )


def _write_files(target: Target) -> list[str]:
    made: list[str] = []
    for dest, src in target.copies.items():
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            made.append(str(dest))
    for dest, text in target.writes.items():
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(dest)
            made.append(str(dest))
    return made


def _fill(ctx: PostingContext, target: Target, extra: Sequence[HistoricPost]) -> tuple[int, int]:
    from postpilot.runner.locks import RunLock
    from postpilot.store import open_store

    store = open_store(ctx)
    lock = RunLock(ctx)
    try:
        try:
            lock.acquire()
        except ConflictError as exc:
            raise ConflictError(
                f"Cannot migrate into {ctx.describe()} while an orchestrator is running: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        try:
            jobs = store.insert_jobs(target.plan.jobs) if target.plan.jobs else 0
            posts = 0
            if isinstance(store, SupportsHistory):
                posts = store.record_history([*target.plan.posts, *extra])
        finally:
            lock.release()
    finally:
        store.close()
    return jobs, posts


def _file_lines(report: FileReport) -> list[str]:
    head = (
        f"    {Path(report.path).name}: {report.rows} rows: {report.imported} imported, "
        f"{report.superseded} superseded, {report.left_to_seeding} left to seeding, "
        f"{report.not_imported} not imported; {report.posts} posts"
    )
    lines = [head]
    if report.unknown_columns:
        lines.append(f"      unknown columns (not imported): {', '.join(report.unknown_columns)}")
    lines += [f"      {d}" for d in report.details[:SHOWN]]
    if len(report.details) > SHOWN:
        lines.append(f"      ... and {len(report.details) - SHOWN} more (see --json)")
    return lines


def migrate_data(
    source: str | Path, *, dry_run: bool = False, path_map: Sequence[str] = ()
) -> dict[str, Any]:
    """Migrate the prior project at `source` into the current project (POSTPILOT_HOME)."""
    from postpilot.project_settings import load_project_settings

    project = Config.project_root()
    src = Path(source).expanduser().resolve()
    _check_roots(src, project)
    mapping = _parse_path_map(list(path_map))
    settings = load_project_settings(project)
    targets, refused, ledger = plan_migration(src, project, mapping, settings.timezone)
    verb = "Would migrate" if dry_run else "Migrated"
    messages = [f"{verb} {src} into {project}" + (" (dry run: nothing written)" if dry_run else "")]
    campaigns: list[dict[str, Any]] = []
    extra = list(ledger.get("posts", []))
    imported_files: list[Path] = []
    for target in targets:
        plan, report = target.plan, dict(target.report)
        report["files"] = [f.to_json() for f in plan.files.values()]
        report["jobs_planned"] = len(plan.jobs)
        report["posts_planned"] = len({(p.account, p.source) for p in plan.posts})
        report["unresolved_videos"] = plan.unresolved
        report["jobs_imported"] = report["posts_recorded"] = 0
        counts: dict[str, int] = {}
        for job in plan.jobs:
            counts[str(job.status)] = counts.get(str(job.status), 0) + 1
        report["jobs_by_status"] = counts
        if not dry_run:
            report["created_files"] = _write_files(target)
            ctx = _context(target, project, settings)
            if plan.jobs or plan.posts or extra:
                jobs, posts = _fill(ctx, target, extra)
                extra = []
                report["jobs_imported"], report["posts_recorded"] = jobs, posts
        imported_files += [
            Path(f.path)
            for f in plan.files.values()
            if not (f.details and f.details[0].startswith("refused"))
        ]
        campaigns.append(report)
        label = f"campaign '{plan.store}'" if target.folder is not None else "legacy mode"
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"
        messages.append(
            f"  {label}: {len(plan.jobs)} jobs ({by_status}), "
            f"{report['posts_planned']} prior posts for the ledger"
            + ("" if dry_run else f"; {report['jobs_imported']} jobs new in the store")
        )
        messages += [f"    {line}" for line in report.get("translations", [])]
        if report.get("state_file"):
            messages.append(f"    scheduler state: {report['state_file']}")
        for freport in plan.files.values():
            messages += _file_lines(freport)
        if plan.unresolved:
            messages.append(f"    {len(plan.unresolved)} video paths did not resolve:")
            messages += [f"      {u}" for u in plan.unresolved[:SHOWN]]
            if len(plan.unresolved) > SHOWN:
                messages.append(f"      ... and {len(plan.unresolved) - SHOWN} more (see --json)")
    for item in refused:
        campaigns.append(item)
        messages.append(f"  {Path(item['folder']).name}: refused: {item['refused']}")
    ledger_json: dict[str, Any] | None = None
    if ledger:
        lreport: FileReport = ledger["report"]
        ledger_json = {**lreport.to_json(), "comment_lines": ledger["comment_lines"]}
        messages += _file_lines(lreport)
        if extra and not dry_run:
            # No store took them (no campaign, no legacy files): the legacy store does.
            only = Target(plan=_empty_plan(settings.timezone))
            _fill(_context(only, project, settings), only, extra)
    if not dry_run:
        prior.record_imported(project, [p for p in imported_files if p.suffix == ".csv"])
        messages.append("  Next: postpilot --list-campaigns, then --campaign NAME --run")
    return {
        "ok": True,
        "source": str(src),
        "project_root": str(project),
        "dry_run": dry_run,
        "campaigns": campaigns,
        "ledger_file": ledger_json,
        "message": messages[0],
        "messages": messages,
    }


def _empty_plan(timezone: str) -> Any:
    from postpilot.migration.history import StorePlan

    return StorePlan(store=Config.LEGACY_CAMPAIGN_NAME, timezone=timezone)
