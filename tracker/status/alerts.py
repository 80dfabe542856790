"""The alerts a commitment's record causes, written to the outbox in the caller's
transaction: evidence, a status change (with or without an entry behind it), a reminder."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from storage import outbox
from tracker.matching.ruleformat import Rule
from tracker.model import Alert, ChannelRoutes, Match, StatusChange, alert_to_payload


def enqueue_match_alert(
    session: Session,
    rule: Rule,
    routes: ChannelRoutes,
    kind: str,
    dedupe_key: str,
    found: Match,
    now: datetime,
    *,
    entry_id: int,
    title: str,
    url: str | None,
    published_at: datetime | None,
    feed_name: str,
    change: StatusChange | None = None,
    text: str | None = None,
) -> None:
    """An alert about a commitment and the stored entry it rests on (evidence from a
    tick, a status change from a tick or a backfill)."""
    alert = Alert(
        kind=kind,
        commitment_id=rule.id,
        commitment_title=rule.title,
        channel=routes.for_commitment(rule.channel, rule.category),
        old_status=change.old.value if change else None,
        new_status=change.new.value if change else None,
        deadline=rule.deadline,
        target=rule.target,
        entry_title=title,
        entry_url=url,
        feed_name=feed_name,
        published_at=published_at,
        matched_terms=found.matched_terms,
        signal=found.signal.value,
        source_document=rule.source.document,
        text=text,
        entry_id=entry_id,
        confidence=found.confidence,
        signal_source=found.signal_source,
        needs_review=found.needs_review,
    )
    outbox.enqueue_delivery(session, dedupe_key, kind, alert.channel, alert_to_payload(alert), rule.id, now)


def enqueue_change_alert(
    session: Session, routes: ChannelRoutes, row, change: StatusChange, change_id: int, now: datetime, timeline: str | None = None
) -> None:
    """The alert for a change that no new entry caused (a person, a deadline, a dismissal,
    the commitments under an umbrella)."""
    reason = {
        "person": f"set by {change.changed_by or 'a reviewer'}",
        "deadline": "the deadline passed with no evidence that the target was met",
        "children": "derived from the commitments under it",
    }.get(change.cause, "recomputed")
    alert = Alert(
        kind="status_change",
        commitment_id=row.id,
        commitment_title=row.title,
        channel=routes.for_commitment(row.channel, row.category),
        old_status=change.old.value,
        new_status=change.new.value,
        deadline=row.deadline,
        target=row.target,
        text=f"{reason}" + (f": {change.note}" if change.note else "") + (f"\n{timeline}" if timeline else ""),
        source_document=row.source_document,
    )
    outbox.enqueue_delivery(session, f"status:{change_id}", "status_change", alert.channel, alert_to_payload(alert), row.id, now)


def enqueue_reminder(session: Session, routes: ChannelRoutes, row, days: int, now: datetime) -> None:
    """A deadline approaching, once per reminder day."""
    left = (row.deadline - now.date()).days
    alert = Alert(
        kind="reminder",
        commitment_id=row.id,
        commitment_title=row.title,
        channel=routes.for_commitment(row.channel, row.category),
        new_status=row.status,
        deadline=row.deadline,
        target=row.target,
        text=f"Deadline in {left} days; status {row.status.replace('_', ' ')}.",
        source_document=row.source_document,
    )
    outbox.enqueue_delivery(session, f"reminder:{row.id}:{row.deadline}:{days}", "reminder", alert.channel, alert_to_payload(alert), row.id, now)


def enqueue_status_notice(session: Session, routes: ChannelRoutes, dedupe_key: str, title: str, text: str, now: datetime) -> None:
    """A notice about the commitments as a whole (the first run's summary), to the ops channel."""
    alert = Alert(kind="notice", commitment_id="", commitment_title=title, channel=routes.for_notices, text=text)
    outbox.enqueue_delivery(session, dedupe_key, "notice", alert.channel, alert_to_payload(alert), None, now)
