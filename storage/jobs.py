"""Calendar jobs (deadlines, digest) run once per scheduled time, whichever instance comes first."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.tables import JobRunRow


def claim_job_run(session: Session, name: str, scheduled_for: datetime, instance: str, now: datetime, lease: timedelta) -> bool:
    """True for the one caller that gets this run; False when another instance has it.

    The primary key (name, scheduled time) decides, in the database. A run whose
    instance died before finishing is taken over once `lease` has passed.
    """
    try:
        with session.begin_nested():
            session.add(JobRunRow(name=name, scheduled_for=scheduled_for, started_at=now, instance=instance))
    except IntegrityError:
        taken_over = session.execute(
            update(JobRunRow)
            .where(
                JobRunRow.name == name,
                JobRunRow.scheduled_for == scheduled_for,
                JobRunRow.finished_at == None,  # noqa: E711
                JobRunRow.started_at < now - lease,
            )
            .values(started_at=now, instance=instance)
        )
        session.commit()
        return taken_over.rowcount == 1
    session.commit()
    return True


def finish_job_run(session: Session, name: str, scheduled_for: datetime, now: datetime) -> None:
    session.execute(
        update(JobRunRow).where(JobRunRow.name == name, JobRunRow.scheduled_for == scheduled_for).values(finished_at=now)
    )
    session.commit()
