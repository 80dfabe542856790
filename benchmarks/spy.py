"""py-spy over a whole process tree (the tracker and its parser workers), summed by function.

cProfile sees one process and slows pure-Python code several times; py-spy samples
every process from outside at a fixed rate (`--subprocesses`), so the parser workers'
share shows beside the main process's. peers.py --profile uses it; py-spy is installed
into the peers' virtualenv (benchmarks/.peers), never the project's.

    record(command, out) → the py-spy command line that runs `command` and writes `out`
    summarise(out)       → text: seconds sampled per process, per pipeline step, top self
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

RATE = 250
# Inclusive time is shown for these (matched against "function (file" of each frame).
STEPS = (
    ("run_tick", "run_tick (tracker/pipeline.py"),
    ("fetch_feeds", "fetch_feeds (tracker/feeds/fetch.py"),
    ("  SSL contexts (ssl.create_default_context)", "create_default_context (ssl.py"),
    ("parse_document", "parse_document (tracker/feeds/parse.py"),
    ("  feedparser.parse", "parse (feedparser/api.py"),
    ("  normalise_entry", "normalise_entry (tracker/feeds/parse.py"),
    ("    plain_text", "plain_text (tracker/feeds/parse.py"),
    ("process_fetch", "process_fetch (tracker/pipeline.py"),
    ("  record_new_entries", "record_new_entries (storage/entries.py"),
    ("  record_matches", "record_matches (tracker/pipeline.py"),
    ("    RuleMatcher.match", "RuleMatcher.match (tracker/matching/matcher.py"),
    ("  Session.get", "Session.get (sqlalchemy/orm/session.py"),
    ("  Session.commit", "Session.commit (sqlalchemy/orm/session.py"),
    ("build_tick", "build_tick (tracker/app.py"),
    ("  load_rules (rule files)", "load_rules (tracker/matching/rulefile.py"),
    ("imports (all processes)", "_find_and_load (<frozen importlib._bootstrap>"),
)
_FRAME_FILE = re.compile(r" \((?:.*/(?:site-packages|work/main|lib/python3\.\d+)/)?")


def record(py_spy: Path, command: list[str], out: Path) -> list[str]:
    return [str(py_spy), "record", "--subprocesses", "-r", str(RATE), "--format", "raw", "-o", str(out), "--", *command]


def _frame(frame: str) -> str:
    """'f (/long/path/site-packages/pkg/mod.py:12)' → 'f (pkg/mod.py'."""
    return _FRAME_FILE.sub(" (", frame, count=1).rsplit(":", 1)[0]


def summarise(out: Path, top: int = 12) -> str:
    processes: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        samples = int(count)
        # With --subprocesses a child's stack hangs below a "process PID:cmdline" frame.
        kind = "parser workers" if any(f.startswith("process ") and "forkserver" in f for f in frames) else "tracker (main)"
        processes[kind] += samples
        names = [_frame(frame) for frame in frames[1:]]
        for name in set(names):
            inclusive[name] += samples
        if names:
            own[names[-1]] += samples
    lines = ["sampled s: " + ", ".join(f"{kind} {n / RATE:.2f}" for kind, n in processes.most_common())]
    for label, key in STEPS:
        if inclusive[key]:
            lines.append(f"  {label:<44} {inclusive[key] / RATE:7.2f} s")
    shown = (f"{name.replace(' (', ' [', 1)}] {n / RATE:.2f}" for name, n in own.most_common(top))
    lines.append("  top own time (s): " + "; ".join(shown))
    return "\n".join(lines)
