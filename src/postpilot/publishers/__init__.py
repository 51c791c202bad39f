"""Publishing channels and the registry that builds one from a campaign's `publisher` block.

Channel modules are imported only when used, so the outbox never imports an HTTP client.
`"type": "custom"` with `"class": "package.module:ClassName"` loads an in-house channel that
implements postpilot.publishers.base.Publisher and offers `from_config(block, project_root)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from postpilot.errors import ConfigError
from postpilot.publishers.base import Publisher

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
    publisher = cls.from_config(block, project_root)
    if not isinstance(publisher, Publisher):
        raise ConfigError(f"publisher {kind!r} does not implement publish/reconcile/close")
    return publisher
