"""Keeping a claimed batch of feeds this instance's until each one is recorded.

A claim moves each feed's next check to the end of a lease. A batch that takes longer
than that to fetch, parse and store (big documents, a slow machine, several instances
on two cores) would be claimed by another instance and fetched twice in one interval,
so the holder renews the lease of what it has not recorded yet as it goes. A holder
that dies stops renewing, and its feeds come back when the lease ends.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage import feeds as feed_store

log = logging.getLogger("tracker")


class BatchLease:
    """The leases of one claimed batch: `held` maps feed id → when its lease ends."""

    def __init__(self, engine: Engine, held: dict[int, datetime], claimed_at: datetime, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._held = dict(held)
        # Renewed leases all last as long as the shortest one claimed (a feed's lease is
        # its interval when that is shorter): one statement renews the whole batch.
        self._span = min((until - claimed_at for until in held.values()), default=None)
        self._renewed_at = claimed_at

    def renew_if_due(self) -> None:
        """Renew once a third of the lease has gone: well before it runs out."""
        if self._held and self._clock() - self._renewed_at >= self._span / 3:
            self.renew()

    def renew(self) -> None:
        """Extend every lease still held. A database error is logged, not raised: the
        batch carries on, and at worst a feed whose lease runs out is fetched again."""
        now = self._clock()
        try:
            with Session(self._engine) as session:
                self._held = feed_store.extend_leases(session, self._held, now + self._span)
                session.commit()
        except DBAPIError as error:
            log.error("renewing the leases of %d feeds failed: %s", len(self._held), type(error.orig or error).__name__)
        self._renewed_at = now

    def release(self, feed_ids: Iterable[int]) -> None:
        """These feeds are recorded: their next check is their own now."""
        for feed_id in feed_ids:
            self._held.pop(feed_id, None)
