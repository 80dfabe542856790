"""The outbox: deliveries written with the change that causes them, claimed, sent, recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from storage.sql import dialect_insert as _insert
from storage.tables import DeliveryRow


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


def claim_deliveries(session: Session, now: datetime, limit: int = 100, lease: timedelta = timedelta(minutes=5)) -> list[DeliveryRow]:
    """Claim due deliveries with a conditional UPDATE, so two senders never take the same row.

    A claim is a lease: a row left in `sending` by a process that died is claimable
    again once the lease has expired.
    """
    candidates = session.exec(
        select(DeliveryRow.id)
        .where(
            or_(
                and_(col(DeliveryRow.state).in_(["pending", "failed"]), DeliveryRow.next_attempt_at <= now),
                and_(DeliveryRow.state == "sending", DeliveryRow.next_attempt_at <= now),
            )
        )
        .order_by(DeliveryRow.id)
        .limit(limit)
    ).all()
    claimed = []
    for delivery_id in candidates:
        result = session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .where(
                or_(
                    col(DeliveryRow.state).in_(["pending", "failed"]),
                    and_(DeliveryRow.state == "sending", DeliveryRow.next_attempt_at <= now),
                )
            )
            .values(state="sending", next_attempt_at=now + lease, attempts=DeliveryRow.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(delivery_id)
    session.commit()
    return [session.get(DeliveryRow, delivery_id) for delivery_id in claimed]


def mark_delivered(session: Session, delivery_id: int, remote_id: str | None, now: datetime) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="sent", sent_at=now, remote_id=remote_id, last_error=None)
    )


def mark_failed(session: Session, delivery_id: int, error: str, retry_at: datetime | None) -> None:
    """A transient failure retries at `retry_at`; None parks the delivery until someone acts."""
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="failed" if retry_at else "parked", last_error=error, next_attempt_at=retry_at)
    )
