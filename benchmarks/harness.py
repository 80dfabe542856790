"""Plumbing for the poll benchmark: the feed server process, config files, and tracker subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from proctree import TreeSampler

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
TRACKER = VENV_BIN / "tracker"
# The CLI's own main(), as the console script calls it, with run_tick timed.
TIMED_TRACKER = [str(VENV_BIN / "python"), str(Path(__file__).resolve().parent / "timed_cli.py")]
CHILD_TIMEOUT_S = 900


def compile_tracker() -> None:
    """Byte-compile the tracker's own modules, as a regular `pip install` does for every
    package (the peers' included). The editable install leaves them as sources, and with
    PYTHONDONTWRITEBYTECODE set (as on some machines) every process would compile them again."""
    subprocess.run([str(VENV_BIN / "python"), "-m", "compileall", "-q", "tracker", "storage", "notifiers"], cwd=REPO, check=True)


@contextmanager
def benchmark_folder(prefix: str, keep: bool) -> Iterator[Path]:
    """What every benchmark does around its runs: says the machine's load, byte-compiles
    the tracker, and gives a temporary folder, removed afterwards unless `keep`."""
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    compile_tracker()
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Run:
    """One tracker subprocess: what it cost and what it said."""

    wall: float
    rss_mb: float  # the main process's own peak (wait4: exact)
    cpu: float  # the main process and the children it reaped (wait4)
    code: int
    stderr: str
    tree: TreeSampler
    summary: dict[str, int] = field(default_factory=dict)
    tick: float | None = None  # seconds inside run_tick, when run through timed_cli.py

    @property
    def feed_errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("feed error:")]

    @property
    def cpu_total(self) -> float:
        """wait4 misses workers the tracker does not reap itself (forkserver children): add them, sampled."""
        return self.cpu + self.tree.descendant_cpu_s

    @property
    def peak_mb(self) -> float:
        return max(self.rss_mb, self.tree.peak_pss_mb)


def choose_rules() -> Path:
    shipped = REPO / "rules"
    if any(shipped.rglob("*.yaml")) or any(shipped.rglob("*.yml")):
        return shipped
    return REPO / "tests" / "data" / "rules"


def start_server(root: Path, count: int | None, hostile: int, log: Path | None = None) -> tuple[subprocess.Popen, int, list[str]]:
    command = [sys.executable, str(Path(__file__).parent / "feedserver.py"), "--root", str(root)]
    command += (["--count", str(count)] if count else []) + (["--hostile", str(hostile)] if hostile else [])
    command += ["--log", str(log)] if log else []
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    hello = json.loads(server.stdout.readline() or "{}")
    if "port" not in hello:
        server.kill()
        raise SystemExit("feed server did not start")
    return server, hello["port"], hello["paths"]


def control(port: int, action: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__bench/{action}", timeout=10) as response:
        return json.loads(response.read())


def write_config(path: Path, database: Path, rules: Path, urls: list[str], concurrency: int,
                 extra: dict[str, dict[str, object]] | None = None) -> Path:
    sections: dict[str, dict[str, object]] = {
        "database": {"url": f"sqlite:///{database}"},
        "rules": {"paths": [str(rules)]},
        # `tracker poll` polls every active feed whatever is due; a short interval keeps it so.
        "schedule": {"interval": "1s"},
        # Every feed is on 127.0.0.1: per_host = concurrency (the config caps it at 16),
        # or the per-host limit, not the tracker, would be what is measured.
        "fetch": {"concurrency": concurrency, "per_host": min(concurrency, 16)},
    }
    for name, values in (extra or {}).items():
        sections.setdefault(name, {}).update(values)
    lines = []
    for name, values in sections.items():
        lines += [f"[{name}]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    for number, url in enumerate(urls):
        lines += ["[[feeds]]", f'name = "feed-{number:04d}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config_has(section: str, key: str) -> bool:
    """Does the tracker's config (as of now: it is being changed) know `[section] key`?"""
    from tracker.config import Settings

    field_info = Settings.model_fields.get(section)
    return field_info is not None and key in getattr(field_info.annotation, "model_fields", {})


def run_tracker(command: list[str], folder: Path) -> Run:
    """Run a tracker command; stdout (console alerts) to /dev/null, stderr kept."""
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL", "TRACKER_CONFIG")}
    with tempfile.TemporaryFile(mode="w+", dir=folder) as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, cwd=folder)
        tree = TreeSampler().start(child.pid)
        killer = threading.Timer(CHILD_TIMEOUT_S, lambda: os.kill(child.pid, signal.SIGKILL))
        killer.start()
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        killer.cancel()
        tree.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        text = stderr.read()
    # The summary is the last "poll: key=value …" line (progress lines like "poll: 10/100 feeds" come before it).
    found = [line for line in re.findall(r"^poll: (.*)$", text, re.M) if "=" in line]
    summary = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", found[-1])} if found else {}
    timed = re.search(r"^benchmark: run_tick ([0-9.]+) s$", text, re.M)
    tick = float(timed.group(1)) if timed else None
    return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, child.returncode, text, tree, summary, tick)


COUNTED_TABLES = ("entry", "entry_feed", "evidence", "status_change", "delivery")


def count_rows(database: Path) -> dict[str, int]:
    """Rows per table after a cycle (-1 for a table the schema no longer has)."""
    with sqlite3.connect(database) as connection:
        present = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] if table in present else -1
            for table in COUNTED_TABLES
        }
        sent = "SELECT count(*) FROM delivery WHERE state = 'sent'"
        counts["sent"] = connection.execute(sent).fetchone()[0] if "delivery" in present else -1
    return counts


def require_ok(run: Run, what: str) -> Run:
    if run.code != 0:
        raise SystemExit(f"tracker {what} failed (exit {run.code}); its stderr ends:\n{run.stderr[-3000:]}")
    return run
