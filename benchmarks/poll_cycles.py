"""Benchmark of `tracker poll`: three full cycles through the real CLI, against a local feed server.

    .venv/bin/python benchmarks/poll_cycles.py                          # 100 generated feeds (~22 MB)
    .venv/bin/python benchmarks/poll_cycles.py --feeds ../shared/feeds
    .venv/bin/python benchmarks/poll_cycles.py --feeds ../shared/feeds --count 1000
    .venv/bin/python benchmarks/poll_cycles.py --hostile                # + 200 MB bodies and a gzip bomb
    .venv/bin/python benchmarks/poll_cycles.py --hostile 16             # 16 copies of each hostile URL
    .venv/bin/python benchmarks/poll_cycles.py --profile                # + one fresh cycle under cProfile

Cycles, on one fresh SQLite database (migrated first, so no cycle pays for migrations):
  fresh      everything is new: fetched, parsed, matched, stored, alerted to the console;
  unchanged  the server answers 304 to the ETag the tracker stored in the fresh cycle;
  touched    the server re-sends the same bytes without validators: skipped by body hash.
(`unchanged` runs before `touched`: a 200 without an ETag clears the stored one, so
no 304 could follow it.) Each cycle is a `tracker --config … poll` subprocess; its
wall time includes interpreter start-up, imports, rule loading and the config sync;
it runs through timed_cli.py (the CLI's own main, as the console script calls it) so
the time inside run_tick is reported too. An empty poll (no feeds) is timed for scale.
Memory: the tracker's own peak RSS (os.wait4, exact) and the peak PSS summed over it
and its worker processes (sampled from /proc, proctree.py). The server is a separate
process (feedserver.py) but shares the machine's cores. Figures only; no asserts.
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedgen import write_feeds  # noqa: E402
from feedserver import FEED_SUFFIXES, feed_files  # noqa: E402
from harness import (  # noqa: E402
    REPO,
    TIMED_TRACKER,
    TRACKER,
    VENV_BIN,
    Run,
    benchmark_folder,
    choose_rules,
    config_has,
    control,
    count_rows,
    require_ok,
    run_tracker,
    start_server,
    write_config,
)

from tracker.feeds.parse import FEEDPARSER_OPTIONS  # noqa: E402

TARGETS = {"fresh": 2.5, "unchanged": 0.35, "touched": 0.5}
TARGET_RSS_MB = 300


def feedparser_times(files: list[Path], uses: Counter) -> tuple[float, float]:
    """feedparser on each distinct file, in this process, sequentially; seconds weighted by URL count."""
    defaults = lean = 0.0
    for path in files:
        body, headers = path.read_bytes(), {"content-type": FEED_SUFFIXES[path.suffix]}
        started = time.perf_counter()
        feedparser.parse(io.BytesIO(body), response_headers=headers)
        middle = time.perf_counter()
        feedparser.parse(io.BytesIO(body), response_headers=headers, **FEEDPARSER_OPTIONS)
        ended = time.perf_counter()
        defaults += (middle - started) * uses[path]
        lean += (ended - middle) * uses[path]
    return defaults, lean


def profile_fresh(folder: Path, rules: Path, urls: list[str], concurrency: int, extra: dict, top: int = 15) -> str:
    """One more fresh cycle, on its own database, under cProfile; the top lines by cumulative time.

    cProfile sees one process, so parser workers (if the tracker has them) are set to 1:
    the profile then holds every stage, at the cost of not being parallel.
    """
    database, output = folder / "profile.db", folder / "fresh.prof"
    single = config_has("parse", "workers")
    extra = {**extra, "parse": {"workers": 1}} if single else extra
    config = write_config(folder / "profile.toml", database, rules, urls, concurrency, extra)
    require_ok(run_tracker([str(TRACKER), "--config", str(config), "db", "upgrade"], folder), "db upgrade")
    command = [str(VENV_BIN / "python"), "-m", "cProfile", "-o", str(output), str(TRACKER), "--config", str(config), "poll"]
    run = run_tracker(command, folder)
    text = io.StringIO()
    stats = pstats.Stats(str(output), stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    text.write("by stage (cumulative s): " + ", ".join(
        f"{name} {seconds:.2f}" for name, seconds in _stage_times(stats).items()) + "\n")
    workers = " with [parse] workers = 1" if single else ""
    said = " ".join(f"{k}={v}" for k, v in run.summary.items()) or "no summary line; stderr ends:\n" + run.stderr[-2000:]
    return (f"profiled fresh cycle{workers}: wall {run.wall:.2f} s (cProfile overhead included), exit {run.code}, "
            f"{said}\n" + text.getvalue())


# The pipeline's main functions, found by name in any project file (code moves between modules).
STAGES = ("load_rules", "fetch_feeds", "fetch_feeds_async", "parse_document", "record_new_entries",
          "match", "record_matches", "deliver_pending")


def _stage_times(stats: pstats.Stats) -> dict[str, float]:
    times: dict[str, float] = {}
    for (path, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():
        in_project = path.startswith(str(REPO)) and "/.venv/" not in path
        if function in STAGES and in_project and (function != "match" or path.endswith("tracker/matching/matcher.py")):
            times[function] = max(times.get(function, 0.0), cumulative)
    return {name: times[name] for name in STAGES if name in times}


def _verdict(value: float, target: float) -> str:
    return "yes" if value <= target else "no"


def print_report(runs: dict[str, Run], startup: float, rows: dict[str, int], feeds: int, http: dict[str, dict],
                 parse: tuple[float, float], real: bool) -> None:
    failed = [name for name, run in runs.items() if run.code != 0]
    if failed:
        print(f"\n*** tracker poll exited non-zero in: {', '.join(failed)}; those figures mean nothing ***")
    _print_cycles(runs, startup, feeds, rows["entry_feed"])
    _print_memory(runs)
    if not real:
        print("targets are the issue's, stated for the 100 real feeds (--feeds ../shared/feeds); this run used generated feeds")
    fresh = runs["fresh"]
    fresh_tick = _tick(fresh, startup)
    defaults, lean = parse
    print(f"\nfeedparser in this process, sequential, same bytes: defaults {defaults:.2f} s; "
          f"sanitize_html=False, resolve_relative_uris=False {lean:.2f} s")
    print(f"tracker fresh / feedparser defaults: wall {fresh.wall / defaults:.2f}×, tick {fresh_tick / defaults:.2f}×")
    print(f"tracker fresh / feedparser lean:     wall {fresh.wall / lean:.2f}×, tick {fresh_tick / lean:.2f}×")
    print(f"\nafter fresh: {rows['entry']} distinct entries, {rows['entry_feed']} feed items (entries/s counts feed items), "
          f"{rows['evidence']} evidence, {rows['status_change']} status changes, "
          f"{rows['delivery']} alerts queued, {rows['sent']} sent to the console")
    for name, run in runs.items():
        served = {k: v for k, v in http[name].items() if k != "validators"}
        print(f"{name:<10} tracker: {' '.join(f'{k}={v}' for k, v in run.summary.items()) or '(no summary line)'}; "
              f"server: {served}; exit {run.code}")


def _tick(run: Run, startup: float) -> float:
    """Measured inside the process when possible, else estimated from an empty poll."""
    return run.tick if run.tick is not None else max(run.wall - startup, 1e-9)


def _print_cycles(runs: dict[str, Run], startup: float, feeds: int, items: int) -> None:
    header = (f"{'cycle':<10} {'wall s':>7} {'tick s':>7} {'feeds/s':>8} {'entries/s':>10} {'RSS main':>9} "
              f"{'PSS tree':>9} {'procs':>5} {'CPU s':>6}  {'target s':>8}  {'met wall/tick':>13}")
    print("\n" + header + "\n" + "-" * len(header))
    for name, run in runs.items():
        tick, target = _tick(run, startup), TARGETS[name]
        print(f"{name:<10} {run.wall:>7.2f} {tick:>7.2f} {feeds / run.wall:>8.1f} {items / run.wall:>10.0f} "
              f"{run.rss_mb:>9.1f} {run.tree.peak_pss_mb:>9.1f} {run.tree.peak_processes:>5} {run.cpu_total:>6.2f}  "
              f"{target:>8.2f}  {_verdict(run.wall, target) + ' / ' + _verdict(tick, target):>13}")
    print(f"{'empty poll':<10} {startup:>7.2f}  (no feeds, same rules: the process around a tick)")
    print("wall: the whole `tracker poll` process. tick: time inside run_tick (fetch, parse, match, store);\n"
          "feeds/s and entries/s are per wall second. RSS main: the tracker process's own peak, MB (wait4,\n"
          "exact). PSS tree: peak sum over the tracker and its worker processes, MB (sampled every 50 ms).\n"
          "CPU s: the tracker with the children it reaped (wait4), plus the processes below it as last\n"
          "sampled (parser workers are the forkserver's children, not the tracker's).")


def _print_memory(runs: dict[str, Run]) -> None:
    peak = max(run.peak_mb for run in runs.values())
    verdict = "met" if peak < TARGET_RSS_MB else "NOT met"
    print(f"\npeak memory over all cycles: {peak:.1f} MB (target < {TARGET_RSS_MB} MB: {verdict})")
    for name, run in runs.items():
        if run.tree.peak_processes > 1:
            print(f"  {name}: tree RSS sum {run.tree.peak_rss_mb:.1f} MB; per-process peaks (VmHWM) "
                  f"{', '.join(f'{mb:.0f}' for mb in run.tree.hwm_mb.values())} MB; "
                  f"CPU: tracker (wait4) {run.cpu:.2f} s + processes below it {run.tree.descendant_cpu_s:.2f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=Path, help="serve this folder instead of generated feeds")
    parser.add_argument("--files", type=int, default=100, help="generated feed files (default 100)")
    parser.add_argument("--count", type=int, help="feed URLs (files are reused under new URLs beyond their number)")
    parser.add_argument("--concurrency", type=int, default=16, help="[fetch] concurrency and per_host (default 16)")
    parser.add_argument("--hostile", type=int, nargs="?", const=1, default=0, metavar="N",
                        help="add N (default 1) copies each of a 200 MB body, chunked and declared, and a gzip bomb")
    parser.add_argument("--pace-alerts", action="store_true",
                        help="keep the tracker's per-channel alert pacing (by default it is set to 1 ms)")
    parser.add_argument("--profile", action="store_true", help="also run one fresh cycle under cProfile (top 15)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, configs)")
    return parser.parse_args()


def settings_overrides(pace_alerts: bool) -> dict[str, dict[str, object]]:
    """Config beyond the defaults. Console alerts are paced like Slack's (1 s per channel) by
    the tracker; left so, a fresh cycle would mostly measure sleeps, one per alert."""
    if pace_alerts or not config_has("slack", "per_channel_interval"):
        return {}
    print("alerts: [slack] per_channel_interval = 1 ms (console alerts unpaced; --pace-alerts keeps the tracker's)")
    return {"slack": {"per_channel_interval": "0.001s"}}


def run_cycles(folder: Path, config: Path, port: int) -> tuple[dict[str, Run], dict[str, dict], dict[str, int]]:
    """fresh (validators on), unchanged (304s), touched (same bytes, no validators), on one database."""
    runs, http, rows = {}, {}, {}
    for name, validators in (("fresh", "on"), ("unchanged", "on"), ("touched", "off")):
        control(port, f"validators/{validators}")
        runs[name] = run_tracker([*TIMED_TRACKER, "--config", str(config), "poll"], folder)
        http[name] = control(port, "stats")
        print(f"{name}: {runs[name].wall:.2f} s, {runs[name].peak_mb:.0f} MB, exit {runs[name].code}", flush=True)
        if runs[name].code != 0:
            print(f"tracker poll failed; its stderr ends:\n{runs[name].stderr[-3000:]}", flush=True)
        if name == "fresh":
            rows = count_rows(folder / "tracker.db")
    return runs, http, rows


def measure_startup(folder: Path, rules: Path, concurrency: int, extra: dict) -> float:
    """An empty poll (no feeds, same rules): start-up, imports, rule loading and syncs, best of 3."""
    empty = write_config(folder / "empty.toml", folder / "empty.db", rules, [], concurrency, extra)
    require_ok(run_tracker([str(TRACKER), "--config", str(empty), "db", "upgrade"], folder), "db upgrade")
    runs = [require_ok(run_tracker([*TIMED_TRACKER, "--config", str(empty), "poll"], folder), "poll") for _ in range(3)]
    return min(run.wall for run in runs)


def benchmark(args: argparse.Namespace, folder: Path, root: Path, port: int, paths: list[str]) -> None:
    files = feed_files(root)
    count = args.count or len(files)
    rules = choose_rules()
    urls = [f"http://127.0.0.1:{port}{path}" for path in paths]
    size = sum(path.stat().st_size for path in files[:count])
    print(f"feeds: {len(urls)} URLs over {min(count, len(files))} files ({size / 1e6:.1f} MB distinct) from {root}"
          + (f" (of which {3 * args.hostile} hostile)" if args.hostile else ""))
    print(f"rules: {rules} ({len(list(rules.rglob('*.y*ml')))} files); [fetch] concurrency = {args.concurrency}, "
          f"per_host = {min(args.concurrency, 16)} (one host, 127.0.0.1); server: separate process, same cores")
    extra = settings_overrides(args.pace_alerts)
    config = write_config(folder / "config.toml", folder / "tracker.db", rules, urls, args.concurrency, extra)
    upgrade = require_ok(run_tracker([str(TRACKER), "--config", str(config), "db", "upgrade"], folder), "db upgrade")
    startup = measure_startup(folder, rules, args.concurrency, extra)
    print(f"db upgrade on an empty database: {upgrade.wall:.2f} s; empty poll: {startup:.2f} s")
    runs, http, rows = run_cycles(folder, config, port)
    parse = feedparser_times(files[:count], Counter(files[n % len(files)] for n in range(count)))
    print_report(runs, startup, rows, len(urls), http, parse, args.feeds is not None)
    errors = runs["fresh"].feed_errors
    if errors:
        print(f"\nfresh cycle feed errors ({len(errors)}):")
        print("\n".join(f"  {line[:160]}" for line in errors[:12]) + ("\n  …" if len(errors) > 12 else ""))
    if args.profile:
        control(port, "validators/on")
        print("\n" + profile_fresh(folder, rules, urls, args.concurrency, extra))


def main() -> None:
    args = parse_args()
    with benchmark_folder("tracker-bench-", args.keep) as folder:
        root = args.feeds or folder / "feeds"
        if args.feeds is None:
            write_feeds(root, args.files)
        server, port, paths = start_server(root, args.count, args.hostile)
        try:
            benchmark(args, folder, root, port, paths)
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
