"""postpilot --migrate OLD_ROOT on a prior project, then --run: nothing posted twice, every job
that should run runs, every row of every file accounted for, the prior files untouched."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.helpers import run_postpilot
from tests.fakes.prior_project import PriorProject, build_prior_project, old_state_variant

pytestmark = pytest.mark.slow


@pytest.fixture
def prior(tmp_path: Path) -> PriorProject:
    """A prior project root under tmp_path/old (naive local times in UTC, the default)."""
    return build_prior_project(tmp_path / "old", datetime.now())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty postpilot project folder to migrate into."""
    root = tmp_path / "new"
    root.mkdir()
    return root


def _published(root: Path) -> set[tuple[str, str]]:
    """(account, video file name) of every post in the outbox."""
    pairs = set()
    for post in (root / "outbox").rglob("post.json"):
        data = json.loads(post.read_text(encoding="utf-8"))
        pairs.add((str(data["account"]), str(data["video_file"])))
    return pairs


def _migrate(project: Path, prior: PriorProject, *extra: str) -> dict[str, Any]:
    result = run_postpilot(project, "--migrate", str(prior.root), "--json", *extra)
    assert result.code == 0, result.err
    data: dict[str, Any] = result.json()
    return data


def _run(project: Path, *args: str) -> None:
    result = run_postpilot(
        project, *args, "--run", "--retry-delay", "0", POSTPILOT_BACKOFF_SECONDS="0"
    )
    # 3: the run finished, but jobs the prior history holds as failed are still failed.
    assert result.code in (0, 3), result.err


def test_migrate_then_run_publishes_nothing_already_posted(
    prior: PriorProject, project: Path
) -> None:
    """After --migrate, runs and seedings of campaign and legacy mode never publish an
    (account, video) pair the prior history shows as posted, and do run the open jobs."""
    _migrate(project, prior)
    _run(project, "--campaign", "viral")
    _run(project)
    first = _published(project)
    assert prior.must_run <= first
    for args in (["--campaign", "viral"], []):
        seeded = run_postpilot(project, *args, "--seed-only")
        assert seeded.code in (0, 1), seeded.err
        _run(project, *args)
    everything = _published(project)
    assert not everything & prior.posted, everything & prior.posted
    # in_progress in the state file: it may have been posted, so only --confirm settles it.
    assert not any(video == "L2.mp4" for _a, video in everything)
    # The unassigned and hand-skipped legacy rows were seeded like new videos and ran.
    assert {v for _a, v in everything} >= {"L3.mp4", "L4.mp4", "v8.mp4"}


def test_migrate_never_changes_the_prior_project(prior: PriorProject, project: Path) -> None:
    """Every prior file keeps its bytes and nothing is added under the prior root."""
    _migrate(project, prior)
    _run(project, "--campaign", "viral")
    assert prior.snapshot() == prior.files


def test_migrate_again_changes_nothing(prior: PriorProject, project: Path) -> None:
    """A second --migrate imports no job and no ledger entry and rewrites no file."""
    first = _migrate(project, prior)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and "lock" not in p.name}
    del before[project / ".postpilot" / "imported_progress.json"]
    again = _migrate(project, prior)
    assert sum(c.get("jobs_imported", 0) for c in first["campaigns"]) > 0
    assert all(c.get("jobs_imported", 0) == 0 for c in again["campaigns"])
    assert all(c.get("posts_recorded", 0) == 0 for c in again["campaigns"])
    for path, data in before.items():
        if path.suffix != ".db":
            assert path.read_bytes() == data, path


def test_report_accounts_for_every_row_of_every_file(prior: PriorProject, project: Path) -> None:
    """Per file: rows = imported + superseded + left to seeding + not imported, and the
    corrupt, verification_pending, empty-account and skipped rows are named by line."""
    data = _migrate(project, prior, "--dry-run")
    files = {Path(f["path"]).name: f for c in data["campaigns"] for f in c.get("files", [])}
    files[prior.root.name + "/all_posted_videos.txt"] = data["ledger_file"]
    for name, f in files.items():
        accounted = f["imported"] + f["superseded"] + f["left_to_seeding"] + f["not_imported"]
        assert f["rows"] == accounted, name
    current = "\n".join(files["progress.csv"]["details"])
    assert "line 12:" in current  # the shifted row of an unquoted multi-line error
    assert "v6.mp4_viral has no account" in current
    assert "v7.mp4_viral skipped" in current
    assert files["progress_backup_165048.csv"]["unknown_columns"] == ["platform"]
    assert files["progress_20251222.csv"]["rows"] == 0
    assert data["ledger_file"]["details"] == [
        "line 5: expected account|video|timestamp; not imported"
    ]


def test_dry_run_writes_nothing(prior: PriorProject, project: Path) -> None:
    """--migrate --dry-run reports the plan and leaves the project folder empty."""
    data = _migrate(project, prior, "--dry-run")
    assert data["dry_run"] is True
    assert list(project.iterdir()) == []


def test_translations_are_reported_and_applied(prior: PriorProject, project: Path) -> None:
    """`platform` becomes publisher.type, the videos folder becomes videos_dir, unknown keys
    are dropped with a line each."""
    data = _migrate(project, prior)
    by_name = {c.get("name"): c for c in data["campaigns"]}
    podcast = json.loads((project / "campaigns/podcast/campaign.json").read_text("utf-8"))
    assert podcast["publisher"] == {"type": "instagram"}
    assert podcast["videos_dir"] == str(prior.root / "campaigns/podcast/videos")
    viral = json.loads((project / "campaigns/viral/campaign.json").read_text("utf-8"))
    assert viral["videos_dir"] == str(prior.root / "campaigns/viral/grq")
    assert "notes" not in viral
    assert any("notes: dropped" in line for line in by_name["viral"]["translations"])
    assert any("publisher.type" in line for line in by_name["podcast"]["translations"])


def test_unresolved_paths_are_reported_at_import_not_run(
    prior: PriorProject, project: Path
) -> None:
    """A pending job whose video is gone is reported by the migration and never imported,
    so no run turns it into a final content error."""
    (prior.root / "campaigns/viral/grq/v8.mp4").rename(prior.root / "v8-moved.mp4")
    data = _migrate(project, prior)
    viral = next(c for c in data["campaigns"] if c.get("name") == "viral")
    assert any("v8.mp4" in u for u in viral["unresolved_videos"])
    _run(project, "--campaign", "viral")
    status = run_postpilot(project, "--campaign", "viral", "--status", "--json").json()
    assert "corrupted_video" not in status["per_error_type"]


def test_path_map_rewrites_prefixes(prior: PriorProject, project: Path) -> None:
    """--path-map OLD=NEW finds a video moved out of the videos folder by its new prefix."""
    moved = prior.root.parent / "elsewhere"
    moved.mkdir()
    shutil.move(prior.root / "campaigns/viral/grq/v8.mp4", moved / "v8.mp4")
    data = _migrate(project, prior, "--path-map", f"grq={moved}")
    viral = next(c for c in data["campaigns"] if c.get("name") == "viral")
    assert not any("v8.mp4" in u for u in viral["unresolved_videos"])
    _run(project, "--campaign", "viral")
    assert ("acct_d", "v8.mp4") in _published(project)


def test_seeding_refuses_prior_progress_never_imported(prior: PriorProject, tmp_path: Path) -> None:
    """A prior campaign folder used directly refuses to seed, naming its progress files and
    the command, even with --force-reseed; --ignore-prior-progress seeds."""
    root = tmp_path / "inplace"
    shutil.copytree(prior.root, root)
    settings = root / "campaigns/viral/campaign.json"
    settings.write_text(json.dumps({"name": "viral", "videos_dir": "grq"}), encoding="utf-8")
    for args in (["--seed-only"], ["--seed-only", "--force-reseed"], ["--run"]):
        refused = run_postpilot(root, "--campaign", "viral", *args)
        assert refused.code == 1
        assert "progress_20251216.csv" in refused.err
        assert "--migrate" in refused.err
    assert not (root / "campaigns/viral/progress.db").exists()
    legacy = run_postpilot(root, "--seed-only", "--force-reseed")
    assert legacy.code == 1
    assert "parallel_progress_20251214.csv" in legacy.err
    assert not (root / "parallel_progress.db").exists()
    seeded = run_postpilot(root, "--campaign", "viral", "--seed-only", "--ignore-prior-progress")
    assert seeded.code == 0, seeded.err


def test_legacy_mode_reads_the_parallel_state_file_and_says_so(
    prior: PriorProject, tmp_path: Path
) -> None:
    """Without scheduler_state.json, legacy mode reads scheduler_state_parallel.json, names
    it, reports its success and in_progress jobs, and groups reasons one line each."""
    root = tmp_path / "legacy"
    root.mkdir()
    for name in ("accounts.txt", "scheduler_state_parallel.json"):
        shutil.copy(prior.root / name, root / name)
    shutil.copytree(prior.root / "chunk_01c", root / "chunk_01c")
    result = run_postpilot(root, "--seed-only")
    assert result.code == 0, result.err
    assert "scheduler_state_parallel.json" in result.err
    assert "already posted according to the state file (success): 1 (e.g. L1)" in result.err
    assert "in_progress in the state file" in result.err
    assert "video file not found: 1 (e.g. L5 (" in result.err
    old_state_variant(root / "scheduler_state.json")
    again = run_postpilot(root, "--status")
    assert str(root / "scheduler_state.json") in again.err


def test_header_only_import_changes_nothing(project: Path, tmp_path: Path) -> None:
    """--import-progress of a header-only CSV creates no store."""
    demo = Path(__file__).parents[2] / "examples/campaigns/demo"
    shutil.copytree(demo, project / "campaigns/demo")
    for leftover in ("progress.db", "logs", "archive"):
        path = project / "campaigns/demo" / leftover
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    empty = tmp_path / "empty.csv"
    empty.write_text("job_id,account,video_path,caption,status\n", encoding="utf-8")
    result = run_postpilot(project, "--campaign", "demo", "--import-progress", str(empty))
    assert result.code == 0, result.err
    assert not (project / "campaigns/demo/progress.db").exists()


def test_migrate_refuses_its_own_root_and_a_folder_that_is_no_prior_project(
    prior: PriorProject, project: Path, tmp_path: Path
) -> None:
    """--migrate of the project's own root, of an unrelated folder or with a bad --path-map
    exits 1 with the reason and writes nothing."""
    own = run_postpilot(prior.root, "--migrate", str(prior.root))
    assert own.code == 1
    assert "never changed, so migrate into a new folder" in own.err
    unrelated = tmp_path / "unrelated"
    unrelated.mkdir()
    other = run_postpilot(project, "--migrate", str(unrelated), "--json")
    assert other.code == 1
    assert "not a prior project root" in other.json()["message"]
    bad = run_postpilot(project, "--migrate", str(prior.root), "--path-map", "no-equals")
    assert bad.code == 1
    assert "expected OLD=NEW" in bad.err
    assert "Traceback" not in own.err + other.err + bad.err
    assert list(project.iterdir()) == []
    assert prior.snapshot() == prior.files


def test_a_prior_campaign_folder_used_directly_gets_migration_hints(
    prior: PriorProject, tmp_path: Path
) -> None:
    """Loading a prior folder as a campaign names the translation: `platform` is
    publisher.type, and the sub-folder holding the videos is videos_dir."""
    root = tmp_path / "direct"
    shutil.copytree(prior.root, root)
    podcast = run_postpilot(root, "--campaign", "podcast", "--status")
    assert podcast.code == 1
    assert '"publisher": {"type": ...}' in podcast.err
    (root / "campaigns/viral/campaign.json").unlink()
    viral = run_postpilot(root, "--campaign", "viral", "--status")
    assert viral.code == 1
    assert 'set "videos_dir": "grq"' in viral.err


def test_an_export_next_to_the_campaign_does_not_block_seeding(project: Path) -> None:
    """--export-csv into the campaign folder writes postpilot's own jobs: seeding after it is
    not refused as prior progress."""
    demo = Path(__file__).parents[2] / "examples/campaigns/demo"
    shutil.copytree(demo, project / "campaigns/demo", ignore=shutil.ignore_patterns("*.db*"))
    assert run_postpilot(project, "--campaign", "demo", "--seed-only").code == 0
    target = project / "campaigns/demo/progress_export.csv"
    assert run_postpilot(project, "--campaign", "demo", "--export-csv", str(target)).code == 0
    again = run_postpilot(project, "--campaign", "demo", "--seed-only", "--force-reseed")
    assert "never imported" not in again.err
