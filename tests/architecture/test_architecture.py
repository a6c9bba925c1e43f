"""The shape of the code, guarded: the layer contracts (import-linter, pyproject.toml), no import
cycles, and the size limits (no package file over 400 lines, no function over 60)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("devices", "emulator")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_layer_contracts_hold() -> None:
    """devices → hardware → programs → run kernel → CLI; hardware never imports programs."""
    configuration.configure()
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_logo=True), \
        "import-linter contracts broken: run lint-imports"


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module) & set(modules)) for module in modules}
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in modules:
        if module not in order:
            visit(module)
    assert modules, "no modules found"
    assert not cycles, f"import cycles: {cycles}"


def _package_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_file_over_the_limit() -> None:
    long = {str(path.relative_to(ROOT)): path.read_text().count("\n") for path in _package_files()}
    assert not {name: lines for name, lines in long.items() if lines > MAX_FILE_LINES}


def test_no_function_over_the_limit() -> None:
    too_long = []
    for path in _package_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long
