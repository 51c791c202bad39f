"""Prior history in the project ledger (record_history), on every store."""

from __future__ import annotations

from datetime import UTC, datetime

from postpilot.store.base import HistoricPost, SupportsHistory, name_key
from tests.integration.store.conftest import StoreFactory

T = datetime(2025, 12, 20, 9, 30, tzinfo=UTC)


def _posts() -> list[HistoricPost]:
    return [
        HistoricPost(
            "acct_a", name_key("v1.mp4"), "viral", "v1.mp4_viral|acct_a|2025-12-20", "2025-12-20", T
        ),
        HistoricPost(
            "acct_a",
            "ab" * 32,
            "viral",
            "v1.mp4_viral|acct_a|2025-12-20",
            "2025-12-20",
            T,
            counts_day=False,
        ),
        HistoricPost("acct_b", name_key("v2.mp4"), "all_posted_videos.txt", "acct_b|v2.mp4", "", T),
    ]


def test_history_marks_posted_and_counts_each_post_once(make_store: StoreFactory) -> None:
    """Name and hash keys become posted; only counting entries with a day add to that day."""
    store = make_store("viral")
    assert isinstance(store, SupportsHistory)
    assert store.record_history(_posts()) == 3
    assert store.is_posted("acct_a", name_key("v1.mp4"))
    assert store.is_posted("acct_a", "ab" * 32)
    assert store.is_posted("acct_b", name_key("v2.mp4"))
    assert not store.is_posted("acct_b", name_key("v1.mp4"))
    assert store.daily_count("acct_a", "2025-12-20") == 1
    assert store.daily_count("acct_b", "") == 0


def test_history_again_changes_nothing(make_store: StoreFactory) -> None:
    """Recording the same history twice (a second --migrate) adds no row and no count."""
    store = make_store("viral")
    assert isinstance(store, SupportsHistory)
    store.record_history(_posts())
    assert store.record_history(_posts()) == 0
    assert store.daily_count("acct_a", "2025-12-20") == 1


def test_history_is_shared_by_every_campaign(make_store: StoreFactory) -> None:
    """History recorded through one campaign's store protects the account in another's."""
    first, other = make_store("viral"), make_store("podcast")
    assert isinstance(first, SupportsHistory)
    first.record_history(_posts())
    assert other.is_posted("acct_a", name_key("v1.mp4"))
    assert other.daily_count("acct_a", "2025-12-20") == 1
