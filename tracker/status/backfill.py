"""Backfill: match the entries already stored against rules added or changed since.

A tick matches only the entries that are new to it, so a rule written today would
never see last month's news. The backfill runs the rules over every stored entry and
records what a tick would have recorded had the rule existed then.

How it is reported: evidence found in old entries gets no alert of its own (a new rule
over a year of stored news would flood Slack with old articles). A commitment whose
status moves because of it gets the usual status-change alert, through the outbox,
naming the article the new status rests on, with the history note "backfill: N stored
entries newly matched". The caller prints what was recorded per commitment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import repository, views
from tracker.matching.matcher import RuleMatcher
from tracker.matching.ruleformat import Rule
from tracker.model import ChannelRoutes, Match, Progress, StatusChange
from tracker.status.alerts import enqueue_match_alert
from tracker.status.commitments import lock_order, recompute_parents, recompute_status


@dataclass(frozen=True)
class Found:
    """A stored entry a rule matches: what evidence and an alert need, not the entry's text."""

    entry_id: int
    entry_key: str
    title: str
    url: str | None
    published_at: datetime | None
    feed: str
    match: Match


@dataclass
class BackfillReport:
    entries_scanned: int = 0
    matches: int = 0
    new_evidence: dict[str, int] = field(default_factory=dict)
    changes: list[StatusChange] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"entries_scanned={self.entries_scanned} matches={self.matches} "
            f"new_evidence={sum(self.new_evidence.values())} status_changes={len(self.changes)}"
        )


def backfill(
    engine: Engine,
    rules: Mapping[str, Rule],
    routes: ChannelRoutes,
    clock: Callable[[], datetime],
    rule_ids: Sequence[str] = (),
    progress: Progress | None = None,
    make_matcher: Callable[[list[Rule]], RuleMatcher] = RuleMatcher,
) -> BackfillReport:
    """Match stored entries against the rules (those named, or all) and record what is new.

    1. Scan every stored entry with the rules, reading only; `progress` hears
       (entries scanned, entries stored).
    2. In one short transaction: record the matches that are not evidence yet (the
       evidence table's unique key skips the rest, so a second run adds nothing),
       recompute the status of each commitment that gained evidence, and write the
       status-change alerts to the outbox.
    Delivering them is the caller's step (`deliver_pending`), as after a tick.
    `clock` is read once, when the scan is done; `make_matcher` builds the matcher
    (the caller's, with its signal model and confidence).
    """
    chosen = [rules[rule_id] for rule_id in rule_ids] if rule_ids else list(rules.values())
    report = BackfillReport()
    found = scan_entries(engine, make_matcher(chosen), report, progress)
    with Session(engine) as session:
        record_found(session, rules, routes, found, clock(), report)
        session.commit()
    return report


def scan_entries(engine: Engine, matcher: RuleMatcher, report: BackfillReport, progress: Progress | None = None) -> list[Found]:
    found: list[Found] = []
    with Session(engine) as session:
        total = views.count_entries(session)
        if progress:
            progress(0, total)
        for entry_id, _published, feed, entry in views.iter_entries(session):
            report.entries_scanned += 1
            for match in matcher.match(entry):
                found.append(Found(entry_id, entry.key, entry.title, entry.url, entry.published_at, feed, match))
            if progress:
                # The running bot may store entries while we scan: never report more done than to do.
                progress(report.entries_scanned, max(total, report.entries_scanned))
    report.matches = len(found)
    return found


def record_found(
    session: Session, rules: Mapping[str, Rule], routes: ChannelRoutes, found: Sequence[Found], now: datetime, report: BackfillReport
) -> None:
    # An undated entry's evidence is dated when the bot first stored it, as a tick would have.
    first_seen = views.first_seen(session, [item.entry_id for item in found if item.published_at is None])
    recorded: dict[str, list[Found]] = {}
    for item in found:
        published = item.published_at or first_seen.get(item.entry_id, now)
        if repository.record_evidence(session, item.entry_id, item.match, published, now) is not None:
            recorded.setdefault(item.match.rule_id, []).append(item)
    umbrellas = {rule.parent for rule in rules.values() if rule.parent}
    for rule_id in lock_order(recorded, umbrellas):  # id order, umbrellas last, as every lock of commitments is taken
        items = recorded[rule_id]
        report.new_evidence[rule_id] = len(items)
        noun = "entry" if len(items) == 1 else "entries"
        result = recompute_status(session, rule_id, now, note=f"backfill: {len(items)} stored {noun} newly matched")
        if result is not None:
            change = result.change
            report.changes.append(change)
            basis = _basis(items, change)
            text = "\n".join(part for part in (change.note, result.timeline()) if part)
            enqueue_match_alert(session, rules[rule_id], routes, "status_change", f"status:{result.change_id}", basis.match, now,
                                change=change, text=text, entry_id=basis.entry_id, title=basis.title,
                                url=basis.url, published_at=basis.published_at, feed_name=basis.feed)
    if recorded:
        report.changes += recompute_parents(session, recorded, now, routes, done=set(recorded) & umbrellas)


def _basis(items: list[Found], change: StatusChange) -> Found:
    """The backfilled entry the new status rests on, else the newest one found."""
    by_key = {item.entry_key: item for item in items}
    if change.evidence_keys and change.evidence_keys[0] in by_key:
        return by_key[change.evidence_keys[0]]
    return max(items, key=lambda item: (item.published_at is not None, item.published_at or datetime.min))

