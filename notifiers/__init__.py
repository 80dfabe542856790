"""Notification channels: one module per kind, each with one `send` method.

A notifier renders and sends one Alert and says whether a failure is worth
retrying (DeliveryError.permanent); the delivery step decides what to do about it.
Notifiers never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tracker.model import Alert


class DeliveryError(Exception):
    """Sending failed. `permanent`: retrying without a config change will not help."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sent:
    """A delivered message; `remote_id` identifies it at the far end (Slack's ts)."""

    remote_id: str | None = None


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> Sent: ...
