"""The delivery step: send what the outbox holds, once, in the right thread, politely.

Only this step decides to retry, give up (park) or hold back (mute); notifiers
just send and classify their failures.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from notifiers import DeliveryError, Notifier, Sending
from storage import outbox
from tracker.model import Alert, ChannelRoutes, ThreadRef, alert_from_payload

log = logging.getLogger("tracker")

MAX_DELIVERY_BACKOFF = timedelta(hours=1)
# A sender taken for dead mid-send (a long pause) whose delivery another instance took back.
TAKEN_BACK = "delivery %d was taken back by another instance while this one was sending it: its outcome is that one's"


@dataclass
class DeliveryReport:
    alerts_sent: int = 0
    alerts_failed: int = 0


@dataclass(frozen=True)
class Sender:
    """What the delivery step needs: where to read, what to send with, where to route, how fast."""

    engine: Engine
    notifier: Notifier
    routes: ChannelRoutes
    pacer: Pacer
    clock: Callable[[], datetime]
    # The instance id stamped on each claim (tracker.instances), so that a restart takes
    # back at once what a dead sender held.
    holder: str | None = None


def deliver_pending(sender: Sender) -> DeliveryReport:
    """Send what the outbox holds.

    1. Claim due deliveries (a conditional UPDATE: no other sender gets them).
    2. Hold back those of a muted commitment.
    3. Send each in its commitment's thread when the channel has one, no faster
       than the channel allows; an in-doubt one is looked for before it is resent.
    4. Record the outcome: the remote id and a new thread, or the failure: a
       transient one retries later with backoff, a permanent one is parked. When the
       service itself is down (5xx, network), stop: the rest of the queue would only
       pile more failed attempts on it.
    """
    report = DeliveryReport()
    with Session(sender.engine) as session:
        for _ in range(MAX_DELIVERIES_PER_TICK):
            # One at a time, each lease from its own claim: a sender that dies, or a
            # long paced queue, holds one delivery's lease, not the queue's.
            now = sender.clock()
            claimed = outbox.claim_deliveries(session, now, limit=1, holder=sender.holder)
            if not claimed:
                break
            if not _deliver_one(sender, session, claimed[0], now, report):
                log.warning("the alert service is not answering: the rest of the outbox waits for the next tick")
                break
    return report


def _deliver_one(sender: Sender, session: Session, delivery, now: datetime, report: DeliveryReport) -> bool:
    """Send one claimed delivery and record the outcome; False when the service is down."""
    alert = alert_from_payload(delivery.payload)
    muted = outbox.mute_reason(session, delivery.commitment_id, now)
    if muted:
        outbox.mark_muted(session, delivery.id, muted)
        session.commit()
        return True
    channel = _route(sender, session, delivery) or sender.notifier.name
    threaded = sender.notifier.supports_threads and delivery.commitment_id and alert.kind in THREADED_KINDS
    thread = outbox.thread_for(session, channel, delivery.commitment_id) if threaded else None
    delivery_id, kind, attempts, commitment_id = delivery.id, delivery.kind, delivery.attempts, delivery.commitment_id
    sending = Sending(delivery_id, channel, thread, delivery.in_doubt, broadcast=alert.kind == "status_change")
    session.commit()  # no transaction stays open across the pacing and the HTTP call
    sender.pacer.wait(channel)
    try:
        sent = sender.notifier.send(alert, sending)
    except DeliveryError as failure:
        report.alerts_failed += 1
        retry_at = None if failure.permanent else sender.clock() + _delivery_backoff(attempts, failure.retry_after)
        if not outbox.mark_failed(session, delivery_id, str(failure), retry_at, in_doubt=failure.in_doubt, holder=sender.holder):
            log.warning(TAKEN_BACK, delivery_id)
        session.commit()
        log.warning("delivery %d (%s to %s): %s%s", delivery_id, kind, channel, failure, "" if retry_at else " (parked)")
        return not _is_outage(failure)
    report.alerts_sent += not sent.already_there
    if not outbox.mark_delivered(session, delivery_id, sent.remote_id, sender.clock(), holder=sender.holder):
        # Taken for dead mid-send: the instance that took it back looks in the channel
        # before sending (in doubt), and records it; this one records nothing over it.
        log.warning(TAKEN_BACK, delivery_id)
        session.commit()
        return True
    if threaded and thread is None and sent.remote_id:
        outbox.record_thread(session, channel, commitment_id, sent.channel_id, sent.remote_id, now)
    elif thread is not None and alert.kind == "status_change":
        _update_thread_parent(sender, thread, alert)
    session.commit()
    return True


def _route(sender: Sender, session: Session, delivery) -> str | None:
    """Where a delivery goes by the config in force now, not when it was written: a
    delivery parked for a wrong channel goes to the right one once the config is fixed."""
    if delivery.commitment_id is None:
        channel = sender.routes.for_notices
    else:
        channel = sender.routes.for_commitment(*outbox.route_of(session, delivery.commitment_id))
    if channel != delivery.channel:
        outbox.set_channel(session, delivery.id, channel)
    return channel


THREADED_KINDS = ("status_change", "evidence", "reminder")
MAX_DELIVERIES_PER_TICK = 500


def _update_thread_parent(sender: Sender, thread: ThreadRef, alert: Alert) -> None:
    try:
        sender.notifier.update_parent(thread, alert)
    except DeliveryError as failure:  # the reply went out; a stale parent is cosmetic
        log.warning("could not update the thread's first message: %s", failure)


class Pacer:
    """At most one message per `interval` seconds per channel."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval, self._clock, self._sleep = interval, clock, sleep
        self._last: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        last = self._last.get(channel)
        if last is not None:
            remaining = self._interval - (self._clock() - last)
            if remaining > 0:
                self._sleep(remaining)
        self._last[channel] = self._clock()


def _is_outage(failure: DeliveryError) -> bool:
    """Down for everyone (server error, network), not one channel's rate limit or config."""
    return not failure.permanent and failure.retry_after is None


def _delivery_backoff(attempts: int, retry_after: float | None) -> timedelta:
    backoff = min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), MAX_DELIVERY_BACKOFF)
    return max(backoff, timedelta(seconds=retry_after or 0))
