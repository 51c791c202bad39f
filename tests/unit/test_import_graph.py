"""The import rules of docs/architecture.md ("Layers and import rules"), read from the source
with ast: every import of every module under src/postpilot, at module level and inside
functions, with `if TYPE_CHECKING:` imports told apart."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "postpilot"

#: The domain layer: the validated campaign, the run's context and the pure rules. They may
#: be imported by anyone and import no adapter, at any level (architecture.md).
DOMAIN = frozenset(
    {
        # accounts_file.py, campaign_json.py, captions.py and video_match.py: the campaign
        # folder's files, each read by its own module, split from campaign.py (which builds the
        # CampaignConfig from them).
        "postpilot.accounts_file",
        "postpilot.campaign",
        "postpilot.campaign_json",
        # campaign_model.py and settings_model.py: the pydantic models behind campaign_json.py
        # and settings.py, imported only for a file or variable the plain readers leave to them.
        "postpilot.campaign_model",
        "postpilot.captions",
        "postpilot.clock",
        "postpilot.config",
        "postpilot.errors",
        "postpilot.jobs",
        # legacy_state.py: the legacy scheduler_state.json as seeding reads it, split from
        # seeding.py (pure parsing: it imports only errors).
        "postpilot.legacy_state",
        "postpilot.paths",
        "postpilot.project_settings",
        "postpilot.publisher_config",
        "postpilot.schedule",
        "postpilot.seeding",
        "postpilot.settings",
        "postpilot.settings_model",
        "postpilot.validation",
        "postpilot.video_match",
        "postpilot.video_paths",
    }
)

#: Adapters: the store backends, the publishing channels (with the registry that loads them
#: and the HTTP adapter), the dashboard and the runner's processes. The contracts
#: (store.base, store.dashboard, publishers.base, publishers.errors) are not adapters.
ADAPTER_PREFIXES = (
    "postpilot.store.sqlite",
    "postpilot.store.sqlite_dashboard",
    "postpilot.store.postgres",
    "postpilot.store.postgres_dashboard",
    "postpilot.store.memory",
    "postpilot.store.sql",
    # The backends' parts, split from sqlite.py, postgres.py and memory.py by concept (the
    # connection and transactions, job and ledger reads, the row mapping, the dashboard side).
    # store/rules.py and store/cas.py are pure and shared by all three: not adapters.
    "postpilot.store.sqlite_connection",
    "postpilot.store.sqlite_batch",
    "postpilot.store.sqlite_ledger",
    "postpilot.store.sqlite_rows",
    "postpilot.store.postgres_connection",
    "postpilot.store.postgres_ledger",
    "postpilot.store.memory_dashboard",
    "postpilot.publishers.http",
    # oauth.py: the platform channels' token session and refresh-once-and-resend rule, split
    # from youtube.py, tiktok.py and instagram.py (it works with the credentials file's tokens).
    "postpilot.publishers.oauth",
    # error_rules.py: the platform error tables' one shape; it builds the generic HTTP status
    # error through publishers/http.py.
    "postpilot.publishers.error_rules",
    "postpilot.publishers.signing",
    "postpilot.publishers.outbox",
    "postpilot.publishers.webhook",
    "postpilot.publishers.youtube",
    # youtube_api.py: the YouTube channel's API client (requests, tokens, error table), split
    # from youtube.py, which keeps the upload flow.
    "postpilot.publishers.youtube_api",
    "postpilot.publishers.instagram",
    # instagram_api.py: the Instagram channel's Graph API client (requests, tokens), split
    # from instagram.py, which keeps the publish flow; instagram_errors.py is its error table.
    "postpilot.publishers.instagram_api",
    "postpilot.publishers.instagram_errors",
    "postpilot.publishers.tiktok",
    # tiktok_api.py: the TikTok channel's API client (requests, tokens, chunk plan, error
    # tables), split from tiktok.py, which keeps the publish flow.
    "postpilot.publishers.tiktok_api",
    # block.py: reads the publisher block's values for the TikTok and Instagram channels.
    "postpilot.publishers.block",
    # credentials.py (an account's tokens, the refresh grant over publishers/http.py) and
    # credential_store.py (the credentials file): moved from the top level beside the channels
    # that use them. postpilot.credentials stays as their re-export for old imports, so it is
    # an adapter too. publishers/video.py (moved from postpilot/video.py) is not listed: it
    # reads a file's MP4 boxes and imports only publishers/errors.py.
    "postpilot.publishers.credentials",
    "postpilot.publishers.credential_store",
    "postpilot.credentials",
    "postpilot.web",
    "postpilot.runner",
)
#: `import postpilot.publishers` itself is the channel registry (build_publisher).
ADAPTER_MODULES = frozenset({"postpilot.publishers", "postpilot.store"})

#: Each driver and the only modules that may import it (at any level).
DRIVERS: dict[str, tuple[str, ...]] = {
    # store/sqlite_schema.py is the SQLite adapter's schema and upgrades; sqlite_connection.py
    # (opening the files), sqlite_batch.py (transactions shared by threads) and
    # sqlite_ledger.py (job and ledger reads, bulk writes) were split from sqlite.py by concept.
    "sqlite3": (
        "postpilot.store.sqlite",
        "postpilot.store.sqlite_schema",
        "postpilot.store.sqlite_connection",
        "postpilot.store.sqlite_batch",
        "postpilot.store.sqlite_ledger",
    ),
    # postgres_connection.py (pool, errors, queries, migrations) and postgres_ledger.py (job and
    # ledger reads, bulk writes, several hosts) were split from postgres.py by concept.
    "psycopg": (
        "postpilot.store.postgres",
        "postpilot.store.postgres_connection",
        "postpilot.store.postgres_ledger",
    ),
    "psycopg_pool": ("postpilot.store.postgres", "postpilot.store.postgres_connection"),
    "httpx2": ("postpilot.publishers.http",),
    "httpx": (),
    "fastapi": ("postpilot.web",),
    "starlette": ("postpilot.web",),
    "uvicorn": ("postpilot.web",),
}


@dataclass(frozen=True)
class Import:
    """One imported module as seen in `importer`'s source."""

    importer: str
    target: str
    line: int
    #: At module level (executed when the importer is imported), not inside a function.
    module_level: bool
    #: Under `if TYPE_CHECKING:` (never executed).
    type_only: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    # `from pkg import sub` imports the submodule pkg.sub when there is one.
    found = [f"{base}.{alias.name}" for alias in node.names]
    return [t if t in modules() else base for t in found]


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _walk(
    node: ast.AST, importer: str, is_package: bool, context: tuple[bool, bool], out: list[Import]
) -> None:
    """Collect the imports below `node`; context = (module_level, type_only)."""
    module_level, type_only = context
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            for target in dict.fromkeys(_targets(child, importer, is_package)):
                out.append(Import(importer, target, child.lineno, module_level, type_only))
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                _walk(ast.Module([stmt], []), importer, is_package, (module_level, True), out)
            for stmt in child.orelse:
                _walk(ast.Module([stmt], []), importer, is_package, context, out)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            _walk(child, importer, is_package, (False, type_only), out)
        else:
            _walk(child, importer, is_package, context, out)


@cache
def imports() -> tuple[Import, ...]:
    """Every import statement of every module."""
    found: list[Import] = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        _walk(tree, name, path.name == "__init__.py", (True, False), found)
    return tuple(found)


def internal_graph(*, module_level_only: bool) -> dict[str, set[str]]:
    """importer -> the package's modules it imports (executed imports only). Importing
    a.b.c also runs the __init__ of a and a.b, but those are already importing when a.b.c's
    import runs, so such implicit parent edges are not counted (as import tools do)."""
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for imp in imports():
        if imp.type_only or (module_level_only and not imp.module_level):
            continue
        if imp.target in modules() and imp.target != imp.importer:
            graph[imp.importer].add(imp.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def is_adapter(target: str) -> bool:
    if target in ADAPTER_MODULES:
        return True
    if any(target == p or target.startswith(p + ".") for p in ADAPTER_PREFIXES):
        return True
    return target.split(".")[0] in DRIVERS


def test_the_graph_sees_every_module_and_its_imports() -> None:
    """The parser finds the package's modules and both kinds of import (a check on the checker:
    campaign imports paths at module level, config imports campaign inside a function)."""
    assert {"postpilot.cli", "postpilot.paths", "postpilot.store.sqlite"} <= set(modules())
    by_edge = {(i.importer, i.target): i for i in imports()}
    assert by_edge[("postpilot.campaign", "postpilot.paths")].module_level
    assert not by_edge[("postpilot.config", "postpilot.campaign")].module_level
    assert by_edge[("postpilot.store.sqlite", "sqlite3")].module_level
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_among_module_level_imports() -> None:
    """Importing any module never re-enters a module that is still being imported."""
    assert cycles(internal_graph(module_level_only=True)) == []


def test_campaign_and_config_do_not_import_each_other_even_inside_functions() -> None:
    """The campaign -> config -> campaign loop is gone: the path constants live in the leaf
    module postpilot.paths, which imports nothing of postpilot at module level."""
    graph = internal_graph(module_level_only=False)
    assert not any("postpilot.campaign" in c and "postpilot.config" in c for c in cycles(graph))
    leaf = [i for i in imports() if i.importer == "postpilot.paths" and i.module_level]
    assert [i.target for i in leaf if i.target.startswith("postpilot")] == []


@pytest.mark.parametrize("domain", sorted(DOMAIN))
def test_domain_modules_import_no_adapter(domain: str) -> None:
    """A domain module imports no store backend, channel, HTTP/database/ASGI driver, dashboard
    or runner module, neither at module level nor inside a function nor for type checking."""
    assert domain in modules()
    bad = [
        f"{domain}:{i.line} imports {i.target}"
        for i in imports()
        if i.importer == domain and is_adapter(i.target)
    ]
    assert bad == []


def test_each_driver_is_imported_only_by_its_adapter() -> None:
    """sqlite3 only in store/sqlite.py and its schema module, psycopg only in store/postgres.py,
    the HTTP driver only in publishers/http.py, the ASGI stack only under web/."""
    bad = []
    for imp in imports():
        root = imp.target.split(".")[0]
        if root not in DRIVERS:
            continue
        allowed = DRIVERS[root]
        if not any(imp.importer == a or imp.importer.startswith(a + ".") for a in allowed):
            bad.append(f"{imp.importer}:{imp.line} imports {imp.target}")
    assert bad == []
