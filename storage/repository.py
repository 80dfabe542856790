"""Commitments, their evidence and their history: the record statuses are derived from."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable
from urllib.parse import urlsplit

from sqlmodel import Session, select

from storage.sql import dialect_insert as _insert, serialize
from storage.tables import CommitmentRow, DeliveryRow, EntryRow, EvidenceRow, FeedRow, StatusChangeRow
from tracker.model import Evidence, Match, Override, SignalKind, Status, StatusChange


def sync_commitments(session: Session, rules: Iterable, now: datetime, retire_missing: bool = True) -> None:
    """Upsert a commitment per rule; a rule that disappeared leaves its history inactive.

    Rows are written only when a rule changed: every instance and `tracker serve`
    sync on start, and a no-op sync must not lock every commitment.
    """
    serialize(session, "sync_commitments")
    existing = {row.id: row for row in session.exec(select(CommitmentRow).order_by(CommitmentRow.id))}
    seen = set()
    for rule in rules:
        seen.add(rule.id)
        row = existing.get(rule.id) or CommitmentRow(id=rule.id, title=rule.title, actor=rule.actor, category=rule.category, target=rule.target, deadline=rule.deadline, created_at=now, updated_at=now)
        row.title, row.actor, row.category = rule.title, rule.actor, rule.category
        row.target, row.deadline, row.channel = rule.target, rule.deadline, rule.channel
        row.description, row.baseline, row.strength = rule.description, rule.baseline, rule.strength
        row.confirmations, row.stale_after_days = rule.confirmations, rule.stale_after_days
        row.metric = rule.metric.model_dump() if rule.metric else None
        row.source_document, row.source_quote = rule.source.document, rule.source.quote
        row.parent_id = rule.parent
        row.active = True
        if row.id not in existing or session.is_modified(row):
            row.updated_at = now
            session.add(row)
    for commitment_id, row in existing.items():
        if retire_missing and commitment_id not in seen and row.active:
            row.active = False
            session.add(row)



def parent_ids(session: Session) -> set[str]:
    """The commitments some other commitment names as its umbrella."""
    return {parent for parent in session.exec(select(CommitmentRow.parent_id).where(CommitmentRow.parent_id != None)) if parent}  # noqa: E711


def children_statuses(session: Session, parent_id: str) -> list[Status]:
    """The statuses of the active commitments that name `parent_id` as their umbrella."""
    rows = session.exec(select(CommitmentRow.status).where(CommitmentRow.parent_id == parent_id, CommitmentRow.active == True))  # noqa: E712
    return [Status(status) for status in rows]


def is_new_database(session: Session) -> bool:
    """Nothing recorded yet: no status ever changed, no alert ever queued (a first run)."""
    return session.exec(select(StatusChangeRow.id).limit(1)).first() is None and session.exec(select(DeliveryRow.id).limit(1)).first() is None


def active_commitments(session: Session) -> list[CommitmentRow]:
    return list(session.exec(select(CommitmentRow).where(CommitmentRow.active == True).order_by(CommitmentRow.id)))  # noqa: E712


def record_evidence(session: Session, entry_id: int, found: Match, published_at: datetime, now: datetime) -> int | None:
    """Store a match as evidence; None when this entry was already evidence for the commitment."""
    statement = (
        _insert(session, EvidenceRow)
        .values(
            entry_id=entry_id,
            commitment_id=found.rule_id,
            matched_terms=list(found.matched_terms),
            signal=found.signal.value,
            signal_phrase=found.signal_phrase,
            target_year=found.target_year,
            value=found.value,
            change=found.change,
            quote=found.quote,
            published_at=published_at,
            recorded_at=now,
            confidence=found.confidence,
            signal_source=found.signal_source,
            needs_review=found.needs_review,
        )
        .on_conflict_do_nothing(index_elements=["entry_id", "commitment_id"])
        .returning(EvidenceRow.id)
    )
    return session.execute(statement).scalar_one_or_none()


def evidence_for_status(session: Session, commitment_id: str) -> list[Evidence]:
    """The commitment's live (not dismissed) evidence, as the status engine sees it.

    The source of a piece of evidence is its publisher (the article's host), so two
    feeds of one newspaper do not count as two independent confirmations. A person's
    label replaces the machine's signal, and needs no look.
    """
    rows = session.exec(
        select(EvidenceRow, EntryRow.key, EntryRow.url, FeedRow.name)
        .join(EntryRow, EntryRow.id == EvidenceRow.entry_id)
        .join(FeedRow, FeedRow.id == EntryRow.feed_id)
        .where(EvidenceRow.commitment_id == commitment_id, EvidenceRow.dismissed_at == None)  # noqa: E711
    )
    return [
        Evidence(
            entry_key=key,
            signal=SignalKind(row.label_signal or row.signal),
            published_at=row.published_at,
            source=_publisher(url) or feed_name,
            target_year=row.target_year,
            value=row.value,
            needs_review=row.needs_review and not row.label_signal,
        )
        for row, key, url, feed_name in rows
    ]


def _publisher(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def overrides_for(session: Session, commitment_id: str) -> list[Override]:
    """A person's decisions are the history rows they caused."""
    rows = session.exec(
        select(StatusChangeRow)
        .where(StatusChangeRow.commitment_id == commitment_id, StatusChangeRow.cause == "person")
        .order_by(StatusChangeRow.changed_at)
    )
    return [Override(Status(row.new_status), row.changed_at, row.changed_by, row.note) for row in rows]


def commitment(session: Session, commitment_id: str, *, lock: bool = False) -> CommitmentRow | None:
    """The commitment's row; with `lock`, held until the transaction ends (PostgreSQL).

    Several instances may recompute one commitment at once (evidence from two feeds,
    the deadline job): the lock makes each see the other's change before deciding its
    own, so a transition is recorded once. FOR NO KEY UPDATE, so evidence rows that
    merely reference the commitment are not blocked. Callers locking several take
    them in id order, so two transactions never wait on each other.
    """
    if not lock:
        return session.get(CommitmentRow, commitment_id)
    return session.get(CommitmentRow, commitment_id, with_for_update={"key_share": True}, populate_existing=True)


def dismiss_evidence(session: Session, entry_id: int, commitment_id: str | None, note: str, now: datetime) -> list[str]:
    """Mark an entry's evidence a false positive (kept, not deleted); returns the commitments touched."""
    query = select(EvidenceRow).where(EvidenceRow.entry_id == entry_id, EvidenceRow.dismissed_at == None)  # noqa: E711
    if commitment_id:
        query = query.where(EvidenceRow.commitment_id == commitment_id)
    touched = []
    for row in session.exec(query):
        row.dismissed_at, row.dismissed_note = now, note
        session.add(row)
        touched.append(row.commitment_id)
    return touched


def label_evidence(session: Session, entry_id: int, commitment_id: str, signal: SignalKind, note: str | None, by: str | None, now: datetime) -> bool:
    """A person's reading of an entry for a commitment. Where the matcher never took the
    entry as evidence for it, the person's word makes it evidence. False: no such entry."""
    entry = session.get(EntryRow, entry_id)
    if entry is None:
        return False
    row = session.exec(select(EvidenceRow).where(EvidenceRow.entry_id == entry_id, EvidenceRow.commitment_id == commitment_id)).first()
    if row is None:
        row = EvidenceRow(entry_id=entry_id, commitment_id=commitment_id, matched_terms=[], signal=SignalKind.MENTION.value,
                          quote=entry.title, published_at=entry.published_at or entry.first_seen_at, recorded_at=now,
                          signal_source="person")
    row.label_signal, row.labelled_by, row.labelled_at, row.label_note = signal.value, by, now, note
    row.dismissed_at = row.dismissed_note = None  # a person's reading of it says it is evidence
    session.add(row)
    session.flush()
    return True


def labelled_evidence(session: Session) -> list[tuple[EntryRow, str, str, str]]:
    """(entry, commitment id, commitment category, signal) of every label people gave."""
    rows = session.exec(
        select(EntryRow, EvidenceRow.commitment_id, CommitmentRow.category, EvidenceRow.label_signal)
        .join(EvidenceRow, EvidenceRow.entry_id == EntryRow.id)
        .join(CommitmentRow, CommitmentRow.id == EvidenceRow.commitment_id)
        .where(EvidenceRow.label_signal != None)  # noqa: E711
        .order_by(EvidenceRow.id)
    )
    return list(rows)


def commitments_of_entry(session: Session, entry_id: int) -> list[str]:
    """The commitments an entry is evidence for, dismissed or not."""
    return list(session.exec(select(EvidenceRow.commitment_id).where(EvidenceRow.entry_id == entry_id).order_by(EvidenceRow.commitment_id)))


def record_status_change(session: Session, change: StatusChange) -> int:
    """Append to history and move the commitment; one transaction with its cause."""
    evidence_id = None
    if change.evidence_keys:
        evidence_id = session.exec(
            select(EvidenceRow.id)
            .join(EntryRow, EntryRow.id == EvidenceRow.entry_id)
            .where(EntryRow.key == change.evidence_keys[0], EvidenceRow.commitment_id == change.commitment_id)
        ).first()
    row = StatusChangeRow(
        commitment_id=change.commitment_id,
        old_status=change.old.value,
        new_status=change.new.value,
        changed_at=change.at,
        event_at=change.happened_at,
        cause=change.cause,
        evidence_id=evidence_id,
        changed_by=change.changed_by,
        note=change.note,
        revised_target_year=change.revised_target_year,
    )
    session.add(row)
    commitment = session.get(CommitmentRow, change.commitment_id)
    commitment.status = change.new.value
    # "Since" is when it happened in the world, not when this tracker first read of it.
    commitment.status_since = change.happened_at
    commitment.revised_target_year = change.revised_target_year
    commitment.updated_at = change.at
    session.add(commitment)
    session.flush()
    return row.id


def set_mute(session: Session, commitment_id: str, until: datetime | None, note: str | None) -> bool:
    row = session.get(CommitmentRow, commitment_id)
    if row is None:
        return False
    row.muted_until, row.muted_note = until, note
    session.add(row)
    return True
