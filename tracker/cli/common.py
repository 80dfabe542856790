"""What the command modules share: the exit-2 error, date options, output columns."""

from __future__ import annotations

from datetime import date, datetime

import click

from tracker.model import end_of_day as end_of

FORMATS = ("table", "json", "csv", "markdown")
STATUS_COLUMNS = ("id", "title", "actor", "status", "deadline", "days_left", "last_evidence", "evidence_count", "needs_look", "stale")
EVIDENCE_COLUMNS = ("entry_id", "commitment", "published", "signal", "signal_source", "confidence", "needs_look", "item_title", "feed", "item_url", "dismissed")
FEED_COLUMNS = ("name", "last_status", "items", "consecutive_failures", "last_polled", "next_check", "last_error")


class Fatal(click.ClickException):
    """An unusable config or database: exit status 2 with the reason."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"tracker: {self.message}", err=True)


def end_of_day(value: str, option: str) -> datetime:
    """A DATE option (2030-01-01) means the end of that day, UTC."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2030-01-01", param_hint=option) from None
    return end_of(day)


def echo(text: str | None) -> None:
    if text is not None:
        click.echo(text, nl=not text.endswith("\n"))
