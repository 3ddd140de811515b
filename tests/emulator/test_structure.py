"""The emulator's modules import each other top-down: no import circle, not even a late one."""
import ast
from pathlib import Path

import graph_auth.emulator

PACKAGE = "graph_auth.emulator"
ROOT = Path(graph_auth.emulator.__file__).parent


def module_name(path: Path) -> str:
    """Return the dotted name of a module file inside the emulator package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def modules() -> dict[str, Path]:
    """Return every module of the emulator by dotted name."""
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Return the absolute module a ``from ... import`` statement names."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    if node.level > 1:
        base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imported(importer: str, source: str, known, *, is_package: bool = False) -> set[str]:
    """Return the emulator modules ``importer`` imports anywhere in ``source`` (top level or in a function)."""
    targets = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(importer, is_package, node)
            # "from . import x" imports the submodule x when there is one, else a name of the package.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:     # "a.b.c" where c is a name, not a module
                name = name.rpartition(".")[0]
            if name and name != importer:
                targets.add(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Return the emulator's import graph: module -> the emulator modules it imports.

    A package's ``__init__`` is imported before any of its submodules, so an edge into a
    submodule counts as an edge into each enclosing package too (unless the importer is inside it).
    """
    known = modules()
    graph = {}
    for name, path in known.items():
        targets = set()
        for target in imported(name, path.read_text(), known, is_package=path.name == "__init__.py"):
            targets.add(target)
            parent = target.rpartition(".")[0]
            while parent.startswith(PACKAGE) and parent in known and not name.startswith(parent + "."):
                targets.add(parent)
                parent = parent.rpartition(".")[0]
        targets.discard(name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle as a list of modules (first == last), or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*stack[stack.index(target):], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return import circles until none is left (each found cycle's first edge is cut before looking again)."""
    graph = {node: set(targets) for node, targets in graph.items()}
    found = []
    while (cycle := find_cycle(graph)) is not None:
        found.append(cycle)
        graph[cycle[0]].discard(cycle[1])
    return found


def test_the_scan_sees_every_kind_of_import():
    known = {f"{PACKAGE}.{name}" for name in ("a", "b", "c", "d", "pkg", "pkg.e", "pkg.f")}
    source = ("from . import a\nfrom .b import thing\n"
              "def late():\n    from .c import other\n    import graph_auth.emulator.d\n"
              "class K:\n    def method(self):\n        from .pkg import e, name_in_pkg\n")
    assert imported(f"{PACKAGE}.x", source, known) == {f"{PACKAGE}.{name}" for name in "abcd"} | {
        f"{PACKAGE}.pkg.e", f"{PACKAGE}.pkg"}
    assert imported(f"{PACKAGE}.pkg.f", "from ..a import x\nfrom . import e\n", known) == {
        f"{PACKAGE}.a", f"{PACKAGE}.pkg.e"}


def test_the_scan_covers_the_whole_emulator():
    graph = import_graph()
    assert {f"{PACKAGE}.core", f"{PACKAGE}.identity.authorize", f"{PACKAGE}.graph.router"} <= set(graph)
    assert f"{PACKAGE}.directory" in graph[f"{PACKAGE}.core"]


def test_the_emulator_has_no_import_cycle():
    cycles = find_cycles(import_graph())
    short = [" -> ".join(name.removeprefix(PACKAGE + ".") for name in cycle) for cycle in cycles]
    assert not cycles, "import cycles in the emulator:\n" + "\n".join(short)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Return every module ``start`` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_shared_constants_are_a_leaf():
    assert import_graph()[f"{PACKAGE}.constants"] == set()


def test_the_core_imports_no_service():
    below_core = reachable(import_graph(), f"{PACKAGE}.core")
    services = {name for name in below_core
                if name.startswith((f"{PACKAGE}.identity", f"{PACKAGE}.graph", f"{PACKAGE}.transport"))}
    assert services == set()


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert find_cycles({"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}) == [["a", "b", "a"], ["b", "c", "b"]]
