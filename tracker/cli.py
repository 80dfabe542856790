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

CONFIG_ENV = "TRACKER_CONFIG"
FORMATS = ("table", "json", "csv", "markdown")
STATUS_COLUMNS = ("id", "title", "actor", "status", "deadline", "days_left", "last_evidence", "evidence_count", "stale")
EVIDENCE_COLUMNS = ("entry_id", "commitment", "published", "signal", "item_title", "feed", "item_url", "dismissed")
FEED_COLUMNS = ("name", "last_status", "items", "consecutive_failures", "last_polled", "next_check", "last_error")


def end_of_day(value: str, option: str) -> datetime:
    """A DATE option (2030-01-01) means the end of that day, UTC."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2030-01-01", param_hint=option) from None
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


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

    def sync_feeds(self, *, only_add: bool = True) -> None:
        """Bring the feed table in line with this config. Reading commands only add feeds
        they do not know: the polling instances own the table, and an operator's older
        copy of config.toml must not switch off or re-point the feeds they poll."""
        from tracker.sync import sync_feeds

        interval = self.settings.schedule.interval
        sync_feeds(self.engine, [(f.name, f.url, f.interval or interval) for f in self.settings.feeds], utc_now(), only_add=only_add)

    def sync_rules(self):
        """Load the rule files and add or update their commitments; returns the usable rules.

        A reading command never retires a commitment whose file it does not see (a
        missing or wrong rules folder would retire them all); `run` and `poll` do.
        """
        from tracker.sync import sync_commitments

        loaded = self.load_rules()
        sync_commitments(self.engine, loaded.rules, utc_now(), retire_missing=False)
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


class _TrackerCommands(click.Group):
    """A database that cannot be reached or stays locked ends the command with a
    one-line reason and exit status 2, not a traceback."""

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import OperationalError

        try:
            return super().invoke(ctx)
        except OperationalError as error:
            raise Fatal(f"database: {describe_database_error(error)}") from None


def describe_database_error(error) -> str:
    from storage.engine import SQLITE_BUSY_TIMEOUT_MS

    reason = str(error.orig or error).strip().splitlines()[0]
    if "database is locked" in reason:
        waited = SQLITE_BUSY_TIMEOUT_MS / 1000
        return f"the SQLite file stayed locked by another writer for {waited:g} s; nothing was changed, try again when it is done"
    return reason


@click.group(cls=_TrackerCommands, context_settings={"help_option_names": ["-h", "--help"]})
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
    # slack_sdk's debug lines carry request URLs (a webhook URL is a secret), and its
    # error lines repeat what the delivery step reports in its own words.
    logging.getLogger("slack_sdk").setLevel(logging.CRITICAL)
    context.obj = App(config_path)


def secret(environ_name: str) -> str:
    """A secret from the environment, or from the file its _FILE variant names (Docker and
    systemd credentials). Never from the config file."""
    value = os.environ.get(environ_name, "").strip()
    file_name = os.environ.get(f"{environ_name}_FILE")
    if value and file_name:
        raise Fatal(f"both ${environ_name} and ${environ_name}_FILE are set: set one")
    if file_name:
        path = Path(file_name)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise Fatal(f"{environ_name}_FILE: cannot read {path}: {error.strerror}") from None
        if not value:  # meant to be set: silently falling back (to the console, to no token) would hide it
            raise Fatal(f"{environ_name}_FILE: {path} is empty")
    return value


def build_notifier(settings: Settings):
    """Slack with a bot token; else an incoming webhook; else the console.

    slack_sdk is imported only when it will be used: it costs a tenth of a second
    on every command, more than a whole cycle of 304s."""
    from notifiers.console import ConsoleNotifier

    token = secret(settings.slack.token_env)
    if token:
        from notifiers.slack import SlackNotifier

        return SlackNotifier(token, base_url=settings.slack.api_url, default_channel=settings.slack.channel)
    webhook = secret(settings.slack.webhook_url_env)
    if webhook:
        from notifiers.webhook import WebhookNotifier

        return WebhookNotifier(webhook)
    logging.getLogger("tracker").info(
        "no $%s or $%s set: alerts are printed here", settings.slack.token_env, settings.slack.webhook_url_env
    )
    return ConsoleNotifier()


def build_tick(app: App, last_good_rules: dict | None = None, *, sync_config: bool = True):
    """Wire the parts of one tick from the config.

    `last_good_rules` (a running bot reloading): when a rule file is broken, keep
    using that set rather than lose the broken file's commitment. `sync_config` False
    (`tracker serve` acting on a click): the feed and commitment tables are the running
    bot's to keep; a server started long ago must not put back its old config.
    """
    from tracker.fetch import FetchPolicy
    from tracker.matching import RuleMatcher
    from tracker.parallel import ParserPool
    from tracker.notices import notify_broken_rules
    from tracker.pipeline import Pacer, Tick
    from tracker.sync import sync_commitments

    settings = app.settings
    loaded = app.load_rules()
    broken = [str(problem) for problem in loaded.problems if problem.excludes_rule]
    rules = list(last_good_rules.values()) if broken and last_good_rules else list(loaded.rules)
    engine = app.engine
    if sync_config:
        sync_commitments(engine, rules, utc_now(), retire_missing=not broken)
        app.sync_feeds(only_add=False)
    notifier = build_notifier(settings)
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
        default_channel=settings.slack.channel if notifier.name != "console" else None,
        category_channels=dict(settings.slack.category_channels),
        # Slack allows about a message a second per channel; the console needs no pacing.
        pacer=Pacer(settings.slack.per_channel_interval if notifier.name != "console" else 0.0),
        jitter=settings.schedule.jitter,
        broken_after=settings.fetch.broken_after,
        max_backoff=timedelta(seconds=settings.fetch.max_backoff),
        lease=timedelta(seconds=settings.schedule.lease),
        ops_channel=(settings.slack.ops_channel or settings.slack.channel) if notifier.name != "console" else None,
        clock=utc_now,
    )
    if broken and last_good_rules:
        logging.getLogger("tracker").error("rule files have errors; keeping the last good rule set:\n%s", "\n".join(broken))
        notify_broken_rules(tick, broken)
    return tick


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


# The command groups live in modules of their own; they import the shared parts above.
from tracker.cli_feeds import feeds  # noqa: E402
from tracker.cli_review import evidence, show, status  # noqa: E402
from tracker.cli_rules import rules  # noqa: E402
from tracker.cli_slack import digest, mute, notify, outbox, unmute  # noqa: E402
from tracker.cli_export import export  # noqa: E402
from tracker.cli_backfill import backfill  # noqa: E402
from tracker.cli_web import serve  # noqa: E402
from tracker.cli_run import poll, run  # noqa: E402

for command in (poll, run, status, show, evidence, feeds, rules, outbox, notify, mute, unmute, digest, export, backfill, serve):
    main.add_command(command)
