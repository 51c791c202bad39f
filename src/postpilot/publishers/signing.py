"""Standard Webhooks signing: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the
base64-decoded `whsec_` secret, computed over a streamed body (see publishers/webhook.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta

from postpilot import clock
from postpilot.errors import ConfigError


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional)."""
    raw = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(
            "the webhook secret is not a whsec_ secret (whsec_ followed by base64)"
        ) from None
    if not key:
        raise ConfigError("the webhook secret is empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: Iterator[bytes]) -> str:
    """`v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, fed from an iterator."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode(), hashlib.sha256)
    for part in body:
        mac.update(part)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: Iterable[bytes],
    *,
    now: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """Whether a delivery's `webhook-signature` matches its streamed raw body (for receivers).

    The reference Python library's verify() decodes the body as UTF-8, so it cannot check a
    binary multipart body; this checks the same scheme over raw bytes, in constant time.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        offered = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    moment = now or clock.now()
    if abs(moment.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(decode_secret(secret), msg_id, timestamp, iter(body))
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def sf_string(value: str) -> str:
    """An RFC 8941 sf-string (printable ASCII; backslash and quote escaped)."""
    printable = "".join(c if 0x20 <= ord(c) < 0x7F else "_" for c in value)
    return '"' + printable.replace("\\", "\\\\").replace('"', '\\"') + '"'
