"""Query functions: the only place that speaks SQL. Every function takes the session
it works in, so the caller decides what is one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from typing import Iterable, Sequence

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from storage.tables import (
    CommitmentRow,
    DeliveryRow,
    EntryFeedRow,
    EntryRow,
    EvidenceRow,
    FeedRow,
    StatusChangeRow,
)
from tracker.model import Entry, Evidence, FeedSource, Match, Override, SignalKind, Status, StatusChange


def _insert(session: Session, table):
    """The dialect's INSERT, for ON CONFLICT DO NOTHING."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# -- feeds ------------------------------------------------------------------------


def sync_feeds(session: Session, feeds: Sequence[tuple[str, str, float]], now: datetime) -> None:
    """Make the feed table match the config: (name, url, interval) per feed.

    A feed whose configured URL changed starts afresh from the new URL; one that left
    the config is deactivated, not deleted, so its entries keep their source.
    """
    existing = {row.name: row for row in session.exec(select(FeedRow))}
    configured = set()
    for name, url, interval in feeds:
        configured.add(name)
        row = existing.get(name)
        if row is None:
            session.add(FeedRow(name=name, url=url, configured_url=url, interval_seconds=interval, next_check_at=now))
            continue
        if row.configured_url != url:
            row.url = row.configured_url = url
            row.etag = row.last_modified = row.body_hash = row.disabled_reason = None
            row.consecutive_failures = 0
            row.next_check_at = now
        row.interval_seconds = interval
        if not row.active:
            row.active, row.next_check_at = True, now
        session.add(row)
    for name, row in existing.items():
        if name not in configured and row.active:
            row.active = False
            session.add(row)


def active_feeds(session: Session) -> list[FeedRow]:
    return list(session.exec(select(FeedRow).where(FeedRow.active == True).order_by(FeedRow.id)))  # noqa: E712


def all_feeds(session: Session) -> list[FeedRow]:
    return list(session.exec(select(FeedRow).order_by(FeedRow.name)))


def due_feeds(session: Session, now: datetime) -> list[FeedRow]:
    return list(
        session.exec(
            select(FeedRow)
            .where(FeedRow.active == True, FeedRow.disabled_reason == None)  # noqa: E711,E712
            .where(or_(FeedRow.next_check_at == None, FeedRow.next_check_at <= now))  # noqa: E711
            .order_by(FeedRow.next_check_at)
        )
    )


def feed_interval(session: Session, feed_id: int) -> timedelta:
    return timedelta(seconds=session.get(FeedRow, feed_id).interval_seconds)


def feed_failures(session: Session, feed_id: int) -> int:
    return session.get(FeedRow, feed_id).consecutive_failures


def disable_feed(session: Session, feed_id: int, reason: str) -> None:
    """Stop polling a feed until its URL changes in the config."""
    feed = session.get(FeedRow, feed_id)
    feed.disabled_reason = reason
    session.add(feed)


def ensure_file_feed(session: Session, name: str, path: str, now: datetime) -> FeedSource:
    """A feed row for a saved file ingested with `poll --file`: never polled."""
    feed = session.exec(select(FeedRow).where(FeedRow.name == name)).first()
    if feed is None:
        feed = FeedRow(name=name, url=path, configured_url=path, active=False, next_check_at=None)
        session.add(feed)
        session.flush()
    return FeedSource(feed.id, feed.name, feed.url)


def record_fetch_failure(session: Session, feed_id: int, error: str, status: str, now: datetime, next_check_at: datetime) -> FeedRow:
    feed = session.get(FeedRow, feed_id)
    feed.last_status = status
    feed.last_error = error
    feed.last_polled_at = now
    feed.consecutive_failures += 1
    feed.next_check_at = next_check_at
    session.add(feed)
    return feed


def record_fetch_success(
    session: Session,
    feed_id: int,
    *,
    status: str,
    now: datetime,
    next_check_at: datetime,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    warning: str | None,
    moved_to: str | None = None,
) -> FeedRow:
    feed = session.get(FeedRow, feed_id)
    feed.last_status = status
    # A document feedparser had to repair still says so: its entries are kept, and
    # whoever reviews feed health sees what was wrong with it.
    feed.last_error = f"recovered: {warning}" if warning else None
    feed.last_warning = warning
    feed.last_polled_at = feed.last_success_at = now
    feed.consecutive_failures = 0
    feed.next_check_at = next_check_at
    if etag is not None or last_modified is not None or status != "304":
        feed.etag, feed.last_modified = etag, last_modified
    if body_hash is not None:
        feed.body_hash = body_hash
    if moved_to:
        feed.url = moved_to
    session.add(feed)
    return feed


# -- entries ----------------------------------------------------------------------


def record_new_entries(session: Session, feed_id: int, entries: Sequence[Entry], now: datetime) -> list[tuple[int, Entry]]:
    """Store entries not seen before (by key, by canonical link, or as the same story).

    Returns only the new ones with their ids. Every entry, new or not, is linked to
    this feed, so a syndicated story lists every feed that carried it. Inserts go
    in batches with ON CONFLICT DO NOTHING: another writer storing the same entry
    at the same moment is not an error, and the database keeps it unique.
    """
    if not entries:
        return []
    unique = list({entry.key: entry for entry in entries}.values())
    existing = _existing_ids(session, unique)
    candidates: list[Entry] = []
    claimed_urls: set[str] = set()
    for entry in unique:
        if entry.key in existing or (entry.url and entry.url in claimed_urls):
            continue
        candidates.append(entry)
        if entry.url:
            claimed_urls.add(entry.url)
    inserted: dict[str, int] = {}
    if candidates:
        table = EntryRow.__table__
        statement = _insert(session, table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id, table.c.key)
        inserted = {key: row_id for row_id, key in session.execute(statement, [_entry_values(feed_id, e, now) for e in candidates])}
    new = [(inserted[entry.key], entry) for entry in candidates if entry.key in inserted]
    # Lost a race with another writer: the entry exists, it is just not ours to report.
    raced = _ids_by_key(session, [entry.key for entry in candidates if entry.key not in inserted])
    linked = set(existing.values()) | set(inserted.values()) | set(raced.values())
    session.execute(
        _insert(session, EntryFeedRow.__table__).on_conflict_do_nothing(),
        [{"entry_id": entry_id, "feed_id": feed_id, "seen_at": now} for entry_id in sorted(linked)],
    )
    if new:
        feed = session.get(FeedRow, feed_id)
        feed.last_new_item_at = now
        session.add(feed)
    return new


def _existing_ids(session: Session, entries: Sequence[Entry]) -> dict[str, int]:
    """Entry key → id of the stored entry it is (same key, same link, or same story)."""
    found: dict[str, int] = {}
    keys = [entry.key for entry in entries]
    for chunk in _chunks(keys, 500):
        for row_id, key in session.exec(select(EntryRow.id, EntryRow.key).where(col(EntryRow.key).in_(chunk))):
            found[key] = row_id
    by_url: dict[str, list[str]] = {}
    for entry in entries:
        if entry.url and entry.key not in found:
            by_url.setdefault(entry.url, []).append(entry.key)
    for chunk in _chunks(list(by_url), 500):
        for row_id, url in session.exec(select(EntryRow.id, EntryRow.url).where(col(EntryRow.url).in_(chunk))):
            for key in by_url[url]:
                found.setdefault(key, row_id)
    remaining = [entry for entry in entries if entry.key not in found]
    found.update(_same_story_entries(session, remaining))
    return found


def _ids_by_key(session: Session, keys: list[str]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for chunk in _chunks(keys, 500):
        for row_id, key in session.exec(select(EntryRow.id, EntryRow.key).where(col(EntryRow.key).in_(chunk))):
            rows[key] = row_id
    return rows


def _entry_values(feed_id: int, entry: Entry, now: datetime) -> dict:
    return {
        "key": entry.key,
        "feed_id": feed_id,
        "url": entry.url,
        "guid": entry.guid,
        "title": entry.title,
        "title_fingerprint": entry.fingerprint,
        "summary": entry.summary,
        "content": entry.content,
        "language": entry.language,
        "published_at": entry.published_at,
        "first_seen_at": now,
    }


SAME_STORY_WINDOW = timedelta(days=3)


def _same_story_entries(session: Session, entries: Sequence[Entry]) -> dict[str, int]:
    """Entries already stored under the same title fingerprint within a few days: one story."""
    by_fingerprint = {entry.fingerprint: entry for entry in entries if entry.fingerprint}
    found: dict[str, int] = {}
    for chunk in _chunks(list(by_fingerprint), 500):
        rows = session.exec(
            select(EntryRow.id, EntryRow.title_fingerprint, EntryRow.published_at, EntryRow.key).where(
                col(EntryRow.title_fingerprint).in_(chunk)
            )
        )
        for row_id, fingerprint, published, key in rows:
            entry = by_fingerprint[fingerprint]
            if key == entry.key:
                continue
            if published and entry.published_at and abs(published - entry.published_at) > SAME_STORY_WINDOW:
                continue
            found.setdefault(entry.key, row_id)
    return found


def count_feed_items(session: Session, feed_id: int) -> int:
    return session.exec(select(func.count()).select_from(EntryFeedRow).where(EntryFeedRow.feed_id == feed_id)).one()


def set_feed_items(session: Session, feed_id: int) -> None:
    feed = session.get(FeedRow, feed_id)
    feed.items = count_feed_items(session, feed_id)
    session.add(feed)


def _chunks(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- commitments, evidence, history -----------------------------------------------


def sync_commitments(session: Session, rules: Iterable, now: datetime, retire_missing: bool = True) -> None:
    """Upsert a commitment per rule; a rule that disappeared leaves its history inactive."""
    existing = {row.id: row for row in session.exec(select(CommitmentRow))}
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
        row.active = True
        row.updated_at = now
        session.add(row)
    for commitment_id, row in existing.items():
        if retire_missing and commitment_id not in seen and row.active:
            row.active = False
            session.add(row)


def commitment_status(session: Session, commitment_id: str) -> str:
    return session.get(CommitmentRow, commitment_id).status


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
            quote=found.quote,
            published_at=published_at,
            recorded_at=now,
        )
        .on_conflict_do_nothing(index_elements=["entry_id", "commitment_id"])
        .returning(EvidenceRow.id)
    )
    return session.execute(statement).scalar_one_or_none()


def evidence_for_status(session: Session, commitment_id: str) -> list[Evidence]:
    """The commitment's live (not dismissed) evidence, as the status engine sees it.

    The source of a piece of evidence is its publisher (the article's host), so two
    feeds of one newspaper do not count as two independent confirmations.
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
            signal=SignalKind(row.signal),
            published_at=row.published_at,
            source=_publisher(url) or feed_name,
            target_year=row.target_year,
            value=row.value,
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


def commitment(session: Session, commitment_id: str) -> CommitmentRow | None:
    return session.get(CommitmentRow, commitment_id)


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
        cause=change.cause,
        evidence_id=evidence_id,
        changed_by=change.changed_by,
        note=change.note,
        revised_target_year=change.revised_target_year,
    )
    session.add(row)
    commitment = session.get(CommitmentRow, change.commitment_id)
    commitment.status = change.new.value
    commitment.status_since = change.at
    commitment.revised_target_year = change.revised_target_year
    commitment.updated_at = change.at
    session.add(commitment)
    session.flush()
    return row.id


# -- the outbox -------------------------------------------------------------------


def enqueue_delivery(session: Session, dedupe_key: str, kind: str, channel: str | None, payload: dict, commitment_id: str | None, now: datetime) -> None:
    session.execute(
        _insert(session, DeliveryRow)
        .values(
            dedupe_key=dedupe_key,
            kind=kind,
            channel=channel,
            payload=payload,
            commitment_id=commitment_id,
            state="pending",
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


def claim_deliveries(session: Session, now: datetime, limit: int = 100, lease: timedelta = timedelta(minutes=5)) -> list[DeliveryRow]:
    """Claim due deliveries with a conditional UPDATE, so two senders never take the same row.

    A claim is a lease: a row left in `sending` by a process that died is claimable
    again once the lease has expired.
    """
    candidates = session.exec(
        select(DeliveryRow.id)
        .where(
            or_(
                and_(col(DeliveryRow.state).in_(["pending", "failed"]), DeliveryRow.next_attempt_at <= now),
                and_(DeliveryRow.state == "sending", DeliveryRow.next_attempt_at <= now),
            )
        )
        .order_by(DeliveryRow.id)
        .limit(limit)
    ).all()
    claimed = []
    for delivery_id in candidates:
        result = session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .where(
                or_(
                    col(DeliveryRow.state).in_(["pending", "failed"]),
                    and_(DeliveryRow.state == "sending", DeliveryRow.next_attempt_at <= now),
                )
            )
            .values(state="sending", next_attempt_at=now + lease, attempts=DeliveryRow.attempts + 1)
        )
        if result.rowcount == 1:
            claimed.append(delivery_id)
    session.commit()
    return [session.get(DeliveryRow, delivery_id) for delivery_id in claimed]


def mark_delivered(session: Session, delivery_id: int, remote_id: str | None, now: datetime) -> None:
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="sent", sent_at=now, remote_id=remote_id, last_error=None)
    )


def mark_failed(session: Session, delivery_id: int, error: str, retry_at: datetime | None) -> None:
    """A transient failure retries at `retry_at`; None parks the delivery until someone acts."""
    session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(state="failed" if retry_at else "parked", last_error=error, next_attempt_at=retry_at)
    )
