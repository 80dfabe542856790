"""What the web pages and the JSON API read: the same rows as `tracker status`, `show` and `feeds`."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session

from storage.views import feed_rows
from tracker.status.review import card, status_table


class ReviewData:
    """Reads for one tracker (its config, database and rule files).

    Rule files are synced into the database when they change on disk, as
    `tracker status` does on every run: a rule someone just edited shows up on the
    page without restarting the server, and the page never disagrees with the CLI.
    """

    def __init__(self, app, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.clock = clock
        self._rules_seen: tuple | None = None
        self._lock = threading.Lock()

    def status_rows(self, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Every commitment's row, unfiltered (tracker.status.review.select_rows filters and orders)."""
        self._sync_rules_if_changed()
        with Session(self.app.engine) as session:
            return status_table(session, self.clock(), self.app.settings.status.stale_after_days, as_of)

    def commitment(self, commitment_id: str, as_of: datetime | None = None) -> dict[str, Any] | None:
        self._sync_rules_if_changed()
        with Session(self.app.engine) as session:
            return card(session, commitment_id, self.clock(), self.app.settings.status.stale_after_days, as_of)

    def feeds(self) -> list[dict[str, Any]]:
        broken_after = self.app.settings.fetch.broken_after
        with Session(self.app.engine) as session:
            return [{**row, "health": feed_health(row, broken_after)} for row in feed_rows(session)]

    def _sync_rules_if_changed(self) -> None:
        from tracker.matching.rulefile import find_rule_files

        with self._lock:
            files = find_rule_files(self.app.settings.rule_paths)
            seen = tuple((str(path), path.stat().st_mtime_ns) for path in files)
            if seen != self._rules_seen:
                self.app.sync_rules()
                self._rules_seen = seen


def feed_health(row: dict[str, Any], broken_after: int) -> str:
    """One word per feed: ok, failing (recent errors), broken (a notice was sent), disabled, new."""
    if row["disabled_reason"]:
        return "disabled"
    if row["last_polled"] is None:
        return "new"
    if row["consecutive_failures"] >= broken_after:
        return "broken"
    if row["consecutive_failures"]:
        return "failing"
    return "ok"
