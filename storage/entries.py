"""Entries: stored once, however many feeds and polls carry them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from storage.sql import chunks as _chunks, dialect_insert as _insert
from storage.tables import EntryFeedRow, EntryRow, FeedRow
from tracker.model import Entry


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
    links = EntryFeedRow.__table__
    added_links = session.execute(
        _insert(session, links).on_conflict_do_nothing().returning(links.c.entry_id),
        [{"entry_id": entry_id, "feed_id": feed_id, "seen_at": now} for entry_id in sorted(linked)],
    ).all()
    # The feed's item count moves by the links just made (in SQL, so it cannot lose an
    # update): counting every link of the feed again cost more than storing the entries.
    changes: dict[str, Any] = {"items": FeedRow.__table__.c["items"] + len(added_links)}
    if new:
        changes["last_new_item_at"] = now
    session.execute(update(FeedRow).where(FeedRow.id == feed_id).values(**changes))
    return new


def _existing_ids(session: Session, entries: Sequence[Entry]) -> dict[str, int]:
    """Entry key → id of the stored entry it is (same key, same link, or same story).

    One query for the three ways an entry may be stored already: a poll stores a few
    entries for each of many feeds, and each statement costs more than the rows it reads."""
    keys = [entry.key for entry in entries]
    urls = sorted({entry.url for entry in entries if entry.url})
    fingerprints = sorted({entry.fingerprint for entry in entries if entry.fingerprint})
    if len(keys) + len(urls) + len(fingerprints) > 900:  # beyond SQLite's bound parameters: a chunk at a time
        return _existing_ids_in_chunks(session, entries)
    rows = session.exec(
        select(EntryRow.id, EntryRow.key, EntryRow.url, EntryRow.title_fingerprint, EntryRow.published_at).where(
            or_(col(EntryRow.key).in_(keys), col(EntryRow.url).in_(urls), col(EntryRow.title_fingerprint).in_(fingerprints))
        )
    ).all()
    by_key = {key: row_id for row_id, key, _, _, _ in rows}
    by_url: dict[str, int] = {}
    for row_id, _, url, _, _ in rows:
        if url:
            by_url.setdefault(url, row_id)
    found: dict[str, int] = {}
    for entry in entries:
        if entry.key in by_key:
            found[entry.key] = by_key[entry.key]
        elif entry.url and entry.url in by_url:
            found[entry.key] = by_url[entry.url]
    remaining = [entry for entry in entries if entry.key not in found]
    found.update(_same_story(remaining, rows))
    return found


def _existing_ids_in_chunks(session: Session, entries: Sequence[Entry]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(list(entries), 250):
        found.update(_existing_ids(session, chunk))
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


def _same_story(entries: Sequence[Entry], rows) -> dict[str, int]:
    """Entries stored under the same title fingerprint within a few days: one story.
    `rows`: (id, key, url, fingerprint, published_at) of stored entries."""
    by_fingerprint = {entry.fingerprint: entry for entry in entries if entry.fingerprint}
    found: dict[str, int] = {}
    for row_id, key, _url, fingerprint, published in rows:
        entry = by_fingerprint.get(fingerprint)
        if entry is None or key == entry.key:
            continue
        if published and entry.published_at and abs(published - entry.published_at) > SAME_STORY_WINDOW:
            continue
        found.setdefault(entry.key, row_id)
    return found
