"""campaign.json and captions columns of a prior campaign, in postpilot's terms.

The prior system read only `name`, `enabled` and `max_posts_per_account_per_day`; it picked
the captions file and videos folder by listing order and guessed caption columns. Here each
of those becomes an explicit key, and every translation or refusal is reported.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from postpilot.campaign_model import CampaignFile, describe_errors
from postpilot.migration.prior import PriorCampaign
from postpilot.publishers import PUBLISHER_TYPES

#: Keys postpilot reads that the prior system did not (kept as written when present).
_POSTPILOT_KEYS = frozenset(
    {"timezone", "max_attempts", "captions", "videos_dir", "publisher", "store"}
)


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for record in csv.reader(handle):
            return [h.strip() for h in record]
    return []


def caption_columns(path: Path) -> tuple[dict[str, str] | None, str]:
    """The captions block a prior captions header needs (None: detection works as is), or
    ("", why) when no column pair can be found."""
    header = _header(path)
    lowered = {h.lower(): h for h in header}
    if "text" in lowered and "shortcode" in lowered:
        return {"filename_column": lowered["shortcode"], "caption_column": lowered["text"]}, ""
    if "filename" in lowered and ("post_caption" in lowered or "caption" in lowered):
        return None, ""
    ident = next((lowered[k] for k in ("filename", "shortcode") if k in lowered), None)
    text = next((lowered[k] for k in ("post_caption", "caption", "text") if k in lowered), None)
    if ident and text:
        return {"filename_column": ident, "caption_column": text}, ""
    return None, (
        f"{path.name}: no filename/shortcode and caption/text columns in the header "
        f"({', '.join(header) or 'empty'})"
    )


def translate_settings(
    prior: PriorCampaign, timezone: str
) -> tuple[dict[str, Any], list[str], str]:
    """(postpilot campaign.json, one line per translation, why refused or "")."""
    raw = dict(prior.settings or {})
    out: dict[str, Any] = {}
    lines: list[str] = []
    for key in ("name", "enabled", "max_posts_per_account_per_day"):
        if key in raw:
            out[key] = raw.pop(key)
            lines.append(f"{key}: kept")
    if "platform" in raw:
        platform = raw.pop("platform")
        if isinstance(platform, str) and platform.lower() in PUBLISHER_TYPES:
            out["publisher"] = {"type": platform.lower()}
            lines.append(
                f"platform {json.dumps(platform)} -> publisher.type {json.dumps(platform.lower())}"
                " (set its credentials up: docs/publishers.md)"
            )
        else:
            lines.append(
                f"platform {json.dumps(platform)}: no such publisher "
                f"({', '.join(PUBLISHER_TYPES)}); publisher.type left as outbox"
            )
    for key in sorted(set(raw) & _POSTPILOT_KEYS):
        out[key] = raw.pop(key)
        lines.append(f"{key}: kept")
    for key in sorted(raw):
        lines.append(f"{key}: dropped (neither system reads it)")
    assert prior.videos_dir is not None
    assert prior.captions_file is not None
    if "videos_dir" not in out:
        out["videos_dir"] = str(prior.videos_dir)
        shown = json.dumps(str(prior.videos_dir))
        lines.append(f"videos folder {prior.videos_dir.name}/ -> videos_dir {shown}")
    columns, why = caption_columns(prior.captions_file)
    if why:
        return out, lines, why
    if columns is not None and "captions" not in out:
        out["captions"] = columns
        lines.append(
            f"caption columns -> captions.filename_column {columns['filename_column']!r}, "
            f"captions.caption_column {columns['caption_column']!r}"
        )
    if "timezone" not in out:
        out["timezone"] = timezone
        lines.append(
            f"timezone -> {timezone!r}: timestamps without an offset are read in it "
            "(the prior system wrote local time)"
        )
    try:
        CampaignFile.model_validate(out)
    except ValidationError as exc:
        errors = describe_errors(exc)
        return out, lines, f"{prior.folder.name}/campaign.json: " + "; ".join(errors)
    return out, lines, ""
