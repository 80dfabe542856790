"""Which processes claim work, and what a dead one leaves behind.

Every process that claims work (feeds, deliveries, calendar jobs) registers here,
stamps what it claims with its id and renews a heartbeat. At start and at every tick,
what a dead instance held is released at once, instead of when its lease runs out:

- in this process space (same host, boot and pid namespace), an instance whose
  process is gone is dead (its pid is absent, or was reused: the process with that
  pid started at another time);
- on any host, an instance whose heartbeat is older than two of its ticks (and at
  least `MIN_SILENCE`) is presumed dead: the only test across hosts (PostgreSQL).

A reclaimed `sending` delivery stays `sending`, due now: its next claim marks it in
doubt, and the sender looks in the channel's history before sending it again, so
exactly once stays exactly once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from storage.tables import DeliveryRow, FeedRow, InstanceRow, JobRunRow

log = logging.getLogger("tracker")

# A heartbeat can be late for reasons other than death (a slow disk, a long
# transaction on SQLite): below this, silence is not taken for death.
MIN_SILENCE = timedelta(seconds=5)
# A job run taken over from a dead instance is made this old, so its lease has run out.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=timezone.utc)


def process_started(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def process_space() -> str | None:
    """This boot and pid namespace (Linux): where a pid names the same process as here."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return None


def is_process_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return started is None or process_started(pid) in (None, started)


def is_dead(row: InstanceRow, host: str, space: str | None, now: datetime) -> bool:
    if row.host == host and row.process_space == space and space is not None:
        return not is_process_alive(row.pid, row.pid_started)
    return now - row.heartbeat_at > max(MIN_SILENCE, timedelta(seconds=2 * row.tick_seconds))


def reclaim_dead(session: Session, me: str | None, now: datetime, host: str | None = None, space: str | None = None) -> list[InstanceRow]:
    """Release what dead instances held and forget them; returns the dead.

    Each dead row is deleted only while its heartbeat is still the one judged: an
    instance that beat in between (it was only slow) keeps its claims. Two instances
    reclaiming the same dead one: one deletes it and releases, the other finds nothing."""
    host = host or socket.gethostname()
    space = space if space is not None else process_space()
    judged = [row for row in session.exec(select(InstanceRow).where(InstanceRow.id != (me or ""))) if is_dead(row, host, space, now)]
    dead = []
    for row in judged:
        gone = session.execute(delete(InstanceRow).where(InstanceRow.id == row.id, InstanceRow.heartbeat_at == row.heartbeat_at))
        if gone.rowcount != 1:
            continue
        feeds = session.execute(update(FeedRow).where(FeedRow.lease_holder == row.id).values(next_check_at=now, lease_holder=None)).rowcount
        deliveries = session.execute(
            update(DeliveryRow).where(DeliveryRow.lease_holder == row.id, DeliveryRow.state == "sending").values(next_attempt_at=now, lease_holder=None)
        ).rowcount
        # An unfinished calendar job of the dead one: its lease is made to have run out.
        session.execute(update(JobRunRow).where(JobRunRow.instance == row.id, JobRunRow.finished_at == None).values(started_at=_LONG_AGO))  # noqa: E711
        session.commit()  # per instance: what is released is released with its row's deletion
        dead.append(row)
        log.warning(
            "instance %s (`tracker %s`, pid %d on %s) is gone: its %d feed(s) and %d delivery(ies) in hand are taken back now",
            row.id, row.command, row.pid, row.host, feeds, deliveries,
        )
    session.commit()
    return dead


class Registration:
    """This process in the registry, with a heartbeat thread, until `close()`."""

    def __init__(self, engine: Engine, command: str, tick_seconds: float, clock: Callable[[], datetime]) -> None:
        self.engine, self.clock = engine, clock
        self.id = uuid.uuid4().hex[:12]
        self.host, self.space = socket.gethostname(), process_space()
        now = clock()
        self._row = dict(
            id=self.id, host=self.host, pid=os.getpid(), pid_started=process_started(os.getpid()), process_space=self.space,
            command=command, started_at=now, tick_seconds=tick_seconds,
        )
        with Session(engine) as session:
            session.add(InstanceRow(**self._row, heartbeat_at=now))
            session.commit()
        self.reclaim()
        self._stop = threading.Event()
        self._every = min(30.0, max(0.5, tick_seconds / 2))
        self._thread = threading.Thread(target=self._beat_until_stopped, name="tracker-heartbeat", daemon=True)
        self._thread.start()

    def reclaim(self) -> list[InstanceRow]:
        with Session(self.engine) as session:
            return reclaim_dead(session, self.id, self.clock(), self.host, self.space)

    def beat(self) -> None:
        """Renew the heartbeat. An instance that others took for dead (a long pause) registers
        again: what it held was taken back, and it carries on as a new claimer."""
        with Session(self.engine) as session:
            renewed = session.execute(update(InstanceRow).where(InstanceRow.id == self.id).values(heartbeat_at=self.clock())).rowcount
            if not renewed:
                log.warning("instance %s was taken for dead by another instance: registering again", self.id)
                session.add(InstanceRow(**self._row, heartbeat_at=self.clock()))
            session.commit()

    def record_tick(self, seconds: float) -> None:
        with Session(self.engine) as session:
            now = self.clock()
            session.execute(
                update(InstanceRow).where(InstanceRow.id == self.id).values(last_tick_at=now, last_tick_seconds=seconds, heartbeat_at=now)
            )
            session.commit()

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.beat()
            except DBAPIError as error:  # the database is away: the next beat tries again
                log.debug("heartbeat of instance %s failed: %s", self.id, type(error.orig or error).__name__)

    def close(self) -> None:
        """A clean stop: nothing this process holds is left for others to wait on."""
        self._stop.set()
        self._thread.join(timeout=5)
        with Session(self.engine) as session:
            now = self.clock()
            # Feeds claimed and not recorded (a stop mid-batch) are due again at once.
            session.execute(update(FeedRow).where(FeedRow.lease_holder == self.id).values(next_check_at=now, lease_holder=None))
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.lease_holder == self.id, DeliveryRow.state == "sending")
                .values(next_attempt_at=now, lease_holder=None)
            )
            session.execute(delete(InstanceRow).where(InstanceRow.id == self.id))
            session.commit()

