"""Publishing channels, the registry that builds one from a campaign's `publisher` block, and the
plugin API for custom channels (`__all__`, pinned by tests/unit/test_plugin_api.py).

A custom channel (`"type": "custom"`, `"class": "package.module:ClassName"`) is a class with
`from_config(block, project_root)` (a PublisherFactory) whose instances implement Publisher:
`publish(job, account, checkpoint) -> Published`, `reconcile(job, checkpoint) -> Reconciled`
and `close()`. It reports failures with the PublishError subclasses below and may talk HTTP
through HttpClient. docs/publishers.md ("Custom channels") walks through a working one.

Channel modules are imported only when used, and so is the HTTP client (HttpClient,
NetworkError and raise_for_platform load postpilot.publishers.http on first access), so the
outbox never imports an HTTP driver.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postpilot.errors import ConfigError
from postpilot.jobs import Job
from postpilot.publishers.base import (
    Account,
    Checkpoint,
    Published,
    Publisher,
    PublisherFactory,
    Reconciled,
    ReconcileResult,
)
from postpilot.publishers.errors import (
    AuthError,
    ContentError,
    LeaseLost,
    NetworkError,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)

if TYPE_CHECKING:
    from postpilot.publishers.http import HttpClient, raise_for_platform

__all__ = [
    "Account",
    "AuthError",
    "Checkpoint",
    "ConfigError",
    "ContentError",
    "HttpClient",
    "Job",
    "LeaseLost",
    "NetworkError",
    "OutcomeUnknown",
    "PermanentError",
    "PublishError",
    "Published",
    "Publisher",
    "PublisherFactory",
    "RateLimited",
    "ReconcileResult",
    "Reconciled",
    "TransientError",
    "raise_for_platform",
]

#: Names served from postpilot.publishers.http on first access (it imports the HTTP driver).
_FROM_HTTP = frozenset({"HttpClient", "raise_for_platform"})


def __getattr__(name: str) -> Any:
    if name in _FROM_HTTP:
        from postpilot.publishers import http

        return getattr(http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: type -> "module:Class" of the built-in channels.
BUILTIN: dict[str, str] = {
    "webhook": "postpilot.publishers.webhook:WebhookPublisher",
    "youtube": "postpilot.publishers.youtube:YouTubePublisher",
    "instagram": "postpilot.publishers.instagram:InstagramPublisher",
    "tiktok": "postpilot.publishers.tiktok:TikTokPublisher",
}
PUBLISHER_TYPES = ("outbox", *BUILTIN, "custom")


def _load_class(spec: str) -> Any:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"publisher class {spec!r} must look like 'package.module:ClassName'")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load publisher class {spec!r}: {exc}") from None


def preload_publisher(block: Mapping[str, Any]) -> None:
    """Import the channel module the `publisher` block names, and the HTTP client a built-in
    channel uses, without building anything: a worker process does it while it waits for its
    first pass (httpx alone is ~55 ms of every slot's first build). Errors are left to
    build_publisher, which reports them where it always has."""
    kind = block.get("type", "outbox")
    spec = BUILTIN.get(kind) if isinstance(kind, str) else None
    if kind == "custom" and isinstance(block.get("class"), str):
        spec = block["class"]
    if spec is None:
        return
    try:
        _load_class(spec)
        if kind != "custom":
            importlib.import_module("postpilot.publishers.http")
    except Exception:  # a broken channel module fails its build, as before
        return


def build_publisher(block: Mapping[str, Any], project_root: Path, campaign: str) -> Publisher:
    """The publisher a campaign's `publisher` block asks for (default: the outbox)."""
    kind = block.get("type", "outbox")
    if kind == "outbox":
        from postpilot.publishers.outbox import OutboxPublisher

        return OutboxPublisher.from_config(block, project_root, campaign)
    if kind == "custom":
        spec = block.get("class")
        if not isinstance(spec, str):
            raise ConfigError('publisher type \'custom\' needs "class": "module:ClassName"')
        cls = _load_class(spec)
    elif isinstance(kind, str) and kind in BUILTIN:
        cls = _load_class(BUILTIN[kind])
    else:
        raise ConfigError(
            f"unknown publisher type {kind!r}; expected one of {', '.join(PUBLISHER_TYPES)}"
        )
    factory: PublisherFactory = cls.from_config
    publisher = factory(block, project_root)
    if not isinstance(publisher, Publisher):
        raise ConfigError(f"publisher {kind!r} does not implement publish/reconcile/close")
    return publisher
