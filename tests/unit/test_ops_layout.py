"""The command modules of postpilot/ops/: their typed results' JSON form, and the old import
path (postpilot.operations) that keeps every name it held."""

from __future__ import annotations

import ast
from pathlib import Path

from postpilot import compat, operations
from postpilot.ops import common, confirm, retry, seed

OPS = Path(__file__).resolve().parents[2] / "src" / "postpilot" / "ops"


def test_a_result_json_frames_the_command_fields_with_context_and_messages() -> None:
    """to_json() starts with campaign, context and ok, puts the command's own fields next in
    their order, and ends with message and messages (the order --json has always printed)."""
    result = retry.RetryResult(
        campaign="c1",
        context="campaign 'c1'",
        rearmed=2,
        include_non_retryable=False,
        counts_before={"failed": 2},
        counts_after={"failed": 0},
        message="Reset 2 failed jobs to retrying for campaign 'c1'",
        messages=["Reset 2 failed jobs to retrying for campaign 'c1'", "  Now: 0 failed"],
    )
    data = result.to_json()
    assert list(data) == [
        "campaign",
        "context",
        "ok",
        "rearmed",
        "include_non_retryable",
        "counts_before",
        "counts_after",
        "message",
        "messages",
    ]
    assert data["ok"] is True
    assert data["messages"][1] == "  Now: 0 failed"


def test_unblock_json_names_the_account_only_when_exactly_one_was_lifted() -> None:
    """--unblock's `account` and `was` are the single lifted block's, and None for several."""
    one = [{"account": "a", "was": "needs_reauth", "reason": ""}]
    two = [*one, {"account": "b", "was": "rate_window", "reason": ""}]

    def make(lifted: list[dict[str, str]]) -> confirm.UnblockResult:
        return confirm.UnblockResult(
            campaign=None, context="legacy", unblocked=lifted, message="m", messages=["m"]
        )

    assert (make(one).to_json()["account"], make(one).to_json()["was"]) == ("a", "needs_reauth")
    assert (make(two).to_json()["account"], make(two).to_json()["was"]) == (None, None)


def test_a_seed_result_is_not_ok_when_nothing_was_seeded() -> None:
    """A seed result carries ok False through to its JSON when no job was created."""
    outcome = seed.SeedOutcome(refused="refused", counts={"total": 3})
    result = seed.SeedResult(
        campaign="c1", context="c", ok=False, outcome=outcome, message="m", messages=["m"]
    )
    data = result.to_json()
    assert (data["ok"], data["seeded"], data["refused"], data["counts"]) == (
        False,
        0,
        True,
        {"total": 3},
    )


def test_the_old_import_path_keeps_every_name_and_the_specification_names() -> None:
    """postpilot.operations re-exports every name of its __all__ (the same objects as their new
    homes), including the specification's compatibility names from postpilot.compat."""
    for name in operations.__all__:
        assert hasattr(operations, name), name
    for name in compat.__all__:
        assert getattr(operations, name) is getattr(compat, name), name
    assert operations.OperationFailed is common.OperationFailed
    assert issubclass(operations.ProgressNotFound, operations.OperationFailed)


def test_no_command_module_prints() -> None:
    """The command modules return data; printing is the CLI's and the report layer's (no
    print() call and no import of the renderers in postpilot/ops/)."""
    found = []
    for path in sorted(OPS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            called = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
            if called in {"print", "output.print_json"}:
                found.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and any(
                a.name in {"report", "status_report"} for a in node.names
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
