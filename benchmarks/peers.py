"""The tracker's full cycle beside rss2email, reader and newsboat, and beside feedparser alone.

    .venv/bin/python benchmarks/peers.py                  # the 100 largest real snapshots, 3 rounds
    .venv/bin/python benchmarks/peers.py --count 1000 --rounds 1
    .venv/bin/python benchmarks/peers.py --tools tracker newsboat --rounds 1
    .venv/bin/python benchmarks/peers.py --tools tracker --rounds 1 --profile   # + py-spy by function

One feed server (feedserver.py, its own process) serves the N largest files of
../shared/feeds (read at run time through symlinks in a temporary folder) on
127.0.0.1, `--count` URLs in all (files reused under new URLs beyond their number).
Every tool polls those same URLs, from a fresh state per round, three cycles:

  fresh      first poll of an empty state; the server sends an ETag
  unchanged  the server answers 304 to a matching If-None-Match
  grown      every feed read before now has 3 new items at the top and a new ETag
             (the cycle a running bot actually runs; the rest byte for byte as before)
  touched    the same bytes again, without validators (conditional headers ignored)

Each cycle is one process of the tool, timed whole (start-up included): wall
seconds, CPU seconds (the process and everything below it) and peak memory. After
each cycle the tool's own state is counted (entries stored, mails received by the
SMTP stub) and the server's answers are printed beside it, so a tool that did not do
the work shows. Rounds rotate the tools' order; the tables give the median.

Same concurrency where a tool has the setting (--concurrency, 16: the tracker's
[fetch] concurrency and per_host, reader's workers, newsboat's reload-threads);
rss2email has none and fetches one feed after the other. Everything else is each
tool's defaults. The peers live in their own virtualenv (benchmarks/.peers, created
on first run; newsboat from Debian), never in the project's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feedserver import FEED_SUFFIXES, feed_files  # noqa: E402
from floor import text_work_seconds  # noqa: E402
from harness import REPO, VENV_BIN, Run, benchmark_folder, choose_rules, control, run_tracker, start_server  # noqa: E402
from peer_tools import (  # noqa: E402
    PEERS_BIN,
    NewsboatTool,
    ReaderTool,
    Rss2emailTool,
    Tool,
    TrackerTool,
    ensure_peers,
    versions,
)
from poll_cycles import feedparser_times, measure_startup, settings_overrides  # noqa: E402
from spy import record, summarise  # noqa: E402

TOOLS = ("tracker", "rss2email", "reader", "newsboat")
CYCLES = (("fresh", "on"), ("unchanged", "on"), ("grown", "on"), ("touched", "off"))
DEFAULT_FEEDS = REPO.parent / "shared" / "feeds"


@dataclass
class Result:
    round: int
    tool: str
    cycle: str
    run: Run
    served: dict
    work: dict[str, int]
    said: str
    note: str | None


def largest_feeds(source: Path, largest: int, folder: Path) -> Path:
    """A folder of symlinks to the `largest` biggest feed files of `source` (nothing copied)."""
    chosen = sorted(feed_files(source), key=lambda path: (-path.stat().st_size, path.name))[:largest]
    folder.mkdir(parents=True)
    for path in chosen:
        (folder / path.name).symlink_to(path.resolve())
    return folder


def start_mail_stub(mbox: Path) -> tuple[subprocess.Popen, int]:
    stub = subprocess.Popen([sys.executable, str(Path(__file__).parent / "mailstub.py"), "--mbox", str(mbox)],
                            stdout=subprocess.PIPE, text=True)
    hello = json.loads(stub.stdout.readline() or "{}")
    if "port" not in hello:
        stub.kill()
        raise SystemExit("mail stub did not start")
    return stub, hello["port"]


def run_round(number: int, tools: list[Tool], folder: Path, port: int, keep: bool) -> list[Result]:
    """Every tool's three cycles, each tool from a fresh state; the order rotates with the round."""
    results = []
    shift = number % len(tools)
    for tool in tools[shift:] + tools[:shift]:
        tool.prepare(folder / f"round{number}-{tool.name}")
        control(port, "reset")
        for cycle, validators in CYCLES:
            if cycle == "grown":
                control(port, "grow/3")
            control(port, f"validators/{validators}")
            note = tool.warm_up(cycle)
            control(port, f"validators/{validators}")  # clears the counts the warm-up made
            run = run_tracker(tool.command(), tool.folder)
            result = Result(number, tool.name, cycle, run, control(port, "stats"), tool.work(), tool.said(run), note)
            results.append(result)
            print(f"round {number + 1} {tool.name:<9} {cycle:<9} {run.wall:7.2f} s  CPU {run.cpu_total:6.2f} s  "
                  f"exit {run.code}  server {_served(result.served)}  {_work(result.work)}", flush=True)
            if run.code != 0:
                print(f"  {tool.name} failed; its stderr ends:\n{run.stderr[-2000:]}", flush=True)
        if not keep:
            shutil.rmtree(tool.folder, ignore_errors=True)
    return results


def _served(served: dict) -> str:
    return " ".join(f"{key}×{served[key]}" for key in ("200", "304") if served.get(key)) or "nothing"


def _work(work: dict[str, int]) -> str:
    return ", ".join(f"{key} {value:,}" for key, value in work.items())


def median(results: list[Result], tool: str, cycle: str, figure) -> float | None:
    values = [figure(result) for result in results if result.tool == tool and result.cycle == cycle]
    return statistics.median(values) if values else None


def print_tables(results: list[Result], names: list[str], rounds: int) -> None:
    peers = [name for name in names if name != "tracker"]
    for title, figure, unit in (("wall", lambda r: r.run.wall, "s"), ("CPU", lambda r: r.run.cpu_total, "s"),
                                ("peak memory", lambda r: r.run.peak_mb, "MB")):
        header = f"{title + ' ' + unit:<14}" + "".join(f"{name:>11}" for name in names)
        if "tracker" in names and title != "peak memory":
            header += "".join(f"{'tracker/' + name:>18}" for name in peers)
        print("\n" + header + "\n" + "-" * len(header))
        for cycle, _ in CYCLES:
            cells = {name: median(results, name, cycle, figure) for name in names}
            line = f"{cycle:<14}" + "".join(f"{cells[name]:>11.2f}" for name in names)
            if "tracker" in names and title != "peak memory":
                line += "".join(f"{cells['tracker'] / cells[name]:>17.2f}×" for name in peers)
            print(line)
    if rounds > 1:
        print(f"\nmedians of {rounds} rounds; wall min–max per cell:")
        for name in names:
            spans = []
            for cycle, _ in CYCLES:
                walls = [r.run.wall for r in results if r.tool == name and r.cycle == cycle]
                spans.append(f"{cycle} {min(walls):.2f}–{max(walls):.2f}")
            print(f"  {name:<10} " + "; ".join(spans))


def print_work(results: list[Result], count: int) -> list[str]:
    """What each tool did in the last round, and the doubts it raises."""
    print("\nwhat each cycle did (last round): server answers; counts from the tool's own state after the cycle")
    last = max(result.round for result in results)
    doubts = []
    for result in (r for r in results if r.round == last):
        said = f"; says: {result.said}" if result.said else ""
        note = f" ({result.note})" if result.note else ""
        print(f"  {result.tool:<9} {result.cycle:<9} server {_served(result.served)}; {_work(result.work)}{said}{note}")
    for result in results:
        answered = result.served.get("200", 0) + result.served.get("304", 0)
        where = f"round {result.round + 1} {result.tool} {result.cycle}"
        if result.run.code != 0:
            doubts.append(f"{where}: exit {result.run.code}")
        if answered < count:
            doubts.append(f"{where}: the server answered {answered} of {count} URLs")
        if result.cycle == "fresh" and not any(result.work.values()):
            doubts.append(f"{where}: nothing stored")
        if result.cycle == "unchanged" and result.served.get("304", 0) < count // 2:
            doubts.append(f"{where}: only {result.served.get('304', 0)} answers were 304")
    return doubts


def print_baseline(results: list[Result], names: list[str], parse: tuple[float, float]) -> None:
    defaults, lean = parse
    print(f"\nfeedparser alone, same bytes, in one process, sequential: defaults {defaults:.2f} s; "
          f"sanitize_html=False, resolve_relative_uris=False (what the tracker uses) {lean:.2f} s")
    for name in names:
        wall = median(results, name, "fresh", lambda r: r.run.wall)
        cpu = median(results, name, "fresh", lambda r: r.run.cpu_total)
        print(f"  {name:<10} fresh wall / feedparser defaults {wall / defaults:5.2f}×, / lean {wall / lean:5.2f}×;"
              f"  fresh CPU / lean {cpu / lean:5.2f}×")
    ticks = [r.run.tick for r in results if r.tool == "tracker" and r.cycle == "fresh" and r.run.tick is not None]
    if ticks:
        tick = statistics.median(ticks)
        print(f"  tracker fresh tick (inside run_tick) {tick:.2f} s: / defaults {tick / defaults:.2f}×, "
              f"/ lean {tick / lean:.2f}×")


def print_floor(results: list[Result], names: list[str], text_work: tuple[float, float, int], startup: float,
                lean_parse: float) -> None:
    """What the tracker's fresh cycle cannot go below, with feedparser and with a parser that costs nothing:
    start-up, then the parse and the text work spread perfectly over every core, fetching and storing free."""
    normalising, matching, entries = text_work
    cores = os.cpu_count() or 1
    without_parser = startup + (normalising + matching) / cores
    with_feedparser = without_parser + lean_parse / cores
    print(f"\nthe tracker's text work (floor.py; {entries:,} entries, one process): normalising {normalising:.2f} s, "
          f"matching {matching:.2f} s. A fresh cycle on {cores} cores cannot take less than start-up {startup:.2f} s "
          f"+ (parse + text work) / {cores}: {with_feedparser:.2f} s with feedparser (lean, {lean_parse:.2f} s), "
          f"{without_parser:.2f} s with a parser that costs nothing")
    for name in names:
        if name != "tracker":
            wall = median(results, name, "fresh", lambda r: r.run.wall)
            print(f"  {name:<10} fresh {wall:.2f} s: floor with feedparser {with_feedparser / wall:.2f}×, "
                  f"without a parser {without_parser / wall:.2f}×")


def measure_import_seconds(module: str = "sqlmodel", times: int = 3) -> float:
    """A Python process importing `module` and nothing else: the median of `times` runs."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run([str(VENV_BIN / "python"), "-c", f"import {module}"], check=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def print_import_cost(results: list[Result], names: list[str], imports: float) -> None:
    """The 304 cycle of a process: what importing the ORM alone costs, beside each peer's whole cycle."""
    print(f"\na Python process importing sqlmodel (SQLAlchemy and pydantic), nothing else: {imports:.2f} s")
    for name in names:
        if name != "tracker":
            wall = median(results, name, "unchanged", lambda r: r.run.wall)
            print(f"  {name:<10} unchanged (304) cycle, whole process {wall:.2f} s: the import alone is {imports / wall:.2f}× it")
    ticks = [r.run.tick for r in results if r.tool == "tracker" and r.cycle == "unchanged" and r.run.tick is not None]
    if ticks:
        print(f"  tracker    unchanged cycle inside the process (run_tick, what a running `tracker run` does "
              f"every interval): {statistics.median(ticks):.2f} s")


def print_bar(results: list[Result], tools: list[Tool]) -> None:
    """The issue's bar: faster than every Python peer, within 2× of newsboat, cycle by cycle."""
    names = [tool.name for tool in tools]
    if "tracker" not in names or len(names) < 2:
        return
    print("\nbar: the tracker faster than every Python peer and within 2× of newsboat (median wall)")
    for cycle, _ in CYCLES:
        tracker = median(results, "tracker", cycle, lambda r: r.run.wall)
        verdicts = []
        for tool in tools:
            if tool.name == "tracker":
                continue
            peer = median(results, tool.name, cycle, lambda r: r.run.wall)
            limit = peer if tool.python else 2 * peer
            verdicts.append(f"{tool.name} {'met' if tracker < limit else 'MISSED'} ({tracker / peer:.2f}×)")
        print(f"  {cycle:<10} " + ", ".join(verdicts))


def profile_tracker(tool: Tool, folder: Path, port: int) -> None:
    """One more round of the tracker's three cycles, each under py-spy (all its processes)."""
    if not (PEERS_BIN / "py-spy").exists():
        subprocess.run([str(PEERS_BIN / "pip"), "install", "--quiet", "py-spy"], check=True)
    tool.prepare(folder / "profile-tracker")
    for cycle, validators in CYCLES:
        control(port, f"validators/{validators}")
        out = tool.folder / f"{cycle}.spy.txt"
        run = run_tracker(record(PEERS_BIN / "py-spy", tool.command(), out), tool.folder)
        print(f"\nprofile, tracker {cycle} (py-spy, {run.wall:.2f} s wall with sampling, exit {run.code}); "
              f"{_served(control(port, 'stats'))}")
        print(summarise(out) if out.exists() else f"no profile written; stderr ends:\n{run.stderr[-1500:]}")


def build_tools(args: argparse.Namespace, urls: list[str], smtp_port: int, mbox: Path, extra: dict) -> list[Tool]:
    rules = choose_rules()
    made = {
        "tracker": lambda: TrackerTool(urls, args.concurrency, rules, extra),
        "rss2email": lambda: Rss2emailTool(urls, args.concurrency, smtp_port, mbox),
        "reader": lambda: ReaderTool(urls, args.concurrency),
        "newsboat": lambda: NewsboatTool(urls, args.concurrency),
    }
    return [made[name]() for name in TOOLS if name in args.tools]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS, help=f"snapshot folder (default {DEFAULT_FEEDS})")
    parser.add_argument("--largest", type=int, default=100, help="serve the N largest files (default 100)")
    parser.add_argument("--count", type=int, help="feed URLs (default: one per file; files reused beyond)")
    parser.add_argument("--concurrency", type=int, default=16, help="fetches at once, where a tool has it (16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the tables give medians (default 3)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--no-install", action="store_true", help="do not install missing peers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (states, configs, mbox)")
    parser.add_argument("--profile", action="store_true",
                        help="then the tracker's three cycles once more under py-spy (installed into benchmarks/.peers)")
    return parser.parse_args()


def benchmark(args: argparse.Namespace, folder: Path) -> None:
    root = largest_feeds(args.feeds, args.largest, folder / "feeds")
    files = feed_files(root)
    count = args.count or len(files)
    server, port, paths = start_server(root, count, 0)
    mbox = folder / "mail.mbox"
    stub, smtp_port = start_mail_stub(mbox)
    try:
        urls = [f"http://127.0.0.1:{port}{path}" for path in paths]
        size = sum(files[n % len(files)].stat().st_size for n in range(count))
        print(f"feeds: {count} URLs over the {len(files)} largest files of {args.feeds} "
              f"({size / 1e6:.1f} MB per cycle); concurrency {args.concurrency}; {args.rounds} round(s)")
        extra = settings_overrides(False)
        tools = build_tools(args, urls, smtp_port, mbox, extra)
        if any(tool.name != "tracker" for tool in tools):
            print(f"peers: {versions()}; rss2email mails to an SMTP stub (mailstub.py) on 127.0.0.1:{smtp_port}")
        startup = None
        if "tracker" in args.tools:
            startup = measure_startup(folder, choose_rules(), args.concurrency, extra)
            print(f"tracker empty poll (no feeds: start-up, imports, rules, syncs): {startup:.2f} s")
        results = []
        for number in range(args.rounds):
            results += run_round(number, tools, folder, port, args.keep)
        names = [tool.name for tool in tools]
        uses = Counter(files[n % len(files)] for n in range(count))
        parse = feedparser_times(files, uses)
        print_tables(results, names, args.rounds)
        doubts = print_work(results, count)
        print_baseline(results, names, parse)
        if startup is not None:
            print_floor(results, names, text_work_seconds(files, uses, choose_rules(), FEED_SUFFIXES), startup, parse[1])
            print_import_cost(results, names, measure_import_seconds())
        print_bar(results, tools)
        if args.profile:
            profile_tracker(next(tool for tool in tools if tool.name == "tracker"), folder, port)
        print("\n" + ("doubts:\n  " + "\n  ".join(doubts) if doubts else "no doubts: every cycle ran, "
              "every URL was answered, every fresh cycle stored entries, every unchanged cycle got 304s"))
    finally:
        for process in (server, stub):
            process.terminate()
            process.wait(timeout=10)


def main() -> None:
    args = parse_args()
    missing = ensure_peers(not args.no_install) if set(args.tools) - {"tracker"} else []
    if missing:
        raise SystemExit("missing: " + "; ".join(missing))
    with benchmark_folder("tracker-peers-", args.keep) as folder:
        benchmark(args, folder)


if __name__ == "__main__":
    main()
