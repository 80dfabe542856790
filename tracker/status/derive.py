"""Status from evidence: pure functions, no storage.

A commitment's status is derived by replaying what is known about it in time
order: evidence by publication date, a person's decisions by when they were made,
then the deadline. So an older article arriving late lands in its place instead of
overriding newer news, a dismissed false positive simply drops out, and the state
"as of" any date, past or future, is the same replay cut at that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Sequence

from tracker.model import Evidence, Override, SignalKind, Status, StatusChange

SIGNAL_STATUS: dict[SignalKind, Status] = {
    SignalKind.PROGRESS: Status.ON_TRACK,
    SignalKind.REAFFIRMED: Status.ON_TRACK,
    SignalKind.DOUBT: Status.AT_RISK,
    SignalKind.DELAY: Status.DELAYED,
    SignalKind.WEAKENED: Status.WEAKENED,
    SignalKind.ABANDONED: Status.ABANDONED,
    SignalKind.ACHIEVED: Status.ACHIEVED,
}

# Statuses that need `confirmations` independent sources before they are set.
CONFIRMED_STATUSES = (Status.ACHIEVED, Status.ABANDONED)
METRIC_CONFIRMATIONS = 2
# Statuses a passed deadline does not turn into `missed`.
FINAL_STATUSES = (Status.ACHIEVED, Status.ABANDONED)


@dataclass(frozen=True)
class MetricTarget:
    target: float
    direction: str  # "at_most" or "at_least"
    baseline: float | None = None

    def is_met(self, value: float) -> bool:
        return value <= self.target if self.direction == "at_most" else value >= self.target

    def is_improving(self, value: float, previous: float | None) -> bool | None:
        """Moving the right way since the previous value (or the baseline); None if unknown."""
        if previous is None or value == previous:
            return None
        return value < previous if self.direction == "at_most" else value > previous


@dataclass(frozen=True)
class Derived:
    """The status the record supports, and what it rests on."""

    status: Status
    cause: str = "evidence"  # evidence | person | deadline | metric
    basis: Evidence | None = None
    override: Override | None = None
    revised_target_year: int | None = None


def deadline_moment(deadline: date) -> datetime:
    """A deadline is met if done by the end of its day."""
    return datetime.combine(deadline, time.max, tzinfo=timezone.utc)


def derive_status(
    evidence: Sequence[Evidence],
    deadline: date,
    as_of: datetime,
    *,
    confirmations: int = 1,
    overrides: Sequence[Override] = (),
    metric: MetricTarget | None = None,
) -> Derived:
    """Replay evidence and decisions up to `as_of`, oldest first; then apply the deadline.

    1. Evidence with a signal moves the status (achieved and abandoned only once
       `confirmations` independent sources said so); a number is judged against
       the metric's target: met (from two publishers at least), moving the right
       way, or the wrong way.
    2. A person's override sets the status; later evidence that points to the
       same status leaves it, evidence that points elsewhere moves it.
    3. Past the deadline, anything but achieved or abandoned is missed, unless a
       person decided after the deadline.
    """
    current = Derived(Status.PENDING)
    sources: dict[Status, set[str]] = {status: set() for status in CONFIRMED_STATUSES}
    previous_value = metric.baseline if metric else None
    events: list[tuple[datetime, int, object]] = [(e.published_at, 0, e) for e in evidence if e.published_at <= as_of]
    events += [(o.at, 1, o) for o in overrides if o.at <= as_of]
    for _at, _order, event in sorted(events, key=lambda item: (item[0], item[1], getattr(item[2], "entry_key", ""))):
        if isinstance(event, Override):
            current = Derived(event.status, "person", override=event, revised_target_year=current.revised_target_year)
            continue
        status, cause = _status_of(event, metric, previous_value)
        if event.value is not None and metric is not None:
            previous_value = event.value
        if status is None:
            continue
        if status in CONFIRMED_STATUSES:
            sources[status].add(event.source or event.entry_key)
            # A number lifted from one article is weak evidence of a target met: it
            # takes two publishers, however few confirmations the rule asks for.
            needed = max(confirmations, METRIC_CONFIRMATIONS) if cause == "metric" else confirmations
            if len(sources[status]) < needed:
                continue
        if status == current.status and current.cause == "person":
            continue  # agrees with the person's decision, which stays the reason
        revised = event.target_year if status is Status.DELAYED and event.target_year else None
        if revised is None and status is Status.DELAYED:
            revised = current.revised_target_year
        current = Derived(status, cause, event, revised_target_year=revised)
    end = deadline_moment(deadline)
    decided_after_deadline = current.override is not None and current.override.at > end
    if as_of > end and current.status not in FINAL_STATUSES and not decided_after_deadline:
        return Derived(Status.MISSED, "deadline", current.basis, revised_target_year=current.revised_target_year)
    return current


def _status_of(event: Evidence, metric: MetricTarget | None, previous: float | None) -> tuple[Status | None, str]:
    status = SIGNAL_STATUS.get(event.signal)
    quiet = event.signal in (SignalKind.MENTION, SignalKind.PROGRESS, SignalKind.REAFFIRMED)
    if metric is None or event.value is None or not quiet:
        return status, "evidence"
    if metric.is_met(event.value):
        return Status.ACHIEVED, "metric"
    improving = metric.is_improving(event.value, previous)
    if improving is None:
        return status, "evidence"
    return (Status.ON_TRACK if improving else Status.AT_RISK), "metric"


def status_change(commitment_id: str, current: Status, derived: Derived, now: datetime) -> StatusChange | None:
    """The change to record, or None when the record leaves the status where it is."""
    if derived.status == current:
        return None
    basis = derived.basis if derived.cause in ("evidence", "metric") else None
    return StatusChange(
        commitment_id=commitment_id,
        old=current,
        new=derived.status,
        at=now,
        cause=derived.cause,
        evidence_keys=(basis.entry_key,) if basis else (),
        revised_target_year=derived.revised_target_year,
    )


def is_stale(last_evidence: datetime | None, since: datetime | None, as_of: datetime, days: int) -> bool:
    """No evidence for `days` days (counted from the commitment's start when it never had any)."""
    reference = last_evidence or since
    return reference is not None and (as_of - reference).days >= days


def days_left(deadline: date, today: date) -> int:
    return (deadline - today).days


def reminder_due(deadline: date, today: date, remind_days: Sequence[int]) -> int | None:
    """The smallest reminder threshold the deadline is now within, or None."""
    left = days_left(deadline, today)
    if left < 0:
        return None
    within = [days for days in remind_days if left <= days]
    return min(within) if within else None
