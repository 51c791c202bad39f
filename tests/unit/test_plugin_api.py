"""The plugin API for custom channels: what `postpilot.publishers` exports, pinned."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import postpilot.publishers as api
from postpilot import errors
from postpilot.publishers import base, http
from postpilot.publishers import errors as publish_errors

REPO = Path(__file__).resolve().parents[2]

#: Removing or renaming one of these breaks every in-house channel: change it deliberately.
PINNED = {
    "Account": base.Account,
    "AuthError": publish_errors.AuthError,
    "Checkpoint": base.Checkpoint,
    "ConfigError": errors.ConfigError,
    "ContentError": publish_errors.ContentError,
    "HttpClient": http.HttpClient,
    "Job": importlib.import_module("postpilot.jobs").Job,
    "LeaseLost": publish_errors.LeaseLost,
    "NetworkError": http.NetworkError,
    "OutcomeUnknown": publish_errors.OutcomeUnknown,
    "PermanentError": publish_errors.PermanentError,
    "PublishError": publish_errors.PublishError,
    "Published": base.Published,
    "Publisher": base.Publisher,
    "PublisherFactory": base.PublisherFactory,
    "RateLimited": publish_errors.RateLimited,
    "ReconcileResult": base.ReconcileResult,
    "Reconciled": base.Reconciled,
    "TransientError": publish_errors.TransientError,
    "raise_for_platform": http.raise_for_platform,
}


def test_exported_names_are_pinned() -> None:
    """`__all__` is exactly the pinned list and each name is the object it stands for."""
    assert sorted(api.__all__) == sorted(PINNED)
    for name, expected in PINNED.items():
        assert getattr(api, name) is expected, name


def test_star_import_gives_the_plugin_api() -> None:
    """`from postpilot.publishers import *` binds every exported name, the lazy ones too."""
    namespace: dict[str, Any] = {}
    exec("from postpilot.publishers import *", namespace)  # noqa: S102 - a fixed statement
    assert set(PINNED) <= set(namespace)


def test_the_http_client_is_loaded_only_when_asked_for() -> None:
    """Importing the plugin API imports no HTTP driver; asking for HttpClient does."""
    code = (
        "import sys, postpilot.publishers as p\n"
        "before = 'httpx2' in sys.modules\n"
        "p.HttpClient\n"
        "print(before, 'httpx2' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split() == ["False", "True"]


def test_publisher_factory_matches_every_channel_s_from_config() -> None:
    """PublisherFactory is (block, project_root: Path) -> Publisher, the signature that
    build_publisher calls on the built-in channels and on the example custom channel."""
    params, returned = typing.get_args(api.PublisherFactory)
    assert params == [Mapping[str, Any], Path]
    assert returned is base.Publisher
    sys.path.insert(0, str(REPO / "examples" / "channels"))
    try:
        classes = [api._load_class(spec) for spec in api.BUILTIN.values()]
        classes.append(importlib.import_module("feed_channel").FeedChannel)
    finally:
        sys.path.remove(str(REPO / "examples" / "channels"))
    for cls in classes:
        signature = inspect.signature(cls.from_config, eval_str=True)
        annotations = [p.annotation for p in signature.parameters.values()]
        assert annotations == [Mapping[str, Any], Path], cls.__name__
        assert issubclass(signature.return_annotation, cls)
        for method in ("publish", "reconcile", "close"):
            assert callable(getattr(cls, method)), (cls.__name__, method)
