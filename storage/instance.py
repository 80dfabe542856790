"""One polling instance per SQLite file: a second one is refused, clearly.

SQLite serialises writers but has no row locks to share feeds between processes;
several instances belong on PostgreSQL, where the database itself hands out the
work. The lock is an OS file lock beside the database file, so it disappears with
the process however it dies (kill -9 included): no stale lock to clean up.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import Engine


class SecondInstanceError(Exception):
    """Another polling process already uses this SQLite database."""


@contextmanager
def single_instance(engine: Engine, command: str) -> Iterator[None]:
    """Hold the SQLite database's instance lock for the duration; no-op on other databases."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).resolve().with_name(Path(database).name + ".instance-lock")
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SecondInstanceError(
                f"{holder} is already polling the SQLite database {database}, so `tracker {command}` is refused: "
                "one polling process per SQLite file (`poll --file` and reading commands work beside it); "
                "move to PostgreSQL ([database] url) to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`tracker {command}` (pid {os.getpid()})")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
