"""`tracker status`, `show` and `evidence`: what reviewers read, and what they decide."""

from __future__ import annotations

import os
from datetime import datetime

import click

from tracker.app import App, utc_now
from tracker.cli.common import EVIDENCE_COLUMNS, FORMATS, STATUS_COLUMNS, echo, end_of_day
from tracker.model import SIGNALS_TO_CHOOSE, STATUS_SORT_KEYS, Status
from tracker.output import render


def as_of_moment(value: str | None) -> datetime | None:
    return None if value is None else end_of_day(value, "--as-of")


AS_OF = click.option("--as-of", "as_of", metavar="DATE", help="The state as of DATE (past: from the record; future: a projection).")


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@AS_OF
@click.option("--category", help="Only this category.")
@click.option("--status", "only_status", type=click.Choice([s.value for s in Status]), help="Only commitments with this status.")
@click.option("--actor", help="Only commitments whose actor contains this text.")
@click.option("--overdue", is_flag=True, help="Only commitments past their deadline and not achieved.")
@click.option("--stale", is_flag=True, help="Only commitments with no recent evidence.")
@click.option("--sort", "sort_key", type=click.Choice(STATUS_SORT_KEYS), default="id", show_default=True, help="Order by (evidence newest/most first).")
@click.pass_context
def status(context: click.Context, fmt: str, as_of: str | None, category, only_status, actor, overdue: bool, stale: bool, sort_key: str) -> None:
    """One row per commitment: status, deadline and days left, evidence, staleness."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from tracker.status.review import select_rows, status_table

    app = context.obj
    app.sync_rules()
    with Session(app.engine) as session:
        rows = status_table(session, utc_now(), app.settings.status.stale_after_days, as_of_moment(as_of))
    rows = select_rows(rows, category=category, status=only_status, actor=actor, overdue=overdue, stale=stale, sort=sort_key)
    echo(render(rows, fmt, STATUS_COLUMNS))


@status.command("set")
@click.argument("commitment_id")
@click.argument("new_status", metavar="STATUS")
@click.option("--note", required=True, help="Why: kept in the history.")
@click.option("--by", "by", default=lambda: os.environ.get("USER"), help="Who decided (default: $USER).")
@click.pass_obj
def status_set(app: App, commitment_id: str, new_status: str, note: str, by: str | None) -> None:
    """Set a commitment's status by hand; it holds until evidence of a different kind arrives."""
    from tracker.status.commitments import confirm_status, set_status

    if new_status not in {item.value for item in Status}:
        raise click.BadParameter(f"{new_status!r}; choose from {', '.join(item.value for item in Status)}", param_hint="STATUS")
    rules = app.rules_in_force()
    _require_commitment(rules, commitment_id)
    change = set_status(app.engine, app.routes, commitment_id, Status(new_status), note, by, utc_now())
    if change is None:
        confirm_status(app.engine, commitment_id, Status(new_status), note, by, utc_now())
        click.echo(f"{commitment_id} is already {new_status}: your decision is recorded and holds until evidence of a different kind arrives")
        return
    app.deliver()
    click.echo(f"{commitment_id}: {change.old.value} → {change.new.value} (set by {by or 'unknown'}: {note})")


@click.command()
@click.argument("commitment_id")
@AS_OF
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.pass_obj
def show(app: App, commitment_id: str, as_of: str | None, fmt: str) -> None:
    """A commitment's card: target, deadline, status and since when, history with causes, evidence, metric series."""
    import json

    from sqlmodel import Session

    from tracker.status.cards import format_card
    from tracker.status.review import card

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


@click.group(cls=_ListOrAct, invoke_without_command=True, subcommand_metavar="[ID] | dismiss ENTRY_ID [ID] --note TEXT | label ENTRY_ID ID SIGNAL")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--all", "include_dismissed", is_flag=True, help="Include dismissed false positives.")
@click.pass_context
def evidence(context: click.Context, fmt: str, include_dismissed: bool) -> None:
    """Matched entries, newest first: `tracker evidence [ID]`; `tracker evidence dismiss` marks false positives."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from storage.views import evidence_rows

    from storage.views import commitment

    commitment_id = context.meta.get("commitment_id")
    with Session(context.obj.engine) as session:
        if commitment_id and commitment(session, commitment_id) is None:
            raise click.ClickException(f"no commitment with id {commitment_id!r} (see `tracker status`)")
        rows = evidence_rows(session, commitment_id)
    echo(render([row for row in rows if include_dismissed or not row["dismissed"]], fmt, EVIDENCE_COLUMNS))


@evidence.command("dismiss")
@click.argument("entry_id", type=int)
@click.argument("commitment_id", required=False)
@click.option("--note", required=True, help="Why it is a false positive: kept for rule tuning.")
@click.pass_obj
def evidence_dismiss(app: App, entry_id: int, commitment_id: str | None, note: str) -> None:
    """Mark an entry's evidence (for COMMITMENT_ID, or all) a false positive; statuses are recomputed without it."""
    from tracker.status.commitments import dismiss_evidence, why_not_dismissed

    app.rules_in_force()
    touched, changes = dismiss_evidence(app.engine, app.routes, entry_id, commitment_id, note, utc_now())
    if not touched:
        raise click.ClickException(why_not_dismissed(app.engine, entry_id, commitment_id))
    app.deliver()
    click.echo(f"dismissed entry {entry_id} as evidence for {', '.join(touched)}")
    for change in changes:
        click.echo(f"{change.commitment_id}: {change.old.value} → {change.new.value}")


@evidence.command("label")
@click.argument("entry_id", type=int)
@click.argument("commitment_id")
@click.argument("signal", type=click.Choice([kind.value for kind in SIGNALS_TO_CHOOSE]))
@click.option("--note", help="Why: kept in the history and beside the label.")
@click.option("--by", "by", help="Who decided (shown in the history).")
@click.pass_obj
def evidence_label(app: App, entry_id: int, commitment_id: str, signal: str, note: str | None, by: str | None) -> None:
    """Read ENTRY_ID for COMMITMENT_ID as SIGNAL: replaces the machine's reading at once and
    for good (the status moves now, and `tracker signals train` learns from it)."""
    from tracker.model import SignalKind
    from tracker.status.commitments import label_evidence

    rules = app.rules_in_force()
    _require_commitment(rules, commitment_id)
    done, change = label_evidence(app.engine, app.routes, entry_id, commitment_id, SignalKind(signal), note, by, utc_now())
    if not done:
        raise click.ClickException(f"no stored entry with id {entry_id} (entry ids: `tracker evidence`)")
    app.deliver()
    click.echo(f"entry {entry_id} read as {signal} for {commitment_id}")
    if change:
        click.echo(f"{change.commitment_id}: {change.old.value} → {change.new.value}")


def _require_commitment(rules: dict, commitment_id: str) -> None:
    if commitment_id not in rules:
        raise click.ClickException(f"no commitment with id {commitment_id!r} (see `tracker status`)")
