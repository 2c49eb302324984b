"""The package's shape, checked from its source: layers only import downwards and no module imports itself in a
circle. The layer order is written once, here, and explained in docs/architecture.md."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "ragtune"

# Bottom to top. A module may import modules of its own package (the first name after ``ragtune.``) and of any
# lower layer; never a higher layer, never another package of its own layer.
LAYERS: list[set[str]] = [
    {"errors", "version"},
    {"types", "text", "jsonl", "files", "migrations"},
    {"config"},
    {"models", "store", "keys"},
    {"ingest", "retrieve", "testing"},
    {"generate"},
    {"audit"},
    {"evaluate"},
    {"finetune"},
    {"economics"},
    {"components"},
    {"workspace"},
    {"api"},
    {"cli", "__init__"},
]
LAYER_OF = {package: n for n, packages in enumerate(LAYERS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every ragtune module ``path`` imports, at module level or inside functions (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from ragtune.x import y`` imports ragtune.x.y when y is a module, else a name from ragtune.x
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                     for a in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith("ragtune.") or n == "ragtune")
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in graph()}
    assert packages <= set(LAYER_OF), f"add {sorted(packages - set(LAYER_OF))} to LAYERS (and docs/architecture.md)"


def test_no_module_imports_a_higher_layer_or_a_sibling_package():
    bad = []
    for module, imported in graph().items():
        here = package_of(module)
        for target in imported:
            there = package_of(target)
            if there != here and LAYER_OF[there] >= LAYER_OF[here]:
                bad.append(f"{module} imports {target} ({there}, layer {LAYER_OF[there]} >= {here}, layer "
                           f"{LAYER_OF[here]})")
    assert not bad, "\n".join(bad)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative enough for this size)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_files():
    edges = {m: {t for t in targets if t in graph_modules and t != "ragtune"} for m, targets in GRAPH.items()}
    assert cycles(edges) == []


def test_no_import_cycles_between_packages():
    edges: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        edges.setdefault(package_of(module), set()).update(
            package_of(t) for t in targets if t != "ragtune" and package_of(t) != package_of(module))
    assert cycles(edges) == []


@pytest.mark.parametrize("edges,expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set()}, []),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected


GRAPH = graph()
graph_modules = set(GRAPH)
