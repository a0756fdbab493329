"""The package's structure: no import cycles, no module reaching into another's privates.

Both rules keep the layers separable (data -> estimators -> trials -> engine -> search,
CLI): a cycle, even one hidden in a function-level import, means two modules can only
change together; a private name used across modules is an interface nobody documented.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gru_search"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in MODULES.items()}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def re_exports(package: str) -> dict[str, str]:
    """Names a package's ``__init__`` imports from its modules, and where they live."""
    origins = {}
    for node in ast.walk(TREES[package]):
        if isinstance(node, ast.ImportFrom) and node.module in MODULES:
            for alias in node.names:
                origins[alias.asname or alias.name] = node.module
    return origins


def imported_modules(name: str) -> set[str]:
    """gru_search modules ``name`` imports anywhere (function-level imports included).

    ``from gru_search import GRUSearchCV`` counts as importing the module that defines
    it: a package ``__init__`` is a facade, not a participant.
    """
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in MODULES:
                    found.add(submodule)
                elif is_package(node.module):
                    found.add(re_exports(node.module).get(alias.name, node.module))
                else:
                    found.add(node.module)
    return {module for module in found if module != name and not is_package(module)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                return [*path[path.index(successor) :], successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_modules_import_each_other_without_cycles():
    graph = {name: imported_modules(name) for name in MODULES if not is_package(name)}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    # the kind of cycle this test exists for: search imported recycling at the top,
    # recycling imported search inside a function
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def private_definitions(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, variables, its own attributes.

    Attributes count only when set on ``self`` or ``cls``: setting another module's
    private attribute (``estimator._x = ...``) is a use, not a definition.
    """
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store | ast.Del)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def private_members(tree: ast.Module) -> set[str]:
    """Private attributes and methods of a module's own classes."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store | ast.Del)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


DEFINED = {name: private_definitions(tree) for name, tree in TREES.items()}
MEMBERS = {name: private_members(tree) for name, tree in TREES.items()}


def private_uses(name: str) -> list[str]:
    """Another gru_search module's private names that module ``name`` uses."""
    own_package = name if is_package(name) else name.rpartition(".")[0]
    others = set().union(*(d for module, d in DEFINED.items() if module != name))
    uses = []
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.ImportFrom) and node.module in MODULES:
            private_module = any(part.startswith("_") for part in node.module.split("."))
            if private_module and node.module.rpartition(".")[0] != own_package:
                uses.append(f"line {node.lineno}: imports from private {node.module}")
            for alias in node.names:
                own_submodule = is_package(name) and (
                    node.module == own_package or node.module.startswith(own_package + ".")
                )
                if alias.name.startswith("_") and not own_submodule:
                    uses.append(f"line {node.lineno}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in others:
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if node.attr in MEMBERS[name]:
                continue  # an instance of the module's own class
            uses.append(f"line {node.lineno}: {ast.unparse(node)}")
    return uses


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_uses_another_modules_private_names(name):
    assert private_uses(name) == []


def test_the_private_name_check_sees_a_reach_into_another_module():
    TREES["gru_search._probe"] = ast.parse("def f(estimator):\n    return estimator._config()\n")
    DEFINED["gru_search._probe"] = MEMBERS["gru_search._probe"] = set()
    MODULES["gru_search._probe"] = PACKAGE / "_probe.py"
    try:
        assert private_uses("gru_search._probe") == ["line 2: estimator._config"]
    finally:
        for table in (TREES, DEFINED, MEMBERS, MODULES):
            del table["gru_search._probe"]
