"""Read models for the people who review: status table, evidence list, feed health.

Plain dicts with stable keys; the CLI (and later the web page and API) format them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, func, select

from storage.tables import CommitmentRow, EntryRow, EvidenceRow, FeedRow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None



def evidence_rows(session: Session, commitment_id: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(EvidenceRow, EntryRow, FeedRow)
        .join(EntryRow, EntryRow.id == EvidenceRow.entry_id)
        .join(FeedRow, FeedRow.id == EntryRow.feed_id)
        .order_by(EvidenceRow.published_at.desc(), EvidenceRow.id.desc())
    )
    if commitment_id:
        query = query.where(EvidenceRow.commitment_id == commitment_id)
    return [
        {
            "id": evidence.id,
            "commitment": evidence.commitment_id,
            "entry_id": entry.id,
            "item_url": entry.url,
            "item_title": entry.title,
            "feed": feed.name,
            "published": _iso(evidence.published_at),
            # What counts: a person's label, else the machine's reading.
            "signal": evidence.label_signal or evidence.signal,
            "machine_signal": evidence.signal,
            "confidence": evidence.confidence,
            "signal_source": "person" if evidence.label_signal else evidence.signal_source,
            "needs_look": evidence.needs_review and not evidence.label_signal and evidence.dismissed_at is None,
            "labelled_by": evidence.labelled_by,
            "label_note": evidence.label_note,
            "matched": list(evidence.matched_terms),
            "target_year": evidence.target_year,
            "value": evidence.value,
            "change": evidence.change,
            "quote": evidence.quote,
            "dismissed": evidence.dismissed_at is not None,
        }
        for evidence, entry, feed in session.exec(query)
    ]


def feed_rows(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(FeedRow).where(FeedRow.active == True).order_by(FeedRow.name))  # noqa: E712
    return [
        {
            "name": row.name,
            "url": row.url,
            "last_status": row.last_status,
            "last_error": row.last_error,
            "last_warning": row.last_warning,
            "consecutive_failures": row.consecutive_failures,
            "items": row.items,
            "last_polled": _iso(row.last_polled_at),
            "last_new_item": _iso(row.last_new_item_at),
            "next_check": _iso(row.next_check_at),
            "disabled_reason": row.disabled_reason,
            # How the last document was read: "incremental" (new items only) or "full".
            "parse_path": row.last_parse_path,
            "parse_seconds": round(row.last_parse_seconds, 4) if row.last_parse_seconds is not None else None,
        }
        for row in rows
    ]



def iter_entries(session: Session, batch: int = 1000):
    """Every stored entry, oldest first, as (id, published ISO, feed name, Entry), in batches."""
    from tracker.model import Entry

    last_id = 0
    while True:
        rows = session.exec(
            select(EntryRow, FeedRow.name).join(FeedRow, FeedRow.id == EntryRow.feed_id).where(EntryRow.id > last_id).order_by(EntryRow.id).limit(batch)
        ).all()
        if not rows:
            return
        for row, feed in rows:
            entry = Entry(key=row.key, title=row.title, url=row.url, summary=row.summary, content=row.content, published_at=row.published_at)
            yield row.id, _iso(row.published_at), feed, entry
        last_id = rows[-1][0].id


def evidence_entry_ids(session: Session, commitment_id: str) -> set[int]:
    return set(session.exec(select(EvidenceRow.entry_id).where(EvidenceRow.commitment_id == commitment_id)).all())


def _commitment_dict(row: CommitmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "actor": row.actor,
        "category": row.category,
        "description": row.description,
        "target": row.target,
        "deadline": row.deadline,
        "baseline": row.baseline,
        "strength": row.strength,
        "confirmations": row.confirmations,
        "stale_after_days": row.stale_after_days,
        "metric": row.metric,
        "source_document": row.source_document,
        "source_quote": row.source_quote,
        "channel": row.channel,
        "muted_until": row.muted_until,
        "muted_note": row.muted_note,
        "active": row.active,
        "status": row.status,
        "status_since": row.status_since,
        "revised_target_year": row.revised_target_year,
        "created_at": row.created_at,
    }


def commitments(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(select(CommitmentRow).where(CommitmentRow.active == True).order_by(CommitmentRow.id))  # noqa: E712
    return [_commitment_dict(row) for row in rows]


def commitment(session: Session, commitment_id: str) -> dict[str, Any] | None:
    row = session.get(CommitmentRow, commitment_id)
    return _commitment_dict(row) if row else None


def evidence_records(session: Session, commitment_id: str):
    from storage.repository import evidence_for_status

    return evidence_for_status(session, commitment_id)


def overrides(session: Session, commitment_id: str):
    from storage.repository import overrides_for

    return overrides_for(session, commitment_id)


def history(session: Session, commitment_id: str) -> list[dict[str, Any]]:
    """Every change in the order recorded (a batch's steps in event order), with when it
    happened (`event_at`), when it was recorded, and the evidence entry that caused it."""
    from storage.tables import StatusChangeRow

    query = (
        select(StatusChangeRow, EntryRow.title, EntryRow.url, FeedRow.name)
        .outerjoin(EvidenceRow, EvidenceRow.id == StatusChangeRow.evidence_id)
        .outerjoin(EntryRow, EntryRow.id == EvidenceRow.entry_id)
        .outerjoin(FeedRow, FeedRow.id == EntryRow.feed_id)
        .where(StatusChangeRow.commitment_id == commitment_id)
        .order_by(StatusChangeRow.id)
    )
    return [
        {
            "event_at": (change.event_at or change.changed_at).isoformat(),
            "changed_at": change.changed_at.isoformat(),
            "old": change.old_status,
            "new": change.new_status,
            "cause": change.cause,
            "by": change.changed_by,
            "note": change.note,
            "revised_target_year": change.revised_target_year,
            "evidence_title": title,
            "evidence_url": url,
            "evidence_feed": feed,
        }
        for change, title, url, feed in session.exec(query)
    ]


def changes_since(session: Session, since: datetime | None) -> list[dict[str, Any]]:
    """Every status change after `since` (all when None), oldest first, with the commitment's title."""
    from storage.tables import StatusChangeRow

    query = select(StatusChangeRow, CommitmentRow.title).join(CommitmentRow, CommitmentRow.id == StatusChangeRow.commitment_id)
    if since is not None:
        query = query.where(StatusChangeRow.changed_at > since)
    return [
        {"id": change.commitment_id, "title": title, "old": change.old_status, "new": change.new_status, "cause": change.cause, "at": change.changed_at}
        for change, title in session.exec(query.order_by(StatusChangeRow.changed_at))
    ]


def last_digest_at(session: Session) -> datetime | None:
    from storage.tables import DeliveryRow

    return session.exec(select(func.max(DeliveryRow.created_at)).where(DeliveryRow.kind == "digest")).one()


def status_history(session: Session) -> list[dict[str, Any]]:
    """Every status change of every commitment, by commitment then oldest first, with the
    evidence behind it (title, link, feed, published, quoted passage): the export's rows."""
    from storage.tables import StatusChangeRow

    query = (
        select(StatusChangeRow, CommitmentRow.title, EvidenceRow, EntryRow.title, EntryRow.url, FeedRow.name)
        .join(CommitmentRow, CommitmentRow.id == StatusChangeRow.commitment_id)
        .outerjoin(EvidenceRow, EvidenceRow.id == StatusChangeRow.evidence_id)
        .outerjoin(EntryRow, EntryRow.id == EvidenceRow.entry_id)
        .outerjoin(FeedRow, FeedRow.id == EntryRow.feed_id)
        .order_by(StatusChangeRow.commitment_id, StatusChangeRow.id)
    )
    return [
        {
            "commitment_id": change.commitment_id,
            "commitment_title": commitment_title,
            "event_at": (change.event_at or change.changed_at).isoformat(),
            "changed_at": change.changed_at.isoformat(),
            "old_status": change.old_status,
            "new_status": change.new_status,
            "cause": change.cause,
            "changed_by": change.changed_by,
            "note": change.note,
            "revised_target_year": change.revised_target_year,
            "evidence_title": title,
            "evidence_url": url,
            "evidence_feed": feed,
            "evidence_published": _iso(evidence.published_at) if evidence else None,
            "evidence_signal": evidence.signal if evidence else None,
            "evidence_quote": evidence.quote if evidence else None,
        }
        for change, commitment_title, evidence, title, url, feed in session.exec(query)
    ]


def count_entries(session: Session) -> int:
    return session.exec(select(func.count()).select_from(EntryRow)).one()


def first_seen(session: Session, entry_ids: list[int]) -> dict[int, datetime]:
    """When the bot first stored each entry: the stand-in for a missing publication date."""
    from sqlmodel import col

    found: dict[int, datetime] = {}
    for start in range(0, len(entry_ids), 500):
        chunk = entry_ids[start : start + 500]
        found.update(session.exec(select(EntryRow.id, EntryRow.first_seen_at).where(col(EntryRow.id).in_(chunk))).all())
    return found
