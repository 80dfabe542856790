"""The command line: the composition root. It builds the concrete parts (tracker.app)
and hands them to the library code; one module per command group.

Exit status: 0 success, 1 a check failed (rules), 2 unusable config or database.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from tracker import __version__
from tracker.app import App, SetupError
from tracker.cli.backfill import backfill
from tracker.cli.common import Fatal
from tracker.cli.doctor import doctor
from tracker.cli.export import export
from tracker.cli.feeds import feeds
from tracker.cli.review import evidence, show, status
from tracker.cli.rules import rules
from tracker.cli.run import poll, run
from tracker.cli.signals import signals
from tracker.cli.slack import digest, mute, notify, outbox, unmute
from tracker.cli.web import serve

CONFIG_ENV = "TRACKER_CONFIG"


class _TrackerCommands(click.Group):
    """A database that cannot be reached or stays locked ends the command with a
    one-line reason and exit status 2, not a traceback."""

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import OperationalError

        try:
            return super().invoke(ctx)
        except SetupError as error:
            raise Fatal(str(error)) from None
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
    app = App(config_path, warn=lambda text: click.echo(text, err=True))
    app.command = context.invoked_subcommand or "tracker"
    context.obj = app
    context.call_on_close(app.close)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: App) -> None:
    """Apply pending migrations (every command also does this first)."""
    from storage.migrate import current_revision

    click.echo(f"database at revision {current_revision(app.engine)}")


for command in (doctor, poll, run, status, show, evidence, feeds, rules, outbox, notify, mute, unmute, digest, export, backfill, signals, serve):
    main.add_command(command)
