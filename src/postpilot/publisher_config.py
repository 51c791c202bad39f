"""The `publisher` block of campaign.json (or postpilot.json): one strict model per channel.

A discriminated union on `type` (default "outbox"): every key of every channel is declared with
its type, unknown keys are rejected ("did you mean"), and types are strict, so `"false"` is not
a boolean and `0` is not a timeout. `custom` declares only `class` and passes its other keys to
the in-house channel. Values the user did not write are not filled in here: each channel keeps
its own defaults, and gets exactly the keys the user wrote (`as_block`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Float limits (0.0), so messages say "a number" rather than "an integer".
Seconds = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Text = Annotated[str, Field(min_length=1)]
Url = Annotated[str, Field(pattern=r"^https?://\S+$")]


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class OutboxBlock(_Block):
    """`{"type": "outbox", "dir": "<folder relative to the project root>"}`."""

    type: Literal["outbox"] = "outbox"
    dir: Text | None = None


class WebhookBlock(_Block):
    """A signed webhook the user controls (docs/publishers.md)."""

    type: Literal["webhook"]
    url: Url
    mode: Literal["multipart", "json"] = "multipart"
    video_url_base: str | None = None
    secret_env: Text | None = None
    timeout: PositiveSeconds | None = None
    status_url: Url | None = None
    #: Opt-in: the receiver drops repeated webhook-id deliveries, so a lost response may be
    #: resent with the same id instead of becoming unconfirmed.
    receiver_deduplicates: bool | None = None

    @model_validator(mode="after")
    def _json_needs_video_url(self) -> WebhookBlock:
        if self.mode == "json" and not self.video_url_base:
            raise ValueError('mode "json" needs "video_url_base"')
        return self


class YouTubeBlock(_Block):
    """The YouTube Data API (resumable uploads)."""

    type: Literal["youtube"]
    api_base: Url | None = None
    upload_base: Url | None = None
    token_url: Url | None = None
    privacy_status: Literal["private", "unlisted", "public"] | None = None
    category_id: Text | None = None
    #: A COPPA declaration: only a real JSON boolean is accepted.
    made_for_kids: bool | None = None
    chunk_size: Annotated[int, Field(gt=0)] | None = None
    timeout: PositiveSeconds | None = None
    max_resumes: Annotated[int, Field(ge=0)] | None = None
    backoff_seconds: Seconds | None = None
    max_duration_seconds: PositiveSeconds | None = None
    credentials: Text | None = None


class InstagramBlock(_Block):
    """The Instagram Graph API (Reels)."""

    type: Literal["instagram"]
    api_base: Url | None = None
    upload_base: Url | None = None
    token_url: Url | None = None
    token_grant: Text | None = None
    mode: Literal["upload", "video_url"] | None = None
    video_url_base: str | None = None
    share_to_feed: bool | None = None
    poll_interval: Seconds | None = None
    poll_timeout: Seconds | None = None
    refresh_margin_days: Seconds | None = None
    rate_limit_wait_seconds: Seconds | None = None
    max_bytes: Annotated[int, Field(gt=0)] | None = None
    max_duration_seconds: PositiveSeconds | None = None
    min_duration_seconds: Seconds | None = None
    timeout: PositiveSeconds | None = None

    @model_validator(mode="after")
    def _video_url_needs_base(self) -> InstagramBlock:
        if self.mode == "video_url" and not self.video_url_base:
            raise ValueError('mode "video_url" needs "video_url_base"')
        return self


class TikTokBlock(_Block):
    """The TikTok Content Posting API."""

    type: Literal["tiktok"]
    api_base: Url | None = None
    token_url: Url | None = None
    mode: Literal["direct", "inbox"] | None = None
    privacy_level: Text | None = None
    disable_comment: bool | None = None
    disable_duet: bool | None = None
    disable_stitch: bool | None = None
    is_aigc: bool | None = None
    chunk_size_mb: PositiveSeconds | None = None
    poll_interval: Seconds | None = None
    poll_timeout: Seconds | None = None
    rate_limit_wait_seconds: Seconds | None = None
    max_bytes: Annotated[int, Field(gt=0)] | None = None
    max_duration_seconds: PositiveSeconds | None = None
    min_duration_seconds: Seconds | None = None
    timeout: PositiveSeconds | None = None


class CustomBlock(BaseModel):
    """An in-house channel: `class` is required, every other key is the channel's own."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)

    type: Literal["custom"]
    class_: Annotated[str, Field(alias="class", pattern=r"^[\w.]+:\w+$")]


PublisherBlock = Annotated[
    OutboxBlock | WebhookBlock | YouTubeBlock | InstagramBlock | TikTokBlock | CustomBlock,
    Field(discriminator="type"),
]

#: type -> its model (for "allowed keys" in messages).
BLOCK_MODELS: dict[str, type[BaseModel]] = {
    "outbox": OutboxBlock,
    "webhook": WebhookBlock,
    "youtube": YouTubeBlock,
    "instagram": InstagramBlock,
    "tiktok": TikTokBlock,
    "custom": CustomBlock,
}


def with_default_type(value: Any) -> Any:
    """A block without `type` is the outbox (the default channel)."""
    if isinstance(value, dict) and "type" not in value:
        return {**value, "type": "outbox"}
    return value


def allowed_keys(kind: str) -> list[str]:
    """The keys a block of `kind` accepts, as the user writes them."""
    model = BLOCK_MODELS.get(kind)
    if model is None:
        return ["type"]
    return [info.alias or name for name, info in model.model_fields.items()]


def as_block(block: BaseModel) -> dict[str, Any]:
    """The keys the user wrote (and `type`), as the channel's from_config reads them."""
    data = block.model_dump(by_alias=True, exclude_unset=True)
    data["type"] = block.type  # type: ignore[attr-defined]
    return data


def strip_tag(loc: tuple[str, ...], field: str = "publisher") -> tuple[str, ...]:
    """('publisher', 'youtube', 'made_for_kids') -> ('publisher', 'made_for_kids')."""
    if len(loc) >= 2 and loc[0] == field and loc[1] in BLOCK_MODELS:
        return (loc[0], *loc[2:])
    return loc
