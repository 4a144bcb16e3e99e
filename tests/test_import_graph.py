"""The project's import graph: no cycles, and the engine at the bottom.

Every module of the project's packages is parsed with ``ast`` (nothing is imported), and every import
statement counts, wherever it is: at module level, inside a function, in a ``try``. A deferred import
is still an arrow: it only hides the cycle from the interpreter. The one exception is the body of
``if TYPE_CHECKING:``: it never runs, it names types for annotations only (the facade's modules name
``ScoringExplainer`` in their signatures that way), so it is no arrow of the running program.

How an import becomes an edge (the rule for packages):

- A node is a module; a package is the node of its ``__init__.py`` (``scorers.kinds``).
- ``import a.b.c`` and ``from a.b.c import x`` are an edge to ``a.b.c`` only. Python also runs the
  parents' ``__init__`` first, but that is not an arrow of this module: counting it would make every
  package that re-exports its submodules (``scorers/__init__.py`` importing ``scorers.fit``) a cycle
  with every submodule, and would say nothing about the code.
- ``from a.b import c`` is an edge to ``a.b.c`` when ``c`` is a submodule (a file or a folder),
  otherwise to ``a.b`` (a name its ``__init__`` defines or re-exports).
- Relative forms (``from . import x``, ``from ..pkg import y``) are resolved against the importing
  module's package first, then by the two rules above.

So a package ``__init__`` importing its own submodules is an edge down (``pkg -> pkg.sub``), and it
is a cycle only when a submodule imports a name through the package (``from pkg import X`` in
``pkg.sub``): that is the real cycle, the one that fails at import time with a half-initialised
package, and it is reported like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scorers", "service", "cli", "store", "batch")
ABOVE_THE_ENGINE = ("service", "store", "batch", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _package_of(name: str, path: Path) -> str:
    """The package a relative import in this module is resolved against."""
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except inside ``if TYPE_CHECKING:`` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def _targets(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules this module imports (the rule in the module docstring)."""
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(name, path)
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
    return {target for target in targets if target in modules and target != name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = _modules()
    return {name: _targets(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative (the graph has a few hundred nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _a_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One concrete cycle inside a strongly connected component, for the message."""
    inside = set(members)
    path = [members[0]]
    seen = {members[0]}
    while True:
        step = sorted(graph[path[-1]] & inside)[0]
        if step in seen:
            return [*path[path.index(step) :], step]
        path.append(step)
        seen.add(step)


def test_the_rule_resolves_relative_and_submodule_imports() -> None:
    graph = import_graph()
    # `from .routes import ROUTES` style and package re-exports both land on real modules
    assert "scorers.fit" in graph["scorers"]
    assert all(target.split(".")[0] in PACKAGES for targets in graph.values() for target in targets)
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"], ["c"]]
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    tree = ast.parse("if TYPE_CHECKING:\n    import a\nelse:\n    import b\ndef f():\n    from . import c\n")
    assert sorted(type(node).__name__ + str(node.lineno) for node in _imports(tree)) == [
        "Import4",
        "ImportFrom6",
    ]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [_a_cycle(graph, members) for members in strongly_connected(graph) if len(members) > 1]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_engine_imports_nothing_above_it() -> None:
    graph = import_graph()
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.split(".")[0] == "scorers"
        for target in targets
        if target.split(".")[0] in ABOVE_THE_ENGINE
    )
    assert not upward, "scorers/ imports the rooms above it:\n" + "\n".join(upward)
