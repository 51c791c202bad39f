"""campaign.json read without pydantic: every plain file gives the model's values, and every
file the model refuses is left to the model (which words the error)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from postpilot import campaign_json, campaign_model
from postpilot.errors import ConfigError

EXAMPLES: list[dict[str, Any]] = [
    {},
    json.loads((Path(__file__).parents[2] / "examples/campaigns/demo/campaign.json").read_text()),
    {"name": "x", "enabled": False, "max_posts_per_account_per_day": 3, "max_attempts": 1},
    {"name": None, "videos_dir": None, "store": None, "captions": None, "schedule": None},
    {"timezone": "Europe/Berlin", "distribution": "every_account", "store": "postgresql://d/x"},
    {"captions": {"file": "c.csv", "filename_column": "f", "caption_column": None}},
    {"captions": {}},
    {"schedule": {"times": ["09:00", "18:30"], "days": ["mon"], "start": "2026-01-01"}},
    {"schedule": {"times": [], "days": None, "end": None}},
    {"publisher": None},
    {"publisher": {}},
    {"publisher": {"type": "outbox"}},
    {"publisher": {"dir": "out"}},
    {"publisher": {"type": "outbox", "dir": None}},
    {"publisher": {"type": "webhook", "url": "https://example.test/hook"}},
    {"publisher": {"type": "youtube", "made_for_kids": False}},
    # Each refused by the model:
    {"name": ""},
    {"name": 3},
    {"enabled": "false"},
    {"enabled": 1},
    {"max_posts_per_account_per_day": 0},
    {"max_posts_per_account_per_day": True},
    {"max_posts_per_account_per_day": 2.0},
    {"max_attempts": "3"},
    {"timezone": None},
    {"distribution": None},
    {"videos_dir": ""},
    {"platform": "tiktok"},
    {"captions": {"file": 1}},
    {"captions": {"sheet": "x"}},
    {"captions": []},
    {"schedule": {}},
    {"schedule": {"times": "09:00"}},
    {"schedule": {"times": [9]}},
    {"schedule": {"times": ["09:00"], "every": 2}},
    {"publisher": {"type": "outbox", "dir": ""}},
    {"publisher": {"type": "outbox", "url": "x"}},
    {"publisher": {"type": "fax"}},
    {"publisher": {"type": None}},
    {"publisher": "outbox"},
    {"store": 5},
]


def check_same_as_model(raw: dict[str, Any]) -> None:
    """read_plain gives the model's values, or leaves the file to the model (None); whatever
    the model refuses, read_plain leaves to it."""
    plain = campaign_json.read_plain(raw)
    try:
        expected = campaign_model.validate(raw, "campaign.json")
    except ConfigError:
        assert plain is None
        return
    assert plain is None or plain == expected


@pytest.mark.parametrize("raw", EXAMPLES, ids=[json.dumps(e)[:60] for e in EXAMPLES])
def test_a_file_read_without_pydantic_gives_the_models_values(raw: dict[str, Any]) -> None:
    """Each example: the plain reader agrees with the pydantic model."""
    check_same_as_model(raw)


def test_the_demo_and_the_outbox_are_read_without_the_model() -> None:
    """The files --status reads most (the demo's, an outbox) need no pydantic."""
    assert campaign_json.read_plain(EXAMPLES[1]) is not None
    assert campaign_json.read_plain({"publisher": {"dir": "out"}}) is not None


def test_the_values_of_no_file_are_the_models_defaults() -> None:
    """Without campaign.json, the defaults are the model's."""
    assert campaign_json.CampaignValues() == campaign_model.validate({}, "campaign.json")


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-1, max_value=3),
    st.sampled_from([1.0, "", "x", "UTC", "once", "postgresql://d/x", "09:00"]),
    st.lists(st.sampled_from(["09:00", "mon", 1]), max_size=2),
    st.dictionaries(
        st.sampled_from(["type", "dir", "file", "times", "days", "start", "url"]),
        st.one_of(st.none(), st.sampled_from(["outbox", "", "d", "09:00"]), st.just(["09:00"])),
        max_size=3,
    ),
)
KEYS = st.sampled_from([*campaign_model.CampaignFile.model_fields, "platform"])


@settings_profile(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=4))
def test_any_file_read_without_pydantic_gives_the_models_values(raw: dict[str, Any]) -> None:
    """Generated files: the plain reader agrees with the pydantic model."""
    check_same_as_model(raw)
