"""The outbox: deliveries written with the change that causes them, claimed, sent, recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, or_, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.sql import dialect_insert as _insert
from storage.tables import CommitmentRow, DeliveryRow, ThreadRow
from tracker.model import ThreadRef


def enqueue_delivery(session: Session, dedupe_key: str, kind: str, channel: str | None, payload: dict, commitment_id: str | None, now: datetime) -> None:
    session.execute(
        _insert(session, DeliveryRow)
        .values(
            dedupe_key=dedupe_key,
            kind=kind,
            channel=channel,
            payload=payload,
            commitment_id=commitment_id,
            state="pending",
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


def claim_deliveries(
    session: Session, now: datetime, limit: int = 100, lease: timedelta = timedelta(minutes=5), holder: str | None = None
) -> list[DeliveryRow]:
    """Claim due deliveries with a conditional UPDATE, so two senders never take the same row.

    A claim is a lease: a row left in `sending` by a process that died is claimable
    again once the lease has expired, or at once when its `holder` is known dead
    (tracker.instances), and is then marked in doubt, since the message may have gone
    out before the process died.

    One commitment's deliveries go out one at a time, whichever instance sends them:
    a delivery is not claimed while another of its commitment is being sent, so two
    instances never open two threads for it or post its alerts out of order. On
    PostgreSQL an advisory lock per commitment makes that check and the claim one step.
    """
    due = or_(
        and_(col(DeliveryRow.state).in_(["pending", "failed"]), DeliveryRow.next_attempt_at <= now),
        and_(DeliveryRow.state == "sending", DeliveryRow.next_attempt_at <= now),
    )
    sibling = aliased(DeliveryRow)
    sibling_in_flight = exists().where(
        sibling.commitment_id == DeliveryRow.commitment_id,
        sibling.id != DeliveryRow.id,
        sibling.state == "sending",
        sibling.next_attempt_at > now,
    )
    # Candidates already skip commitments in flight elsewhere, so a few busy commitments
    # cannot hide the rest of the queue; the UPDATE checks again, under the lock.
    candidates = session.exec(
        select(DeliveryRow.id, DeliveryRow.commitment_id).where(due, ~sibling_in_flight).order_by(DeliveryRow.id).limit(limit * 20)
    ).all()
    claimed = []
    for delivery_id, commitment_id in candidates:
        if commitment_id is not None and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"delivery:{commitment_id}"})
        result = session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id, due, ~sibling_in_flight)
            .values(
                state="sending",
                next_attempt_at=now + lease,
                lease_holder=holder,
                attempts=DeliveryRow.attempts + 1,
                in_doubt=case((DeliveryRow.state == "sending", True), else_=DeliveryRow.in_doubt),
            )
        )
        session.commit()  # releases the advisory lock; the claim is visible to every instance
        if result.rowcount == 1:
            claimed.append(delivery_id)
            if len(claimed) == limit:
                break
    return [session.get(DeliveryRow, delivery_id) for delivery_id in claimed]


def _still_held(delivery_id: int, holder: str | None):
    """The delivery, while `holder` still holds it: a sender taken for dead (a long pause)
    whose delivery another instance took back records nothing over that one's outcome."""
    held = DeliveryRow.id == delivery_id
    return held if holder is None else and_(held, DeliveryRow.lease_holder == holder)


def mark_delivered(session: Session, delivery_id: int, remote_id: str | None, now: datetime, holder: str | None = None) -> bool:
    """False when the delivery was taken back from `holder` meanwhile."""
    return session.execute(
        update(DeliveryRow)
        .where(_still_held(delivery_id, holder))
        .values(state="sent", sent_at=now, remote_id=remote_id, last_error=None, in_doubt=False, lease_holder=None)
    ).rowcount == 1


def mark_failed(session: Session, delivery_id: int, error: str, retry_at: datetime | None, in_doubt: bool = False, holder: str | None = None) -> bool:
    """A transient failure retries at `retry_at`; None parks the delivery until someone acts.
    False when the delivery was taken back from `holder` meanwhile."""
    return session.execute(
        update(DeliveryRow)
        .where(_still_held(delivery_id, holder))
        .values(state="failed" if retry_at else "parked", last_error=error, next_attempt_at=retry_at, in_doubt=in_doubt, lease_holder=None)
    ).rowcount == 1


def mark_muted(session: Session, delivery_id: int, note: str) -> None:
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(state="muted", last_error=note, lease_holder=None))


def retry(session: Session, now: datetime, delivery_id: int | None = None) -> int:
    """Parked and failed deliveries become due now (after a config fix); returns how many."""
    query = update(DeliveryRow).where(col(DeliveryRow.state).in_(["parked", "failed"]))
    if delivery_id is not None:
        query = query.where(DeliveryRow.id == delivery_id)
    return session.execute(query.values(state="pending", next_attempt_at=now)).rowcount


def unsent(session: Session) -> list[DeliveryRow]:
    """Pending, failed, parked and muted deliveries, oldest first: for `tracker outbox`."""
    return list(session.exec(select(DeliveryRow).where(DeliveryRow.state != "sent").order_by(DeliveryRow.id)))


def thread_for(session: Session, channel: str, commitment_id: str) -> ThreadRef | None:
    row = session.exec(select(ThreadRow).where(ThreadRow.channel == channel, ThreadRow.commitment_id == commitment_id)).first()
    return ThreadRef(row.channel_id, row.parent_id) if row else None


def record_thread(session: Session, channel: str, commitment_id: str, channel_id: str | None, parent_id: str, now: datetime) -> None:
    session.execute(
        _insert(session, ThreadRow)
        .values(channel=channel, commitment_id=commitment_id, channel_id=channel_id, parent_id=parent_id, created_at=now)
        .on_conflict_do_nothing()
    )


def route_of(session: Session, commitment_id: str | None) -> tuple[str | None, str | None]:
    """The rule's own channel and the category, for routing by the config in force now."""
    row = session.get(CommitmentRow, commitment_id) if commitment_id else None
    return (row.channel, row.category) if row else (None, None)


def set_channel(session: Session, delivery_id: int, channel: str | None) -> None:
    session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(channel=channel))


def mute_reason(session: Session, commitment_id: str | None, now: datetime) -> str | None:
    """Why a commitment's alerts are held back now, or None."""
    if not commitment_id:
        return None
    row = session.get(CommitmentRow, commitment_id)
    if row is None or row.muted_until is None or row.muted_until <= now:
        return None
    return f"muted until {row.muted_until:%Y-%m-%d}" + (f": {row.muted_note}" if row.muted_note else "")
