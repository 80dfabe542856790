"""The instance registry's queries: who claims work, and releasing what one held.

Judging whether an instance is dead, and the heartbeat, are tracker.instances'.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, update
from sqlmodel import Session, select

from storage.tables import DeliveryRow, FeedRow, InstanceRow, JobRunRow

# A job run taken over from a dead instance is made this old, so its lease has run out.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


def add_instance(session: Session, row: InstanceRow) -> None:
    session.add(row)


def other_instances(session: Session, me: str | None) -> list[InstanceRow]:
    return list(session.exec(select(InstanceRow).where(InstanceRow.id != (me or ""))))


def renew_heartbeat(session: Session, instance_id: str, now: datetime, tick_seconds: float | None = None) -> bool:
    """False when the row is gone (another instance took this one for dead)."""
    values = {"heartbeat_at": now} if tick_seconds is None else {"heartbeat_at": now, "last_tick_at": now, "last_tick_seconds": tick_seconds}
    return session.execute(update(InstanceRow).where(InstanceRow.id == instance_id).values(**values)).rowcount == 1


def forget_if_unchanged(session: Session, row: InstanceRow) -> bool:
    """Delete the row only while its heartbeat is the one judged: an instance that beat in
    between (it was only slow) stays. Of two reclaiming the same dead one, one succeeds."""
    gone = session.execute(delete(InstanceRow).where(InstanceRow.id == row.id, InstanceRow.heartbeat_at == row.heartbeat_at))
    return gone.rowcount == 1


def forget_instance(session: Session, instance_id: str) -> None:
    session.execute(delete(InstanceRow).where(InstanceRow.id == instance_id))


def release_holdings(session: Session, instance_id: str, now: datetime) -> tuple[int, int]:
    """What `instance_id` held is due now: its feeds, its deliveries in `sending` (which
    stay `sending`, so the next claim marks them in doubt and Slack is looked at before
    a resend), and its unfinished calendar jobs. Returns (feeds, deliveries)."""
    feeds = session.execute(update(FeedRow).where(FeedRow.lease_holder == instance_id).values(next_check_at=now, lease_holder=None)).rowcount
    deliveries = session.execute(
        update(DeliveryRow).where(DeliveryRow.lease_holder == instance_id, DeliveryRow.state == "sending").values(next_attempt_at=now, lease_holder=None)
    ).rowcount
    session.execute(update(JobRunRow).where(JobRunRow.instance == instance_id, JobRunRow.finished_at == None).values(started_at=_LONG_AGO))  # noqa: E711
    return feeds, deliveries
