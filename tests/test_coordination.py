"""What lets several instances share one database: claims, locks and leases, each on its own.

The whole-process version (three `tracker run` on PostgreSQL) is in test_instances.py.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from storage import feeds as feed_store
from storage.engine import make_engine
from storage.instance import SecondInstanceError, single_instance
from storage.jobs import claim_job_run, finish_job_run
from storage.migrate import upgrade
from storage.outbox import claim_deliveries, enqueue_delivery
from storage.tables import CommitmentRow, FeedRow, StatusChangeRow
from storage.leases import BatchLease

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_database):
    engine = make_engine(postgres_database)
    upgrade(engine)
    yield engine
    engine.dispose()


def add_feeds(engine, count: int) -> None:
    with Session(engine) as session:
        feed_store.sync_feeds(session, [(f"feed-{n}", f"http://127.0.0.1/{n}.xml", 1800.0) for n in range(count)], NOW)
        session.commit()


def add_commitment(session: Session, commitment_id: str) -> None:
    session.add(CommitmentRow(id=commitment_id, title=commitment_id, actor="a", category="c", target="t", deadline=NOW.date(), created_at=NOW, updated_at=NOW, status="pending"))
    session.commit()


def test_concurrent_claims_on_postgres_get_disjoint_feeds(postgres_engine):
    add_feeds(postgres_engine, 60)
    first, second = Session(postgres_engine), Session(postgres_engine)
    try:
        mine = feed_store.claim_due_feeds(first, NOW, limit=40)  # held: first has not committed yet
        theirs = feed_store.claim_due_feeds(second, NOW, limit=40)
        assert len(mine) == 40 and len(theirs) == 20
        assert not {row.id for row in mine} & {row.id for row in theirs}
        for row in mine:
            row.next_check_at = NOW + timedelta(minutes=5)
            first.add(row)
        first.commit()
        second.rollback()  # the second instance died before committing: its feeds are due again
        again = feed_store.claim_due_feeds(second, NOW, limit=100)
        assert {row.id for row in again} == {row.id for row in theirs}
    finally:
        first.close()
        second.close()


def test_a_claimed_feed_is_due_again_when_its_lease_runs_out(engine):
    add_feeds(engine, 3)
    with Session(engine) as session:
        for row in feed_store.claim_due_feeds(session, NOW, limit=10):
            row.next_check_at = NOW + timedelta(minutes=5)  # the lease; a finished fetch sets the real next check
            session.add(row)
        session.commit()
        assert feed_store.claim_due_feeds(session, NOW + timedelta(minutes=4), limit=10) == []
        assert len(feed_store.claim_due_feeds(session, NOW + timedelta(minutes=5), limit=10)) == 3


def _claim_with_lease(engine, at: datetime, clock) -> tuple[list[int], BatchLease]:
    with Session(engine) as session:
        rows = feed_store.claim_due_feeds(session, at, limit=10)
        held = {}
        for row in rows:
            row.next_check_at = held[row.id] = at + timedelta(minutes=5)
            session.add(row)
        session.commit()
    return sorted(held), BatchLease(engine, held, at, clock)


def test_a_batch_slower_than_its_lease_stays_with_its_holder_until_each_feed_is_recorded(engine):
    add_feeds(engine, 3)
    now = [NOW]
    ids, lease = _claim_with_lease(engine, NOW, lambda: now[0])
    now[0] = NOW + timedelta(minutes=2)
    lease.renew_if_due()  # a third of the lease gone: renewed to 12:07
    with Session(engine) as session:  # the first feed is recorded: its next check is its own
        feed_store.record_fetch_success(session, ids[0], status="200", now=now[0], next_check_at=NOW + timedelta(hours=1),
                                        etag=None, last_modified=None, body_hash=None, warning=None, moved_to=None, parsed=True)
        session.commit()
    lease.release([ids[0]])
    now[0] = NOW + timedelta(minutes=3)
    lease.renew_if_due()  # too soon since the last renewal: nothing to do
    now[0] = NOW + timedelta(minutes=4)
    lease.renew_if_due()  # renewed to 12:09
    with Session(engine) as session:
        assert feed_store.claim_due_feeds(session, NOW + timedelta(minutes=8), limit=10) == []  # the original lease ended at 12:05
        recorded = session.get(FeedRow, ids[0]).next_check_at
        assert recorded.astimezone(timezone.utc) == NOW + timedelta(hours=1)  # renewals never touch a recorded feed
        # the holder stops renewing (it died): its feeds come back when the last renewal runs out
        assert sorted(row.id for row in feed_store.claim_due_feeds(session, NOW + timedelta(minutes=9), limit=10)) == ids[1:]


def test_a_lease_taken_over_after_it_ran_out_is_not_renewed_by_its_old_holder(engine):
    add_feeds(engine, 2)
    now = [NOW]
    ids, stalled = _claim_with_lease(engine, NOW, lambda: now[0])
    later = NOW + timedelta(minutes=6)  # the holder stalled past its lease; another instance claims
    taken, _ = _claim_with_lease(engine, later, lambda: later)
    assert taken == ids
    now[0] = later
    stalled.renew()
    with Session(engine) as session:
        ends = {session.get(FeedRow, i).next_check_at.astimezone(timezone.utc) for i in ids}
    assert ends == {later + timedelta(minutes=5)}  # the new holder's lease, untouched


def test_one_commitments_deliveries_are_never_sent_by_two_instances_at_once(engine):
    with Session(engine) as session:
        add_commitment(session, "c1")
        add_commitment(session, "c2")
        for key, commitment in (("a", "c1"), ("b", "c1"), ("c", "c2")):
            enqueue_delivery(session, key, "evidence", "#x", {"kind": "evidence"}, commitment, NOW)
        session.commit()
    with Session(engine) as first, Session(engine) as second:
        [taken] = claim_deliveries(first, NOW, limit=1)
        [other] = claim_deliveries(second, NOW, limit=1)
        assert (taken.dedupe_key, other.dedupe_key) == ("a", "c")  # b waits: a of the same commitment is in flight
        assert claim_deliveries(second, NOW, limit=1) == []
        # a's sender died: once its lease is over, a is taken again (in doubt), still before b.
        later = NOW + timedelta(minutes=6)
        [retaken] = claim_deliveries(second, later, limit=1)
        assert retaken.dedupe_key == "a" and retaken.in_doubt


def test_a_calendar_job_runs_once_per_slot_and_a_dead_run_is_taken_over(engine):
    slot = NOW.replace(hour=6)
    lease = timedelta(minutes=5)
    with Session(engine) as first, Session(engine) as second:
        assert claim_job_run(first, "deadlines", slot, "host-a", NOW, lease)
        assert not claim_job_run(second, "deadlines", slot, "host-b", NOW, lease)
        assert not claim_job_run(second, "deadlines", slot, "host-b", NOW + timedelta(minutes=4), lease)
        # host-a died mid-run: after the lease, host-b runs it.
        assert claim_job_run(second, "deadlines", slot, "host-b", NOW + timedelta(minutes=6), lease)
        finish_job_run(second, "deadlines", slot, NOW + timedelta(minutes=7))
        assert not claim_job_run(first, "deadlines", slot, "host-a", NOW + timedelta(hours=2), lease)  # done is done
        assert claim_job_run(first, "deadlines", slot + timedelta(days=1), "host-a", NOW + timedelta(days=1), lease)


def test_two_instances_recomputing_one_commitment_record_the_change_once(postgres_engine):
    """Evidence from two feeds, processed by two instances at the same moment, moves the status once."""
    from storage import repository
    from tracker.status.commitments import recompute_status
    from tracker.model import Match, SignalKind

    with Session(postgres_engine) as session:
        add_commitment(session, "c1")
    barrier = threading.Barrier(2)
    results = []

    def instance(number: int) -> None:
        from storage.entries import record_new_entries
        from tracker.model import Entry

        with Session(postgres_engine) as session:
            feed = feed_store.ensure_file_feed(session, f"file-{number}", f"/tmp/{number}.xml", NOW)
            [(entry_id, entry)] = record_new_entries(session, feed.id, [Entry(key=f"k{number}", title=f"t{number}", url=f"https://site{number}.example/a", published_at=NOW)], NOW)
            repository.record_evidence(session, entry_id, Match("c1", f"k{number}", (), SignalKind.DELAY, quote=f"q{number}"), NOW, NOW)
            barrier.wait()
            results.append(recompute_status(session, "c1", NOW))
            session.commit()

    threads = [threading.Thread(target=instance, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(postgres_engine) as session:
        changes = session.exec(select(StatusChangeRow).where(StatusChangeRow.commitment_id == "c1")).all()
    assert len(changes) == 1 and changes[0].new_status == "delayed"
    assert sorted(result is None for result in results) == [False, True]


def test_a_second_instance_on_one_sqlite_file_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with single_instance(engine, "run"):
        with pytest.raises(SecondInstanceError, match=r"tracker run. \(pid \d+\) is already polling the SQLite database .*PostgreSQL"):
            with single_instance(engine, "poll"):
                pass
    with single_instance(engine, "poll"):  # released when the first stopped
        pass


def test_postgres_needs_no_instance_lock(postgres_engine):
    with single_instance(postgres_engine, "run"), single_instance(postgres_engine, "run"):
        pass


def test_a_daily_job_runs_once_across_instances_and_a_failed_run_is_retried_after_the_lease(engine):
    from tracker.cli.run import DatabaseJobGate
    from tracker.scheduler import DailyJob, run_once

    runs = []
    deadlines = DailyJob("deadlines", lambda tick: runs.append(tick), {"hour": 6, "minute": 0})
    first, second = DatabaseJobGate(engine, "first", timedelta(minutes=5)), DatabaseJobGate(engine, "second", timedelta(minutes=5))
    second.instance = "other-host:1"
    at = datetime(2026, 11, 23, 6, 0, 30, tzinfo=timezone.utc)
    assert run_once(deadlines, "first", first, at)
    assert not run_once(deadlines, "second", second, at + timedelta(seconds=5))
    assert runs == ["first"]

    def crash(tick):
        raise RuntimeError("instance lost its database mid-job")

    digest = DailyJob("digest", crash, {"hour": 8, "minute": 0})
    assert not run_once(digest, "first", first, at.replace(hour=8))  # claimed, failed, not finished
    retry = DailyJob("digest", lambda tick: runs.append(tick), {"hour": 8, "minute": 0})
    assert not run_once(retry, "second", second, at.replace(hour=8, minute=2))  # still within the lease
    assert run_once(retry, "second", second, at.replace(hour=8, minute=6), within=timedelta(hours=1))  # a catch-up run
    assert runs == ["first", "second"]
    late = DailyJob("weekly", lambda tick: runs.append(tick), {"hour": 9, "minute": 0})
    assert not run_once(late, "x", first, at.replace(hour=11), within=timedelta(hours=1))  # nobody started it: not caught up


def test_tracker_poll_beside_a_running_bot_on_sqlite_is_refused_clearly(tmp_path, feed_server):
    import subprocess
    import sys

    from tests.conftest import Route, write_config

    feed_server.routes["/slow.xml"] = Route(handler=lambda request: (time.sleep(20), request._answer(200, {}, b"")))
    config = write_config(tmp_path, [("slow", feed_server.url("/slow.xml"))], extra='[schedule]\ntick = "1s"\nlease = "60s"\n[fetch]\ndeadline = "30s"\ntimeout = "30s"\n')
    bot = subprocess.Popen([sys.executable, "-m", "tracker", "--config", str(config), "run"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not feed_server.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, timeout=60)
    finally:
        bot.kill()
        bot.wait()
    assert second.returncode == 2
    assert "`tracker run` (pid" in second.stderr and "is already polling the SQLite database" in second.stderr
    assert "PostgreSQL" in second.stderr and "Traceback" not in second.stderr


def test_reading_commands_with_an_older_config_neither_switch_off_feeds_nor_retire_commitments(tmp_path, cli):
    import json

    from tests.conftest import DATA, write_config

    (tmp_path / "bot").mkdir()
    (tmp_path / "empty-rules").mkdir()
    bot_config = write_config(tmp_path / "bot", [("a", "http://127.0.0.1:9/a.xml"), ("b", "http://127.0.0.1:9/b.xml")])
    assert cli("--config", str(bot_config), "poll", "--file", str(DATA / "feeds" / "climate_news.xml")).exit_code == 0
    old_copy = write_config(tmp_path, [("a", "http://127.0.0.1:9/moved-a.xml")], rules=[tmp_path / "empty-rules"])
    shared = f'url = "sqlite:///{tmp_path / "bot" / "tracker.db"}"'
    old_copy.write_text(old_copy.read_text(encoding="utf-8").replace('url = "sqlite:///tracker.db"', shared), encoding="utf-8")
    for command in (["feeds"], ["status"]):
        assert cli("--config", str(old_copy), *command).exit_code == 0
    feeds = {row["name"]: row["url"] for row in json.loads(cli("--config", str(bot_config), "feeds", "--format", "json").stdout)}
    assert feeds == {"a": "http://127.0.0.1:9/a.xml", "b": "http://127.0.0.1:9/b.xml"}  # not switched off, not re-pointed
    statuses = json.loads(cli("--config", str(bot_config), "status", "--format", "json").stdout)
    assert {row["id"] for row in statuses} == {"toyota-solid-state", "nissan-solid-state"}  # not retired


class _SlowParser:
    """Parses as the tick's own pool would, but each document takes four minutes of the
    tick's clock; between documents another instance looks for due feeds."""

    def __init__(self, inner, clock: list, engine) -> None:
        self.inner, self.clock, self.engine = inner, clock, engine
        self.seen_by_other: list[list[int]] = []

    def parse_in_order(self, jobs):
        for parsed in self.inner.parse_in_order(jobs):
            yield parsed
            self.clock[0] += timedelta(minutes=4)
            with Session(self.engine) as other:  # looks, takes nothing (rolled back)
                self.seen_by_other.append([row.id for row in feed_store.claim_due_feeds(other, self.clock[0], limit=10)])

    def close(self, wait: bool = False) -> None:
        self.inner.close(wait)


def test_a_tick_slower_than_its_lease_keeps_its_feeds_from_other_instances(tmp_path, feed_server, monkeypatch):
    from dataclasses import replace

    from tests.conftest import Route, write_config
    from tracker.app import App
    from tracker.pipeline import run_tick

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for n in range(3):
        feed_server.routes[f"/{n}.xml"] = Route(RSS.replace(b"NUMBER", str(n).encode()))
    config = write_config(tmp_path, [(f"f{n}", feed_server.url(f"/{n}.xml")) for n in range(3)], extra='[schedule]\nlease = "5m"')
    started = datetime.now(timezone.utc)
    now = [started]
    tick = App(config).build_tick()
    parser = _SlowParser(tick.parser, now, tick.engine)
    report = run_tick(replace(tick, parser=parser, clock=lambda: now[0]), all_feeds=True)
    assert report.new_entries == 3 and now[0] - started == timedelta(minutes=8)  # past the first lease's end
    assert parser.seen_by_other == [[], []]  # never due to anyone else while this tick worked on it


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Grid storage story number NUMBER</title><link>https://a.example/NUMBER</link></item>
</channel></rss>"""


def test_a_failed_renewal_is_logged_and_the_batch_goes_on(tmp_path, caplog):
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'tracker.db'}")
    lease = BatchLease(unreachable, {1: NOW + timedelta(minutes=5)}, NOW, lambda: NOW + timedelta(minutes=2))
    lease.renew_if_due()  # the database is gone: no exception out of the tick
    assert "renewing the leases of 1 feeds failed: OperationalError" in caplog.text


def _holding(session, instance_id: str, host: str, pid: int, heartbeat_at: datetime, now: datetime, space: str | None = None) -> tuple[int, int]:
    """An instance row holding one feed and one delivery in `sending`; returns their ids."""
    from tracker.instances import process_space
    from storage.tables import DeliveryRow, FeedRow, InstanceRow

    session.add(InstanceRow(id=instance_id, host=host, pid=pid, command="run", started_at=heartbeat_at, heartbeat_at=heartbeat_at,
                            tick_seconds=60, process_space=space or process_space()))
    feed = FeedRow(name=f"feed-{instance_id}", url="https://example.org/f", configured_url="https://example.org/f",
                   next_check_at=now + timedelta(minutes=5), lease_holder=instance_id)
    delivery = DeliveryRow(dedupe_key=f"d-{instance_id}", kind="evidence", state="sending", next_attempt_at=now + timedelta(minutes=5),
                           lease_holder=instance_id, created_at=now)
    session.add_all([feed, delivery])
    session.commit()
    return feed.id, delivery.id


def test_what_a_dead_instance_held_is_taken_back_at_once_and_a_live_ones_is_not(engine):
    """Another host's instance silent for more than two ticks is presumed dead; on this host
    a process that is gone is dead whatever its heartbeat; the living keep their claims."""
    import subprocess

    from tracker.instances import reclaim_dead
    from storage.tables import DeliveryRow, FeedRow, InstanceRow

    now = datetime.now(timezone.utc)
    gone = subprocess.Popen(["true"])
    gone.wait()
    with Session(engine) as session:
        silent = _holding(session, "silent", "other-host", 4242, now - timedelta(minutes=3), now)
        beating = _holding(session, "beating", "other-host", 4243, now - timedelta(seconds=30), now)
        exited = _holding(session, "exited", "this-host", gone.pid, now, now)
        alive = _holding(session, "alive", "this-host", os.getpid(), now, now)
        # Same host name, another container's pids: its pid means nothing here, its heartbeat does.
        container = _holding(session, "container", "this-host", gone.pid, now - timedelta(seconds=30), now, space="other-boot/4026531836")
        dead = reclaim_dead(session, "me", now, host="this-host")
        assert sorted(row.id for row in dead) == ["exited", "silent"]
        session.expire_all()
        for feed_id, delivery_id in (silent, exited):
            feed, delivery = session.get(FeedRow, feed_id), session.get(DeliveryRow, delivery_id)
            assert feed.next_check_at <= now and feed.lease_holder is None
            # still `sending`: the next claim marks it in doubt, and Slack is looked at first
            assert delivery.state == "sending" and delivery.next_attempt_at <= now
        for feed_id, delivery_id in (beating, alive, container):
            assert session.get(FeedRow, feed_id).next_check_at > now and session.get(DeliveryRow, delivery_id).next_attempt_at > now
        assert sorted(session.exec(select(InstanceRow.id))) == ["alive", "beating", "container"]


def test_a_sender_taken_for_dead_records_nothing_over_the_one_that_took_its_delivery_back(engine):
    from storage.outbox import mark_delivered, mark_failed
    from storage.registry import release_holdings
    from storage.tables import DeliveryRow

    with Session(engine) as session:
        enqueue_delivery(session, "d1", "evidence", "#x", {"kind": "evidence"}, None, NOW)
        session.commit()
        [taken] = claim_deliveries(session, NOW, limit=1, holder="paused")
        release_holdings(session, "paused", NOW)  # judged dead while paused mid-send
        session.commit()
        [again] = claim_deliveries(session, NOW, limit=1, holder="survivor")
        assert again.id == taken.id and again.in_doubt  # the survivor looks in Slack first
        assert not mark_delivered(session, taken.id, "ts-paused", NOW, holder="paused")
        assert not mark_failed(session, taken.id, "late", None, holder="paused")
        assert mark_delivered(session, taken.id, "ts-survivor", NOW, holder="survivor")
        session.commit()
        row = session.get(DeliveryRow, taken.id)
        session.refresh(row)
        assert (row.state, row.remote_id) == ("sent", "ts-survivor")
