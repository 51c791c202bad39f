"""Preflight: everything a run or a seed will read, checked before any file is created.

Bad input is an error naming the file, the line or key and the fix, and nothing is written:
no store, no lock, no log, no claim. Checked here: the accounts (control characters), the
captions (strict CSV) or the legacy scheduler state, the publisher block (when the campaign was
loaded), and for the API channels the credentials file: present, mode 0600, valid, with an entry
for every account. A credentials problem is the run's problem, not the accounts': no job is
claimed and no account is blocked for it. Videos the channel would refuse (empty, not MP4/MOV,
truncated) are reported as the content failures they will be; they do not stop the run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from postpilot.config import Config, PostingContext
from postpilot.errors import ConfigError, CredentialsError
from postpilot.publishers.credential_store import CredentialStore
from postpilot.publishers.errors import ContentError
from postpilot.publishers.video import VideoLimits, preflight

log = logging.getLogger("postpilot.preflight")

#: Channels that publish with each account's own token from the credentials file.
API_CHANNELS = frozenset({"youtube", "instagram", "tiktok"})
#: Named one by one before "... and N more".
MAX_NAMED = 10


@dataclass
class Preflight:
    """What preflight found that does not stop a run."""

    accounts: list[str] = field(default_factory=list)
    #: (video path relative to the videos folder, why the channel will refuse it).
    bad_videos: list[tuple[str, str]] = field(default_factory=list)


def credentials_store(ctx: PostingContext) -> CredentialStore:
    """The credentials file the context's channel reads."""
    root = Path(ctx.project_root)
    custom = ctx.publisher.get("credentials")
    if isinstance(custom, str) and custom:
        return CredentialStore(root / custom)
    return CredentialStore.for_project(root)


def check_credentials(ctx: PostingContext, accounts: list[str]) -> None:
    """For API channels and the webhook: the credentials the run needs, or ConfigError."""
    kind = str(ctx.publisher.get("type", "outbox"))
    try:
        if kind in API_CHANNELS:
            credentials_store(ctx).check(accounts)
        elif kind == "webhook":
            env = ctx.publisher.get("secret_env")
            if isinstance(env, str) and env:
                if not os.environ.get(env):
                    raise ConfigError(
                        f"webhook secret_env names {env}, but that environment variable is not "
                        "set\n  Export it with the whsec_ secret, or remove secret_env"
                    )
            elif not credentials_store(ctx).webhook_secret():
                raise CredentialsError(
                    'the webhook needs a whsec_ secret: add "webhook": "whsec_..." to the '
                    'credentials file, or set "secret_env" in the publisher block'
                )
    except CredentialsError as exc:
        raise CredentialsError(
            f"{exc}\n  Nothing was claimed and no account was blocked: fix the credentials "
            "file and run again"
        ) from None


def check_videos(ctx: PostingContext) -> list[tuple[str, str]]:
    """Matched videos that no channel would publish (empty, not MP4/MOV, truncated)."""
    campaign = ctx.campaign_config
    if campaign is None:
        return []
    bad: list[tuple[str, str]] = []
    for video in campaign.match_videos().matched:
        try:
            preflight(Path(video.video_path), VideoLimits())
        except ContentError as exc:
            reason = str(exc).replace(f"video {video.video_path} ", "", 1)
            bad.append((video.relative_path, reason))
    return bad


def run_preflight(ctx: PostingContext, *, videos: bool = True) -> Preflight:
    """Every check above; ConfigError (naming file, line or key) before any file changes."""
    from postpilot.legacy_state import load_scheduler_state

    result = Preflight(accounts=ctx.get_accounts())
    if ctx.campaign_config is not None:
        ctx.campaign_config.load_captions()
    else:
        state = ctx.state_file or str(Path(ctx.project_root) / Config.STATE_FILE)
        load_scheduler_state(Path(state))
    check_credentials(ctx, result.accounts)
    if videos:
        result.bad_videos = check_videos(ctx)
        log_bad_videos(ctx, result.bad_videos)
    return result


def heal_reauth_blocks(ctx: PostingContext) -> list[str]:
    """Lift the needs-reauth block of every account whose credentials changed since the
    block (the operator wrote new tokens). Returns the accounts healed. Only an existing
    store is opened (nothing is created)."""
    from postpilot.jobs import JobStatus
    from postpilot.publishers.credential_store import credentials_changed
    from postpilot.store import open_store
    from postpilot.store.base import BLOCK_NEEDS_REAUTH

    if ctx.store_dsn is None and not Path(ctx.progress_file).exists():
        return []
    creds = credentials_store(ctx)
    healed: list[str] = []
    store = open_store(ctx)
    try:
        for account, state in store.account_states(ctx.get_accounts()).items():
            if state.block != BLOCK_NEEDS_REAUTH:
                continue
            if credentials_changed(creds, account, state.block_reason):
                store.unblock_account(account)
                healed.append(account)
                log.info(
                    "%s: account %s has new credentials: its needs-reauth block is lifted",
                    ctx.describe(),
                    account,
                )
        if healed:
            waiting = [
                j
                for j in store.list_jobs(statuses=[JobStatus.FAILED])
                if j.account in healed and j.error_type == BLOCK_NEEDS_REAUTH
            ]
            if waiting:
                log.warning(
                    "%s: %d jobs failed for re-authorization before; re-arm them with "
                    "--retry-all-failed --retry-include-non-retryable",
                    ctx.describe(),
                    len(waiting),
                )
    finally:
        store.close()
    return healed


def log_bad_videos(ctx: PostingContext, bad: list[tuple[str, str]]) -> None:
    """One warning with the count, then the first few by name with their reason."""
    if not bad:
        return
    log.warning(
        "%s: %d videos will fail as content errors (the channel cannot publish them):",
        ctx.describe(),
        len(bad),
    )
    for rel, reason in bad[:MAX_NAMED]:
        log.warning("  %s: %s", rel, reason)
    if len(bad) > MAX_NAMED:
        log.warning("  ... and %d more", len(bad) - MAX_NAMED)
