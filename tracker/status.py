"""Status from evidence: pure functions, no storage.

The status is derived by replaying a commitment's evidence in publication order,
so an older article arriving late lands in its place in time instead of
overriding newer news, and a dismissed false positive simply drops out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from tracker.model import Evidence, SignalKind, Status, StatusChange

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


@dataclass(frozen=True)
class Derived:
    """The status the evidence supports, and the evidence it rests on."""

    status: Status
    basis: Evidence | None = None
    revised_target_year: int | None = None


def derive_status(evidence: Sequence[Evidence], deadline: date, confirmations: int = 1) -> Derived:
    """Replay evidence oldest first; the latest evidence that carries a signal decides."""
    current = Derived(Status.PENDING)
    sources: dict[Status, set[str]] = {status: set() for status in CONFIRMED_STATUSES}
    for item in sorted(evidence, key=lambda e: (e.published_at, e.entry_key)):
        status = SIGNAL_STATUS.get(item.signal)
        if status is None:
            continue
        if status in CONFIRMED_STATUSES:
            sources[status].add(item.source or item.entry_key)
            if len(sources[status]) < confirmations:
                continue
        revised = item.target_year if status is Status.DELAYED and item.target_year else None
        if revised is None and status is Status.DELAYED:
            revised = current.revised_target_year
        current = Derived(status, item, revised)
    return current


def status_change(
    commitment_id: str,
    current: Status,
    derived: Derived,
    now: datetime,
) -> StatusChange | None:
    """The change to record, or None when the evidence leaves the status where it is."""
    if derived.status == current:
        return None
    basis = derived.basis
    return StatusChange(
        commitment_id=commitment_id,
        old=current,
        new=derived.status,
        at=now,
        cause="evidence" if basis else "recomputed",
        evidence_keys=(basis.entry_key,) if basis else (),
        revised_target_year=derived.revised_target_year,
    )
