"""`tracker run`: APScheduler in the foreground, in memory, one tick job.

The database decides which feeds are due; the scheduler only wakes the tick.
Its job store stays in memory (a shared store cannot coordinate processes, and
the SQLAlchemy one pickles jobs), rebuilt at every start.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("tracker")


def run_forever(build_tick: Callable[[], object], tick_seconds: float) -> None:
    """Run ticks every `tick_seconds` until SIGINT/SIGTERM; the running tick finishes first."""
    from tracker.pipeline import run_tick

    tick = build_tick()
    stop = threading.Event()

    def job() -> None:
        try:
            run_tick(tick)
        except Exception:  # one bad tick must not stop the bot; the next one retries
            log.exception("tick failed")

    scheduler = BackgroundScheduler(
        timezone=timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(max(1, tick_seconds))},
    )
    scheduler.add_job(job, "interval", seconds=tick_seconds, id="tick", next_run_time=datetime.now(timezone.utc))

    def request_stop(signum, _frame) -> None:
        log.info("received %s: stopping after the current tick", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler.start()
    log.info("running: a tick every %g s; stop with Ctrl-C", tick_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped")
