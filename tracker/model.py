"""The data in flight between the stages: fetch → parse → match → status → store → notify.

Plain frozen dataclasses, standard library only, so every stage can be tested
on its own and nothing downstream can change what an earlier stage produced.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Callable, Mapping

# Told (done, total) as a long operation advances; how it is shown is the caller's business.
Progress = Callable[[int, int], None]


class Status(str, enum.Enum):
    """Where a commitment stands. Values are what the database, JSON and CLI use."""

    PENDING = "pending"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    DELAYED = "delayed"
    WEAKENED = "weakened"
    ACHIEVED = "achieved"
    # The deadline passed with no evidence that the target was met: not yet a failure,
    # which takes evidence that says so, or a person's decision (`missed`).
    OVERDUE = "overdue"
    MISSED = "missed"
    ABANDONED = "abandoned"


# The status table's columns one may order by (`tracker status --sort`, the web page, the API).
STATUS_SORT_KEYS = ("id", "deadline", "days_left", "status", "actor", "last_evidence", "evidence_count")


class SignalKind(str, enum.Enum):
    """What a matching entry says about its commitment."""

    MENTION = "mention"
    PROGRESS = "progress"
    REAFFIRMED = "reaffirmed"
    DOUBT = "doubt"
    DELAY = "delay"
    WEAKENED = "weakened"
    ABANDONED = "abandoned"
    ACHIEVED = "achieved"


# The signals in the order a person picks one (`tracker evidence label`, Slack's menu).
SIGNALS_TO_CHOOSE = tuple(SignalKind(name) for name in ("progress", "reaffirmed", "doubt", "delay", "weakened", "abandoned", "achieved", "mention"))


@dataclass(frozen=True)
class FeedSource:
    """What the fetcher needs to know about one feed: where it is and what it last saw."""

    id: int
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # Why the document with `body_hash` could not be used, if it could not: the
    # same bytes again fail the same way, without parsing them again.
    body_error: str | None = None
    # The hashes of the items of the document last parsed: items with these bytes
    # were read already, and need no parse.
    item_hashes: frozenset[str] = frozenset()
    # The URL in the config (`url` may be where a permanent redirect moved it): its host
    # is the one trusted with a private address (tracker.feeds.addresses).
    configured_url: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """One HTTP fetch, successful or not. `body` is None when there is nothing to parse."""

    feed: FeedSource
    status: int | None
    # Not in the repr: asyncio and logging format results, and a body can be megabytes.
    body: bytes | None = field(default=None, repr=False)
    body_hash: str | None = None  # of `body`, computed once where it is read
    headers: Mapping[str, str] = field(default_factory=dict)
    final_url: str | None = None
    moved_permanently_to: str | None = None
    error: str | None = None
    retry_after_seconds: float | None = None
    elapsed_seconds: float = 0.0

    @property
    def is_not_modified(self) -> bool:
        return self.status == 304

    @property
    def is_ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Entry:
    """A normalised feed entry. `key` is its stable identity across polls and feeds."""

    key: str
    title: str
    url: str | None = None
    summary: str = ""
    content: str = ""
    published_at: datetime | None = None
    language: str | None = None
    guid: str | None = None
    # The title reduced to its words, to recognise one story carried by several feeds.
    fingerprint: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """What the parser made of one document."""

    entries: tuple[Entry, ...]
    title: str | None = None
    warning: str | None = None
    error: str | None = None
    ttl_minutes: int | None = None
    # "incremental" (only the items not read before went to feedparser) or "full";
    # the document's item hashes when it could be cut at its items; the parse's time.
    path: str = "full"
    item_hashes: tuple[str, ...] | None = None
    seconds: float = field(default=0.0, compare=False)  # how long, not what: two parses of the same bytes are equal


@dataclass(frozen=True)
class TermHit:
    """One term of a rule found in one field of an entry."""

    term: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Match:
    """An entry that matched a rule, with the reasons."""

    rule_id: str
    entry_key: str
    hits: tuple[TermHit, ...]
    signal: SignalKind = SignalKind.MENTION
    signal_phrase: str | None = None
    target_year: int | None = None
    value: float | None = None
    quote: str = ""
    # How sure the reading is (a calibrated probability for the model; 1 for a rule's
    # phrase), and what decided it: "rule" (the rule's own phrase), "target" (a year
    # stated for the commitment against its target), "model", or "phrase" (built-in
    # phrases, when no model could be loaded).
    confidence: float = 1.0
    signal_source: str = "rule"
    # A number of the tracked quantity told as a change ("up 66%"), signed; never a level.
    change: float | None = None
    # Below `[signals] min_confidence`: stored and shown as "needs a look", moves no status.
    needs_review: bool = False

    @property
    def matched_terms(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for hit in self.hits:
            seen.setdefault(hit.term, None)
        return tuple(seen)


@dataclass(frozen=True)
class Evidence:
    """A match as the status engine sees it: what it said and when it was published."""

    entry_key: str
    signal: SignalKind
    published_at: datetime
    source: str = ""
    target_year: int | None = None
    value: float | None = None
    # A machine reading below the configured confidence is kept but moves nothing until
    # a person labels it; a person's label always moves.
    needs_review: bool = False


@dataclass(frozen=True)
class Override:
    """A person's decision on a status: it holds until evidence pointing elsewhere arrives."""

    status: Status
    at: datetime
    by: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class StatusChange:
    """A commitment moving from one status to another, and why."""

    commitment_id: str
    old: Status
    new: Status
    at: datetime
    cause: str
    evidence_keys: tuple[str, ...] = ()
    note: str | None = None
    changed_by: str | None = None
    revised_target_year: int | None = None
    # When it happened in the world: the evidence's publication, the deadline, the
    # person's decision. `at` is when the tracker recorded it.
    event_at: datetime | None = None

    @property
    def happened_at(self) -> datetime:
        return self.event_at or self.at


@dataclass(frozen=True)
class ChannelRoutes:
    """Where alerts go: a rule's own channel, else its category's, else the default;
    notices about the tracker itself go to the operations channel."""

    default: str | None = None
    ops: str | None = None
    by_category: Mapping[str, str] = field(default_factory=dict)

    def for_commitment(self, rule_channel: str | None, category: str) -> str | None:
        return rule_channel or self.by_category.get(category) or self.default

    @property
    def for_notices(self) -> str | None:
        return self.ops or self.default


@dataclass(frozen=True)
class ThreadRef:
    """An existing conversation: the channel as the chat service names it, and its parent message."""

    channel_id: str | None
    parent_id: str


@dataclass(frozen=True)
class Alert:
    """Everything a notifier needs to render one message, and nothing it must look up."""

    kind: str
    commitment_id: str
    commitment_title: str
    channel: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    deadline: date | None = None
    target: str | None = None
    entry_title: str | None = None
    entry_url: str | None = None
    feed_name: str | None = None
    published_at: datetime | None = None
    matched_terms: tuple[str, ...] = ()
    signal: str | None = None
    source_document: str | None = None
    text: str | None = None
    # The stored entry behind an evidence or status alert: Slack's "Dismiss" button names it.
    entry_id: int | None = None
    # How sure the machine's reading is, what decided it, and whether it needs a look
    # (below the configured confidence: it moved nothing).
    confidence: float | None = None
    signal_source: str | None = None
    needs_review: bool = False


def alert_to_payload(alert: Alert) -> dict:
    """An Alert as JSON-ready data, for the outbox row."""
    payload = {}
    for name in Alert.__dataclass_fields__:
        value = getattr(alert, name)
        if isinstance(value, (date, datetime)):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        payload[name] = value
    return payload


def alert_from_payload(payload: Mapping) -> Alert:
    values = {name: payload.get(name) for name in Alert.__dataclass_fields__ if name in payload}
    if values.get("deadline"):
        values["deadline"] = date.fromisoformat(values["deadline"])
    if values.get("published_at"):
        values["published_at"] = datetime.fromisoformat(values["published_at"])
    values["matched_terms"] = tuple(values.get("matched_terms") or ())
    return Alert(**values)


def end_of_day(day: date) -> datetime:
    """A date given as a limit (`--as-of`, `--until`, a snooze) means the end of that day, UTC."""
    return datetime.combine(day, time.max, tzinfo=timezone.utc)
