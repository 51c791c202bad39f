"""What the secret-leak checks of the channel tests search: everything a run leaves behind."""

from __future__ import annotations

from pathlib import Path


def everything_written(root: Path, *outputs: str) -> bytes:
    """Every byte of every file under the project (db, logs, exports ...) plus command output,
    except credentials.json itself."""
    blobs = [o.encode() for o in outputs]
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("credentials.json"):
            blobs.append(path.read_bytes())
    return b"\n".join(blobs)
