"""`tracker run`: APScheduler in the foreground, in memory, one tick job.

The database decides which feeds are due; the scheduler only wakes the tick.
Its job store stays in memory (a shared store cannot coordinate processes, and
the SQLAlchemy one pickles jobs), rebuilt at every start.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger("tracker")


def files_signature(paths: list[Path]) -> tuple:
    """What changes when a watched file is edited, added or removed."""
    signature = []
    for path in paths:
        try:
            stat = path.stat()
            signature.append((str(path), stat.st_mtime_ns, stat.st_size))
        except OSError:
            signature.append((str(path), None, None))
    return tuple(sorted(signature))


@dataclass(frozen=True)
class DailyJob:
    """A job on a calendar (cron fields, UTC), given the current tick's parts; also run at start if asked."""

    name: str
    run: Callable[[object], None]
    cron: dict
    at_start: bool = False

    def last_slot(self, now: datetime) -> datetime | None:
        """The latest scheduled time at or before `now` (within a week): the run that is owed."""
        trigger = CronTrigger(timezone=timezone.utc, **self.cron)
        slot, candidate = None, trigger.get_next_fire_time(None, now - timedelta(days=8))
        while candidate is not None and candidate <= now:
            slot, candidate = candidate, trigger.get_next_fire_time(candidate, candidate + timedelta(seconds=1))
        return slot


class JobGate:
    """Lets one instance run each scheduled slot of a calendar job (several may share a database)."""

    def claim(self, name: str, slot: datetime, now: datetime) -> bool:
        return True

    def finish(self, name: str, slot: datetime, now: datetime) -> None:
        return None


def _close_parsers(tick: object, wait: bool = False) -> None:
    parser = getattr(tick, "parser", None)
    if parser is not None:
        parser.close(wait=wait)


class _NotSkippedRunWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


CATCH_UP_MINUTES = 15
# Catching up is for a slot's own day: an older slot nobody started stays skipped.
CATCH_UP_WITHIN = timedelta(hours=1)


def run_once(daily: DailyJob, tick: object, gate: JobGate, now: datetime, within: timedelta | None = None) -> bool:
    """Run the job's owed slot unless another instance has (or is running) it; True if it ran here.

    `within`: only a slot at most that old (catch-up runs).
    """
    slot = daily.last_slot(now)
    if slot is None or (within is not None and now - slot > within) or not gate.claim(daily.name, slot, now):
        log.debug("%s for %s: already run (or running) elsewhere", daily.name, slot)
        return False
    try:
        daily.run(tick)
    except Exception:  # a failed run is not finished: after its lease, a catch-up run here or elsewhere retries it
        log.exception("%s job failed", daily.name)
        return False
    gate.finish(daily.name, slot, datetime.now(timezone.utc))
    return True


def run_forever(
    build_tick: Callable[[], object],
    watched_files: Callable[[], list[Path]],
    tick_seconds: float,
    reload_errors: tuple[type[BaseException], ...] = (),
    daily_jobs: Sequence[DailyJob] = (),
    job_gate: JobGate | None = None,
) -> None:
    """Run ticks every `tick_seconds` until SIGINT/SIGTERM; the running tick finishes first.

    1. Build the tick's parts once.
    2. At each wake-up, rebuild them first if SIGHUP came or a watched file changed;
       a rebuild that fails keeps the running parts.
    3. Run the tick; an exception is logged and the next wake-up tries again.
    """
    from tracker.pipeline import run_tick

    state = {"tick": build_tick(), "signature": files_signature(watched_files())}
    stop, reload_requested = threading.Event(), threading.Event()

    def job() -> None:
        signature = files_signature(watched_files())
        if reload_requested.is_set() or signature != state["signature"]:
            reload_requested.clear()
            state["signature"] = signature
            try:
                previous, state["tick"] = state["tick"], build_tick()
                _close_parsers(previous)  # each build starts its own parser workers
                log.info("reloaded the config and rule files")
            except reload_errors as error:
                log.error("reload failed, still running the previous config: %s", error)
        try:
            run_tick(state["tick"])
        except Exception:  # one bad tick must not stop the bot; the next one retries
            log.exception("tick failed")

    # A tick longer than the tick interval (a first poll of many feeds) makes APScheduler
    # warn at every skipped wake-up; skipping is what max_instances=1 is for.
    logging.getLogger("apscheduler.scheduler").addFilter(_NotSkippedRunWarnings())
    scheduler = BackgroundScheduler(
        timezone=timezone.utc,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(max(1, tick_seconds))},
    )
    scheduler.add_job(job, "interval", seconds=tick_seconds, id="tick", next_run_time=datetime.now(timezone.utc))
    for daily in daily_jobs:

        def run_daily(daily: DailyJob = daily, within: timedelta | None = None) -> None:
            run_once(daily, state["tick"], job_gate or JobGate(), datetime.now(timezone.utc), within)

        scheduler.add_job(run_daily, "cron", id=daily.name, misfire_grace_time=3600, **daily.cron)
        if daily.at_start:  # a bot that was down at the daily hour catches up
            scheduler.add_job(run_daily, "date", run_date=datetime.now(timezone.utc), id=f"{daily.name}-at-start")
        # A run that failed, or whose instance died, is owed until it finishes: look again
        # now and then (a finished slot costs one refused claim).
        scheduler.add_job(run_daily, "interval", minutes=CATCH_UP_MINUTES, id=f"{daily.name}-catch-up", kwargs={"within": CATCH_UP_WITHIN})

    def request_stop(signum, _frame) -> None:
        log.info("received %s: stopping after the current tick", signal.Signals(signum).name)
        stop.set()

    def request_reload(_signum, _frame) -> None:
        log.info("received SIGHUP: reloading before the next tick")
        reload_requested.set()
        scheduler.modify_job("tick", next_run_time=datetime.now(timezone.utc))

    handlers = {signal.SIGINT: request_stop, signal.SIGTERM: request_stop, signal.SIGHUP: request_reload}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    scheduler.start()
    log.info("running: a tick every %g s; stop with Ctrl-C, reload with SIGHUP", tick_seconds)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        _close_parsers(state["tick"], wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped")
