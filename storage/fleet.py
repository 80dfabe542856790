"""The whole fleet's figures, read from the database at once: what /metrics tells.

Any instance answers for all of them, since every instance writes its state here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage.tables import CommitmentRow, DeliveryRow, EntryRow, EvidenceRow, FeedRow, InstanceRow

# What a delivery still to go out is waiting in.
WAITING_STATES = ("pending", "sending", "failed")


@dataclass
class FleetFigures:
    feeds_by_state: dict[str, int] = field(default_factory=dict)
    fetches_by_outcome: dict[str, int] = field(default_factory=dict)
    entries: int = 0
    matches: int = 0
    commitments_by_status: dict[str, int] = field(default_factory=dict)
    deliveries_by_state: dict[str, int] = field(default_factory=dict)
    oldest_waiting_delivery: datetime | None = None
    instances: list[InstanceRow] = field(default_factory=list)


def feed_state():
    """One state per configured feed: disabled, never polled, failing, or ok."""
    return case(
        (FeedRow.disabled_reason != None, "disabled"),  # noqa: E711
        (FeedRow.last_polled_at == None, "never_polled"),  # noqa: E711
        (FeedRow.consecutive_failures > 0, "failing"),
        else_="ok",
    )


def fleet_figures(session: Session) -> FleetFigures:
    figures = FleetFigures()
    state = feed_state()
    active = FeedRow.active == True  # noqa: E712  (inactive rows: removed from the config, or `poll --file`)
    figures.feeds_by_state = {name: 0 for name in ("ok", "failing", "disabled", "never_polled")}
    figures.feeds_by_state.update(dict(session.exec(select(state, func.count()).where(active).group_by(state)).all()))
    ok, not_modified, failed = session.exec(
        select(func.coalesce(func.sum(FeedRow.fetches_ok), 0), func.coalesce(func.sum(FeedRow.fetches_not_modified), 0),
               func.coalesce(func.sum(FeedRow.fetches_failed), 0))
    ).one()
    figures.fetches_by_outcome = {"ok": int(ok), "not_modified": int(not_modified), "failed": int(failed)}
    figures.entries = session.exec(select(func.count()).select_from(EntryRow)).one()
    figures.matches = session.exec(select(func.count()).select_from(EvidenceRow)).one()
    figures.commitments_by_status = dict(
        session.exec(select(CommitmentRow.status, func.count()).where(CommitmentRow.active == True).group_by(CommitmentRow.status)).all()  # noqa: E712
    )
    figures.deliveries_by_state = {name: 0 for name in ("pending", "sending", "sent", "failed", "parked", "muted")}
    figures.deliveries_by_state.update(dict(session.exec(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)).all()))
    figures.oldest_waiting_delivery = session.exec(
        select(func.min(DeliveryRow.created_at)).where(col(DeliveryRow.state).in_(WAITING_STATES))
    ).one()
    figures.instances = list(session.exec(select(InstanceRow).order_by(InstanceRow.started_at)))
    return figures
