"""Making the database match the config and rule files, as every command does on start."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import feeds as feed_store, repository
from tracker.ruleformat import Rule


def sync_feeds(engine: Engine, feeds: Iterable[tuple[str, str, float]], now: datetime, only_add: bool = False) -> None:
    """Bring the feed table in line with the config: (name, url, interval) per feed
    (`only_add`: add the feeds it lacks, change nothing else)."""
    with Session(engine) as session:
        feed_store.sync_feeds(session, list(feeds), now, only_add=only_add)
        session.commit()


def sync_commitments(engine: Engine, rules: Iterable[Rule], now: datetime, retire_missing: bool = True) -> None:
    """Bring the commitment table in line with the rule files that loaded.

    `retire_missing` is False while some rule file is broken: its commitment is
    missing from `rules` only because of the error, not because it was removed.
    """
    with Session(engine) as session:
        repository.sync_commitments(session, rules, now, retire_missing)
        session.commit()
