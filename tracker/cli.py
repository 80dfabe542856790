"""The command line: the composition root that builds the concrete parts and wires them.

Exit status: 0 success, 1 a check failed (rules), 2 unusable config or database.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from pathlib import Path

import click

from tracker import __version__
from tracker.config import ConfigError, Settings, load_settings
from tracker.output import render

CONFIG_ENV = "TRACKER_CONFIG"
FORMATS = ("table", "json", "csv", "markdown")
STATUS_COLUMNS = ("id", "title", "actor", "status", "deadline", "days_left", "last_evidence", "evidence_count", "stale")
EVIDENCE_COLUMNS = ("commitment", "published", "signal", "item_title", "feed", "matched", "item_url")
FEED_COLUMNS = ("name", "last_status", "items", "consecutive_failures", "last_polled", "next_check", "last_error")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class App:
    """What commands share: the config path, and the parts built from it on first use."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        try:
            return load_settings(self.config_path)
        except ConfigError as error:
            raise Fatal(str(error)) from None

    @cached_property
    def engine(self):
        from storage.engine import make_engine
        from storage.migrate import MigrationError, upgrade

        engine = make_engine(self.settings.database.url)
        try:
            upgrade(engine)
        except MigrationError as error:
            raise Fatal(f"database {engine.url.render_as_string(hide_password=True)}: {error}") from None
        return engine

    def sync_feeds(self) -> None:
        from tracker.pipeline import sync_feeds

        interval = self.settings.schedule.interval
        sync_feeds(self.engine, [(f.name, f.url, f.interval or interval) for f in self.settings.feeds], utc_now())

    def sync_rules(self):
        """Load the rule files and make the commitment table match; returns the usable rules."""
        from tracker.pipeline import sync_commitments

        loaded = self.load_rules()
        broken = any(problem.excludes_rule for problem in loaded.problems)
        sync_commitments(self.engine, loaded.rules, utc_now(), retire_missing=not broken)
        return loaded.rules

    def load_rules(self, paths: list[Path] | None = None):
        from tracker.rulefile import load_rules

        loaded = load_rules(paths or self.settings.rule_paths)
        for problem in loaded.problems:
            click.echo(f"rule error: {problem} (that file's rule is not used)", err=True)
        return loaded


class Fatal(click.ClickException):
    """An unusable config or database: exit status 2 with the reason."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"tracker: {self.message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV,
    default="config.toml",
    show_default=True,
    help=f"Config file (or ${CONFIG_ENV}).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every step, not only the tick summary.")
@click.version_option(__version__, prog_name="tracker")
@click.pass_context
def main(context: click.Context, config_path: Path, verbose: bool) -> None:
    """Track clean-energy and climate commitments in the news and tell Slack when one moves."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    context.obj = App(config_path)


def build_tick(app: App, last_good_rules: dict | None = None):
    """Wire the parts of one tick from the config.

    `last_good_rules` (a running bot reloading): when a rule file is broken, keep
    using that set rather than lose the broken file's commitment.
    """
    from notifiers.console import ConsoleNotifier
    from notifiers.slack import SlackNotifier
    from tracker.fetch import FetchPolicy
    from tracker.matching import RuleMatcher
    from tracker.parallel import ParserPool
    from tracker.pipeline import Tick, notify_broken_rules, sync_commitments

    settings = app.settings
    loaded = app.load_rules()
    broken = [str(problem) for problem in loaded.problems if problem.excludes_rule]
    rules = list(last_good_rules.values()) if broken and last_good_rules else list(loaded.rules)
    engine = app.engine
    sync_commitments(engine, rules, utc_now(), retire_missing=not broken)
    app.sync_feeds()
    token = os.environ.get(settings.slack.token_env, "").strip()
    notifier = (
        SlackNotifier(token, base_url=settings.slack.api_url, default_channel=settings.slack.channel)
        if token
        else ConsoleNotifier()
    )
    fetch = settings.fetch
    policy = FetchPolicy(
        timeout_seconds=fetch.timeout,
        deadline_seconds=fetch.deadline,
        max_body_bytes=fetch.max_body_bytes,
        concurrency=fetch.concurrency,
        per_host=fetch.per_host,
        max_redirects=fetch.max_redirects,
        contact_url=fetch.contact_url,
    )
    tick = Tick(
        engine=engine,
        fetch_policy=policy,
        matcher=RuleMatcher(rules),
        rules={rule.id: rule for rule in rules},
        notifier=notifier,
        parser=ParserPool(settings.parse.workers),
        default_channel=settings.slack.channel if token else None,
        jitter=settings.schedule.jitter,
        broken_after=settings.fetch.broken_after,
        max_backoff=timedelta(seconds=settings.fetch.max_backoff),
        ops_channel=(settings.slack.ops_channel or settings.slack.channel) if token else None,
        clock=utc_now,
    )
    if broken and last_good_rules:
        logging.getLogger("tracker").error("rule files have errors; keeping the last good rule set:\n%s", "\n".join(broken))
        notify_broken_rules(tick, broken)
    return tick


@main.command()
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
    from tracker.pipeline import check_deadlines, ingest_files, run_tick

    tick = build_tick(app)
    report = ingest_files(tick, list(files)) if files else run_tick(tick, all_feeds=True)
    check_deadlines(tick, app.settings.status.remind_days)
    for note in report.notes:
        click.echo(note, err=True)
    for error in report.errors:
        click.echo(f"feed error: {error}", err=True)
    click.echo(f"poll: {report.summary()}", err=True)


@main.command()
@click.pass_obj
def run(app: App) -> None:
    """Poll due feeds on a schedule until SIGINT or SIGTERM, then stop cleanly.

    The config and rule files are read again on SIGHUP or when they change; a bad
    config or a broken rule file keeps what was running and says why.
    """
    from tracker.rulefile import find_rule_files
    from tracker.scheduler import run_forever

    current: dict[str, App] = {"app": app}

    def build():
        fresh = App(app.config_path)
        previous = current.get("tick")
        tick = build_tick(fresh, last_good_rules=previous.rules if previous else None)
        current["app"], current["tick"] = fresh, tick
        return tick

    def watched() -> list[Path]:
        return [app.config_path, *find_rule_files(current["app"].settings.rule_paths)]

    from tracker.pipeline import check_deadlines

    status_settings = app.settings.status
    run_forever(
        build,
        watched,
        tick_seconds=app.settings.schedule.tick,
        reload_errors=(Fatal,),
        daily=lambda tick: check_deadlines(tick, status_settings.remind_days),
        daily_at=status_settings.daily_at,
    )


def as_of_moment(value: str | None) -> datetime | None:
    """--as-of 2030-01-01 means the end of that day, UTC."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2030-01-01", param_hint="--as-of") from None
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


AS_OF = click.option("--as-of", "as_of", metavar="DATE", help="The state as of DATE (past: from the record; future: a projection).")


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@AS_OF
@click.option("--category", help="Only this category.")
@click.option("--status", "only_status", help="Only commitments with this status.")
@click.option("--actor", help="Only commitments whose actor contains this text.")
@click.option("--overdue", is_flag=True, help="Only commitments past their deadline and not achieved.")
@click.option("--stale", is_flag=True, help="Only commitments with no recent evidence.")
@click.option("--sort", "sort_key", type=click.Choice(("id", "deadline", "status", "last_evidence", "evidence_count")), default="id", show_default=True)
@click.pass_context
def status(context: click.Context, fmt: str, as_of: str | None, category, only_status, actor, overdue: bool, stale: bool, sort_key: str) -> None:
    """One row per commitment: status, deadline and days left, evidence, staleness."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from tracker.review import status_table

    app = context.obj
    app.sync_rules()
    with Session(app.engine) as session:
        rows = status_table(session, utc_now(), app.settings.status.stale_after_days, as_of_moment(as_of))
    rows = [
        row
        for row in rows
        if (not category or row["category"] == category)
        and (not only_status or row["status"] == only_status)
        and (not actor or actor.casefold() in row["actor"].casefold())
        and (not overdue or (row["days_left"] < 0 and row["status"] != "achieved"))
        and (not stale or row["stale"])
    ]
    descending = sort_key in ("evidence_count", "last_evidence")
    rows.sort(key=lambda row: (row[sort_key] is None, row[sort_key] or 0), reverse=descending)
    _echo(render(rows, fmt, STATUS_COLUMNS))


@status.command("set")
@click.argument("commitment_id")
@click.argument("new_status", metavar="STATUS")
@click.option("--note", required=True, help="Why: kept in the history.")
@click.option("--by", "by", default=lambda: os.environ.get("USER"), help="Who decided (default: $USER).")
@click.pass_obj
def status_set(app: App, commitment_id: str, new_status: str, note: str, by: str | None) -> None:
    """Set a commitment's status by hand; it holds until evidence of a different kind arrives."""
    from tracker.model import Status
    from tracker.pipeline import TickReport, deliver_pending, set_status

    if new_status not in {item.value for item in Status}:
        raise click.BadParameter(f"{new_status!r}; choose from {', '.join(item.value for item in Status)}", param_hint="STATUS")
    tick = build_tick(app)
    _require_commitment(tick, commitment_id)
    change = set_status(tick, commitment_id, Status(new_status), note, by)
    if change is None:
        click.echo(f"{commitment_id} is already {new_status}")
        return
    deliver_pending(tick, TickReport())
    click.echo(f"{commitment_id}: {change.old.value} → {change.new.value} (set by {by or 'unknown'}: {note})")


@main.command()
@click.argument("commitment_id")
@AS_OF
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def show(app: App, commitment_id: str, as_of: str | None, fmt: str) -> None:
    """A commitment's card: target, deadline, status and since when, history with causes, evidence, metric series."""
    import json

    from sqlmodel import Session

    from tracker.cards import format_card
    from tracker.review import card

    app.sync_rules()
    with Session(app.engine) as session:
        found = card(session, commitment_id, utc_now(), app.settings.status.stale_after_days, as_of_moment(as_of))
    if found is None:
        raise click.ClickException(f"no commitment with id {commitment_id!r}")
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(format_card(found, as_of))


class _ListOrAct(click.Group):
    """`tracker evidence [ID]` lists; `tracker evidence dismiss …` acts."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            ctx.meta["commitment_id"] = args.pop(0)
        return super().parse_args(ctx, args)


@main.group(cls=_ListOrAct, invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--all", "include_dismissed", is_flag=True, help="Include dismissed false positives.")
@click.pass_context
def evidence(context: click.Context, fmt: str, include_dismissed: bool) -> None:
    """Matched entries, newest first: `tracker evidence [ID]`; `tracker evidence dismiss` marks false positives."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from storage.views import evidence_rows

    with Session(context.obj.engine) as session:
        rows = evidence_rows(session, context.meta.get("commitment_id"))
    _echo(render([row for row in rows if include_dismissed or not row["dismissed"]], fmt, EVIDENCE_COLUMNS))


@evidence.command("dismiss")
@click.argument("entry_id", type=int)
@click.argument("commitment_id", required=False)
@click.option("--note", required=True, help="Why it is a false positive: kept for rule tuning.")
@click.pass_obj
def evidence_dismiss(app: App, entry_id: int, commitment_id: str | None, note: str) -> None:
    """Mark an entry's evidence (for COMMITMENT_ID, or all) a false positive; statuses are recomputed without it."""
    from tracker.pipeline import TickReport, deliver_pending, dismiss_evidence

    tick = build_tick(app)
    touched, changes = dismiss_evidence(tick, entry_id, commitment_id, note)
    if not touched:
        raise click.ClickException(f"entry {entry_id} is not live evidence" + (f" for {commitment_id}" if commitment_id else ""))
    deliver_pending(tick, TickReport())
    click.echo(f"dismissed entry {entry_id} as evidence for {', '.join(touched)}")
    for change in changes:
        click.echo(f"{change.commitment_id}: {change.old.value} → {change.new.value}")


def _require_commitment(tick, commitment_id: str) -> None:
    if commitment_id not in tick.rules:
        raise click.ClickException(f"no commitment with id {commitment_id!r} (see `tracker status`)")


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def feeds(context: click.Context, fmt: str) -> None:
    """Feed health: last status and error, failures, items, last and next check."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from storage.views import feed_rows

    app = context.obj
    app.sync_feeds()
    with Session(app.engine) as session:
        _echo(render(feed_rows(session), fmt, FEED_COLUMNS))


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def feeds_import(app: App, opml_file: Path) -> None:
    """Add the feeds of an OPML file (from a feed reader) to config.toml."""
    from tracker.opml import OpmlError, read_opml, toml_feed_blocks

    try:
        subscriptions = read_opml(opml_file.read_bytes())
    except OpmlError as error:
        raise click.ClickException(f"{opml_file}: {error}") from None
    known_urls = {feed.url for feed in app.settings.feeds}
    new = [item for item in subscriptions if item.url not in known_urls]
    if new:
        blocks = toml_feed_blocks(new, {feed.name for feed in app.settings.feeds})
        with app.config_path.open("a", encoding="utf-8") as config:
            config.write(f"\n# Imported from {opml_file.name}\n{blocks}")
        load_settings(app.config_path)  # what was written must still be a valid config
    click.echo(f"added {len(new)} feeds to {app.config_path} ({len(subscriptions) - len(new)} already there)")


@feeds.command("export")
@click.pass_obj
def feeds_export(app: App) -> None:
    """Print the configured feeds as OPML, for feed readers."""
    from tracker.opml import Subscription, write_opml

    click.echo(write_opml([Subscription(feed.name, feed.url) for feed in app.settings.feeds]), nl=False)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Apply pending migrations (every command also does this first)."""
    from storage.migrate import current_revision

    click.echo(f"database at revision {current_revision(app.engine)}")


def _echo(text: str | None) -> None:
    if text is not None:
        click.echo(text, nl=not text.endswith("\n"))


from tracker.cli_rules import rules  # noqa: E402  (registers the `rules` group)

main.add_command(rules)
