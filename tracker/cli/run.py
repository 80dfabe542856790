"""`tracker poll` and `tracker run`: the commands that poll feeds, alone or with other instances."""

from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path

import click

from tracker.app import App, SetupError
from tracker.cli.common import Fatal
from tracker.config import Settings


@click.command()
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ingest a saved feed file as if it had been fetched (repeatable); configured feeds are not polled.",
)
@click.pass_obj
def poll(app: App, files: tuple[Path, ...]) -> None:
    """Run one full cycle over every configured feed, then exit.

    Feed errors are reported on stderr and do not change the exit status.
    """
    from tracker.pipeline import deliver, ingest_files, run_tick
    from tracker.progress import show_progress
    from tracker.status.commitments import check_deadlines

    # Ingesting files polls nothing, so it may run beside a bot; polling feeds may not (on SQLite).
    with polling_instance(app, "poll") if not files else nullcontext():
        first_run = _is_first_run(app)
        tick = app.build_tick()
        with show_progress("poll", "files" if files else "feeds") as progress:
            report = ingest_files(tick, list(files), progress) if files else run_tick(tick, all_feeds=True, progress=progress)
        report.status_changes += check_deadlines(tick.engine, tick.routes, app.settings.status.remind_days, tick.clock(), first_run=first_run)
        deliver(tick, report)
        tick.parser.close(wait=True)
    for note in report.notes:
        click.echo(note, err=True)
    for error in report.errors:
        click.echo(f"feed error: {error}", err=True)
    click.echo(f"poll: {report.summary()}", err=True)


def _is_first_run(app: App) -> bool:
    from sqlmodel import Session

    from storage.repository import is_new_database

    with Session(app.engine) as session:
        return is_new_database(session)


@click.command()
@click.pass_obj
def run(app: App) -> None:
    """Poll due feeds on a schedule until SIGINT or SIGTERM, then stop cleanly.

    The config and rule files are read again on SIGHUP or when they change; a bad
    config or a broken rule file keeps what was running and says why. The calendar
    jobs' times ([status] daily_at, [digest]) are read at start.
    """
    from tracker.matching.rulefile import find_rule_files
    from tracker.scheduler import run_forever

    current: dict[str, App] = {"app": app}

    def build():
        fresh = App(app.config_path, app.warn)
        old_app, previous = current["app"], current.get("tick")
        _warn_of_restart_only_changes(app.settings, fresh.settings)
        if fresh.settings.database.url == old_app.settings.database.url:
            fresh.engine = old_app.engine  # one engine (and pool) for the process's life
            fresh.registration = old_app.registration  # and one entry in the instance registry
        tick = fresh.build_tick(last_good_rules=previous.rules if previous else None)
        if previous is not None:
            retry_parked(tick)  # the config may have been fixed: what was parked gets another try
        if fresh.engine is not old_app.engine and "engine" in vars(old_app):
            old_app.close()  # the database moved: this process leaves its registry,
            old_app.engine.dispose()  # and the old pool's connections go
        current["app"], current["tick"] = fresh, tick
        return tick

    def watched() -> list[Path]:
        return [app.config_path, *find_rule_files(current["app"].settings.rule_paths)]

    settings = app.settings
    for warning in short_intervals(settings):
        logging.getLogger("tracker").warning("%s", warning)
    jobs = daily_jobs(settings, lambda: current["app"], first_run=_is_first_run(app))
    with polling_instance(app, "run"), serving_metrics(app):
        gate = DatabaseJobGate(app.engine, app.registration.id, lease=timedelta(seconds=settings.schedule.lease))
        run_forever(build, watched, tick_seconds=settings.schedule.tick, reload_errors=(SetupError,), daily_jobs=jobs, job_gate=gate)


def short_intervals(settings: Settings) -> list[str]:
    """Feeds polled less often than configured: the scheduler only looks every tick."""
    tick = settings.schedule.tick
    return [
        f"feed {feed.name}: interval {feed.interval or settings.schedule.interval:g}s is shorter than the tick ({tick:g}s): "
        f"it is polled every {tick:g}s at most (lower [schedule] tick, or raise the interval)"
        for feed in settings.feeds
        if (feed.interval or settings.schedule.interval) < tick
    ]


# Read once when `tracker run` starts: the scheduler's own wake-up, and the calendar.
RESTART_ONLY = (("schedule", "tick"), ("schedule", "lease"), ("status", "daily_at"), ("digest", "frequency"), ("digest", "at"), ("digest", "weekday"))


def _warn_of_restart_only_changes(started: Settings, now: Settings) -> None:
    changed = [f"[{section}] {key}" for section, key in RESTART_ONLY if getattr(getattr(started, section), key) != getattr(getattr(now, section), key)]
    if changed:
        logging.getLogger("tracker").warning("%s changed: it takes effect when `tracker run` restarts", ", ".join(changed))


@contextmanager
def polling_instance(app: App, command: str):
    """One polling process per SQLite file; any number on PostgreSQL."""
    from storage.instance import SecondInstanceError, single_instance

    try:
        with single_instance(app.engine, command):
            yield
    except SecondInstanceError as error:
        raise Fatal(str(error)) from None


@contextmanager
def serving_metrics(app: App):
    """/metrics on [metrics] port for the life of `tracker run` (0: not served)."""
    settings = app.settings.metrics
    if not settings.port:
        yield
        return
    from prometheus_client import start_http_server

    from tracker.web.metrics import fleet_registry

    try:
        server, thread = start_http_server(settings.port, addr=settings.host, registry=fleet_registry(app.engine))
    except OSError as error:
        raise Fatal(f"cannot serve /metrics on {settings.host}:{settings.port}: {error.strerror} ([metrics] port)") from None
    logging.getLogger("tracker").info("metrics on http://%s:%d/metrics", settings.host, settings.port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


class DatabaseJobGate:
    """Calendar jobs run once per scheduled time across every instance on the database."""

    def __init__(self, engine, instance: str, lease: timedelta) -> None:
        # `instance`: the registry's id, so that a dead instance's unfinished run is taken
        # over at once (tracker.instances), not only once its lease has run out.
        self.engine, self.lease, self.instance = engine, lease, instance

    def claim(self, name: str, slot: datetime, now: datetime) -> bool:
        from sqlmodel import Session

        from storage.jobs import claim_job_run

        with Session(self.engine) as session:
            return claim_job_run(session, name, slot, self.instance, now, self.lease)

    def finish(self, name: str, slot: datetime, now: datetime) -> None:
        from sqlmodel import Session

        from storage.jobs import finish_job_run

        with Session(self.engine) as session:
            finish_job_run(session, name, slot, now)


def daily_jobs(settings: Settings, current_app, first_run: bool = False) -> list:
    """The calendar jobs of `tracker run`: deadlines (and at start: on a new database, with
    one summary instead of an alert per passed deadline), and the digest."""
    from tracker.pipeline import TickReport, deliver
    from tracker.scheduler import DailyJob
    from tracker.status.commitments import check_deadlines

    def deadlines(tick) -> None:
        nonlocal first_run  # the summary is for the first run only
        check_deadlines(tick.engine, tick.routes, settings.status.remind_days, tick.clock(), first_run=first_run)
        first_run = False
        deliver(tick, TickReport())

    def digest(tick) -> None:
        current_app().send_digest(tick.clock())
        deliver(tick, TickReport())

    hour, minute = settings.status.daily_at.split(":")
    jobs = [DailyJob("deadlines", deadlines, {"hour": int(hour), "minute": int(minute)}, at_start=True)]
    if settings.digest.frequency != "off":
        hour, minute = settings.digest.at.split(":")
        cron = {"hour": int(hour), "minute": int(minute)}
        if settings.digest.frequency == "weekly":
            cron["day_of_week"] = settings.digest.weekday
        jobs.append(DailyJob("digest", digest, cron))
    return jobs


def retry_parked(tick) -> None:
    from sqlmodel import Session

    from storage.outbox import retry

    with Session(tick.engine) as session:
        retry(session, tick.clock())
        session.commit()
