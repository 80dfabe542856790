"""Alerts as readable text on the console: the default when no Slack token is set."""

from __future__ import annotations

import sys
from datetime import date, datetime, timezone
from typing import Callable, TextIO

from notifiers import Sending, Sent
from notifiers.render import plain_text
from tracker.model import Alert, ThreadRef


class ConsoleNotifier:
    name = "console"
    supports_threads = False

    def __init__(self, stream: TextIO | None = None, today: Callable[[], date] | None = None) -> None:
        self._stream = stream
        self._today = today or (lambda: datetime.now(timezone.utc).date())

    def send(self, alert: Alert, sending: Sending | None = None) -> Sent:
        stream = self._stream or sys.stdout
        channel = f"[{alert.channel}] " if alert.channel else ""
        stream.write(f"{channel}{plain_text(alert, self._today())}\n\n")
        stream.flush()
        return Sent()

    def update_parent(self, thread: ThreadRef, alert: Alert) -> None:
        """The console has no threads."""
