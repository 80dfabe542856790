"""Several `tracker run` processes on one PostgreSQL database against one: throughput, and
proof from the feed server's own log that no feed was fetched twice within one interval.

    .venv/bin/python benchmarks/instances.py                      # 200 URLs, 1 then 3 instances
    .venv/bin/python benchmarks/instances.py --feeds-count 200 --instances 1 3 --intervals 2

For each number of instances: a fresh database (CREATE DATABASE on the server at
--postgres, dropped afterwards), migrated once with `tracker db upgrade`; a fresh feed
server (feedserver.py --log: one line per request, with its arrival time) serving
the --largest real snapshots under --feeds-count URLs, ETags on; then that many
`tracker --config … run` processes started at once with

    [schedule] interval = "20s", tick = "1s", jitter = 0, lease = "10s"
    [fetch]    deadline = "5s", timeout = "5s", concurrency = per_host = 16

They run until every URL has been fetched once (the first full cycle: everything is
new and due at once, so this is the capacity figure) and then --intervals more
intervals (304s from then on, due as the schedule says), and are stopped with SIGTERM.

From the server's log: the first full cycle's length and feeds/s; fetches/s over the
run; for every feed the gaps between its fetches: the minimum gap, and a violation
wherever a gap is shorter than the interval (less 0.5 s of slack for timestamps taken
in different processes). How late each refetch came after it was due shows whether the
instances keep up. From each instance's own tick lines: how the work was shared. From
the database: every alert (outbox row) and its attempts.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedserver import feed_files  # noqa: E402
from harness import REPO, TRACKER, benchmark_folder, choose_rules, require_ok, run_tracker, start_server, write_config  # noqa: E402
from peers import largest_feeds  # noqa: E402
from proctree import TreeSampler  # noqa: E402

# The logging format's timestamp (local time) and the tick summary line.
TICK_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO tracker: tick feeds_checked=(\d+)", re.M)
INTERVAL_S = 20.0
SLACK_S = 0.5
DEFAULT_FEEDS = REPO.parent / "shared" / "feeds"


@dataclass
class Instances:
    """One run: N instances, what the server saw, what they said, what the database holds."""

    count: int
    started: float
    stopped: float
    fetches: list[tuple[float, int, str]]
    urls: int
    checked: list[int]  # feeds_checked summed over each instance's tick lines
    ticks: list[tuple[float, int]]  # (end time, feeds_checked) of every tick of every instance
    cpu: list[float]
    codes: list[int] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def admin(postgres: str, statement: str) -> None:
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as connection:
        connection.execute(statement)


def read_fetches(log: Path) -> list[tuple[float, int, str]]:
    if not log.exists():
        return []
    rows = []
    for line in log.read_text(encoding="utf-8").splitlines():
        arrived, status, path = line.split(" ", 2)
        rows.append((float(arrived), int(status), path))
    return sorted(rows)


def settings(database_url: str) -> dict[str, dict[str, object]]:
    return {
        "database": {"url": database_url},
        "schedule": {"interval": f"{INTERVAL_S:g}s", "tick": "1s", "jitter": 0, "lease": "10s"},
        "fetch": {"deadline": "5s", "timeout": "5s"},
        # Console alerts unpaced, as in poll_cycles.py (the pacing is Slack's rate limit).
        "slack": {"per_channel_interval": "0.001s"},
    }


def run_instances(count: int, args: argparse.Namespace, folder: Path, root: Path) -> Instances:
    """Start `count` instances on a fresh database; stop them after the first cycle and --intervals more."""
    name = f"tracker_bench_{os.getpid()}_{count}"
    admin(args.postgres, f'CREATE DATABASE "{name}"')
    server = None
    try:
        log = folder / f"fetches-{count}.log"
        server, port, paths = start_server(root, args.feeds_count, 0, log)
        urls = [f"http://127.0.0.1:{port}{path}" for path in paths]
        url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
        config = write_config(folder / f"config-{count}.toml", folder / "unused.db", choose_rules(), urls,
                              args.concurrency, settings(url))
        require_ok(run_tracker([str(TRACKER), "--config", str(config), "db", "upgrade"], folder), "db upgrade")
        return _observe(count, config, folder, log, len(urls), name, args)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _observe(count: int, config: Path, folder: Path, log: Path, urls: int, name: str,
             args: argparse.Namespace) -> Instances:
    """1. start the instances; 2. wait for the first full cycle, then --intervals intervals;
    3. SIGTERM (each finishes its tick); 4. read the server's log, their output and the outbox."""
    outputs = [(folder / f"run-{count}-{n}.out", folder / f"run-{count}-{n}.err") for n in range(count)]
    started = time.time()
    processes = [start_instance(config, folder, out, err) for out, err in outputs]
    samplers = [TreeSampler(interval=0.2).start(process.pid) for process in processes]
    wait_for_cycles(count, log, urls, started, args.intervals, args.max_seconds)
    codes = stop_instances(processes)
    stopped = time.time()
    for sampler in samplers:
        sampler.stop()
    cpu = [sum(sampler.cpu_s.values()) for sampler in samplers]
    result = Instances(count, started, stopped, read_fetches(log), urls, [], [], cpu, codes)
    for _out, err in outputs:
        text = err.read_text(encoding="utf-8", errors="replace")
        ticks = [(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp(), int(checked))
                 for stamp, checked in TICK_LINE.findall(text)]
        result.ticks += ticks
        result.checked.append(sum(checked for _end, checked in ticks))
        result.errors += error_blocks(text)
    result.deliveries = outbox_counts(args.postgres, name)
    result.deliveries["console blocks"] = sum(_alert_blocks(out) for out, _err in outputs)
    return result


def start_instance(config: Path, folder: Path, out: Path, err: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "TRACKER_DATABASE_URL")}
    with out.open("w") as stdout, err.open("w") as stderr:
        return subprocess.Popen([str(TRACKER), "--config", str(config), "run"], cwd=folder, env=env,
                                stdout=stdout, stderr=stderr)


def wait_for_cycles(count: int, log: Path, urls: int, started: float, intervals: int, max_seconds: float) -> float | None:
    """Until every URL has been fetched once, then `intervals` intervals more; when the last first fetch came."""
    first_end, deadline = None, started + max_seconds
    while time.time() < deadline:
        time.sleep(0.5)
        if first_end is not None:
            continue
        firsts: dict[str, float] = {}
        for arrived, _status, path in read_fetches(log):
            firsts.setdefault(path, arrived)
        if len(firsts) >= urls:
            first_end = max(firsts.values())
            deadline = min(deadline, time.time() + intervals * INTERVAL_S + 3)
            print(f"  {count} instance(s): every URL fetched {first_end - started:.1f} s after start; "
                  f"running {intervals} more interval(s)", flush=True)
    return first_end


def stop_instances(processes: list[subprocess.Popen]) -> list[int]:
    """SIGTERM to all (each finishes its tick), then wait; their exit codes."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return [process.returncode for process in processes]


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def error_blocks(text: str) -> list[str]:
    """Each ERROR log line or traceback, with the lines that belong to it (up to the next log line)."""
    blocks, current = [], None
    for line in text.splitlines():
        if LOG_LINE.match(line) or (line.startswith("Traceback") and current is None):
            if current is not None:
                blocks.append("\n".join(current))
            current = [line] if (" ERROR " in line or line.startswith("Traceback")) else None
        elif current is not None:
            current.append(line)
    if current is not None:
        blocks.append("\n".join(current))
    return blocks


def _alert_blocks(out: Path) -> int:
    """The console notifier ends every alert with a blank line."""
    return sum(1 for block in out.read_text(encoding="utf-8", errors="replace").split("\n\n") if block.strip())


def outbox_counts(postgres: str, name: str) -> dict[str, int]:
    with psycopg.connect(f"{postgres}/{name}") as connection:
        counts = dict(connection.execute("SELECT state, count(*) FROM delivery GROUP BY state").fetchall())
        counts["rows"] = sum(counts.values())
        counts["max attempts"] = connection.execute("SELECT coalesce(max(attempts), 0) FROM delivery").fetchone()[0]
        counts["duplicate keys"] = connection.execute(
            "SELECT count(*) FROM (SELECT dedupe_key FROM delivery GROUP BY dedupe_key HAVING count(*) > 1) d").fetchone()[0]
    return counts


def first_cycle_done(run: Instances) -> float | None:
    """When the instances' tick lines, in time order, have checked every feed once."""
    done = 0
    for end, checked in sorted(run.ticks):
        done += checked
        if done >= run.urls:
            return end
    return None


def analyse(run: Instances) -> dict[str, object]:
    """Figures from the server's log (fetch arrival times) and the instances' tick lines."""
    by_path: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for arrived, status, path in run.fetches:
        by_path[path].append((arrived, status))
    gaps = {path: [(b - a, status) for (a, status), (b, _s) in zip(times, times[1:])] for path, times in by_path.items()}
    all_gaps = [gap for values in gaps.values() for gap, _status in values]
    # After a 304 the feed is recorded at once: the gap is the interval plus how late the refetch came.
    after_304 = [gap - INTERVAL_S for values in gaps.values() for gap, status in values if status == 304]
    violations = [(path, gap) for path, values in gaps.items() for gap, _s in values if gap < INTERVAL_S - SLACK_S]
    first_fetch = run.fetches[0][0] if run.fetches else run.started
    done = first_cycle_done(run)
    window = run.stopped - run.started
    return {
        "first cycle s (start to all stored)": None if done is None else done - run.started,
        "first cycle s (first fetch to stored)": None if done is None else done - first_fetch,
        "first cycle feeds/s (from 1st fetch)": None if done is None else run.urls / (done - first_fetch),
        "run s": window,
        "fetches": len(run.fetches),
        "fetches/s over the run": len(run.fetches) / window,
        "feeds fetched": len(by_path),
        "feeds fetched more than once": sum(1 for values in gaps.values() if values),
        "minimum gap s": min(all_gaps) if all_gaps else None,
        "median per-feed minimum gap s": statistics.median(min(g for g, _s in v) for v in gaps.values() if v)
        if all_gaps else None,
        "late after a 304 s (median, max)": (statistics.median(after_304), max(after_304)) if after_304 else None,
        "violations": violations,
    }


def print_report(runs: list[Instances]) -> None:
    results = {run.count: analyse(run) for run in runs}
    keys = [key for key in next(iter(results.values())) if key != "violations"]
    header = f"{'':<38}" + "".join(f"{f'{count} instance(s)':>18}" for count in results)
    print("\n" + header + "\n" + "-" * len(header))
    for key in keys:
        print(f"{key:<38}" + "".join(f"{_cell(result[key]):>18}" for result in results.values()))
    print(f"{'violations (gap < interval - 0.5 s)':<38}" + "".join(f"{len(r['violations']):>18}" for r in results.values()))
    for run in runs:
        checked = ", ".join(f"{n:,}" for n in run.checked)
        cpu = ", ".join(f"{seconds:.1f}" for seconds in run.cpu)
        print(f"\n{run.count} instance(s): feeds checked per instance (their tick lines) {checked}; "
              f"CPU s per instance (with its parser workers) {cpu}; exit codes after SIGTERM {run.codes}")
        print(f"  outbox: {run.deliveries}")
        for path, gap in results[run.count]["violations"][:10]:
            print(f"  VIOLATION {path}: fetched twice {gap:.2f} s apart")
        if run.errors:
            print(f"  {len(run.errors)} error(s) logged by the instances; the first:")
            print("    " + run.errors[0][-3000:].replace("\n", "\n    "))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return " / ".join(f"{part:.2f}" for part in value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS, help=f"snapshot folder (default {DEFAULT_FEEDS})")
    parser.add_argument("--largest", type=int, default=100, help="serve the N largest files (default 100)")
    parser.add_argument("--feeds-count", type=int, default=200, help="feed URLs (default 200, files reused)")
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 3], help="instance counts to run (1 3)")
    parser.add_argument("--intervals", type=int, default=2, help="intervals to run after the first cycle (2)")
    parser.add_argument("--max-seconds", type=float, default=240, help="stop a run after this long whatever happens")
    parser.add_argument("--concurrency", type=int, default=16, help="[fetch] concurrency and per_host (16)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configs)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with benchmark_folder("tracker-instances-", args.keep) as folder:
        root = largest_feeds(args.feeds, args.largest, folder / "feeds")
        size = sum(p.stat().st_size for p in feed_files(root))
        print(f"feeds: {args.feeds_count} URLs over the {args.largest} largest files of {args.feeds} "
              f"({size / 1e6:.1f} MB distinct); interval {INTERVAL_S:g} s, tick 1 s, jitter 0, lease 10 s; "
              f"PostgreSQL at {args.postgres}")
        runs = []
        for count in args.instances:
            runs.append(run_instances(count, args, folder, root))
        print_report(runs)


if __name__ == "__main__":
    main()
