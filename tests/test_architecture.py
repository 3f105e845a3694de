"""The layer rule of DESIGN.md §4, read from the source with `ast`: imports flow one way, no circles.

cli (and the Python API, dlflow.api) -> workflow -> {data, model, train, runs, export, serve, report, monitor} -> config -> errors.
Imports inside functions count too (TensorFlow-free start-up makes most imports lazy). The package
root is the exception: `dlflow/__init__.py` lends the Python API its names, lazily; and
`dlflow/__main__.py` (`python -m dlflow`) is the CLI's entry point.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "dlflow"
LAYER = {"api": 4, "cli": 4, "workflow": 3, "data": 2, "model": 2, "train": 2, "runs": 2, "export": 2, "serve": 2,
         "report": 2, "monitor": 2, "config": 1}
ROOTS = ("dlflow", "dlflow.__main__")  # the package root and `python -m dlflow`: above the layers
# A known circle, lazy on one side: ImageFiles decodes itself (for bounded samples) through the stream
# that reads ImageFiles. Listed so that no new one slips in.
KNOWN_CIRCLES = [{"dlflow.data.image_files", "dlflow.data.image_stream"}]


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dlflow"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("dlflow"))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYER.get(parts[1], 0) if len(parts) > 1 else 0  # `dlflow` itself: its version (the API is lazy)


def test_imports_follow_the_layer_rule():
    wrong = [f"{a} imports {b}" for a, targets in _graph().items() if a not in ROOTS for b in targets
             if _layer(b) > _layer(a) or (_layer(b) == _layer(a) >= 3 and a.split(".")[1] != b.split(".")[1])]
    assert wrong == []


def test_no_import_circles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(component)

    for module in graph:
        if module not in index:
            visit(module)
    assert [sorted(c) for c in circles if c not in KNOWN_CIRCLES] == []
