"""A regular (non-editable) install carries everything the tracker reads from its own
package: templates, the stylesheet, the migrations. Built as a wheel from this tree and
installed apart, it answers `--help`, checks the shipped rules and serves its page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel's contents installed into a folder of their own (dependencies come from
    the test environment; only the tracker's own files are under test)."""
    root = tmp_path_factory.mktemp("install")
    source = root / "source"
    # A copy without build leftovers, so the wheel holds what a fresh clone would give.
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "*.db"))
    wheels, target = root / "wheels", root / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True, cwd=root)
    wheel = next(wheels.glob("tracker-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, cwd=root)
    return target


def run_installed(site: Path, code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(site)}
    environment.pop("SLACK_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=environment, timeout=120)


CLI = "import sys; from tracker.cli import main; sys.exit(main())"


def test_every_module_of_the_tree_is_in_the_wheel(installed):
    here = {path.relative_to(REPO).as_posix() for package in ("tracker", "storage", "notifiers") for path in (REPO / package).rglob("*.py")}
    there = {path.relative_to(installed).as_posix() for package in ("tracker", "storage", "notifiers") for path in (installed / package).rglob("*.py")}
    assert sorted(here - there) == []


def test_the_installed_console_script_runs(installed, tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    result = subprocess.run([str(installed / "bin" / "tracker"), "--version"], capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=60)
    assert result.returncode == 0 and "tracker" in result.stdout, result.stderr


def test_the_installed_tracker_is_the_wheels_not_this_tree(installed, tmp_path):
    result = run_installed(installed, "import tracker; print(tracker.__file__)", cwd=tmp_path)
    assert result.stdout.strip().startswith(str(installed))


def test_the_installed_command_answers_help_and_checks_the_shipped_rules(installed, tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    help_text = run_installed(installed, CLI, "--help", cwd=tmp_path)
    assert help_text.returncode == 0 and "rules" in help_text.stdout and "serve" in help_text.stdout
    checked = run_installed(installed, CLI, "--config", "config.toml", "rules", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 problems" in checked.stderr


def test_the_installed_web_page_renders_with_its_stylesheet(installed, tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    code = (
        "from pathlib import Path\n"
        "from fastapi.testclient import TestClient\n"
        "from tracker.web import create_app\n"
        "client = TestClient(create_app(Path('config.toml')))\n"
        "page, css = client.get('/'), client.get('/static/tracker.css')\n"
        "print(page.status_code, css.status_code, 'toyota-solid-state' in page.text, '/static/tracker.css' in page.text, len(css.text) > 100)\n"
    )
    result = run_installed(installed, code, cwd=tmp_path)
    assert result.stdout.split() == ["200", "200", "True", "True", "True"], result.stderr[-2000:]
