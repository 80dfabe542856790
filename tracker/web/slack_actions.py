"""Review from Slack: the buttons on an alert card, and the `/commitments` slash command.

A click does what the matching command does, through the same library functions:
Confirm is `tracker status set`, Dismiss is `tracker evidence dismiss`, Snooze is
`tracker mute`. The database changes before Slack gets its answer; delivering the
alerts the change caused and updating the card follow it (Slack waits 3 s at most).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from notifiers import DeliveryError
from notifiers.render import status_label
from notifiers.slack import escape_mrkdwn, render_reviewed_blocks
from storage import repository
from tracker.app import App, utc_now
from tracker.model import SignalKind, Status, end_of_day
from tracker.status.commitments import confirm_status, dismiss_evidence, label_evidence, why_not_dismissed

log = logging.getLogger("tracker")

ACTIONS = ("confirm", "dismiss", "snooze", "label")
SNOOZE_DAYS = 7
CONFIRM_NOTE = "confirmed in Slack"


class MalformedClick(ValueError):
    """Not something one of our cards sends: answered 400, nothing changed."""


@dataclass(frozen=True)
class Click:
    """One button press, as far as the action and the card's update need it."""

    action: str
    commitment_id: str
    status: Status | None
    entry_id: int | None
    user_id: str
    user_name: str
    signal: SignalKind | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    message_text: str = ""
    message_blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What a click did (`done`, for the card) or why it did nothing (`refusal`, for the clicker)."""

    at: datetime
    done: str | None = None
    refusal: str | None = None
    queued_alerts: bool = False


def parse_click(payload: Any) -> Click:
    """A `block_actions` payload from one of our cards, or MalformedClick saying what is wrong."""
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise MalformedClick(f"unsupported interaction type {_kind(payload)!r}: only block_actions")
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
        raise MalformedClick("expected exactly one action")
    action = actions[0].get("action_id")
    if action not in ACTIONS:
        raise MalformedClick(f"unknown action_id {action!r}; known: {', '.join(ACTIONS)}")
    signal = None
    if action == "label":
        selected = actions[0].get("selected_option")
        commitment_id, entry_id, signal = _read_label(selected.get("value") if isinstance(selected, dict) else None)
        status = None
    else:
        commitment_id, status, entry_id = _read_value(action, actions[0].get("value"))
    user = _part(payload, "user")
    if not user.get("id"):
        raise MalformedClick("the payload names no user")
    container, message = _part(payload, "container"), _part(payload, "message")
    blocks = message.get("blocks") if isinstance(message.get("blocks"), list) else []
    return Click(
        action=action,
        commitment_id=commitment_id,
        status=status,
        entry_id=entry_id,
        user_id=str(user["id"]),
        user_name=str(user.get("username") or user.get("name") or user["id"]),
        signal=signal,
        channel_id=container.get("channel_id") or _part(payload, "channel").get("id"),
        message_ts=container.get("message_ts") or message.get("ts"),
        message_text=str(message.get("text") or ""),
        message_blocks=[block for block in blocks if isinstance(block, dict)],
    )


def _read_value(action: str, text: Any) -> tuple[str, Status | None, int | None]:
    """The button's value, as render_actions wrote it: commitment, status shown, entry shown."""
    value = _value_naming_a_commitment(text, "the button's value")
    status, entry_id = value.get("status"), value.get("entry_id")
    if status is not None and status not in {item.value for item in Status}:
        raise MalformedClick(f"unknown status {status!r} in the button's value")
    if (action == "dismiss" or entry_id is not None) and (not isinstance(entry_id, int) or isinstance(entry_id, bool)):
        raise MalformedClick("the button's value names no entry_id to dismiss")
    return value["commitment_id"], Status(status) if status else None, entry_id


def _value_naming_a_commitment(text: Any, what: str) -> dict:
    """The JSON object a card put in a button or an option, naming its commitment."""
    try:
        value = json.loads(text or "")
    except (TypeError, ValueError):
        raise MalformedClick(f"{what} is not JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("commitment_id"), str) or not value["commitment_id"]:
        raise MalformedClick(f"{what} names no commitment_id")
    return value


def _read_label(text: Any) -> tuple[str, int, SignalKind]:
    """The chosen option of a card's "Read as…" menu: commitment, entry, signal."""
    value = _value_naming_a_commitment(text, "the chosen option's value")
    entry_id = value.get("entry_id")
    if not isinstance(entry_id, int) or isinstance(entry_id, bool):
        raise MalformedClick("the chosen option names no entry_id")
    if value.get("signal") not in {kind.value for kind in SignalKind}:
        raise MalformedClick(f"unknown signal {value.get('signal')!r} in the chosen option")
    return value["commitment_id"], entry_id, SignalKind(value["signal"])


def _part(payload: dict, key: str) -> dict:
    return payload[key] if isinstance(payload.get(key), dict) else {}


def apply_click(app: App, click: Click) -> Outcome:
    """Make the change the click asks for; returns what it did, or why it did nothing."""
    rules = app.rules_in_force(sync_config=False)
    act = {"confirm": _confirm, "dismiss": _dismiss, "snooze": _snooze, "label": _label}[click.action]
    return act(app, rules, click)


def finish_click(app: App, click: Click, outcome: Outcome) -> None:
    """After Slack has its answer.

    1. Refused: tell the clicker why; the card keeps its buttons.
    2. Done: update the card, buttons replaced by what was done. Before the delivery,
       so that when the card is a thread's first message, the delivery's update of it
       (to the new status) comes last and stays.
    3. Deliver what the change put in the outbox, as the commands do.

    The server keeps one notifier (and pacer) for its life: clicks in quick succession
    are paced per channel as a tick's alerts are. A new Slack token takes a restart,
    as for `tracker run`.
    """
    notifier = app.notifier
    try:
        if outcome.refusal and click.channel_id and hasattr(notifier, "tell"):
            notifier.tell(click.channel_id, click.user_id, outcome.refusal)
        elif outcome.done and click.channel_id and click.message_ts and click.message_blocks and hasattr(notifier, "update_card"):
            blocks = render_reviewed_blocks(click.message_blocks, outcome.done, click.user_name, outcome.at)
            notifier.update_card(click.channel_id, click.message_ts, click.message_text, blocks)
        else:
            log.info("slack: %s on %s: %s (card not updated)", click.action, click.commitment_id, outcome.refusal or outcome.done)
    except DeliveryError as failure:  # the change is made; a stale card is cosmetic
        log.warning("slack: could not update the card or answer the clicker for %s on %s: %s", click.action, click.commitment_id, failure)
    if outcome.queued_alerts:
        app.deliver()


def _confirm(app: App, rules: dict, click: Click) -> Outcome:
    """`tracker status set ID STATUS --note "confirmed in Slack" --by USER`, STATUS the one on the
    card, when the commitment still has it; refused when the status has moved since.

    Where the status already is the card's, `status set` records nothing; but a reviewer
    who confirms expects the decision to hold, e.g. when the evidence behind it is later
    dismissed. So the confirmation is recorded as a person's decision that leaves the
    status where it is (tracker.status.commitments.confirm_status), as `status set` does.
    """
    now = utc_now()
    if click.commitment_id not in rules:
        return Outcome(now, refusal=f"No commitment with id {click.commitment_id!r} any more (see /commitments).")
    with Session(app.engine) as session:
        current = Status(repository.commitment(session, click.commitment_id).status)
    status = click.status or current
    if status != current:
        # The card is older than the status: confirming it would undo a newer change.
        return Outcome(
            now,
            refusal=f"{click.commitment_id} is {status_label(current.value)} now, not {status_label(status.value)} as this card shows: "
            f"nothing confirmed. To set it anyway: `tracker status set {click.commitment_id} {status.value} --note …`",
        )
    if confirm_status(app.engine, click.commitment_id, status, CONFIRM_NOTE, click.user_name, now):
        return Outcome(now, done=f"Confirmed {status_label(status.value)}")
    return Outcome(now, refusal=f"{click.commitment_id} changed status while you clicked; nothing confirmed. Look again: /commitments {click.commitment_id}")


def _dismiss(app: App, rules: dict, click: Click) -> Outcome:
    """`tracker evidence dismiss ENTRY_ID ID --note …`: the card's entry, for the card's commitment only."""
    now = utc_now()
    note = f"false positive, dismissed in Slack by {click.user_name}"
    touched, changes = dismiss_evidence(app.engine, app.routes, click.entry_id, click.commitment_id, note, now)
    if not touched:
        why = why_not_dismissed(app.engine, click.entry_id, click.commitment_id)
        return Outcome(now, refusal=why[:1].upper() + why[1:] + ".")
    moved = "".join(f"; {change.commitment_id} {status_label(change.old.value)} → {status_label(change.new.value)}" for change in changes)
    return Outcome(now, done=f"Dismissed entry {click.entry_id} as a false positive{moved}", queued_alerts=True)


def _label(app: App, rules: dict, click: Click) -> Outcome:
    """`tracker evidence label ENTRY_ID ID SIGNAL --by USER`: the card's entry, for the card's commitment."""
    now = utc_now()
    if click.commitment_id not in rules:
        return Outcome(now, refusal=f"No commitment with id {click.commitment_id!r} any more (see /commitments).")
    done, change = label_evidence(app.engine, app.routes, click.entry_id, click.commitment_id, click.signal, "labelled in Slack", click.user_name, now)
    if not done:
        return Outcome(now, refusal=f"Entry {click.entry_id} is no longer stored; nothing labelled.")
    moved = f"; {change.commitment_id} {status_label(change.old.value)} → {status_label(change.new.value)}" if change else ""
    return Outcome(now, done=f"Read entry {click.entry_id} as {click.signal.value}{moved}", queued_alerts=True)


def _snooze(app: App, rules: dict, click: Click) -> Outcome:
    """`tracker mute ID --until TODAY+7 --note …`: alerts due meanwhile wait in the outbox as muted."""
    now = utc_now()
    day = (now + timedelta(days=SNOOZE_DAYS)).date()
    until = end_of_day(day)  # as `tracker mute --until` means it
    with Session(app.engine) as session:
        if not repository.set_mute(session, click.commitment_id, until, f"snoozed in Slack by {click.user_name}"):
            return Outcome(now, refusal=f"No commitment with id {click.commitment_id!r} (see /commitments).")
        session.commit()
    return Outcome(now, done=f"Alerts snoozed until {day.isoformat()}")


HELP = (
    "`/commitments`: every commitment with its status, deadline and days left.\n"
    "`/commitments ID`: one commitment's card: target, status history, evidence.\n"
    "On alert cards: *Confirm* keeps the status shown as a reviewer's decision, "
    "*Dismiss as false positive* drops the entry and recomputes the status, *Snooze 7 days* holds its alerts."
)
TABLE_COLUMNS = ("id", "status", "deadline", "days left")
ID_WIDTH = 40
# A section holds 3,000 characters and a message 50 blocks: a long table or card is
# split into sections and cut, saying where the rest is.
SECTION_CHARS = 2900
MAX_SECTIONS = 40


def answer_command(app: App, text: str, now: datetime) -> dict[str, Any]:
    """The answer to `/commitments [ID | help]`, seen only by whoever asked."""
    from tracker.status.cards import format_card
    from tracker.status.review import card, status_table

    words = text.split()
    if words and words[0].lower() in ("help", "-h", "--help", "?"):
        return _ephemeral("How to use /commitments", [HELP])
    app.sync_rules()
    stale_days = app.settings.status.stale_after_days
    with Session(app.engine) as session:
        if not words:
            rows = status_table(session, now, stale_days)
            return _ephemeral(f"{len(rows)} commitments", fit_sections(_table_lines(rows), "tracker status"))
        found = card(session, words[0], now, stale_days)
    if found is None:
        return _ephemeral(f"No commitment with id {words[0]}", [f"No commitment with id `{escape_mrkdwn(words[0])}`. `/commitments` lists them all.\n\n{HELP}"])
    return _ephemeral(found["title"], fit_sections(format_card(found).splitlines(), f"tracker show {found['id']}"))


def _table_lines(rows: list[dict[str, Any]]) -> list[str]:
    width = min(ID_WIDTH, max([len(TABLE_COLUMNS[0])] + [len(row["id"]) for row in rows]))
    line = f"{{:<{width}}}  {{:<9}}  {{:<10}}  {{:>9}}"
    shown = [line.format(*TABLE_COLUMNS)]
    for row in rows:
        ident = row["id"] if len(row["id"]) <= width else row["id"][: width - 1] + "…"
        shown.append(line.format(ident, status_label(row["status"]), row["deadline"], row["days_left"]))
    return shown


def fit_sections(lines: list[str], rest: str) -> list[str]:
    """Escaped lines in monospace sections; what does not fit is named, not dropped silently."""
    sections, current = [], []
    for index, line in enumerate(escape_mrkdwn(line) for line in lines):
        if current and sum(len(item) + 1 for item in current) + len(line) > SECTION_CHARS - 8:
            sections.append(current)
            current = []
            if len(sections) == MAX_SECTIONS:
                return [_fenced(section) for section in sections] + [f"… {len(lines) - index} more lines: `{escape_mrkdwn(rest)}`"]
        current.append(line[: SECTION_CHARS - 8])
    return [_fenced(section) for section in sections + [current] if section]


def _fenced(lines: list[str]) -> str:
    return "```" + "\n".join(lines) + "```"


def _ephemeral(fallback: str, sections: list[str]) -> dict[str, Any]:
    return {
        "response_type": "ephemeral",
        "text": escape_mrkdwn(fallback)[:3000],
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in sections],
    }


def _kind(payload: Any) -> Any:
    return payload.get("type") if isinstance(payload, dict) else type(payload).__name__
