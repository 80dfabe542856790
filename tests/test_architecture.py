"""Data flows one way: fetch → parse → match → status → store → notify. Imports say so.

Every module's imports (top-level and inside functions alike: a lazy import is still a
dependency) are read with `ast`. The test fails, naming the import, on any circle and on
any import that goes up the table of places in STYLE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("tracker", "storage", "notifiers")

# Each place, the module prefixes it holds, and the places it may import (its own always).
# Lower places never import higher ones. A prefix "=name" holds that module only: the
# `tracker` package itself is the model's place, the modules under it are not.
PLACES: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "model": (("tracker.model", "=tracker"), set()),
    "helpers": (("tracker.output", "tracker.progress"), {"model"}),
    "config": (("tracker.config",), {"model"}),
    "feeds": (("tracker.feeds",), {"model"}),
    "matching": (("tracker.matching",), {"model"}),
    "storage": (("storage",), {"model"}),
    "status": (("tracker.status",), {"model", "helpers", "matching", "storage"}),
    "notifiers": (("notifiers",), {"model", "storage"}),
    "pipeline": (("tracker.pipeline", "tracker.scheduler", "tracker.instances"), {"model", "helpers", "config", "feeds", "matching", "storage", "status", "notifiers"}),
    "app": (("tracker.app",), {"model", "helpers", "config", "feeds", "matching", "storage", "status", "notifiers", "pipeline"}),
    "web": (("tracker.web",), {"model", "helpers", "config", "feeds", "matching", "storage", "status", "notifiers", "pipeline", "app"}),
    "cli": (("tracker.cli", "tracker.__main__"), {"model", "helpers", "config", "feeds", "matching", "storage", "status", "notifiers", "pipeline", "app", "web"}),
}

# Libraries that belong to one stage only: a pure stage reaching for the database or
# Slack is the shortcut this layout exists to prevent.
FORBIDDEN_LIBRARIES = {
    "model": ("sqlmodel", "sqlalchemy", "slack_sdk", "httpx", "feedparser"),
    "config": ("sqlmodel", "sqlalchemy", "slack_sdk", "httpx", "feedparser"),
    "feeds": ("sqlmodel", "sqlalchemy", "slack_sdk"),
    "matching": ("sqlmodel", "sqlalchemy", "slack_sdk", "httpx", "feedparser"),
    "storage": ("slack_sdk", "httpx", "feedparser"),
    "status": ("slack_sdk", "httpx", "feedparser"),
    "notifiers": ("httpx", "feedparser"),
}
# Modules that compute from what they are handed: a database query inside them would
# make their answers depend on more than their arguments.
PURE_MODULES = ("tracker.status.derive", "tracker.web.chart", "tracker.matching")
DATABASE_LIBRARIES = ("storage", "sqlmodel", "sqlalchemy")
# Channel modules send and render; only the outbox's sender and notices touch the database.
DATABASE_NOTIFIERS = ("notifiers.delivery", "notifiers.notices")
MAX_MODULES_DIRECTLY_IN_TRACKER = 12


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Every module under the packages, by dotted name (a package by its own name)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue  # Alembic's generated revisions are data, loaded by file
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file, resolved to a known module
    where it names one (`from tracker.feeds import parse` is tracker.feeds.parse)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((candidate if candidate in known else base, node.lineno))
    return found


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, list[tuple[str, int]]]:
    known = module_names(root, packages)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Each import circle once, as the path that closes it (a → b → a)."""
    edges = {name: sorted({target for target, _ in targets if target in graph and target != name}) for name, targets in graph.items()}
    cycles, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in edges[name]:
            if state.get(target) == "open":
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    return cycles


def place_of(module: str, places=PLACES) -> str | None:
    """The place holding a module: the longest prefix wins (tracker.feeds.parse is feeds)."""
    best = None
    for place, (prefixes, _allowed) in places.items():
        for prefix in prefixes:
            if prefix.startswith("="):
                holds = module == prefix[1:]
            else:
                holds = module == prefix or module.startswith(prefix + ".")
            if holds and (best is None or len(prefix) > len(best[1])):
                best = (place, prefix)
    return best[0] if best else None


def upward_imports(graph: dict[str, list[tuple[str, int]]], places=PLACES) -> list[str]:
    """'module:line imports target (place → place)' for each import the table forbids."""
    problems = []
    for name, targets in sorted(graph.items()):
        here = place_of(name, places)
        for target, line in targets:
            there = place_of(target, places)
            if here is None or there is None or there == here:
                continue
            if there not in places[here][1]:
                problems.append(f"{name}:{line} imports {target} ({here} may not import {there})")
    return problems


GRAPH = import_graph(REPO)


def test_there_are_no_import_circles():
    assert find_cycles(GRAPH) == []


def test_no_place_imports_one_above_it():
    assert upward_imports(GRAPH) == []


def test_every_module_has_a_place_in_the_table():
    assert [name for name in GRAPH if place_of(name) is None] == []


@pytest.mark.parametrize("place", sorted(FORBIDDEN_LIBRARIES))
def test_pure_stages_never_reach_for_another_stages_library(place):
    offending = [
        f"{name}:{line} imports {target}"
        for name, targets in GRAPH.items()
        if place_of(name) == place
        for target, line in targets
        if target.split(".")[0] in FORBIDDEN_LIBRARIES[place]
    ]
    assert offending == []


def _database_imports(names) -> list[str]:
    return [f"{name}:{line} imports {target}" for name in names for target, line in GRAPH[name] if target.split(".")[0] in DATABASE_LIBRARIES]


def test_channel_modules_never_query_the_database():
    channels = [name for name in GRAPH if place_of(name) == "notifiers" and name not in DATABASE_NOTIFIERS]
    assert "notifiers.slack" in channels
    assert _database_imports(channels) == []


def test_pure_modules_never_query_the_database():
    pure = [name for name in GRAPH if any(name == prefix or name.startswith(prefix + ".") for prefix in PURE_MODULES)]
    assert {"tracker.status.derive", "tracker.web.chart", "tracker.matching.matcher"} <= set(pure)
    assert _database_imports(pure) == []


def test_a_module_under_tracker_is_not_placed_by_the_package_alone():
    assert place_of("tracker") == "model"
    assert place_of("tracker.somewhere_new") is None


def test_the_tracker_package_holds_few_modules_of_its_own():
    direct = sorted(path.name for path in (REPO / "tracker").glob("*.py"))
    assert len(direct) <= MAX_MODULES_DIRECTLY_IN_TRACKER, direct


def test_every_module_says_what_it_is_for():
    missing = [name for name, path in module_names(REPO, PACKAGES).items() if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert missing == []


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_a_circle_through_a_lazy_import(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import thing\n",
        "pkg/b.py": "def thing():\n    from pkg import c\n",
        "pkg/c.py": "import pkg.a\n",
        "pkg/d.py": "from pkg.a import thing\n",
    })
    assert find_cycles(import_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_the_checker_names_an_import_that_goes_up(tmp_path):
    _write(tmp_path, {
        "low/__init__.py": "",
        "low/store.py": "from . import rows\n",
        "low/rows.py": "def rows():\n    from high.cli import main\n",
        "high/__init__.py": "",
        "high/cli.py": "from low.store import rows\n",
    })
    places = {"low": (("low",), set()), "high": (("high",), {"low"})}
    graph = import_graph(tmp_path, ("low", "high"))
    assert find_cycles(graph) == [["high.cli", "low.store", "low.rows", "high.cli"]]
    assert upward_imports(graph, places) == ["low.rows:2 imports high.cli (low may not import high)"]
