"""A campaign's accounts.txt: one account per line, in file order, each once; blank lines and
full-line # comments ignored, repeated names reported. Also the one way campaign files are read
as text (UTF-8 with or without BOM; ConfigError naming the file). Split from campaign.py."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from postpilot.errors import ConfigError


@dataclass(frozen=True, slots=True)
class AccountsFile:
    """The accounts of one accounts file, in file order, each once; repeated names reported."""

    accounts: list[str]
    duplicates: list[str] = field(default_factory=list)


def read_accounts_file(path: Path) -> AccountsFile:
    """Read an accounts file: one name per line, stripped; blank lines and `#` lines ignored.

    Names are case-sensitive. A repeated name keeps its first position and is listed in
    `duplicates` (once per extra occurrence)."""
    text = read_text(path, "Create this file with one account name per line")
    accounts: list[str] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        bad = next((ch for ch in name if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            # A NUL or other control character never matches a platform account: its jobs
            # would wait forever. Refuse the file instead.
            raise ConfigError(
                f"{path} line {number}: the account name contains the control character "
                f"U+{ord(bad):04X}\n  Remove it (save the file as plain UTF-8 text)"
            )
        if name in seen:
            duplicates.append(name)
            continue
        seen.add(name)
        accounts.append(name)
    return AccountsFile(accounts=accounts, duplicates=duplicates)


def read_text(path: Path, how_to_create: str) -> str:
    """A UTF-8 text file (BOM or not); ConfigError naming the file when absent or undecodable."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"File not found: {path}\n  {how_to_create}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}") from None
