"""What reviewers see: the status table and a commitment's card, now or as of any date.

"As of" replays the record up to that date: a past date shows what was known then,
a future date projects what will be missed if nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage import views
from tracker.status.commitments import metric_target
from tracker.model import Status
from tracker.status.derive import days_left, derive_status, is_stale


def status_table(session: Session, now: datetime, stale_after_days: int, as_of: datetime | None = None) -> list[dict[str, Any]]:
    return [status_row(session, commitment, now, stale_after_days, as_of) for commitment in views.commitments(session)]


def status_row(session: Session, commitment: dict[str, Any], now: datetime, stale_after_days: int, as_of: datetime | None = None) -> dict[str, Any]:
    """One commitment's row of the status table (now, or replayed as of a date)."""
    moment = as_of or now
    evidence = [item for item in views.evidence_records(session, commitment["id"]) if item.published_at <= moment]
    status, revised = commitment["status"], commitment["revised_target_year"]
    if as_of is not None:
        derived = _derive(session, commitment, evidence, moment)
        status, revised = derived.status.value, derived.revised_target_year
    last_evidence = max((item.published_at for item in evidence), default=None)
    series = [(item.published_at, item.value) for item in sorted(evidence, key=lambda e: e.published_at) if item.value is not None]
    stale_days = commitment["stale_after_days"] or stale_after_days
    muted = commitment["muted_until"] if commitment["muted_until"] and commitment["muted_until"] > now else None
    return {
        "id": commitment["id"],
        "title": commitment["title"],
        "actor": commitment["actor"],
        "category": commitment["category"],
        "status": status,
        "deadline": commitment["deadline"].isoformat(),
        "days_left": days_left(commitment["deadline"], moment.date()),
        "revised_target_year": revised,
        "last_changed": commitment["status_since"].isoformat() if commitment["status_since"] and as_of is None else None,
        "last_evidence": last_evidence.isoformat() if last_evidence else None,
        "evidence_count": len(evidence),
        # Machine readings too unsure to move the status: a person's look decides them.
        "needs_look": sum(1 for item in evidence if item.needs_review),
        "stale": status not in ("achieved", "missed", "abandoned") and is_stale(last_evidence, commitment["created_at"], moment, stale_days),
        "metric_value": series[-1][1] if series else None,
        "metric_trend": _trend(series, commitment["metric"]),
        "source_document": commitment["source_document"],
        "muted_until": muted.isoformat() if muted else None,
    }


# Newest evidence and most evidence first; everything else ascending.
_DESCENDING = ("evidence_count", "last_evidence")


def select_rows(
    rows: list[dict[str, Any]],
    *,
    category: str | None = None,
    status: str | None = None,
    actor: str | None = None,
    overdue: bool = False,
    stale: bool = False,
    sort: str = "id",
) -> list[dict[str, Any]]:
    """The status table's filters and order, shared by `tracker status`, the web page and the API."""
    chosen = [
        row
        for row in rows
        if (not category or row["category"].casefold() == category.casefold())
        and (not status or row["status"] == status)
        and (not actor or actor.casefold() in row["actor"].casefold())
        and (not overdue or (row["days_left"] < 0 and row["status"] != "achieved"))
        and (not stale or row["stale"])
    ]
    chosen.sort(key=lambda row: (row[sort] is None, _sort_value(row, sort)), reverse=sort in _DESCENDING)
    if sort in _DESCENDING:  # reversed, the rows without a value would come first
        chosen.sort(key=lambda row: row[sort] is None)
    return chosen


# Statuses in the order a commitment moves through them, not alphabetically.
_STATUS_ORDER = {status.value: index for index, status in enumerate(Status)}


def _sort_value(row: dict[str, Any], key: str) -> Any:
    if key == "status":
        return _STATUS_ORDER.get(row["status"], len(_STATUS_ORDER))
    return row[key] if row[key] is not None else 0


def card(session: Session, commitment_id: str, now: datetime, stale_after_days: int, as_of: datetime | None = None) -> dict[str, Any] | None:
    """Everything about one commitment: terms, status and since when, history, evidence, metric series."""
    commitment = views.commitment(session, commitment_id)
    if commitment is None:
        return None
    moment = as_of or now
    row = status_row(session, commitment, now, stale_after_days, as_of)
    history = [change for change in views.history(session, commitment_id) if as_of is None or change["event_at"] <= moment.isoformat()]
    evidence = [item for item in views.evidence_rows(session, commitment_id) if item["published"] and item["published"] <= moment.isoformat()]
    series = [
        {"published": item["published"], "value": item["value"], "source": item["feed"], "title": item["item_title"]}
        for item in reversed(evidence)
        if item["value"] is not None and not item["dismissed"]
    ]
    times = {key: commitment[key].isoformat() if commitment[key] else None for key in ("status_since", "created_at")}
    return {
        **commitment,
        **row,
        **times,
        "deadline": commitment["deadline"].isoformat(),
        "history": history,
        "evidence": evidence,
        "metric_series": series,
    }


def _derive(session: Session, commitment: dict, evidence, moment: datetime):
    overrides = [override for override in views.overrides(session, commitment["id"]) if override.at <= moment]
    return derive_status(
        evidence,
        commitment["deadline"],
        moment,
        confirmations=commitment["confirmations"],
        overrides=overrides,
        metric=metric_target(commitment["metric"]),
    )


def _trend(series: list[tuple[datetime, float]], metric: dict | None) -> str | None:
    """'improving', 'worsening' or 'flat' by the metric's direction; 'rising'/'falling' without one."""
    if len(series) < 2 and not (series and metric and metric.get("baseline") is not None):
        return None
    previous = series[-2][1] if len(series) >= 2 else metric["baseline"]
    latest = series[-1][1]
    if latest == previous:
        return "flat"
    if not metric:
        return "rising" if latest > previous else "falling"
    better = latest < previous if metric["direction"] == "at_most" else latest > previous
    return "improving" if better else "worsening"
