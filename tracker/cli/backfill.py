"""`tracker backfill`: run rules over the entries already stored."""

from __future__ import annotations

import click

from tracker.app import App, utc_now


@click.command()
@click.argument("rule_ids", nargs=-1, metavar="[RULE_ID]...")
@click.pass_obj
def backfill(app: App, rule_ids: tuple[str, ...]) -> None:
    """Run the rules (all, or RULE_IDs) over the entries already stored.

    A rule added or changed today only sees new entries; this finds last month's news
    for it too. New evidence is recorded and statuses recomputed; only status changes
    are alerted (one alert each, not one per old article). Running it again adds nothing.
    """
    from tracker.progress import show_progress
    from tracker.status.backfill import backfill as backfill_entries

    rules = app.rules_in_force()
    unknown = [rule_id for rule_id in rule_ids if rule_id not in rules]
    if unknown:
        raise click.ClickException(f"no rule with id {', '.join(map(repr, unknown))} (see `tracker status`)")
    with show_progress("backfill", "entries") as progress:
        report = backfill_entries(app.engine, rules, app.routes, utc_now, rule_ids, progress, make_matcher=app.matcher)
    delivery = app.deliver()
    for rule_id, count in sorted(report.new_evidence.items()):
        click.echo(f"{rule_id}: {count} new evidence (`tracker evidence {rule_id}`)")
    for change in report.changes:
        click.echo(f"{change.commitment_id}: {change.old.value} → {change.new.value}")
    click.echo(f"backfill: {report.summary()} alerts_sent={delivery.alerts_sent} alerts_failed={delivery.alerts_failed}", err=True)
