"""Which processes claim work, and what a dead one leaves behind.

Every process that claims work (feeds, deliveries, calendar jobs) registers
(storage.registry), stamps what it claims with its id and renews a heartbeat. At start
and at every tick, what a dead instance held is released at once, instead of when its
lease runs out:

- in this process space (same host, boot and pid namespace), an instance whose
  process is gone is dead (its pid is absent, or was reused: the process with that
  pid started at another time);
- anywhere else (another host, another container with the same host name), an
  instance whose heartbeat is older than two of its ticks (and at least
  `MIN_SILENCE`) is presumed dead.

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
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from storage import registry
from storage.tables import InstanceRow

log = logging.getLogger("tracker")

# A heartbeat can be late for reasons other than death (a slow disk, a long
# transaction on SQLite): below this, silence is not taken for death.
MIN_SILENCE = timedelta(seconds=5)


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
    """Release what dead instances held and forget them, one transaction each; returns the dead."""
    host = host or socket.gethostname()
    space = space if space is not None else process_space()
    dead = []
    for row in registry.other_instances(session, me):
        if not is_dead(row, host, space, now) or not registry.forget_if_unchanged(session, row):
            continue
        feeds, deliveries = registry.release_holdings(session, row.id, now)
        session.commit()
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
            registry.add_instance(session, InstanceRow(**self._row, heartbeat_at=now))
            session.commit()
        self.reclaim()
        self._stop = threading.Event()
        # Half a tick, so that two ticks of silence mean two missed beats at least.
        self._every = min(30.0, max(0.5, tick_seconds / 2))
        self._thread = threading.Thread(target=self._beat_until_stopped, name="tracker-heartbeat", daemon=True)
        self._thread.start()

    def reclaim(self) -> list[InstanceRow]:
        with Session(self.engine) as session:
            return reclaim_dead(session, self.id, self.clock(), self.host, self.space)

    def beat(self, tick_seconds: float | None = None) -> None:
        """Renew the heartbeat (and, after a tick, its time). An instance that others took for
        dead (a long pause) registers again: what it held was taken back, and it carries
        on as a new claimer."""
        with Session(self.engine) as session:
            if not registry.renew_heartbeat(session, self.id, self.clock(), tick_seconds):
                log.warning("instance %s was taken for dead by another instance: registering again", self.id)
                registry.add_instance(session, InstanceRow(**self._row, heartbeat_at=self.clock()))
            session.commit()

    def record_tick(self, seconds: float) -> None:
        self.beat(tick_seconds=seconds)

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.beat()
            except DBAPIError as error:  # the database is away: the next beat tries again
                log.debug("heartbeat of instance %s failed: %s", self.id, type(error.orig or error).__name__)

    def close(self) -> None:
        """A clean stop: nothing this process holds is left for others to wait on (feeds
        claimed and not recorded, a stop mid-batch, are due again at once)."""
        self._stop.set()
        self._thread.join(timeout=5)
        with Session(self.engine) as session:
            registry.release_holdings(session, self.id, self.clock())
            registry.forget_instance(session, self.id)
            session.commit()
