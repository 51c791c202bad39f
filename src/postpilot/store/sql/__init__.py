"""The PostgreSQL store's SQL, kept in .sql files next to this module (procrastinate's habit).

`queries.sql` holds named blocks, each opened by a line `-- name: <name> --`; `load_queries`
returns them as a dict, without their comment lines and with each line trimmed: shorter text
is what psycopg caches and the server parses (no string literal in these files spans lines).
A block named `fragment.<name>` is SQL several queries share, written once: `{{fragment.<name>}}`
in a query stands for it.
Schema migrations are the files `NNNN_<description>.sql`, applied in version order by
postpilot.store.postgres and recorded in the `postpilot_migrations` table.
Only postpilot.store.postgres uses this package's files; the SQLite store's are in the
subpackage `sqlite` (loaded the same way). Nothing here touches a database.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

_NAME_LINE = re.compile(r"^-- name: ((?:fragment\.)?[a-z_][a-z0-9_]*) --[ \t]*$", re.MULTILINE)
_FRAGMENT = re.compile(r"\{\{(fragment\.[a-z_][a-z0-9_]*)\}\}")
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema migration file."""

    version: int
    name: str
    sql: str


def _files(package: str) -> Traversable:
    """The files of `package`, already imported: its folder when it is one (the usual case,
    read without importing importlib.resources, which with zipfile and tempfile costs every
    store open a few milliseconds), else importlib.resources' view (a zipped install)."""
    init = getattr(sys.modules.get(package), "__file__", None)
    if init is not None and Path(init).name == "__init__.py" and Path(init).is_file():
        return Path(init).parent
    from importlib import resources

    return resources.files(package)


def read_sql(package: str, filename: str) -> str:
    """The text of one .sql file of `package` (this one, or postpilot.store.sql.sqlite)."""
    return _files(package).joinpath(filename).read_text(encoding="utf-8")


def _read(filename: str) -> str:
    return read_sql(__name__, filename)


def parse_queries(text: str) -> dict[str, str]:
    """The named blocks of a queries file; text before the first name line is ignored.
    A repeated name is an error, since the later block would silently win. A block named
    `fragment.<name>` is no query: its text replaces `{{fragment.<name>}}` in the others (one
    copy of SQL that several queries share); an unknown or unused fragment is an error."""
    matches = list(_NAME_LINE.finditer(text))
    blocks: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        name = match.group(1)
        if name in blocks:
            raise ValueError(f"query {name!r} is defined twice")
        lines = (line.strip() for line in text[match.end() : end].splitlines())
        blocks[name] = "\n".join(line for line in lines if line and not line.startswith("--"))
    fragments = {name: sql for name, sql in blocks.items() if name.startswith("fragment.")}
    queries = {name: sql for name, sql in blocks.items() if name not in fragments}
    used: set[str] = set()
    for name, sql in queries.items():
        for reference in _FRAGMENT.findall(sql):
            if reference not in fragments:
                raise ValueError(f"query {name!r} uses an unknown {reference!r}")
            used.add(reference)
            sql = sql.replace("{{" + reference + "}}", fragments[reference])
        queries[name] = sql
    if unused := sorted(set(fragments) - used):
        raise ValueError(f"{unused[0]!r} is used by no query")
    return queries


@cache
def load_queries() -> dict[str, str]:
    """The store's named queries (queries.sql), parsed once."""
    return parse_queries(_read("queries.sql"))


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration of this package, in version order."""
    return migrations_of(__name__)


def migrations_of(package: str) -> tuple[Migration, ...]:
    """Every migration file (`NNNN_<description>.sql`) of `package`, in version order."""
    found = []
    for entry in _files(package).iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(
                Migration(int(match.group(1)), match.group(2), read_sql(package, entry.name))
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migrations share a version: {versions}")
    return tuple(found)
