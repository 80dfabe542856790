"""Data flows one way: fetch → parse → match → status → store → notify. Imports say so."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

PURE = ["tracker/model.py", "tracker/status.py", "tracker/matching.py", "tracker/parse.py", "tracker/signals.py",
        "tracker/textnorm.py", "tracker/ruleformat.py", "tracker/fetch.py", "tracker/config.py", "tracker/intervals.py", "tracker/chart.py"]


def imports_of(path: str) -> set[str]:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", PURE)
def test_pure_stages_never_reach_for_storage_notifiers_or_the_pipeline(path):
    for module in imports_of(path):
        assert not module.startswith(("storage", "notifiers", "tracker.pipeline", "tracker.cli", "sqlmodel", "sqlalchemy", "slack_sdk")), (path, module)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in (REPO / "storage").glob("*.py")) + sorted(str(p.relative_to(REPO)) for p in (REPO / "notifiers").glob("*.py")))
def test_storage_and_notifiers_never_import_the_pipeline_or_the_cli(path):
    for module in imports_of(path):
        assert not module.startswith(("tracker.pipeline", "tracker.cli", "tracker.commitments", "tracker.review")), (path, module)


@pytest.mark.parametrize("path", sorted(str(p.relative_to(REPO)) for p in (REPO / "notifiers").glob("*.py")))
def test_notifiers_never_query_the_database(path):
    for module in imports_of(path):
        assert not module.startswith(("storage", "sqlmodel", "sqlalchemy")), (path, module)
