"""`tracker outbox`, `notify`, `mute`, `unmute` and `digest`: alerts and their delivery."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from tracker.app import App, build_notifier, utc_now
from tracker.cli.common import FORMATS, Fatal, echo, end_of_day
from tracker.output import render

OUTBOX_COLUMNS = ("id", "state", "kind", "channel", "commitment", "attempts", "next_attempt", "last_error")


@click.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def outbox(context: click.Context, fmt: str) -> None:
    """Deliveries not sent yet (pending, failed, parked, muted), with their reasons."""
    if context.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from storage.outbox import unsent

    with Session(context.obj.engine) as session:
        rows = [
            {
                "id": row.id,
                "state": row.state + (" (in doubt)" if row.in_doubt else ""),
                "kind": row.kind,
                "channel": row.channel,
                "commitment": row.commitment_id,
                "attempts": row.attempts,
                "next_attempt": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
                "last_error": row.last_error,
            }
            for row in unsent(session)
        ]
    echo(render(rows, fmt, OUTBOX_COLUMNS))


@outbox.command("retry")
@click.argument("delivery_id", type=int, required=False)
@click.pass_obj
def outbox_retry(app: App, delivery_id: int | None) -> None:
    """Send parked and failed deliveries (or DELIVERY_ID) again now, e.g. after fixing the config."""
    from sqlmodel import Session

    from storage.outbox import retry

    app.rules_in_force()
    with Session(app.engine) as session:
        count = retry(session, utc_now(), delivery_id)
        session.commit()
    report = app.deliver()
    click.echo(f"retried {count}: {report.alerts_sent} sent, {report.alerts_failed} failed (see `tracker outbox`)")
    if report.alerts_failed:
        raise SystemExit(1)


@click.group()
def notify() -> None:
    """Check the alert channel."""


@notify.command("test")
@click.option("--channel", help="Channel to post to (default: [slack] channel).")
@click.pass_obj
def notify_test(app: App, channel: str | None) -> None:
    """Send a test message and say clearly what is wrong if it fails."""
    from notifiers import DeliveryError, Sending
    from tracker.model import Alert

    notifier = build_notifier(app.settings)
    target = channel or app.settings.slack.channel
    alert = Alert(kind="notice", commitment_id="", commitment_title="tracker test message", channel=target,
                  text="If you can read this, alerts reach this channel.")
    try:
        who = notifier.check() if hasattr(notifier, "check") else notifier.name
        notifier.send(alert, Sending(delivery_id=0, channel=target))
    except DeliveryError as failure:
        hint = {
            "invalid_auth": f"the token in ${app.settings.slack.token_env} is not valid",
            "not_authed": f"no token reached Slack: is ${app.settings.slack.token_env} set?",
            "channel_not_found": f"there is no channel {target} the bot can see",
            "not_in_channel": f"invite the bot to {target} (/invite @your-bot)",
            "is_archived": f"{target} is archived",
        }
        reason = next((text for code, text in hint.items() if code in str(failure)), "")
        raise Fatal(f"test message failed: {failure}" + (f": {reason}" if reason else "")) from None
    if notifier.name == "console":
        click.echo(f"no ${app.settings.slack.token_env} or ${app.settings.slack.webhook_url_env} set: the test message was printed here, not sent to Slack")
    else:
        click.echo(f"test message sent to {target} via {notifier.name} ({who})")


@click.command()
@click.argument("commitment_id")
@click.option("--until", "until", required=True, metavar="DATE", help="Alerts resume after this date.")
@click.option("--note", required=True, help="Why: shown in `tracker outbox`.")
@click.pass_obj
def mute(app: App, commitment_id: str, until: str, note: str) -> None:
    """Silence a commitment's alerts until DATE (those due meanwhile are kept in the outbox as muted)."""
    end = end_of_day(until, "--until")
    if end <= datetime.now(timezone.utc):
        raise click.BadParameter(f"{until} is in the past", param_hint="--until")
    _set_mute(app, commitment_id, end, note)
    click.echo(f"{commitment_id} muted until {until}: {note}")


@click.command()
@click.argument("commitment_id")
@click.pass_obj
def unmute(app: App, commitment_id: str) -> None:
    """Let a muted commitment's alerts through again."""
    _set_mute(app, commitment_id, None, None)
    click.echo(f"{commitment_id} unmuted")


def _set_mute(app: App, commitment_id: str, until: datetime | None, note: str | None) -> None:
    from sqlmodel import Session

    from storage.repository import set_mute

    app.sync_rules()
    with Session(app.engine) as session:
        if not set_mute(session, commitment_id, until, note):
            raise click.ClickException(f"no commitment with id {commitment_id!r}")
        session.commit()


@click.command()
@click.option("--dry-run", is_flag=True, help="Print the digest instead of sending it.")
@click.pass_obj
def digest(app: App, dry_run: bool) -> None:
    """The digest now: counts by status, changes since the last one, deadlines approaching, stale commitments."""
    app.rules_in_force()
    text = app.send_digest(utc_now(), dry_run=dry_run)
    if dry_run:
        click.echo(text)
        return
    app.deliver()
    click.echo("digest queued and sent (see `tracker outbox` if it failed)")
