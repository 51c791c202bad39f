"""`postpilot --migrate OLD_ROOT`: a prior project brought over in one step.

Reads the prior root (never writes there), plans everything first (the --dry-run report),
then writes into the current project: campaign folders (accounts.txt and captions.csv
copied, campaign.json translated, videos used where they are via videos_dir), the legacy
root files, the jobs of every progress CSV, and every prior post into the ledger. Files that
already exist in the project are kept, jobs are inserted only when absent and ledger entries
only once, so running it again changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postpilot.config import Config
from postpilot.errors import ConfigError, PostpilotError
from postpilot.jobs import Job, JobStatus
from postpilot.migration import history as hist
from postpilot.migration import prior
from postpilot.migration.translate import translate_settings
from postpilot.store.csv_io import import_csv

#: Lines of details shown per file before "... and N more" (--json has all of them).
SHOWN = 5


class MigrationRefused(PostpilotError):
    """The prior root cannot be migrated as asked (exit 1, nothing written)."""


@dataclass
class Target:
    """One job store to fill: a campaign folder of the project, or legacy mode."""

    plan: hist.StorePlan
    folder: Path | None = None
    #: Files to create in the project when absent: destination -> content source.
    copies: dict[Path, Path] = field(default_factory=dict)
    writes: dict[Path, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def _parse_path_map(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(f"--path-map {pair!r}: expected OLD=NEW (a path prefix each)")
        out.append((old.strip(), new.strip()))
    return out


def _read_progress(target: Target, folder: Path, current: str) -> list[hist.Row]:
    """Rows of every progress CSV in `folder`, with a FileReport per file."""
    plan = target.plan
    rows: list[hist.Row] = []
    for pfile in prior.progress_files(folder, current, plan.timezone):
        report = hist.FileReport(path=str(pfile.path))
        plan.files[pfile.path.name] = report
        try:
            parsed = import_csv(pfile.path, plan.store, timezone=plan.timezone)
        except ConfigError as exc:
            report.details.append(f"refused: {str(exc).splitlines()[0]}")
            continue
        report.unknown_columns = list(parsed.unknown_columns)
        rejected = [w for w in parsed.warnings if "not imported" in w or "first row" in w]
        report.rows = len(parsed.jobs) + len(rejected)
        report.not_imported += len(rejected)
        report.details += parsed.warnings
        for job, line in zip(parsed.jobs, parsed.lines, strict=True):
            rows.append(hist.make_row(job, pfile.path.name, line, pfile.as_of, pfile.rank))
    return rows


def _plan_campaign(
    folder: Path, project: Path, timezone: str, path_map: list[tuple[str, str]]
) -> Target | dict[str, Any]:
    found = prior.read_prior_campaign(folder)
    report: dict[str, Any] = {"folder": str(folder), "notes": found.notes}
    if found.refused:
        report["refused"] = found.refused
        return report
    dest = project / Config.CAMPAIGNS_DIR / folder.name
    existing = dest / Config.CAMPAIGN_JSON
    settings, lines, refused = translate_settings(found, timezone)
    if existing.is_file():
        try:
            settings = json.loads(existing.read_text(encoding="utf-8-sig"))
            lines = [f"kept the project's existing {existing}"]
        except (json.JSONDecodeError, OSError) as exc:
            refused = f"{existing}: {exc}"
    if refused:
        report["refused"] = refused
        return report
    name = str(settings.get("name") or folder.name)
    zone = str(settings.get("timezone") or timezone)
    target = Target(plan=hist.StorePlan(store=name, timezone=zone), folder=dest)
    assert found.accounts_file is not None
    assert found.captions_file is not None
    target.copies[dest / Config.ACCOUNTS_FILE] = found.accounts_file
    target.copies[dest / Config.CAPTIONS_FILE] = found.captions_file
    target.writes[existing] = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    report.update({"name": name, "target": str(dest), "translations": lines})
    target.report = report
    assert found.videos_dir is not None
    # Paths relative to the videos folder the migrated campaign will use (its campaign.json's).
    videos = Path(str(settings.get("videos_dir") or Config.VIDEOS_DIR))
    resolver = hist.PathResolver(
        found.videos_dir,
        [found.videos_dir, folder],
        path_map,
        store_relative_to=videos if videos.is_absolute() else dest / videos,
    )
    rows = _read_progress(target, folder, prior.CAMPAIGN_PROGRESS)
    target.report["_rows"] = rows
    target.report["_resolver"] = resolver
    return target


def _state_rows(
    target: Target, state: Path, resolver: hist.PathResolver
) -> tuple[list[hist.Row], dict[str, Any] | None]:
    """Rows for the state file's success and in_progress jobs; the state rewritten with the
    paths that resolve here (pending/retrying jobs are seeded from it)."""
    plan = target.plan
    report = hist.FileReport(path=str(state))
    plan.files[state.name] = report
    try:
        data = hist.load_state_json(state)
    except (ValueError, UnicodeDecodeError) as exc:
        report.details.append(f"refused: {exc}")
        return [], None
    rows: list[hist.Row] = []
    as_of = None
    for index, raw in enumerate(data["jobs"]):
        report.rows += 1
        if not isinstance(raw, dict) or not str(raw.get("id", "")).strip():
            report.not_imported += 1
            report.details.append(f"jobs[{index}]: no id; not imported")
            continue
        status = str(raw.get("status", ""))
        video = str(raw.get("video_path", ""))
        path, _why = resolver.resolve(video)
        if path is not None:
            raw["video_path"] = str(path)
        job_id = str(raw["id"]).strip()
        if status in ("pending", "retrying"):
            report.left_to_seeding += 1
            continue
        if status not in ("success", "in_progress"):
            report.not_imported += 1
            report.details.append(f"jobs[{index}]: job {job_id} {status or '(none)'}; not imported")
            continue
        when = hist.parse_time(raw.get("completed_at") or raw.get("last_attempt"), plan.timezone)
        job = Job(
            job_id=job_id,
            account=str(raw.get("account") or ""),
            video_path=video,
            caption=str(raw.get("caption") or ""),
            status=JobStatus.SUCCESS if status == "success" else JobStatus.UNCONFIRMED,
            completed_at=when if status == "success" else None,
            claimed_at=None if status == "success" else when,
            attempts=int(raw.get("attempts") or 0),
            error=""
            if status == "success"
            else f"in_progress in {state.name} jobs[{index}] when migrated: it may have been "
            "posted; settle it with --confirm JOB_ID posted|not-posted",
            campaign=plan.store,
        )
        rows.append(hist.make_row(job, state.name, index, as_of, (0, "", 0)))
    return rows, data


def plan_migration(
    source: Path, project: Path, path_map: list[tuple[str, str]], timezone: str
) -> tuple[list[Target], list[dict[str, Any]], dict[str, Any]]:
    """(targets, refused campaign reports, ledger-file report): everything, nothing written."""
    targets: list[Target] = []
    refused: list[dict[str, Any]] = []
    campaigns_dir = source / Config.CAMPAIGNS_DIR
    if campaigns_dir.is_dir():
        for folder in sorted(p for p in campaigns_dir.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue
            planned = _plan_campaign(folder, project, timezone, path_map)
            if isinstance(planned, Target):
                targets.append(planned)
            else:
                refused.append(planned)
    legacy_csvs = prior.progress_files(source, prior.LEGACY_PROGRESS, timezone)
    states = [source / n for n in prior.PRIOR_STATE_FILES if (source / n).is_file()]
    if legacy_csvs or states or (source / Config.ACCOUNTS_FILE).is_file():
        legacy = Target(plan=hist.StorePlan(store=Config.LEGACY_CAMPAIGN_NAME, timezone=timezone))
        resolver = hist.PathResolver(source, [source], path_map)
        rows = _read_progress(legacy, source, prior.LEGACY_PROGRESS)
        legacy.report = {"folder": str(source), "name": "legacy", "target": str(project)}
        if (source / Config.ACCOUNTS_FILE).is_file():
            legacy.copies[project / Config.ACCOUNTS_FILE] = source / Config.ACCOUNTS_FILE
        if states:
            state = states[0]
            legacy.report["state_file"] = f"read {state.name}"
            state_rows, data = _state_rows(legacy, state, resolver)
            rows += state_rows
            if data is not None:
                legacy.writes[project / state.name] = json.dumps(data, indent=1) + "\n"
        legacy.report["_rows"] = rows
        legacy.report["_resolver"] = resolver
        targets.append(legacy)
    # The ledger file: its pairs protect jobs of every store; its lines not already
    # accounted for by a progress CSV become posts of their own.
    ledger_path = source / prior.PRIOR_LEDGER_FILE
    entries: list[hist.LedgerEntry] = []
    ledger_report: dict[str, Any] = {}
    problems: list[str] = []
    comments = 0
    if ledger_path.is_file():
        entries, problems, comments = hist.read_ledger_file(ledger_path, timezone)
    known = {(e.account, e.video) for e in entries}
    for target in targets:
        hist.merge_rows(
            target.plan, target.report.pop("_rows"), target.report.pop("_resolver"), known
        )
    if ledger_path.is_file():
        already = set().union(*(t.plan.posted_pairs for t in targets)) if targets else set()
        posts, freport = hist.ledger_posts(entries, already, timezone, ledger_path.name)
        freport.path = str(ledger_path)
        freport.not_imported = len(problems)
        freport.rows += len(problems)
        freport.details = problems
        ledger_report = {"posts": posts, "report": freport, "comment_lines": comments}
    return targets, refused, ledger_report
