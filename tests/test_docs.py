"""Docs as tests: what a user reads stays in step with what the code does."""

from __future__ import annotations

import re

import click

from tests.conftest import REPO
from tracker.cli import main
from tracker.matching.ruleformat import Extract, MatchSpec, Metric, Rule, Source


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_has_help_text_and_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, command in _commands(main):
        assert command.help, f"`tracker {name}` has no help text"
        if not isinstance(command, click.Group):
            assert f"tracker {name}" in readme, f"`tracker {name}` is not in the README"


def test_every_field_of_the_rule_format_is_documented():
    documented = (REPO / "rules" / "README.md").read_text(encoding="utf-8")
    for model in (Rule, MatchSpec, Metric, Extract, Source):
        for field in model.model_fields:
            assert re.search(rf"`{field}`", documented), f"{model.__name__}.{field} is not in rules/README.md"


def test_the_readme_opens_with_the_run_and_test_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    assert len(lines) == 2
    assert lines[0].endswith("tracker --config config.toml run")
    assert "pytest" in lines[1] and ".[dev]" in lines[1]
