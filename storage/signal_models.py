"""Signal models trained here, kept in the database so every instance reads the same one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage.tables import SignalModelRow


def newest_model(session: Session) -> bytes | None:
    row = session.exec(select(SignalModelRow).order_by(SignalModelRow.id.desc()).limit(1)).first()
    return bytes(row.data) if row is not None else None


def store_model(session: Session, data: bytes, examples: int, labels: int, now: datetime) -> int:
    row = SignalModelRow(trained_at=now, examples=examples, labels=labels, data=data)
    session.add(row)
    session.flush()
    return row.id
