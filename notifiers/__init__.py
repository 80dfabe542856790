"""Alerts out: one module per channel kind (console, slack, webhook) with one `send`
method, their rendering, and beside them the outbox's sender (delivery) and notices.

A notifier renders and sends one Alert and says whether a failure is worth
retrying (DeliveryError.permanent); the delivery step decides what to do about it.
Channel modules never touch the database: what they need (the thread to reply in,
whether the last attempt may have arrived) comes in the Sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tracker.model import Alert, ThreadRef


class DeliveryError(Exception):
    """Sending failed. `permanent`: retrying without a config change will not help.
    `in_doubt`: the message may have arrived all the same (a timeout after sending)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.in_doubt = in_doubt


@dataclass(frozen=True)
class Sending:
    """Where and how one delivery goes."""

    delivery_id: int
    channel: str
    thread: ThreadRef | None = None
    in_doubt: bool = False
    broadcast: bool = False


@dataclass(frozen=True)
class Sent:
    """A delivered message; `remote_id` identifies it at the far end (Slack's ts)."""

    remote_id: str | None = None
    channel_id: str | None = None
    already_there: bool = False


class Notifier(Protocol):
    name: str
    supports_threads: bool

    def send(self, alert: Alert, sending: Sending) -> Sent: ...

    def update_parent(self, thread: ThreadRef, alert: Alert) -> None: ...
