"""SQLModel tables: the tracker's durable state.

Uniqueness lives in the database (feed name, entry key, evidence per entry and
commitment, delivery dedupe key), so a second poll or a second instance can never
store a thing twice however the code above is interleaved.
Every time is UTC and timezone-aware.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from datetime import timezone

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, on every backend.

    SQLite has no time zones and hands back naive values; this puts UTC back on
    them and refuses naive values going in, where the zone would be a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: every stored time must be timezone-aware")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class FeedRow(SQLModel, table=True):
    __tablename__ = "feed"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    url: str
    configured_url: str
    active: bool = True
    interval_seconds: float = 1800.0
    # HTTP validators, sent back verbatim on the next fetch.
    etag: Optional[str] = None
    last_modified: Optional[str] = None
    body_hash: Optional[str] = None
    # The hashes of the items of the document last parsed (tracker.feeds.split), and how
    # that parse went: "incremental" or "full", and its time.
    item_hashes: Optional[list] = Field(default=None, sa_column=Column(JSON))
    last_parse_path: Optional[str] = None
    last_parse_seconds: Optional[float] = None
    # Health.
    last_status: Optional[str] = None
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    last_warning: Optional[str] = Field(default=None, sa_column=Column(Text))
    last_polled_at: Optional[datetime] = _utc_column()
    last_success_at: Optional[datetime] = _utc_column()
    last_new_item_at: Optional[datetime] = _utc_column()
    next_check_at: Optional[datetime] = _utc_column(index=True)
    consecutive_failures: int = 0
    disabled_reason: Optional[str] = None
    items: int = 0
    # The instance (storage.registry) whose claim `next_check_at` is while it works on
    # the feed; cleared when the check is recorded. A dead holder's claim is released.
    lease_holder: Optional[str] = None
    # Every check's outcome, counted for /metrics (counters summed over the fleet).
    fetches_ok: int = 0
    fetches_not_modified: int = 0
    fetches_failed: int = 0


class EntryRow(SQLModel, table=True):
    __tablename__ = "entry"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    feed_id: int = Field(foreign_key="feed.id", index=True)
    url: Optional[str] = Field(default=None, index=True)
    guid: Optional[str] = None
    title: str = Field(sa_column=Column(Text, nullable=False))
    title_fingerprint: Optional[str] = Field(default=None, index=True)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    content: str = Field(default="", sa_column=Column(Text, nullable=False))
    language: Optional[str] = None
    published_at: Optional[datetime] = _utc_column(index=True)
    first_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EntryFeedRow(SQLModel, table=True):
    """Every feed that carried an entry: a syndicated story is one entry, many feeds."""

    __tablename__ = "entry_feed"

    entry_id: int = Field(foreign_key="entry.id", primary_key=True)
    feed_id: int = Field(foreign_key="feed.id", primary_key=True)
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class CommitmentRow(SQLModel, table=True):
    __tablename__ = "commitment"

    id: str = Field(primary_key=True)
    title: str
    actor: str
    category: str = Field(index=True)
    target: str = Field(sa_column=Column(Text, nullable=False))
    deadline: date
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    baseline: Optional[str] = None
    strength: Optional[str] = None
    confirmations: int = 1
    stale_after_days: Optional[int] = None
    # name, unit, target, direction, baseline, baseline_year: what the status compares numbers to.
    metric: Optional[dict] = Field(default=None, sa_column=Column(JSON))
    source_document: Optional[str] = None
    source_quote: Optional[str] = Field(default=None, sa_column=Column(Text))
    channel: Optional[str] = None
    muted_until: Optional[datetime] = _utc_column()
    muted_note: Optional[str] = None
    active: bool = True
    rule_hash: Optional[str] = None
    # An umbrella commitment's status is derived from those naming it as `parent`.
    parent_id: Optional[str] = Field(default=None, index=True)
    status: str = "pending"
    status_since: Optional[datetime] = _utc_column()
    revised_target_year: Optional[int] = None
    # The publication time of the evidence the current status rests on: an older
    # article arriving late must not override it.
    status_evidence_at: Optional[datetime] = _utc_column()
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EvidenceRow(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("entry_id", "commitment_id", name="uq_evidence_entry_commitment"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entry.id", index=True)
    commitment_id: str = Field(foreign_key="commitment.id", index=True)
    matched_terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    signal: str = "mention"
    signal_phrase: Optional[str] = None
    target_year: Optional[int] = None
    value: Optional[float] = None
    # The tracked quantity told as a change ("down 36.2%"), signed: never a level.
    change: Optional[float] = None
    quote: str = Field(default="", sa_column=Column(Text, nullable=False))
    published_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    dismissed_at: Optional[datetime] = _utc_column()
    dismissed_note: Optional[str] = None
    # How sure the machine's reading is and what made it: rule (a rule's phrase),
    # target (a stated year against the target), model, phrase (built-in phrases).
    confidence: float = 1.0
    signal_source: str = "rule"
    # Below the configured confidence: kept, shown as "needs a look", moves nothing.
    needs_review: bool = False
    # A person's reading, which replaces the machine's at once and for good.
    label_signal: Optional[str] = None
    labelled_by: Optional[str] = None
    labelled_at: Optional[datetime] = _utc_column()
    label_note: Optional[str] = Field(default=None, sa_column=Column(Text))


class StatusChangeRow(SQLModel, table=True):
    """History: appended, never updated."""

    __tablename__ = "status_change"
    __table_args__ = (Index("ix_status_change_commitment_at", "commitment_id", "changed_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    commitment_id: str = Field(foreign_key="commitment.id")
    old_status: str
    new_status: str
    changed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # When it happened: the evidence's publication, the deadline, the decision.
    event_at: Optional[datetime] = _utc_column()
    cause: str
    evidence_id: Optional[int] = Field(default=None, foreign_key="evidence.id")
    changed_by: Optional[str] = None
    note: Optional[str] = Field(default=None, sa_column=Column(Text))
    revised_target_year: Optional[int] = None


class DeliveryRow(SQLModel, table=True):
    """The outbox: written in the same transaction as the change that causes it."""

    __tablename__ = "delivery"

    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)
    kind: str
    commitment_id: Optional[str] = Field(default=None, foreign_key="commitment.id", index=True)
    channel: Optional[str] = None
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # pending → sending → sent; failed (retried later), parked (needs a config fix or
    # `tracker outbox retry`), muted (the commitment was muted when it came due).
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    # The last attempt may have reached the far end (a crash or a timeout after
    # sending): look before sending again.
    in_doubt: bool = False
    next_attempt_at: Optional[datetime] = _utc_column()
    # The instance sending it (state `sending`): a dead holder's delivery is due at once.
    lease_holder: Optional[str] = None
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text))
    remote_id: Optional[str] = None
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: Optional[datetime] = _utc_column()


class ThreadRow(SQLModel, table=True):
    """One conversation per commitment per channel: the first alert opens it."""

    __tablename__ = "thread"
    __table_args__ = (UniqueConstraint("channel", "commitment_id", name="uq_thread_channel_commitment"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    channel: str
    commitment_id: str = Field(foreign_key="commitment.id")
    channel_id: Optional[str] = None  # what the chat service calls the channel (Slack: C…)
    parent_id: str  # the parent message (Slack: its ts)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class JobRunRow(SQLModel, table=True):
    """A calendar job's run, one row per job and scheduled time: with several instances
    on one database, the first to insert the row runs the job; the others skip it.
    A run that never finished (its instance died) can be taken over after a lease."""

    __tablename__ = "job_run"

    name: str = Field(primary_key=True)
    scheduled_for: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    finished_at: Optional[datetime] = _utc_column()
    instance: str


class InstanceRow(SQLModel, table=True):
    """A process that claims work (feeds, deliveries, calendar jobs), while it lives.

    `host`, `process_space`, `pid` and `pid_started` let an instance in the same process
    space tell at once that another is gone (a pid can be reused; its start time cannot);
    `heartbeat_at`, renewed every half tick (at most 30 s), tells the others."""

    __tablename__ = "instance"

    id: str = Field(primary_key=True)
    host: str
    pid: int
    pid_started: Optional[str] = None
    # The boot and the pid namespace the pid belongs to: two containers sharing a host
    # name have pids of their own, and only one's pids can be looked at from the other.
    process_space: Optional[str] = None
    command: str
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    tick_seconds: float
    last_tick_at: Optional[datetime] = _utc_column()
    last_tick_seconds: Optional[float] = None


ALL_TABLES = (FeedRow, EntryRow, EntryFeedRow, CommitmentRow, EvidenceRow, StatusChangeRow, DeliveryRow, ThreadRow, JobRunRow, InstanceRow)


class SignalModelRow(SQLModel, table=True):
    """A signal model trained here (`tracker signals train`): the shipped examples plus
    this team's labels. The newest row is what every instance on the database reads."""

    __tablename__ = "signal_model"

    id: Optional[int] = Field(default=None, primary_key=True)
    trained_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    examples: int = 0
    labels: int = 0
    # The model's own file format (tracker.matching.signal_model): weights, never code.
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
