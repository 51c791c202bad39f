"""The dashboard's actions: each taken once per Idempotency-Key and kept in the campaign's store
with who took it and when.

The actions are the command line's own operations (ops/confirm.py confirm and unblock,
ops/retry.py retry_failed), so a click and `--confirm` / `--unblock` / `--retry-all-failed`
do the same thing. A repeated request with the same key gets the first answer back and changes
nothing; the same key with another action or target is refused (422). Actions are serialized
in this process, so two tabs double-clicking cannot both act under one key.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from postpilot.config import PostingContext
from postpilot.errors import PostpilotError
from postpilot.jobs import utcnow
from postpilot.ops.common import OperationFailed
from postpilot.ops.confirm import confirm, unblock
from postpilot.ops.retry import retry_failed
from postpilot.store.dashboard import OperatorAction, SupportsDashboard
from postpilot.web.views import opened

#: Idempotency keys: what a browser's crypto.randomUUID() or a script's uuid gives, and more.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
ACTIONS = frozenset({"confirm", "unblock", "retry_failed", "pause", "resume"})


@dataclass(frozen=True)
class Outcome:
    """The HTTP status and JSON body of an action."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class ActionError(Exception):
    """An action refused before anything changed (HTTP status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_key(key: str | None) -> str:
    """The Idempotency-Key header, validated."""
    if not key:
        raise ActionError(400, "the Idempotency-Key header is required for every action")
    if not KEY_PATTERN.match(key):
        raise ActionError(
            400, "Idempotency-Key must be 8-128 characters of letters, digits, '.', '_', ':', '-'"
        )
    return key


class Actions:
    """Runs actions one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def run(
        self,
        ctx: PostingContext,
        action: str,
        target: str,
        params: dict[str, Any],
        key: str,
        actor: str,
    ) -> Outcome:
        """Take the action unless its key was used; record it in the store."""
        with self._lock, opened(ctx) as store:
            if store is None:
                raise ActionError(409, f"{ctx.describe()} has no progress store yet")
            if not isinstance(store, SupportsDashboard):
                raise ActionError(501, "this store does not keep dashboard actions")
            earlier = store.find_action(key)
            if earlier is not None:
                if (earlier.action, earlier.target) != (action, target):
                    raise ActionError(
                        422,
                        f"Idempotency-Key already used for {earlier.action} {earlier.target}",
                    )
                return Outcome(200, dict(earlier.result), replayed=True)
            result = self._perform(ctx, store, action, target, params, actor)
            result = {**result, "action": action, "target": target, "by": actor}
            kept = store.record_action(OperatorAction(key, action, target, actor, utcnow(), result))
            return Outcome(200, dict(kept.result))

    @staticmethod
    def _perform(
        ctx: PostingContext,
        store: SupportsDashboard,
        action: str,
        target: str,
        params: dict[str, Any],
        actor: str,
    ) -> dict[str, Any]:
        try:
            if action == "confirm":
                data = confirm(ctx, target, bool(params["posted"])).to_json()
            elif action == "unblock":
                data = unblock(ctx, [target]).to_json()
            elif action == "retry_failed":
                data = retry_failed(ctx, bool(params["include_non_retryable"])).to_json()
            elif action in ("pause", "resume"):
                paused = action == "pause"
                store.set_paused(paused, actor, utcnow())
                word = "paused: no job is claimed" if paused else "resumed"
                data = {"ok": True, "message": f"{ctx.describe()} {word}"}
            else:
                raise ActionError(404, f"unknown action {action!r}")
        except OperationFailed as exc:
            raise ActionError(409, str(exc).splitlines()[0]) from None
        except PostpilotError as exc:
            raise ActionError(409, str(exc).splitlines()[0]) from None
        keep = ("ok", "message", "job_id", "posted", "status", "account", "was", "rearmed")
        return {k: data[k] for k in keep if k in data}
