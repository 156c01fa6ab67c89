"""The floor plan, enforced: an import graph of ``src/tungban`` read with :mod:`ast` (stdlib only).

Rules (docs/architecture.md, "Floor plan"; review §3):

1. no import cycle between apps;
2. no import cycle between modules, counting imports made inside functions (they run too,
   only later; a function-level import that closes a cycle hides it, it does not remove it);
3. ``core`` and ``keys`` (the ground floor) import no other tungban app;
4. a lower floor never imports a higher one (:data:`FLOORS`); an app missing from
   :data:`FLOORS` fails until someone gives it a floor.

Rules 1, 3 and 4 look at the apps' runtime code: tests, conftest files and migrations are left
out (tests may import the shared helpers in ``tungban.testing`` on the top floor). Rule 2 looks
at every module except migrations.

Run it as a script to check another tree, e.g. ``python src/tungban/core/tests/test_layers.py
/path/to/src``: it prints every violation with the import chain (file:line) and exits 1.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

#: App → floor. An app may import apps on its own floor or below, never above.
#: ``project`` is the project-level modules (urls, api, views, settings, wsgi, cli, testing).
FLOORS = {
    "core": 1,
    "keys": 1,
    "identity": 2,
    "ledger": 2,
    "wallet": 3,
    "oidc": 4,
    "signing": 5,
    "exchange": 6,
    "credentials": 6,
    "miniapps": 6,
    "notify": 6,
    "payments": 6,
    "corpid": 6,
    "committees": 6,  # issue 20: committees, declarations of interest, scoring, decisions
    "compute": 6,  # issue 20: allocations on the scheduler (Slurm), usage
    "opendata": 6,  # issue 21: 資料一線通 open data, CKAN-compatible; departmental data catalogues
    "search": 6,  # issue 22: one index; the apps that own the content register their sources
    "federation": 6,  # issue 23: cross-boundary login on OpenID Federation 1.0
    "counter": 7,
    "eservices": 7,
    "setup": 7,
    "subsidy": 7,  # issue 20: the AI Subsidy Scheme
    "hotline": 8,  # issue 22: 1823 cases, Open311, the FAQ
    "assistant": 9,  # issue 22: the e-form assistant (一一 + Bonny)
    "project": 10,
}
#: Ground-floor apps: they import no other tungban app.
KERNEL = {"core", "keys"}
#: Module imports that still close a cycle, each waiting for a named branch. An entry that no
#: longer matches an import fails the test, so that it is removed once the branch lands.
PENDING: dict[tuple[str, str], str] = {}

SRC = Path(__file__).resolve().parents[3]  # .../src


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str
    line: int
    lazy: bool

    def __str__(self) -> str:
        where = "inside a function" if self.lazy else "top level"
        return f"{self.source} -> {self.target}  ({self.path}:{self.line}, {where})"


def _module_name(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_runtime(module: str) -> bool:
    parts = module.split(".")
    return not ({"tests", "migrations"} & set(parts) or parts[-1] == "conftest")


def app_of(module: str, apps: frozenset[str]) -> str:
    """``tungban.<app>.…`` → ``<app>`` for a package in ``apps``; project-level modules and
    ``tungban.testing`` (the shared test helpers) → ``project``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in apps and parts[1] != "testing" else "project"


class _Imports(ast.NodeVisitor):
    def __init__(self):
        self.found: list[tuple[str | None, int, list[str], int, bool]] = []
        self._depth = 0

    def _scoped(self, node):
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scoped

    def visit_Import(self, node):
        for alias in node.names:
            self.found.append((alias.name, 0, [], node.lineno, self._depth > 0))

    def visit_ImportFrom(self, node):
        self.found.append((node.module, node.level, [a.name for a in node.names], node.lineno, self._depth > 0))


@functools.cache
def import_graph(src: Path = SRC) -> tuple[frozenset[str], frozenset[str], tuple[Edge, ...]]:
    """``(apps, modules, imports)`` under ``src/tungban``: the packages directly in it, every
    module (migrations left out) and every import from one module to another."""
    root = src / "tungban"
    apps = frozenset(p.parent.name for p in root.glob("*/__init__.py"))
    files = {_module_name(src, p): p for p in root.rglob("*.py") if "migrations" not in p.parts}
    modules = set(files)
    edges = []
    for module, path in sorted(files.items()):
        visitor = _Imports()
        visitor.visit(ast.parse(path.read_text(), str(path)))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name, level, names, line, lazy in visitor.found:
            if level:
                base = package.split(".")
                base = base[: len(base) - level + 1]
                name = ".".join(base + ([name] if name else []))
            if not name or not name.startswith("tungban"):
                continue
            targets = [f"{name}.{n}" for n in names if f"{name}.{n}" in modules]  # from pkg import module
            if len(targets) < len(names) or not names:
                targets.append(name)  # from module import attribute, or import module
            for target in targets:
                while target not in modules and "." in target:
                    target = target.rpartition(".")[0]
                if target != module and target in modules:
                    edges.append(Edge(module, target, str(path.relative_to(src)), line, lazy))
    return apps, frozenset(modules), tuple(edges)


def _cycles(nodes: set[str], adjacent: dict[str, list]) -> list[tuple[list[str], set[str]]]:
    """One shortest cycle (a node list, first node repeated at the end) with its strongly
    connected component, per component of more than one node (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(adjacent.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(adjacent.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
    cycles = []
    for component in components:
        start = min(component)
        # Breadth-first search for the shortest way back to ``start`` inside the component.
        previous, frontier = {start: None}, [start]
        while frontier and start not in [c for n in frontier for c in adjacent.get(n, ())]:
            next_frontier = []
            for n in frontier:
                for c in sorted(adjacent.get(n, ())):
                    if c in component and c not in previous:
                        previous[c] = n
                        next_frontier.append(c)
            frontier = next_frontier
        last = next(n for n in frontier if start in adjacent.get(n, ()))
        path = [last]
        while previous[path[-1]] is not None:
            path.append(previous[path[-1]])
        cycles.append(([*reversed(path), start], component))
    return cycles


def _describe(found: tuple[list[str], set[str]], witness: dict[tuple[str, str], list[Edge]]) -> str:
    cycle, component = found
    lines = [" -> ".join(cycle)]
    if len(component) > len(cycle) - 1:
        lines.append(f"    (one of the cycles through {', '.join(sorted(component))})")
    for a, b in zip(cycle, cycle[1:], strict=False):
        lines.extend(f"    {edge}" for edge in witness[a, b][:3])
    return "\n".join(lines)


def module_cycles(src: Path = SRC, pending=PENDING) -> list[str]:
    """Rule 2: each module cycle, described with the import statements that close it."""
    _apps, modules, edges = import_graph(src)
    adjacent, witness = defaultdict(set), defaultdict(list)
    for edge in edges:
        if (edge.source, edge.target) in pending:
            continue
        adjacent[edge.source].add(edge.target)
        witness[edge.source, edge.target].append(edge)
    return [_describe(c, witness) for c in _cycles(modules, adjacent)]


def _app_edges(src: Path) -> list[tuple[str, str, Edge]]:
    apps, _modules, edges = import_graph(src)
    return [
        (app_of(e.source, apps), app_of(e.target, apps), e)
        for e in edges
        if _is_runtime(e.source) and app_of(e.source, apps) != app_of(e.target, apps)
    ]


def app_cycles(src: Path = SRC) -> list[str]:
    """Rule 1: each cycle between apps, with the imports behind every arrow."""
    adjacent, witness, apps = defaultdict(set), defaultdict(list), set()
    for a, b, edge in _app_edges(src):
        adjacent[a].add(b)
        witness[a, b].append(edge)
        apps |= {a, b}
    return [_describe(c, witness) for c in _cycles(apps, adjacent)]


def floor_violations(src: Path = SRC) -> list[str]:
    """Rules 3 and 4: imports out of the kernel, imports up the floors, apps with no floor."""
    problems = []
    for a, b, edge in _app_edges(src):
        if a in KERNEL:
            problems.append(f"{a} is the ground floor and imports no other app: {edge}")
        elif a not in FLOORS or b not in FLOORS:
            unknown = a if a not in FLOORS else b
            problems.append(f"app {unknown!r} has no floor: add it to FLOORS in {Path(__file__).name}: {edge}")
        elif FLOORS[a] < FLOORS[b]:
            problems.append(f"{a} (floor {FLOORS[a]}) imports {b} (floor {FLOORS[b]}), a floor above: {edge}")
    return sorted(set(problems))


def stale_pending(src: Path = SRC) -> list[str]:
    _apps, _modules, edges = import_graph(src)
    present = {(e.source, e.target) for e in edges}
    return [
        f"{a} -> {b} ({why}) no longer exists: remove it from PENDING"
        for (a, b), why in PENDING.items()
        if (a, b) not in present
    ]


def _report(title: str, problems: list[str]) -> str:
    return f"{title}:\n" + "\n".join(f"  {p}" for p in problems)


def test_no_cycle_between_apps():
    cycles = app_cycles()
    assert not cycles, _report("import cycles between apps", cycles)


def test_no_cycle_between_modules_lazy_imports_included():
    cycles = module_cycles()
    assert not cycles, _report("import cycles between modules", cycles)


def test_kernel_imports_no_app_and_no_floor_imports_a_higher_one():
    problems = floor_violations()
    assert not problems, _report("layering violations", problems)


def test_pending_exceptions_are_still_needed():
    stale = stale_pending()
    assert not stale, _report("stale PENDING entries", stale)


def test_the_checker_finds_a_hidden_cycle_and_an_upward_import(tmp_path):
    """The checker itself: a lazy import closing a cycle, and the kernel importing an app."""
    root = tmp_path / "tungban"
    for package in ("core", "identity"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "identity" / "models.py").write_text("from tungban.core.errors import DomainError\n")
    (root / "identity" / "services.py").write_text("from . import models\n")
    (root / "core" / "errors.py").write_text("def f():\n    from tungban.identity import services\n")
    cycles = module_cycles(tmp_path, pending={})
    assert len(cycles) == 1
    assert (
        "tungban.core.errors -> tungban.identity.services -> tungban.identity.models -> tungban.core.errors"
        in (cycles[0])
    )
    assert "core/errors.py:2, inside a function" in cycles[0]
    assert app_cycles(tmp_path) and any("ground floor" in p for p in floor_violations(tmp_path))


if __name__ == "__main__":
    src = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else SRC
    found = [
        ("import cycles between apps", app_cycles(src)),
        ("import cycles between modules", module_cycles(src)),
        ("layering violations", floor_violations(src)),
    ]
    for title, problems in found:
        if problems:
            print(_report(title, problems), end="\n\n")
    sys.exit(1 if any(problems for _title, problems in found) else 0)
