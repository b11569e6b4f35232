"""No two modules of the package import each other, directly or through others — counting
the imports inside functions too (which Python tolerates at run time, and which hide a
module that does two jobs). Old code: ean.engine.evaluate <-> ean.engine.predict."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> nx.DiGraph:
    """Modules of ``ean`` and the ``ean`` modules each imports, anywhere in its file."""
    modules = {_module(p): p for p in (ROOT / "ean").rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and ast.unparse(block.test).endswith("TYPE_CHECKING") for s in block.body for n in ast.walk(s)}
        for node in ast.walk(tree):
            if id(node) in typing_only:   # `if TYPE_CHECKING:` imports are never executed
                continue
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:   # a name inside a module: that module
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph.add_edge(name, target)
    return graph


def test_the_import_graph_is_read():
    graph = import_graph()
    assert graph.has_edge("ean.engine.predict", "ean.engine.evaluate")
    assert graph.has_edge("ean.engine.evaluate", "ean.engine.trained")   # a function-level import


@pytest.mark.parametrize("package", ["ean.models", "ean.data", "ean.engine", "ean.study", "ean.viz", "ean.analysis"])
def test_no_import_cycles_between_modules(package):
    graph = import_graph().subgraph(n for n in import_graph() if n.startswith(package + "."))
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1]
    assert not cycles, cycles
