"""The layout rules anyone can check (chalicelib/README.md, issue 13): no import circle among the app's modules, and
no module over 450 lines in the packages that hold the code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _app_modules() -> dict[str, Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return {_module_name(path): path for path in files}


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The modules one statement imports, lazy ones (inside a function) and `importlib.import_module("x")` included:
    a circle closed at run time is still a circle."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "import_module"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def import_graph() -> dict[str, set[str]]:
    modules = _app_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        graph[name] = {
            target
            for node in ast.walk(tree)
            for target in _imported(node, name, is_package)
            if target in modules and target != name
        }
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph (its modules, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph[node]):
            if target in on_path:
                return [*path[path.index(target):], target]
            if target not in done:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found is not None:
                return found
    return None


def test_no_import_circle_among_app_and_chalicelib_modules():
    graph = import_graph()
    assert graph.get("app"), "the graph misses app.py's imports"
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_circle_finder_finds_a_circle_through_a_lazy_import():
    graph = import_graph()
    graph["chalicelib.api.openapi"] = {*graph["chalicelib.api.openapi"], "app"}  # the circle this layout removed
    found = _cycle(graph)
    assert found is not None and "app" in found and "chalicelib.api.openapi" in found
    lazy = ast.parse("def f():\n    import importlib\n    importlib.import_module('app')\n")
    assert [t for node in ast.walk(lazy) for t in _imported(node, "chalicelib.api.openapi", False)] == [
        "importlib", "app"]



def test_no_module_is_over_450_lines():
    over = {}
    for package in ("chalicelib", "infra", "devstack"):
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                over[path.relative_to(ROOT).as_posix()] = lines
    assert over == {}
