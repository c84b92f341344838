"""The shape the redesign set (README, "Layout"): no import cycles, small files and functions, and the
layering rules (the store and the domain know nothing of GitHub; only `collector.app` builds services).

Imports inside `if TYPE_CHECKING:` and inside functions count: a cycle hidden there is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "collector"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60

# Longer on purpose, each with its reason.
LONG_FUNCTIONS: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every collector module `module` imports, wherever the import statement stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from collector.cli import db` imports the submodule collector.cli.db.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name in known and name != module:
                yield name


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {m: set(_imports(m, p, known)) for m, p in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_not_even_for_type_checking() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_store_and_the_domain_know_nothing_of_github_jobs_or_commands() -> None:
    graph = _graph()
    for module, imported in graph.items():
        if module == "collector.domain" or module.startswith("collector.store"):
            bad = {
                m for m in imported if m.startswith(("collector.github", "collector.jobs", "collector.cli"))
            }
            assert not bad, f"{module} imports {sorted(bad)}"
        if module.startswith("collector.reports"):
            bad = {
                m for m in imported if m.startswith(("collector.cli", "collector.app", "collector.github"))
            }
            assert not bad, f"{module} imports {sorted(bad)}"


def test_only_the_app_builds_github_clients_and_engines() -> None:
    builders = {"GitHubClient(": "a GitHub client", "make_engine(": "an engine", "MinutePacer(": "a pacer"}
    allowed = {"collector/app.py", "collector/github/client.py", "collector/store/engine.py"}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(REPO_ROOT))
        if rel in allowed or rel.startswith("collector/testing/"):
            continue
        text = path.read_text(encoding="utf-8")
        for call, what in builders.items():
            assert call not in text.replace(f"def {call}", ""), (
                f"{rel} builds {what}; only collector/app.py may"
            )


def test_files_and_functions_stay_small() -> None:
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(REPO_ROOT))
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_FILE_LINES:
            too_long.append(f"{rel}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and (rel, node.name) not in LONG_FUNCTIONS:
                    too_long.append(f"{rel}: {node.name}() is {length} lines")
    assert too_long == []
