"""The one shape of the platform error tables (postpilot.publishers.error_rules) and the three
channels' tables written in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postpilot.publishers import instagram_errors, tiktok_api, youtube_api
from postpilot.publishers.error_rules import (
    FROM_CODE,
    Answer,
    Rule,
    Wait,
    Waits,
    When,
    classify,
    find_rule,
)
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
TABLE = (
    Rule(
        RateLimited,
        (When(codes=frozenset({"cap"}), statuses=frozenset({403})),),
        wait=Wait.NEXT_DAY,
    ),
    Rule(ContentError, (When(code_prefix="bad_"),), error_type=FROM_CODE, hint="fix it"),
    Rule(None, (When(min_status=500),)),
    Rule(PermanentError),
)


def _classify(answer: Answer) -> PublishError:
    return classify(
        TABLE, answer, message="m", raw="r", waits=Waits(NOW), platform="p", what="upload"
    )


def test_every_condition_of_a_when_must_hold() -> None:
    """A code that matches under another status falls through to the next rule."""
    assert isinstance(_classify(Answer(403, "cap")), RateLimited)
    assert type(_classify(Answer(400, "cap"))) is PermanentError


def test_the_rule_fills_type_hint_and_retry_moment() -> None:
    """error_type FROM_CODE records the platform code; the Wait resolves against Waits."""
    content = _classify(Answer(400, "bad_title"))
    assert isinstance(content, ContentError)
    assert (content.error_type, content.hint, str(content)) == ("bad_title", "fix it", "m")
    assert _classify(Answer(403, "cap")).retry_at == NOW + timedelta(days=1)


def test_a_rule_without_error_is_the_generic_status_mapping() -> None:
    """error=None gives postpilot.publishers.http's mapping of the HTTP status; an earlier
    matching rule still wins over it."""
    generic = _classify(Answer(503, "other"))
    assert isinstance(generic, TransientError)
    assert str(generic) == "p upload failed with HTTP 503"
    assert isinstance(_classify(Answer(503, "bad_first_rule_wins")), ContentError)


@pytest.mark.parametrize(
    "table",
    [youtube_api.ERRORS, tiktok_api.ERRORS, tiktok_api.FAIL_REASONS, instagram_errors.ERRORS],
    ids=["youtube", "tiktok", "tiktok-fail-reasons", "instagram"],
)
def test_every_channel_table_decides_every_answer(table: tuple[Rule, ...]) -> None:
    """Each channel's table ends in a rule that matches any answer, so no refusal is unmapped."""
    last = table[-1]
    for answer in (Answer(400, "never-seen"), Answer(999), Answer(0, "x", "y", transient=True)):
        assert find_rule(table[-1:], answer) is last


def _error_class(table: tuple[Rule, ...], answer: Answer) -> type[PublishError] | None:
    rule = find_rule(table, answer)
    return None if rule is None else rule.error


def test_the_channel_tables_map_their_documented_codes() -> None:
    """A few documented refusals per channel land in the category docs/publishers.md names."""
    assert _error_class(youtube_api.ERRORS, Answer(403, "quotaExceeded")) is RateLimited
    assert _error_class(tiktok_api.ERRORS, Answer(401, "scope_not_authorized")) is AuthError
    assert _error_class(instagram_errors.ERRORS, Answer(400, "100", "2207026")) is ContentError
