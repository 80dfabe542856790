"""`tracker feeds`: feed health, and OPML in and out."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.app import App
from tracker.cli.common import FEED_COLUMNS, FORMATS, echo
from tracker.config import load_settings
from tracker.output import render


@click.group(invoke_without_command=True)
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
        echo(render(feed_rows(session), fmt, FEED_COLUMNS))


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def feeds_import(app: App, opml_file: Path) -> None:
    """Add the feeds of an OPML file (from a feed reader) to config.toml."""
    from tracker.feeds.opml import OpmlError, read_opml, toml_feed_blocks

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
    from tracker.feeds.opml import Subscription, write_opml

    click.echo(write_opml([Subscription(feed.name, feed.url) for feed in app.settings.feeds]), nl=False)
