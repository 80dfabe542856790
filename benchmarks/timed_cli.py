"""`tracker …` exactly as the console script runs it (tracker.cli:main), plus one line on
stderr with the time spent inside tracker.pipeline.run_tick, so a poll's wall time can
be split into the tick itself and the process around it (start-up, imports, rules).

    .venv/bin/python benchmarks/timed_cli.py --config CONFIG poll
"""

from __future__ import annotations

import sys
import time

import tracker.pipeline as pipeline
from tracker.cli import main


def _timed(run_tick):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return run_tick(*args, **kwargs)
        finally:
            print(f"benchmark: run_tick {time.perf_counter() - started:.4f} s", file=sys.stderr, flush=True)

    return timed


if __name__ == "__main__":
    # `poll` imports run_tick from the module when it runs, so it picks up the timed one.
    if hasattr(pipeline, "run_tick"):
        pipeline.run_tick = _timed(pipeline.run_tick)
    sys.exit(main())
