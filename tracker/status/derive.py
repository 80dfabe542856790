"""Status from evidence: pure functions, no storage.

A commitment's status is derived by replaying what is known about it in time
order: evidence by publication date, a person's decisions by when they were made,
then the deadline. So an older article arriving late lands in its place instead of
overriding newer news, a dismissed false positive simply drops out, and the state
"as of" any date, past or future, is the same replay cut at that date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
# Statuses a passed deadline leaves where they are: settled, by evidence or a person.
FINAL_STATUSES = (Status.ACHIEVED, Status.ABANDONED, Status.MISSED)
# Past the deadline, news of a slip says the target was missed: evidence that says so.
MISSED_SIGNALS = (SignalKind.DELAY, SignalKind.ABANDONED)


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
    # When the world moved it there: the evidence's publication, the decision, the deadline.
    event_at: datetime | None = None
    # Every status the replay passed through, in event order, this one last: the
    # timeline a first poll over years of news records, step by step.
    trail: tuple["Derived", ...] = ()

    def step(self) -> "Derived":
        return replace(self, trail=())


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
    3. Past the deadline, a commitment not settled is `overdue`: no news of success
       is not news of failure. It is `missed` when evidence published after the
       deadline says it slipped or was dropped, or when a person says so.
    Evidence that needs a look (a machine reading below the configured confidence,
    not yet labelled by a person) is kept for review and moves nothing.
    """
    current = Derived(Status.PENDING)
    trail: list[Derived] = []

    def move(to: Derived) -> Derived:
        if to.status != current.status:
            trail.append(to)
        return to

    sources: dict[Status, set[str]] = {status: set() for status in CONFIRMED_STATUSES}
    previous_value = metric.baseline if metric else None
    events: list[tuple[datetime, int, object]] = [(e.published_at, 0, e) for e in evidence if e.published_at <= as_of]
    events += [(o.at, 1, o) for o in overrides if o.at <= as_of]
    for _at, _order, event in sorted(events, key=lambda item: (item[0], item[1], getattr(item[2], "entry_key", ""))):
        if isinstance(event, Override):
            current = move(Derived(event.status, "person", override=event, revised_target_year=current.revised_target_year, event_at=event.at))
            continue
        if event.needs_review:
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
        current = move(Derived(status, cause, event, revised_target_year=revised, event_at=event.published_at))
    end = deadline_moment(deadline)
    decided_after_deadline = current.override is not None and current.override.at > end
    if as_of > end and current.status not in FINAL_STATUSES and not decided_after_deadline:
        late = current.basis if current.cause == "evidence" else None
        if late is not None and late.published_at > end and late.signal in MISSED_SIGNALS:
            current = move(Derived(Status.MISSED, "evidence", late, revised_target_year=current.revised_target_year, event_at=late.published_at))
        else:
            current = move(Derived(Status.OVERDUE, "deadline", current.basis, revised_target_year=current.revised_target_year, event_at=end))
    return replace(current, trail=tuple(step.step() for step in trail))


# A child that still stands keeps its umbrella standing.
_FALLEN = (Status.ABANDONED, Status.WEAKENED)
_STANDING_ORDER = (Status.ON_TRACK, Status.DELAYED, Status.AT_RISK, Status.OVERDUE, Status.PENDING)


def rollup(own: Derived, children: Sequence[Status]) -> Derived:
    """An umbrella's status from the commitments under it (each jurisdiction's news moves
    that jurisdiction's rule): abandoned only when every child is; weakened when some
    are weakened or abandoned and others stand; achieved when every child is. Otherwise
    its own news decides, except that its own news cannot fell it while children stand:
    then it reads as the children stand."""
    if not children:
        return own
    fallen = [status for status in children if status in _FALLEN]
    if all(status is Status.ABANDONED for status in children):
        status = Status.ABANDONED
    elif fallen:
        status = Status.WEAKENED
    elif all(status is Status.ACHIEVED for status in children):
        status = Status.ACHIEVED
    elif own.status not in (*_FALLEN, Status.MISSED) and own.status is not Status.PENDING:
        return own
    else:
        status = next((candidate for candidate in _STANDING_ORDER if candidate in children), Status.PENDING)
    if status == own.status:
        return own
    return Derived(status, "children", revised_target_year=own.revised_target_year, event_at=own.event_at)


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


def _change(commitment_id: str, old: Status, step: Derived, now: datetime) -> StatusChange:
    basis = step.basis if step.cause in ("evidence", "metric") else None
    return StatusChange(
        commitment_id=commitment_id,
        old=old,
        new=step.status,
        at=now,
        cause=step.cause,
        evidence_keys=(basis.entry_key,) if basis else (),
        revised_target_year=step.revised_target_year,
        event_at=step.event_at,
    )


def timeline_changes(commitment_id: str, current: Status, recorded_until: datetime | None, derived: Derived, now: datetime) -> list[StatusChange]:
    """The history rows that take the record from `current` to `derived`, in event order.

    Where the replay reaches `current` (at or after `recorded_until`, the event time
    of the last row recorded), the steps after that point are what is new: a
    first poll over three years of news records each of them with its own date. Where
    it did not (evidence was dismissed, a rule changed), one row goes straight there.
    """
    if derived.status == current:
        return []
    trail = list(derived.trail) or [derived.step()]
    start = 0 if current is Status.PENDING else None
    for number, step in enumerate(trail):
        reached = step.event_at is None or recorded_until is None or step.event_at >= recorded_until
        if start is None and step.status == current and reached:
            start = number + 1  # the first time the replay is where the record stands
    steps = trail[start:] if start is not None else [trail[-1]]
    if not steps or steps[-1].status != derived.status:
        steps = [derived.step()]
    changes, old = [], current
    for step in steps:
        if step.status != old:
            changes.append(_change(commitment_id, old, step, now))
            old = step.status
    return changes


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
