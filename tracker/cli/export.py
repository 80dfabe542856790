"""`tracker export`: the status table (and with --history every change) for reports."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.app import App, utc_now
from tracker.status.export import FORMATS


@click.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--history", is_flag=True, help="Add every status change with its evidence (CSV: one row per change).")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to FILE (UTF-8) instead of stdout.",
)
@click.pass_obj
def export(app: App, fmt: str, history: bool, output: Path | None) -> None:
    """The status table for reports and spreadsheets: CSV, JSON or Markdown.

    With --history, every status change with its evidence: CSV gets one row per change,
    JSON each commitment's `history`, Markdown a section per commitment.
    """
    from sqlmodel import Session

    from storage.views import status_history
    from tracker.status.export import export_history, export_table
    from tracker.status.review import status_table

    app.sync_rules()
    with Session(app.engine) as session:
        rows = status_table(session, utc_now(), app.settings.status.stale_after_days)
        changes = status_history(session) if history else []
    text = export_history(rows, changes, fmt) if history else export_table(rows, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    # newline="": the same bytes as on stdout, on every platform.
    output.write_text(text, encoding="utf-8", newline="")
    click.echo(f"export: wrote {len(rows)} commitments{f' and {len(changes)} status changes' if history else ''} to {output}", err=True)
