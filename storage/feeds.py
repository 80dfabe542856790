"""Feeds: the configured set, what is due, and each fetch's outcome and health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Collection, Mapping, Sequence

from sqlalchemy import or_, tuple_, update
from sqlmodel import Session, col, func, select

from storage.sql import chunks, serialize
from storage.tables import FeedRow
from tracker.model import FeedSource


def sync_feeds(session: Session, feeds: Sequence[tuple[str, str, float]], now: datetime, only_add: bool = False) -> None:
    """Make the feed table match the config: (name, url, interval) per feed.

    A feed whose configured URL changed starts afresh from the new URL; one that left
    the config is deactivated, not deleted, so its entries keep their source.
    """
    serialize(session, "sync_feeds")
    existing = {row.name: row for row in session.exec(select(FeedRow).order_by(FeedRow.id))}
    configured = set()
    for name, url, interval in feeds:
        configured.add(name)
        row = existing.get(name)
        if row is None:
            session.add(FeedRow(name=name, url=url, configured_url=url, interval_seconds=interval, next_check_at=now))
            continue
        if only_add:
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
        if not only_add and name not in configured and row.active:
            row.active = False
            session.add(row)


def all_feeds(session: Session) -> list[FeedRow]:
    return list(session.exec(select(FeedRow).order_by(FeedRow.name)))


def _is_due(now: datetime):
    """Due: its next check has come, or it was last polled after `now`: the clock went
    back, and a next check computed from the later time would stall the feed."""
    return or_(FeedRow.next_check_at == None, FeedRow.next_check_at <= now, FeedRow.last_polled_at > now + CLOCK_SLACK)  # noqa: E711


# Larger than any sane skew between the clocks of instances sharing a database, so a
# host a little behind never takes another's fresh polls for a clock set back.
CLOCK_SLACK = timedelta(minutes=10)


def count_due_feeds(session: Session, now: datetime, all_active: bool = False) -> int:
    query = select(func.count()).select_from(FeedRow).where(FeedRow.active == True)  # noqa: E712
    if not all_active:
        query = query.where(FeedRow.disabled_reason == None, _is_due(now))  # noqa: E711
    return session.exec(query).one()


def claim_due_feeds(session: Session, now: datetime, limit: int | None, *, all_active: bool = False, skip: Collection[int] = ()) -> list[FeedRow]:
    """Due feeds (or every active one), locked until the caller commits.

    On PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED: instances claiming at
    the same moment get disjoint sets, and once the caller has moved each row's
    `next_check_at` forward (its lease) and committed, no instance sees it due
    again before that time. SQLite has one instance (storage.instance) and ignores
    the lock clause.
    """
    query = select(FeedRow).where(FeedRow.active == True)  # noqa: E712
    if not all_active:
        query = query.where(FeedRow.disabled_reason == None).where(_is_due(now))  # noqa: E711
    if skip:  # a full poll's feeds done earlier in the same run
        query = query.where(col(FeedRow.id).notin_(list(skip)))
    query = query.order_by(FeedRow.next_check_at, FeedRow.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.exec(query))


def load_feeds(session: Session, feed_ids: Sequence[int]) -> None:
    """Load these feeds' rows in one query per 500, so that the lookups by id that
    follow (several per feed, in a batch of 304s) are answered from memory. The session
    holds its objects weakly: the rows are kept in `session.info` for its lifetime."""
    rows: list[FeedRow] = []
    for chunk in chunks(list(feed_ids), 500):
        rows += session.exec(select(FeedRow).where(col(FeedRow.id).in_(chunk))).all()
    session.info.setdefault("loaded_feeds", []).extend(rows)


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
    return FeedSource(feed.id, feed.name, feed.url, item_hashes=frozenset(feed.item_hashes or ()))


def record_fetch_failure(
    session: Session, feed_id: int, error: str, status: str, now: datetime, next_check_at: datetime, body_hash: str | None = None
) -> FeedRow:
    """A failed check. `body_hash`: the document that could not be used, so the same
    bytes next time fail without being parsed again."""
    feed = session.get(FeedRow, feed_id)
    feed.last_status = status
    if body_hash is not None:
        feed.body_hash, feed.etag, feed.last_modified = body_hash, None, None
    feed.last_error = error
    feed.last_polled_at = now
    feed.consecutive_failures += 1
    feed.fetches_failed += 1
    feed.next_check_at = next_check_at
    feed.lease_holder = None
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
    parsed: bool = True,
    item_hashes: tuple[str, ...] | None = None,
    parse_path: str | None = None,
    parse_seconds: float | None = None,
) -> FeedRow:
    feed = session.get(FeedRow, feed_id)
    feed.last_status = status
    # A document feedparser had to repair still says so: its entries are kept, and
    # whoever reviews feed health sees what was wrong with it. Not parsed this time
    # (304, same bytes): it is the same document, with the same warning.
    if not parsed:
        warning = feed.last_warning
    feed.last_error = f"recovered: {warning}" if warning else None
    feed.last_warning = warning
    feed.last_polled_at = feed.last_success_at = now
    feed.consecutive_failures = 0
    if status == "304":
        feed.fetches_not_modified += 1
    else:
        feed.fetches_ok += 1
    feed.next_check_at = next_check_at
    feed.lease_holder = None
    if etag is not None or last_modified is not None or status != "304":
        feed.etag, feed.last_modified = etag, last_modified
    if body_hash is not None:
        feed.body_hash = body_hash
    if parsed:
        # The next parse skips the items with these bytes; a document that could not be
        # cut leaves none, so the next one is read whole.
        feed.item_hashes = list(item_hashes) if item_hashes else None
        feed.last_parse_path, feed.last_parse_seconds = parse_path, parse_seconds
    if moved_to:
        feed.url = moved_to
    session.add(feed)
    return feed


def extend_leases(session: Session, held: Mapping[int, datetime], until: datetime) -> dict[int, datetime]:
    """Move each held feed's next check to `until`, where it still stands at the time this
    instance set: a feed recorded meanwhile, or taken over by another instance after the
    lease ran out, is left alone. One statement; returns the leases kept, with their end."""
    if not held:
        return {}
    statement = (
        update(FeedRow)
        .where(tuple_(col(FeedRow.id), col(FeedRow.next_check_at)).in_(list(held.items())))
        .values(next_check_at=until)
        .returning(col(FeedRow.id))
        .execution_options(synchronize_session=False)
    )
    return {feed_id: until for feed_id in session.execute(statement).scalars()}
