"""A commitment's status outside the feed cycle: recomputing it from its record, a
person's decision, a dismissed false positive, and the daily deadline job.

Each writes its history row and its alert in one transaction, like the tick does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import repository
from tracker.model import ChannelRoutes, SignalKind, Status, StatusChange
from tracker.status.alerts import enqueue_change_alert, enqueue_reminder, enqueue_status_notice
from tracker.status.derive import FINAL_STATUSES, MetricTarget, derive_status, reminder_due, rollup, timeline_changes


@dataclass(frozen=True)
class Recorded:
    """What a recompute wrote: the history rows in event order, and the net change."""

    steps: tuple[StatusChange, ...]
    change_ids: tuple[int, ...]

    @property
    def change(self) -> StatusChange:
        """From where the record stood to where it stands now (what one alert tells)."""
        first, last = self.steps[0], self.steps[-1]
        return replace(last, old=first.old)

    @property
    def change_id(self) -> int:
        return self.change_ids[-1]

    def timeline(self) -> str | None:
        """The steps with their dates, when there was more than one."""
        if len(self.steps) < 2:
            return None
        return "Timeline: " + " → ".join(f"{step.happened_at.date().isoformat()} {step.new.value.replace('_', ' ')}" for step in self.steps)


def recompute_status(session: Session, commitment_id: str, now: datetime, note: str | None = None, by: str | None = None) -> Recorded | None:
    """Derive the commitment's status from its whole record and record how it got there:
    one history row per step the replay took since the record's last one, each with the
    date it happened. Its umbrella follows in `recompute_parents`, once the caller is done
    with the children."""
    row = repository.commitment(session, commitment_id, lock=True)
    # The record's time never runs backwards: after the clock is set back, a deadline
    # already passed stays passed instead of un-missing the commitment. (Record time, not
    # `status_since`: that is when things happened, and a feed may date an article ahead.)
    now = max(now, row.updated_at) if row.updated_at else now
    derived = derive_status(
        repository.evidence_for_status(session, commitment_id),
        row.deadline,
        now,
        confirmations=row.confirmations,
        overrides=repository.overrides_for(session, commitment_id),
        metric=metric_target(row.metric),
    )
    children = repository.children_statuses(session, commitment_id)
    if children:
        derived = rollup(derived, children)
    changes = timeline_changes(commitment_id, Status(row.status), row.status_since, derived, now)
    if not changes:
        return None
    if note or by:
        changes = [replace(change, note=note, changed_by=by) for change in changes]
    return Recorded(tuple(changes), tuple(repository.record_status_change(session, change) for change in changes))


def recompute_parents(session: Session, child_ids: Iterable[str], now: datetime, routes: ChannelRoutes, done: Iterable[str] = ()) -> list[StatusChange]:
    """The umbrellas of the children just recomputed (but those in `done`), derived from
    their children and alerted. After every child and in id order: a transaction holding
    an umbrella's lock never asks for a child's, so two instances never wait on each other."""
    parents = sorted({row.parent_id for child in set(child_ids) if (row := repository.commitment(session, child)) is not None and row.parent_id} - set(done))
    changes = []
    for parent_id in parents:
        if repository.commitment(session, parent_id) is None:
            continue
        moved = recompute_status(session, parent_id, now)
        if moved is not None:
            changes.append(moved.change)
            enqueue_change_alert(session, routes, repository.commitment(session, parent_id), moved.change, moved.change_id, now, moved.timeline())
    return changes


def lock_order(commitment_ids: Iterable[str], parents: Iterable[str]) -> list[str]:
    """Children (and commitments without children) first, umbrellas last, each in id order."""
    umbrellas = set(parents)
    return sorted(set(commitment_ids), key=lambda commitment_id: (commitment_id in umbrellas, commitment_id))



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
        parents = repository.parent_ids(session)
        for touched_id in lock_order(touched, parents):
            result = recompute_status(session, touched_id, now, note=f"entry {entry_id} dismissed: {note}")
            if result:
                changes.append(result.change)
                enqueue_change_alert(session, routes, repository.commitment(session, touched_id), result.change, result.change_id, now, result.timeline())
        changes += recompute_parents(session, touched, now, routes, done=touched)
        session.commit()
    return touched, changes


def label_evidence(
    engine: Engine, routes: ChannelRoutes, entry_id: int, commitment_id: str, signal: SignalKind, note: str | None, by: str | None, now: datetime
) -> tuple[bool, StatusChange | None]:
    """A person's reading replaces the machine's at once: the status is recomputed and
    its change recorded and alerted, with who and why. (False, None): no such entry."""
    with Session(engine) as session:
        if repository.commitment(session, commitment_id) is None:
            return False, None
        if not repository.label_evidence(session, entry_id, commitment_id, signal, note, by, now):
            return False, None
        why = f"entry {entry_id} read as {signal.value} by {by or 'a reviewer'}" + (f": {note}" if note else "")
        result = recompute_status(session, commitment_id, now, note=why, by=by)
        change = None
        if result:
            change = result.change
            enqueue_change_alert(session, routes, repository.commitment(session, commitment_id), change, result.change_id, now, result.timeline())
        recompute_parents(session, [commitment_id], now, routes, done=[commitment_id])
        session.commit()
    return True, change


def why_not_dismissed(engine, entry_id: int, commitment_id: str | None) -> str:
    """Why `dismiss_evidence` touched nothing, in words for the person who asked."""
    with Session(engine) as session:
        commitments = repository.commitments_of_entry(session, entry_id)
    if not commitments:
        return f"entry {entry_id} is not evidence for any commitment (entry ids: `tracker evidence`)"
    if commitment_id and commitment_id not in commitments:
        return f"entry {entry_id} is evidence for {', '.join(commitments)}, not {commitment_id}"
    return f"entry {entry_id} is already dismissed" + (f" for {commitment_id}" if commitment_id else "")


def check_deadlines(engine: Engine, routes: ChannelRoutes, remind_days: Sequence[int], now: datetime, *, first_run: bool = False) -> int:
    """The daily job: passed deadlines make commitments `overdue`, near ones get a
    reminder (each once).

    On the first run of a new database, where deadlines have passed, one summary
    ("tracking 25 commitments: 4 overdue, …") tells a new user where things stand,
    instead of an alert per passed deadline. Returns the number of status changes;
    the alerts wait in the outbox.
    """
    changes = 0
    with Session(engine) as session:
        for commitment_id in [row.id for row in repository.active_commitments(session)]:
            changes += _check_deadline(session, routes, commitment_id, now, remind_days, alert=not first_run)
            session.commit()  # one commitment at a time: the others stay free for the ticks of every instance
        if first_run and changes:
            enqueue_summary(session, routes, now)
            session.commit()
    return changes


def enqueue_summary(session: Session, routes: ChannelRoutes, now: datetime) -> str:
    """One notice of where every active commitment stands."""
    statuses = Counter(row.status for row in repository.active_commitments(session))
    order = [status.value for status in Status]
    parts = ", ".join(f"{count} {status.replace('_', ' ')}" for status, count in sorted(statuses.items(), key=lambda item: order.index(item[0])))
    text = f"Tracking {sum(statuses.values())} commitments: {parts}. `tracker status` (or the web page) shows each."
    enqueue_status_notice(session, routes, "first-run-summary", "Where the tracked commitments stand", text, now)
    return text


def _check_deadline(session: Session, routes: ChannelRoutes, commitment_id: str, now: datetime, remind_days: Sequence[int], alert: bool = True) -> int:
    """One commitment's deadline: the status change, or a reminder when one is due."""
    result = recompute_status(session, commitment_id, now)
    row = repository.commitment(session, commitment_id)
    if result and alert:
        enqueue_change_alert(session, routes, row, result.change, result.change_id, now, result.timeline())
        recompute_parents(session, [commitment_id], now, routes, done=[commitment_id])
    if Status(row.status) in FINAL_STATUSES or row.status == Status.OVERDUE.value:
        return 1 if result else 0
    days = reminder_due(row.deadline, now.date(), remind_days)
    if days is not None:
        enqueue_reminder(session, routes, row, days, now)
    return 1 if result else 0
