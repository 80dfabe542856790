"""The grown cycle as a running bot runs it: one process, its parser workers already up.

    .venv/bin/python benchmarks/running_cycle.py              # the 100 largest real snapshots, 3 grown cycles
    .venv/bin/python benchmarks/running_cycle.py --cycles 5

`tracker run` builds its tick once and keeps it, worker processes included, so after
its first cycle a feed that grew by a few items costs what `run_tick` does, not a
process start. This script does what `tracker run` does: one App, one tick, a fresh
cycle over the feed server's snapshots (feedserver.py, its own process), then
`--cycles` grown cycles (3 new items at the top of every feed, a new ETag), printing
each cycle's `took=` (TickReport.took, the figure on every tick's log line).
peers.py times whole `tracker poll` processes, start-up included, beside the peers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import REPO, benchmark_folder, choose_rules, control, start_server  # noqa: E402
from peer_tools import TrackerTool  # noqa: E402
from peers import DEFAULT_FEEDS, largest_feeds  # noqa: E402

sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS)
    parser.add_argument("--largest", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=3, help="grown cycles after the fresh one (default 3)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    from tracker.app import App
    from tracker.pipeline import run_tick

    with benchmark_folder("running-cycle-", args.keep) as folder:
        root = largest_feeds(args.feeds, args.largest, folder / "feeds")
        server, port, paths = start_server(root, None, 0)
        try:
            tool = TrackerTool([f"http://127.0.0.1:{port}{path}" for path in paths], 16, choose_rules(), {})
            tool.prepare(folder / "tracker")
            control(port, "validators/on")
            tick = App(tool.config).build_tick()
            try:
                fresh = run_tick(tick, all_feeds=True)
                print(f"fresh: took={fresh.took:.2f}s, {fresh.new_entries} new entries")
                grown = []
                for number in range(args.cycles):
                    control(port, "grow/3")
                    report = run_tick(tick, all_feeds=True)
                    grown.append(report.took)
                    print(f"grown {number + 1}: took={report.took:.2f}s, {report.new_entries} new entries")
                print(f"grown, median of {len(grown)}: took={statistics.median(grown):.2f}s")
            finally:
                tick.parser.close(wait=True)
        finally:
            server.terminate()


if __name__ == "__main__":  # the parser workers (forkserver) import this module again
    main()
