"""The JSON API: the same rows as `tracker status --format json`, `show --format json` and `feeds --format json`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracker.model import STATUS_SORT_KEYS, Status, end_of_day
from tracker.status.review import select_rows

router = APIRouter(prefix="/api", tags=["api"])

SortKey = Literal[STATUS_SORT_KEYS]  # type: ignore[valid-type]


class StatusQuery(BaseModel):
    """The status table's filters, as `tracker status` takes them."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(None, description="Only this category.")
    status: Status | None = Field(None, description="Only commitments with this status.")
    actor: str | None = Field(None, description="Only commitments whose actor contains this text.")
    overdue: bool = Field(False, description="Only commitments past their deadline and not achieved.")
    stale: bool = Field(False, description="Only commitments with no recent evidence.")
    sort: SortKey = Field("id", description="Order by (evidence newest/most first).")
    as_of: date | None = Field(None, description="The state as of this date (past: from the record; future: a projection).")

    @model_validator(mode="before")
    @classmethod
    def empty_means_unset(cls, values: Any) -> Any:
        """A form's empty select or text box arrives as '': no filter (the default), not a bad value."""
        if isinstance(values, dict):
            return {key: value for key, value in values.items() if value != ""}
        return values

    def as_of_moment(self) -> datetime | None:
        return None if self.as_of is None else end_of_day(self.as_of)

    def select(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return select_rows(
            rows,
            category=self.category,
            status=self.status.value if self.status else None,
            actor=self.actor,
            overdue=bool(self.overdue),
            stale=bool(self.stale),
            sort=self.sort or "id",
        )


class CommitmentStatus(BaseModel):
    """One row of the status table. Times are ISO 8601 strings in UTC, as the CLI prints them."""

    id: str
    title: str
    actor: str
    category: str
    status: Status
    deadline: str = Field(description="ISO date")
    days_left: int = Field(description="Negative when the deadline has passed")
    revised_target_year: int | None
    last_changed: str | None = Field(description="When the status last changed (absent for --as-of views)")
    last_evidence: str | None
    evidence_count: int
    needs_look: int = Field(description="Evidence read too unsure to move the status: a person's label decides it.")
    stale: bool
    metric_value: float | None
    metric_trend: str | None = Field(description="improving, worsening, flat (by the metric's direction), rising or falling")
    source_document: str | None
    muted_until: str | None = Field(description="Alerts held back until then (tracker mute, Slack's Snooze)")


class HistoryItem(BaseModel):
    event_at: str
    changed_at: str
    old: Status
    new: Status
    cause: str = Field(description="evidence signal, person, deadline, …")
    by: str | None
    note: str | None
    revised_target_year: int | None
    evidence_title: str | None
    evidence_url: str | None
    evidence_feed: str | None


class EvidenceItem(BaseModel):
    id: int
    commitment: str
    entry_id: int
    item_url: str | None
    item_title: str
    feed: str
    published: str | None
    signal: str = Field(description="What counts: a person's label, else the machine's reading.")
    machine_signal: str
    confidence: float = Field(description="How sure the machine's reading is (a calibrated probability; 1 for a rule's phrase).")
    signal_source: str = Field(description="rule, target, model, phrase, or person")
    needs_look: bool = Field(description="A machine reading below [signals] min_confidence: it moved no status.")
    labelled_by: str | None
    label_note: str | None
    matched: list[str]
    target_year: int | None
    value: float | None
    change: float | None = Field(description="The tracked quantity told as a change, signed (never a level).")
    quote: str | None
    dismissed: bool


class MetricPoint(BaseModel):
    published: str
    value: float
    source: str
    title: str


class CommitmentDetail(CommitmentStatus):
    """A commitment's card: its terms, status history, evidence and metric series."""

    model_config = ConfigDict(extra="allow")

    description: str | None
    target: str
    baseline: str | None
    strength: str | None
    metric: dict[str, Any] | None
    source_quote: str | None
    status_since: str | None
    muted_note: str | None
    active: bool = Field(description="False when the commitment's rule file is gone or broken: the record is kept")
    history: list[HistoryItem]
    evidence: list[EvidenceItem]
    metric_series: list[MetricPoint]


class FeedHealth(BaseModel):
    name: str
    url: str
    health: Literal["ok", "failing", "broken", "disabled", "new"]
    last_status: str | None
    last_error: str | None
    last_warning: str | None
    consecutive_failures: int
    items: int
    last_polled: str | None
    last_new_item: str | None
    next_check: str | None
    disabled_reason: str | None


@router.get("/commitments", response_model=list[CommitmentStatus], summary="The status table")
def list_commitments(request: Request, query: Annotated[StatusQuery, Query()]) -> list[dict[str, Any]]:
    """What `tracker status --format json` prints, with the same filters and order."""
    return query.select(request.app.state.data.status_rows(query.as_of_moment()))


@router.get("/commitments/{commitment_id}", response_model=CommitmentDetail, summary="One commitment's card")
def get_commitment(request: Request, commitment_id: str, as_of: date | None = None) -> dict[str, Any]:
    """What `tracker show ID --format json` prints."""
    moment = None if as_of is None else end_of_day(as_of)
    found = request.app.state.data.commitment(commitment_id, moment)
    if found is None:
        raise HTTPException(404, f"no commitment with id {commitment_id!r}")
    return found


@router.get("/feeds", response_model=list[FeedHealth], summary="Feed health")
def list_feeds(request: Request) -> list[dict[str, Any]]:
    """What `tracker feeds --format json` prints, with a one-word health."""
    return request.app.state.data.feeds()
