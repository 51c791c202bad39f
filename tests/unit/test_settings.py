"""Settings from the environment: one model, invalid values are errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from postpilot import env_help, settings, settings_model
from postpilot.config import ParallelConfig
from postpilot.errors import ConfigError
from tests.acceptance.helpers import run_inprocess, run_postpilot, tree_digest


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("POSTPILOT_LOG_LEVEL", "loud", "must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("POSTPILOT_LEASE_SECONDS", "abc", "POSTPILOT_LEASE_SECONDS='abc' must be a number"),
        ("POSTPILOT_LEASE_SECONDS", "0", "POSTPILOT_LEASE_SECONDS='0' must be more than 0"),
        ("POSTPILOT_MAX_WORKER_RESTARTS", "1.5", "must be a whole number"),
        ("POSTPILOT_DEBUG", "maybe", "POSTPILOT_DEBUG='maybe' must be 1/true/yes or 0/false/no"),
        ("POSTPILOT_NOW", "yesterday", "POSTPILOT_NOW='yesterday' is not an ISO 8601 time"),
    ],
)
def test_invalid_variable_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    """Each invalid value raises ConfigError with the variable's name and what it must be."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="POSTPILOT_") as info:
        settings.load()
    assert name in str(info.value)
    assert expected in str(info.value)


def test_store_dsn_is_checked_but_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-PostgreSQL POSTPILOT_STORE is refused without printing its (secret) value."""
    monkeypatch.setenv("POSTPILOT_STORE", "mysql://user:hunter2@db/x")
    with pytest.raises(ConfigError) as info:
        settings.load()
    assert "POSTPILOT_STORE" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_values_reach_the_worker_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Valid values are used: fractional seconds and a lower-case log level are accepted."""
    monkeypatch.setenv("POSTPILOT_LEASE_SECONDS", "2.5")
    monkeypatch.setenv("POSTPILOT_MAX_WORKER_RESTARTS", "0")
    monkeypatch.setenv("POSTPILOT_LOG_LEVEL", "debug")
    monkeypatch.setenv("POSTPILOT_JOB_TIMEOUT", "")
    config = ParallelConfig.from_env(2)
    assert (config.lease_seconds, config.max_worker_restarts) == (2.5, 0)
    assert config.job_timeout_seconds == 1800.0
    assert settings.load().log_level == "DEBUG"


def test_help_lists_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names every POSTPILOT_* setting (and only those) and NO_COLOR."""
    result = run_inprocess(capsys, "--help")
    assert result.code == 0
    fields = {f"POSTPILOT_{field.upper()}" for field in settings.Settings._fields}
    listed = {name for name, _ in env_help.VARIABLES if name.startswith("POSTPILOT_")}
    assert fields == listed
    for name in (*fields, "NO_COLOR"):
        assert name in result.out


def test_bad_variable_stops_the_command_before_any_file_changes(project_root: Path) -> None:
    """The real command exits 1 naming the variable, with no traceback and no file written."""
    before = tree_digest(project_root)
    result = run_postpilot(project_root, "--status", POSTPILOT_LOG_LEVEL="chatty")
    assert result.code == 1
    assert "POSTPILOT_LOG_LEVEL" in result.err
    assert "Traceback" not in result.err
    assert tree_digest(project_root) == before
    result = run_postpilot(project_root, "--status", "--json", POSTPILOT_JOB_TIMEOUT="-1")
    assert result.code == 1
    assert result.json()["error"] == "invalid_config"
    assert "POSTPILOT_JOB_TIMEOUT" in result.json()["message"]


def test_the_plain_settings_have_the_models_fields_and_defaults() -> None:
    """Settings (read without pydantic) and the pydantic model name the same fields, defaults."""
    plain = dict(settings.Settings._field_defaults)
    model = {name: info.default for name, info in settings_model.SettingsModel.model_fields.items()}
    assert plain == model


FIELDS = list(settings.Settings._fields)
SAMPLES = [
    *("0", "1", "2.5", "0.0", "007", "1.", ".5", "-1", "inf", "nan", "1e3", " 4", "1_0"),
    *("Yes", "TRUE", "on", "off", "maybe", "debug", " info ", "loud"),
    *("/tmp/h", "postgresql://db/x", "host=db", "mysql://db", "\u0663"),
    *("2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00", "yesterday"),
]


def check_same_as_model(raw: dict[str, str]) -> None:
    """read_plain gives the model's Settings, or leaves the values to the model (None);
    whatever the model refuses, read_plain leaves to it."""
    plain = settings.read_plain(raw)
    try:
        expected = settings.Settings(**settings_model.validate(raw))  # type: ignore[arg-type]
    except ConfigError:
        assert plain is None
        return
    assert plain is None or plain == expected
    assert settings.load({f"POSTPILOT_{k.upper()}": v for k, v in raw.items()}) == expected


@pytest.mark.parametrize("value", SAMPLES)
def test_each_value_read_without_pydantic_is_the_models_value(value: str) -> None:
    """For every setting and sample value, the plain reader agrees with the pydantic model."""
    for name in FIELDS:
        check_same_as_model({name: value})


@settings_profile(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(
            st.text(alphabet="0123456789.-+eE _x", min_size=1, max_size=6), st.sampled_from(SAMPLES)
        ),
        max_size=3,
    )
)
def test_values_read_together_without_pydantic_are_the_models(raw: dict[str, str]) -> None:
    """Any few variables together: the plain reader agrees with the pydantic model."""
    check_same_as_model(raw)
