"""A commitment's status outside the feed cycle: recomputing it from its record, a
person's decision, a dismissed false positive, and the daily deadline job.

Each writes its history row and its alert in one transaction, like the tick does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import repository
from tracker.model import ChannelRoutes, Status, StatusChange
from tracker.status.alerts import enqueue_change_alert, enqueue_reminder
from tracker.status.derive import FINAL_STATUSES, MetricTarget, derive_status, reminder_due, status_change


def recompute_status(session: Session, commitment_id: str, now: datetime, note: str | None = None) -> tuple[StatusChange, int] | None:
    """Derive the commitment's status from its whole record; record the change if there is one."""
    row = repository.commitment(session, commitment_id, lock=True)
    # The record's time never runs backwards: after the clock is set back, a deadline
    # already passed stays passed instead of un-missing the commitment.
    now = max(now, row.status_since) if row.status_since else now
    derived = derive_status(
        repository.evidence_for_status(session, commitment_id),
        row.deadline,
        now,
        confirmations=row.confirmations,
        overrides=repository.overrides_for(session, commitment_id),
        metric=metric_target(row.metric),
    )
    change = status_change(commitment_id, Status(row.status), derived, now)
    if change is None:
        return None
    if note:
        change = replace(change, note=note)
    return change, repository.record_status_change(session, change)


def metric_target(metric: dict | None) -> MetricTarget | None:
    if not metric:
        return None
    return MetricTarget(target=metric["target"], direction=metric["direction"], baseline=metric.get("baseline"))


def set_status(
    engine: Engine, routes: ChannelRoutes, commitment_id: str, status: Status, note: str, by: str | None, now: datetime
) -> StatusChange | None:
    """A person's decision, recorded in history and alerted like any change."""
    with Session(engine) as session:
        row = repository.commitment(session, commitment_id, lock=True)
        if Status(row.status) == status:
            return None
        change = StatusChange(commitment_id, Status(row.status), status, now, "person", note=note, changed_by=by)
        change_id = repository.record_status_change(session, change)
        enqueue_change_alert(session, routes, row, change, change_id, now)
        session.commit()
    return change


def confirm_status(engine: Engine, commitment_id: str, status: Status, note: str, by: str | None, now: datetime) -> bool:
    """A person's decision that the status stays as it is.

    Recorded as a history row (old = new) that the status engine replays as an
    override, so the decision holds, e.g. when the evidence behind it is later
    dismissed. It moves neither the status nor since when it holds: no alert is due.
    False when the status is no longer `status`.
    """
    with Session(engine) as session:
        row = repository.commitment(session, commitment_id, lock=True)
        if row is None or Status(row.status) != status:
            return False
        since = row.status_since
        confirmation = StatusChange(commitment_id, status, status, now, "person", note=note, changed_by=by, revised_target_year=row.revised_target_year)
        repository.record_status_change(session, confirmation)
        row.status_since = since
        session.add(row)
        session.commit()
    return True


def dismiss_evidence(
    engine: Engine, routes: ChannelRoutes, entry_id: int, commitment_id: str | None, note: str, now: datetime
) -> tuple[list[str], list[StatusChange]]:
    """Mark a false positive, keep the record, and recompute the statuses it touched."""
    changes = []
    with Session(engine) as session:
        touched = repository.dismiss_evidence(session, entry_id, commitment_id, note, now)
        for touched_id in sorted(set(touched)):
            result = recompute_status(session, touched_id, now, note=f"entry {entry_id} dismissed: {note}")
            if result:
                change, change_id = result
                changes.append(change)
                enqueue_change_alert(session, routes, repository.commitment(session, touched_id), change, change_id, now)
        session.commit()
    return touched, changes


def why_not_dismissed(engine, entry_id: int, commitment_id: str | None) -> str:
    """Why `dismiss_evidence` touched nothing, in words for the person who asked."""
    with Session(engine) as session:
        commitments = repository.commitments_of_entry(session, entry_id)
    if not commitments:
        return f"entry {entry_id} is not evidence for any commitment (entry ids: `tracker evidence`)"
    if commitment_id and commitment_id not in commitments:
        return f"entry {entry_id} is evidence for {', '.join(commitments)}, not {commitment_id}"
    return f"entry {entry_id} is already dismissed" + (f" for {commitment_id}" if commitment_id else "")


def check_deadlines(engine: Engine, routes: ChannelRoutes, remind_days: Sequence[int], now: datetime) -> int:
    """The daily job: passed deadlines become `missed`, near ones get a reminder (each once).

    Returns the number of status changes; the alerts wait in the outbox for delivery.
    """
    changes = 0
    with Session(engine) as session:
        for commitment_id in [row.id for row in repository.active_commitments(session)]:
            changes += _check_deadline(session, routes, commitment_id, now, remind_days)
            session.commit()  # one commitment at a time: the others stay free for the ticks of every instance
    return changes


def _check_deadline(session: Session, routes: ChannelRoutes, commitment_id: str, now: datetime, remind_days: Sequence[int]) -> int:
    """One commitment's deadline: the status change, or a reminder when one is due."""
    result = recompute_status(session, commitment_id, now)
    row = repository.commitment(session, commitment_id)
    if result:
        change, change_id = result
        enqueue_change_alert(session, routes, row, change, change_id, now)
    if Status(row.status) in FINAL_STATUSES or row.status == Status.MISSED.value:
        return 1 if result else 0
    days = reminder_due(row.deadline, now.date(), remind_days)
    if days is not None:
        enqueue_reminder(session, routes, row, days, now)
    return 1 if result else 0
