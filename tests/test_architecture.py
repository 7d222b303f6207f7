"""The shape of the code: no import cycles between the project's apps, and no module so long
that a newcomer cannot find their way in it. Imports are read with `ast` (every import, also
those inside functions: a lazy import is still a dependency).

Today's violations are listed explicitly below. They are fixed in the structure work's
phase B (issue 15); the lists may only shrink: a new cycle or a new long module fails, and so
does an entry that is no longer true (remove it)."""

import ast
from collections import defaultdict
from pathlib import Path

from django.apps import apps
from django.conf import settings

BASE = Path(settings.BASE_DIR).resolve()
MAX_LINES = 600

# The project package (settings, root URLconf, Celery app) wires the apps together; it is the
# top of the graph and not an app in it.
WIRING = "foretagslots"

# App-level imports that close a cycle today: (importing app, imported app). None left.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()

# Modules over MAX_LINES lines today. None left.
KNOWN_LONG_MODULES: set[str] = set()


def project_apps() -> dict[str, Path]:
    """The apps whose code lives in this repository, by top-level package name."""
    found = {}
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(BASE) and ".venv" not in path.parts:
            found[config.name.split(".")[0]] = path
    found.pop(WIRING, None)
    return found


def modules(root: Path):
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(BASE)
        if "migrations" in relative.parts or "tests" in relative.parts:
            continue
        yield path


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _called(node) in RELATIONS and node.args:
            target = node.args[0]  # a relation to "app_label.Model" depends on that app
            if isinstance(target, ast.Constant) and "." in str(target.value):
                names.add(str(target.value).split(".")[0])
    return names


RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def app_graph() -> dict[str, dict[str, str]]:
    """app -> {imported app: one module that imports it (or relates to its models)}."""
    ours = project_apps()
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for app, root in ours.items():
        for path in modules(root):
            for name in imported_top_levels(path) & set(ours):
                if name != app:
                    graph[app].setdefault(name, str(path.relative_to(BASE)))
    return graph


def cycle_edges(graph) -> set[tuple[str, str]]:
    """Edges inside a strongly connected component (Tarjan): exactly the imports that are part
    of some cycle."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(set(graph) | {t for targets in graph.values() for t in targets}):
        if node not in index:
            visit(node)
    component_of = {node: i for i, component in enumerate(components) for node in component}
    return {
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if component_of[source] == component_of[target]
    }


def test_the_graph_sees_the_apps_and_their_imports():
    ours = project_apps()
    assert {"cases", "departments", "outbox", "meetings", "insights"} <= set(ours)
    assert "departments" in app_graph()["cases"]


def test_the_cycle_finder_finds_cycles_and_only_them():
    graph = {"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}, "d": {"a": ""}}
    assert cycle_edges(graph) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert cycle_edges({"a": {"b": ""}, "b": {}}) == set()


def test_no_new_import_cycle_between_apps():
    graph = app_graph()
    edges = cycle_edges(graph)
    new = {edge: graph[edge[0]][edge[1]] for edge in edges - KNOWN_CYCLE_EDGES}
    assert not new, f"import cycle between apps (edge: a module that imports): {new}"
    gone = KNOWN_CYCLE_EDGES - edges
    assert not gone, f"no longer part of a cycle, remove from KNOWN_CYCLE_EDGES: {gone}"


def test_no_module_over_600_lines():
    long = {}
    for root in [*project_apps().values(), BASE / WIRING]:
        for path in modules(root):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(BASE))] = lines
    new = {path: lines for path, lines in long.items() if path not in KNOWN_LONG_MODULES}
    assert not new, f"modules over {MAX_LINES} lines: {new}"
    gone = KNOWN_LONG_MODULES - set(long)
    assert not gone, f"no longer over {MAX_LINES} lines, remove from KNOWN_LONG_MODULES: {gone}"


def test_every_app_says_what_it_is_and_the_readme_lists_it():
    """Each app's apps.py docstring is its one sentence, and the README's architecture
    section lists the app with that sentence."""
    import importlib

    readme = " ".join((BASE / "README.md").read_text(encoding="utf-8").split())
    for app in project_apps():
        doc = importlib.import_module(f"{app}.apps").__doc__
        assert doc, f"{app}/apps.py has no docstring"
        assert f"`{app}/` {' '.join(doc.split())}" in readme, f"README does not list {app}"
