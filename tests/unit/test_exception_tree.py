"""postpilot.errors draws the one exception tree; these tests keep drawing and code in step."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import postpilot
from postpilot import errors
from postpilot.jobs import ErrorCategory
from postpilot.publishers import errors as publish_errors
from postpilot.publishers.http import NetworkError
from postpilot.publishers.instagram import ContainerGone

#: One drawn class: tree prefix, optional connector, name, optional (Mixin, ...), optional
#: [module], then the description after two spaces. A class without [module] lives in its
#: parent's module (postpilot.errors at the top).
LINE = re.compile(
    r"^(?P<indent>(?:│   |    )*)(?:(?:├|└)── )?(?P<name>[A-Z]\w*)"
    r"(?: \((?P<mixins>[\w, ]+)\))?(?: \[(?P<module>[\w.]+)\])?(?:\s{2,}.*)?$"
)


def drawn() -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    """(module, class) -> (parent class name, mixin names) as the docstring draws them."""
    doc = inspect.getdoc(errors) or ""
    tree: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    for block in re.findall(r"(?:^    \S.*\n?(?:^    .*\n?)*)", doc, flags=re.M):
        stack: list[tuple[str, str]] = []  # (class, module) of the drawn ancestors
        for raw in block.splitlines():
            line = raw[4:]
            match = LINE.match(line)
            if match is None:
                continue  # a description's continuation line
            depth = len(match["indent"]) // 4 + (1 if line.lstrip("│ ")[:1] in "├└" else 0)
            del stack[depth:]
            parent, inherited = stack[-1] if stack else ("", "postpilot.errors")
            module = "postpilot." + match["module"] if match["module"] else inherited
            mixins = tuple(m.strip() for m in (match["mixins"] or "").split(",") if m.strip())
            if depth > 0:
                assert (module, match["name"]) not in tree, f"{match['name']} drawn twice"
                tree[(module, match["name"])] = (parent, mixins)
            stack.append((match["name"], module))
    return tree


def defined() -> dict[tuple[str, str], type[BaseException]]:
    """Every public exception class defined anywhere under src/postpilot."""
    found: dict[tuple[str, str], type[BaseException]] = {}
    modules = [postpilot.__name__]
    modules += [m.name for m in pkgutil.walk_packages(postpilot.__path__, "postpilot.")]
    for name in modules:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and not attr.startswith("_")
            ):
                found[(name, attr)] = value
    return found


def test_every_public_exception_is_drawn_under_its_real_parent() -> None:
    """Each public exception class appears in the tree once, under its first base, with its
    other bases in parentheses; the tree draws no class that does not exist."""
    tree = drawn()
    classes = defined()
    assert set(classes) - set(tree) == set(), "exceptions missing from postpilot.errors' tree"
    assert set(tree) - set(classes) == set(), "the tree draws classes that do not exist"
    for key, cls in classes.items():
        parent, mixins = tree[key]
        bases = [b.__name__ for b in cls.__bases__]
        assert bases[0] == parent, f"{key}: drawn under {parent}, derives from {bases[0]}"
        assert tuple(bases[1:]) == mixins, f"{key}: drawn with {mixins}, also derives {bases}"


def test_every_exception_raised_to_a_caller_is_a_postpilot_error() -> None:
    """Only the dashboard's two internal exceptions stay outside PostpilotError."""
    outside = {key for key, cls in defined().items() if not issubclass(cls, errors.PostpilotError)}
    assert outside == {
        ("postpilot.web.cache", "CampaignNotFound"),
        ("postpilot.web.actions", "ActionError"),
    }


def test_each_publish_error_records_the_category_the_tree_names() -> None:
    """The categories the docstring lists are the ones the classes record, and a permanent
    refusal is never filed as a content error."""
    expected = {
        publish_errors.TransientError: ErrorCategory.INFRASTRUCTURE,
        NetworkError: ErrorCategory.INFRASTRUCTURE,
        ContainerGone: ErrorCategory.INFRASTRUCTURE,
        publish_errors.OutcomeUnknown: ErrorCategory.INFRASTRUCTURE,
        publish_errors.LeaseLost: ErrorCategory.INFRASTRUCTURE,
        publish_errors.RateLimited: ErrorCategory.RATE_LIMIT,
        publish_errors.AuthError: ErrorCategory.ACCOUNT,
        publish_errors.ContentError: ErrorCategory.CONTENT,
        publish_errors.PermanentError: ErrorCategory.PERMANENT,
    }
    doc = inspect.getdoc(errors) or ""
    for cls, category in expected.items():
        assert cls.category is category, cls.__name__
    listed = doc[doc.index("Every PublishError's `category`") :]
    for category in {"infrastructure", "rate_limit", "account", "content", "permanent"}:
        assert f"`{category}`" in listed
