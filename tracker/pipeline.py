"""One tick of the bot: fetch → parse → match → status → store → notify.

Orchestration only: SQL lives in storage.repository, HTTP in tracker.feeds.fetch, Slack
in notifiers. Everything the tick needs is passed in, clock included.
"""

from __future__ import annotations

import logging
import time
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from notifiers import Notifier
from notifiers.delivery import Pacer, Sender, deliver_pending
from notifiers.notices import enqueue_notice
from storage import entries as entry_store, feeds as feed_store, repository
from storage.leases import BatchLease
from tracker.instances import Registration
from tracker.feeds.fetch import FetchPolicy, body_hash, fetch_feeds
from tracker.feeds.intervals import backoff, jittered, next_interval
from tracker.feeds.parse import parse_document
from tracker.feeds.pool import ParserPool, parse_jobs
from tracker.matching.matcher import RuleMatcher
from tracker.matching.ruleformat import Rule
from tracker.model import ChannelRoutes, Entry, FeedSource, FetchResult, Match, ParsedFeed, Progress, StatusChange
from tracker.status.alerts import enqueue_match_alert
from tracker.status.commitments import lock_order, recompute_parents, recompute_status

log = logging.getLogger("tracker")


@dataclass(frozen=True)
class Tick:
    """The parts one tick wires together, built by the composition root. Only the
    pipeline sees this object: each stage is handed the parts it needs."""

    engine: Engine
    fetch_policy: FetchPolicy
    matcher: RuleMatcher
    rules: dict[str, Rule]
    notifier: Notifier
    routes: ChannelRoutes
    parser: ParserPool = field(default_factory=lambda: ParserPool(workers=1))
    pacer: Pacer = field(default_factory=lambda: Pacer(0.0))
    jitter: float = 0.1
    broken_after: int = 3
    max_backoff: timedelta = timedelta(hours=24)
    # How long a claimed feed is this instance's: after a crash, another takes it then.
    lease: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    random_fraction: Callable[[], float] = random.random
    # This process in the instance registry: its claims carry its id, and at every tick
    # what dead instances held is taken back at once. None: claims are only timed leases.
    instance: Registration | None = None

    @property
    def sender(self) -> Sender:
        return Sender(self.engine, self.notifier, self.routes, self.pacer, self.clock, holder=self.instance.id if self.instance else None)


@dataclass
class TickReport:
    feeds_checked: int = 0
    not_modified: int = 0
    unchanged: int = 0
    failed: int = 0
    new_entries: int = 0
    matches: int = 0
    status_changes: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The cycle's own time (claim, fetch, parse, store, deliver), not the process's start.
    started: float = field(default_factory=time.perf_counter)
    took: float | None = None

    def finish(self) -> None:
        self.took = time.perf_counter() - self.started

    def summary(self) -> str:
        took = f" took={self.took:.2f}s" if self.took is not None else ""
        return (
            f"feeds_checked={self.feeds_checked} not_modified={self.not_modified} unchanged={self.unchanged} "
            f"failed={self.failed} new_entries={self.new_entries} matches={self.matches} "
            f"status_changes={self.status_changes} alerts_sent={self.alerts_sent} alerts_failed={self.alerts_failed}{took}"
        )


def run_tick(tick: Tick, *, all_feeds: bool = False, progress: Progress | None = None) -> TickReport:
    """One cycle.

    1. Claim a batch of due feeds (or, for a full poll, of the active ones). Claimed
       rows are locked so other instances skip them, and each one's next check
       moves to the end of a lease: a crash mid-cycle neither hammers a feed nor
       loses it (another instance takes it when the lease ends).
    2. Fetch the batch concurrently, parsing on every core.
    3. Per feed, in one transaction: record the fetch, store new entries, match them,
       record evidence, recompute statuses, and write the alerts to the outbox.
       Until a feed is recorded its lease is renewed as the batch goes (BatchLease):
       a slow batch is never taken over by another instance while this one lives.
    4. Claim the next batch while feeds are due (or not yet polled, for a full
       poll): instances sharing a database interleave their batches, and each
       batch's lease starts when it is claimed.
    5. Deliver what is in the outbox.

    `progress` hears (feeds done, feeds to do) after each feed.
    """
    report = TickReport()
    if tick.instance:
        tick.instance.reclaim()
    # In batches: bodies are held until stored, so memory follows the batch, not the feed count.
    batch = max(32, 4 * tick.fetch_policy.concurrency)
    total = count_feeds(tick, all_feeds) if progress else 0
    _tell(progress, 0, total)
    done: set[int] = set()
    while True:
        sources, lease = claim_feeds(tick, batch, all_feeds=all_feeds, skip=done)
        if not sources:
            break
        done.update(source.id for source in sources)
        results = fetch_feeds(sources, tick.fetch_policy)
        lease.renew_if_due()
        pairs = []
        for pair in zip(results, tick.parser.parse_in_order(parse_jobs(results, needs_parse))):
            pairs.append(pair)
            lease.renew_if_due()
        # Nothing to parse (a 304, the same body, a failure): recorded together, one transaction.
        unparsed = [result for result, parsed in pairs if parsed is None]
        _record_unparsed(tick, unparsed, report)
        lease.release(result.feed.id for result in unparsed)
        _tell(progress, report.feeds_checked, max(total, report.feeds_checked))
        for result, parsed in pairs:
            if parsed is not None:
                lease.renew_if_due()
                report.feeds_checked += 1
                _process_or_report(tick, result, report, parsed)
                lease.release([result.feed.id])
                _tell(progress, report.feeds_checked, max(total, report.feeds_checked))
    deliver(tick, report)
    report.finish()
    if tick.instance:
        tick.instance.record_tick(report.took)
    log.info("tick %s", report.summary() + (" (each feed's error: tracker feeds)" if report.failed else ""))
    return report


def claim_feeds(
    tick: Tick, limit: int, *, all_feeds: bool = False, skip: set[int] = frozenset()
) -> tuple[list[FeedSource], BatchLease]:
    """Claim up to `limit` due feeds (or active ones, for a full poll, but those in `skip`)
    for this instance, until their lease ends (which the caller renews as it works)."""
    now = tick.clock()
    with Session(tick.engine) as session:
        rows = feed_store.claim_due_feeds(session, now, limit, all_active=all_feeds, skip=skip if all_feeds else ())
        sources, held = [], {}
        for row in rows:
            row.next_check_at = now + min(tick.lease, jittered(timedelta(seconds=row.interval_seconds), tick.jitter, tick.random_fraction()))
            held[row.id] = row.next_check_at
            row.lease_holder = tick.instance.id if tick.instance else None
            session.add(row)
            body_error = row.last_error if row.last_status == "200" else None
            sources.append(FeedSource(row.id, row.name, row.url, row.etag, row.last_modified, row.body_hash, body_error,
                                      frozenset(row.item_hashes or ()), configured_url=row.configured_url))
        session.commit()
    return sources, BatchLease(tick.engine, held, now, tick.clock)


def count_feeds(tick: Tick, all_feeds: bool) -> int:
    """How many feeds this cycle is about to check, for a progress display."""
    with Session(tick.engine) as session:
        return feed_store.count_due_feeds(session, tick.clock(), all_active=all_feeds)


def _record_unparsed(tick: Tick, results: list[FetchResult], report: TickReport) -> None:
    if not results:
        return
    report.feeds_checked += len(results)
    try:
        with Session(tick.engine) as session:
            feed_store.load_feeds(session, [result.feed.id for result in results])
            for result in results:
                record_fetch(tick, session, result, report, None)
            session.commit()
    except DBAPIError as error:  # as for one feed: the batch's turn is lost, its leases bring it back
        report.failed += len(results)
        message = f"{len(results)} feeds: database error, retried after the lease: {type(error.orig or error).__name__}"
        report.errors.append(message)
        log.error("%s", message)


def _process_or_report(tick: Tick, result: FetchResult, report: TickReport, parsed: ParsedFeed | None) -> None:
    """A database failure (a restart, a lost connection) costs this feed's turn, not the tick:
    its transaction rolled back, and its lease brings it back."""
    try:
        process_fetch(tick, result, report, parsed)
    except DBAPIError as error:
        report.failed += 1
        message = f"feed {result.feed.name}: database error, retried after the lease: {type(error.orig or error).__name__}"
        report.errors.append(message)
        log.error("%s", message)


def ingest_files(tick: Tick, paths: Sequence[Path], progress: Progress | None = None) -> TickReport:
    """Treat saved feed files as fetched documents (replays, archives, trying rules)."""
    report = TickReport()
    _tell(progress, 0, len(paths))
    for path in paths:
        with Session(tick.engine) as session:
            source = feed_store.ensure_file_feed(session, f"file:{path.name}", path.resolve().as_uri(), tick.clock())
            session.commit()
        body = path.read_bytes()
        report.feeds_checked += 1
        result = FetchResult(feed=source, status=200, body=body, body_hash=body_hash(body), headers={}, final_url=source.url)
        process_fetch(tick, result, report)
        _tell(progress, report.feeds_checked, len(paths))
    deliver(tick, report)
    report.finish()
    log.info("ingest %s", report.summary())
    return report


def deliver(tick: Tick, report: TickReport) -> None:
    """Send what the outbox holds, counted in the tick's report."""
    delivered = deliver_pending(tick.sender)
    report.alerts_sent += delivered.alerts_sent
    report.alerts_failed += delivered.alerts_failed


def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def process_fetch(tick: Tick, result: FetchResult, report: TickReport, parsed: ParsedFeed | None = None) -> None:
    """Record one fetch and everything that follows from it, in one transaction."""
    if parsed is None and needs_parse(result):
        parsed = parse_document(result.body, result.headers, result.final_url or result.feed.url, result.feed.item_hashes)
    with Session(tick.engine) as session:
        record_fetch(tick, session, result, report, parsed)
        session.commit()


def record_fetch(tick: Tick, session: Session, result: FetchResult, report: TickReport, parsed: ParsedFeed | None) -> None:
    """The fetch's outcome, new entries, matches, statuses and alerts, in the caller's transaction."""
    feed = result.feed
    now = tick.clock()
    digest = result.body_hash
    repeated = feed.body_error if parsed is None and digest == feed.body_hash and _is_parse_error(feed.body_error) else None
    error = result.error or (parsed.error if parsed else None) or repeated
    if error:
        _record_failure(tick, session, result, error, now, report)
        return
    if result.is_not_modified:
        report.not_modified += 1
    elif parsed is None:
        report.unchanged += 1
    failures_before = feed_store.feed_failures(session, feed.id)
    interval = feed_store.feed_interval(session, feed.id)
    feed_store.record_fetch_success(
        session,
        feed.id,
        status=str(result.status),
        now=now,
        next_check_at=now + next_interval(interval, result, parsed, tick.jitter, tick.random_fraction()),
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        body_hash=digest,
        warning=parsed.warning if parsed else None,
        moved_to=result.moved_permanently_to,
        parsed=parsed is not None,
        item_hashes=parsed.item_hashes if parsed is not None else None,
        parse_path=parsed.path if parsed is not None else None,
        parse_seconds=parsed.seconds if parsed is not None else None,
    )
    if result.moved_permanently_to:
        note = f"feed {feed.name} moved permanently: {feed.url} → {result.moved_permanently_to} (stored; update config.toml)"
        report.notes.append(note)
        log.warning("%s", note)
    if failures_before >= tick.broken_after:
        _notice(tick, session, f"feed-recovered:{feed.id}:{now.isoformat()}", f"Feed {feed.name} recovered",
                f"Feed {feed.name} ({feed.url}) works again after {failures_before} failed checks.", now)
    if parsed is not None:
        new = entry_store.record_new_entries(session, feed.id, parsed.entries, now)
        report.new_entries += len(new)
        record_matches(tick, session, feed, new, now, report)


def _is_parse_error(error: str | None) -> bool:
    return bool(error) and not error.startswith("recovered:")


def needs_parse(result: FetchResult) -> bool:
    """A body that arrived and differs from the last one parsed."""
    return result.is_ok and result.body is not None and result.body_hash != result.feed.body_hash


def _record_failure(tick: Tick, session: Session, result: FetchResult, error: str, now: datetime, report: TickReport) -> None:
    """Count the failure, back off, and say so once: when the feed breaks, or is gone."""
    feed = result.feed
    report.failed += 1
    report.errors.append(f"feed {feed.name} ({feed.url}): {error}")
    interval, failures = feed_store.feed_interval(session, feed.id), feed_store.feed_failures(session, feed.id)
    wait = backoff(interval, failures, tick.jitter, tick.random_fraction(), tick.max_backoff)
    wait = max(wait, timedelta(seconds=result.retry_after_seconds or 0))
    row = feed_store.record_fetch_failure(session, feed.id, error, str(result.status or "error"), now, now + wait, result.body_hash)
    log.warning("feed %s (%s): %s (failure %d in a row)", feed.name, feed.url, error, row.consecutive_failures)
    if result.status == 410:
        reason = "HTTP 410 Gone: the publisher removed this feed; change or remove its URL in config.toml"
        feed_store.disable_feed(session, feed.id, reason)
        _notice(tick, session, f"feed-gone:{feed.id}:{feed.url}", f"Feed {feed.name} is gone",
                f"Feed {feed.name} ({feed.url}) answered 410 Gone and is no longer polled. {reason}.", now)
    elif row.consecutive_failures == tick.broken_after:
        _notice(tick, session, f"feed-broken:{feed.id}:{now.isoformat()}", f"Feed {feed.name} is broken",
                f"Feed {feed.name} ({feed.url}) failed {row.consecutive_failures} checks in a row: {error}", now)


def _notice(tick: Tick, session: Session, dedupe_key: str, title: str, text: str, now: datetime) -> None:
    """An operations notice (not about a commitment), through the same outbox."""
    enqueue_notice(session, tick.routes.for_notices, dedupe_key, title, text, now)


# From this many new entries for one commitment in one batch, one alert tells them all.
BURST = 3


def record_matches(
    tick: Tick, session: Session, feed: FeedSource, new: Sequence[tuple[int, Entry]], now: datetime, report: TickReport
) -> None:
    """Match new entries, store evidence, move statuses, and write alerts to the outbox.

    A few new entries for a commitment: an evidence alert each, and the status change
    if they moved it. A burst (BURST or more at once: a first poll over years of news):
    one alert for the commitment, the net change with its timeline, or the newest
    evidence with the count, never one per step."""
    recorded: dict[str, list[tuple[Match, int, Entry]]] = {}
    for entry_id, entry in new:
        for found in tick.matcher.match(entry):
            published = entry.published_at or now
            if repository.record_evidence(session, entry_id, found, published, now) is None:
                continue
            report.matches += 1
            recorded.setdefault(found.rule_id, []).append((found, entry_id, entry))
    # In id order, umbrellas last: each recompute locks its commitment, and two instances
    # locking in the same order never wait on each other.
    umbrellas = {rule.parent for rule in tick.rules.values() if rule.parent}
    for rule_id in lock_order(recorded, umbrellas):
        matches = recorded[rule_id]
        result = recompute_status(session, rule_id, now)
        burst = len(matches) >= BURST
        if not burst:
            for found, entry_id, entry in matches:
                _enqueue(tick, session, "evidence", f"evidence:{rule_id}:{entry.key}", found, (entry_id, entry), feed, now)
        elif result is None:
            found, entry_id, entry = max(matches, key=lambda match: (match[2].published_at or now, match[1]))
            more = f"and {len(matches) - 1} more new evidence for this commitment (`tracker evidence {rule_id}`)"
            _enqueue(tick, session, "evidence", f"evidence:{rule_id}:{entry.key}", found, (entry_id, entry), feed, now, text=more)
        if result is None:
            continue
        report.status_changes += 1
        found, entry_id, entry = _cause_of(result.change, matches, now)
        _enqueue(tick, session, "status_change", f"status:{result.change_id}", found, (entry_id, entry), feed, now, result.change,
                 text=result.timeline())
    if recorded:
        report.status_changes += len(recompute_parents(session, recorded, now, tick.routes, done=set(recorded) & umbrellas))


def _cause_of(change: StatusChange, matches: list[tuple[Match, int, Entry]], now: datetime) -> tuple[Match, int, Entry]:
    """The entry the change rests on (its card names it, and its Dismiss button dismisses it);
    the newest of this batch when the change rests on earlier evidence."""
    for match in matches:
        if change.evidence_keys and match[2].key == change.evidence_keys[0]:
            return match
    return max(matches, key=lambda match: match[2].published_at or now)


def _enqueue(
    tick: Tick,
    session: Session,
    kind: str,
    dedupe_key: str,
    found: Match,
    stored: tuple[int, Entry],
    feed: FeedSource,
    now: datetime,
    change: StatusChange | None = None,
    text: str | None = None,
) -> None:
    entry_id, entry = stored
    enqueue_match_alert(session, tick.rules[found.rule_id], tick.routes, kind, dedupe_key, found, now, change=change, text=text,
                        entry_id=entry_id, title=entry.title, url=entry.url, published_at=entry.published_at, feed_name=feed.name)
