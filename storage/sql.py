"""Small SQL helpers shared by the storage modules."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def dialect_insert(session: Session, table):
    """The dialect's INSERT, for ON CONFLICT DO NOTHING."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def chunks(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def serialize(session: Session, what: str) -> None:
    """Hold a PostgreSQL advisory lock named `what` until the transaction ends.

    For work every instance does on start or reload (making the feed and commitment
    tables match the config): one at a time, so two never insert the same row.
    SQLite has a single polling instance and serialises writers anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:what))"), {"what": what})
