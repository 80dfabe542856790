"""Fault injection: real processes killed and disturbed. Run apart with `pytest -m faults`.

After each fault: no entry, status change or alert is lost, none is duplicated, and the
process (or its restart) carries on.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from tests.conftest import Route, free_port, write_config
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.faults

FEEDS = 24
STORIES_ABOUT_TOYOTA = range(0, FEEDS, 4)


def story_feed(number: int) -> bytes:
    about = "Toyota confirms solid-state battery production will start in 2027" if number in STORIES_ABOUT_TOYOTA else "Grid operator publishes its winter outlook"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Source {number}</title><link>https://source{number}.example/</link>
<item><title>{about}, dispatch {number}</title><link>https://source{number}.example/dispatch-{number}</link>
<guid isPermaLink="false">dispatch-{number}</guid><pubDate>Tue, 10 Mar 2026 08:00:00 GMT</pubDate>
<description>{"The carmaker said its all-solid-state cells remain on schedule." if number in STORIES_ABOUT_TOYOTA else "Dispatch."}</description></item></channel></rss>""".encode()


class Feeds:
    """FEEDS local feeds; `delay` seconds before each answer, to hold fetches in flight."""

    def __init__(self, feed_server) -> None:
        self.delay = 0.0
        self.fetched: dict[str, int] = defaultdict(int)
        self.urls = []
        for number in range(FEEDS):
            path = f"/source-{number}.xml"
            feed_server.routes[path] = Route(handler=self._handler(path, story_feed(number)))
            self.urls.append((f"source-{number}", feed_server.url(path)))

    def _handler(self, path: str, body: bytes):
        def answer(request) -> None:
            self.fetched[path] += 1
            time.sleep(self.delay)
            request._answer(200, {"Content-Type": "application/rss+xml"}, body)

        return answer


def tracker_process(config: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tracker", "--config", str(config), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=60)[1] or ""
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[1] or ""


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def counts(database_url: str) -> dict[str, int]:
    """What must end up exactly right: stored entries, evidence, status changes, deliveries by state."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            found = {
                "entries": connection.execute(text("SELECT count(*) FROM entry")).scalar(),
                "evidence": connection.execute(text("SELECT count(*) FROM evidence")).scalar(),
                "status_changes": connection.execute(text("SELECT count(*) FROM status_change")).scalar(),
                "unpolled": connection.execute(text("SELECT count(*) FROM feed WHERE active AND last_polled_at IS NULL")).scalar(),
            }
            for state, number in connection.execute(text("SELECT state, count(*) FROM delivery GROUP BY state")):
                found[f"delivery_{state}"] = number
        return found
    except Exception:  # the database may be down mid-fault; the caller polls again
        return {}
    finally:
        engine.dispose()


def everything_done(database_url: str) -> bool:
    found = counts(database_url)
    unsent = sum(number for key, number in found.items() if key.startswith("delivery_") and key != "delivery_sent")
    return bool(found) and found["entries"] == FEEDS and found["unpolled"] == 0 and unsent == 0 and found.get("delivery_sent", 0) > 0


def assert_nothing_lost_or_twice(database_url: str, slack: SlackStub) -> None:
    found = counts(database_url)
    assert found["entries"] == FEEDS  # each story stored once
    assert found["evidence"] == len(STORIES_ABOUT_TOYOTA)  # each match recorded once
    assert found["status_changes"] == 1  # toyota: pending → on track, once
    delivered = slack.delivered_ids()
    assert len(delivered) == len(set(delivered)), "an alert was sent twice"
    assert len(delivered) == found["delivery_sent"], "an alert recorded as sent never reached Slack, or the reverse"
    assert set(found) <= {"entries", "evidence", "status_changes", "unpolled", "delivery_sent"}, found


@pytest.fixture
def slack():
    with SlackStub() as stub:
        yield stub


def run_config(tmp_path: Path, feeds: Feeds, lease: float = 4.0) -> Path:
    return write_config(
        tmp_path,
        feeds.urls,
        extra=(
            f'[schedule]\ninterval = "10m"\njitter = 0\ntick = "1s"\nlease = "{lease:g}s"\n'
            '[fetch]\ndeadline = "3s"\ntimeout = "3s"\n[parse]\nworkers = 1\n'
            '[slack]\nper_channel_interval = 0\n[digest]\nfrequency = "off"\n'
        ),
    )


def environment(slack: SlackStub, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACKER_DATABASE_URL", "SLACK_WEBHOOK_URL")}
    env.update(SLACK_BOT_TOKEN="xoxb-fault-test", SLACK_API_URL=slack.base_url)
    if database_url:
        env["TRACKER_DATABASE_URL"] = database_url
    return env


def test_kill_9_during_a_poll_then_a_restart_loses_and_duplicates_nothing(tmp_path, feed_server, slack):
    feeds = Feeds(feed_server)
    feeds.delay = 2.0  # every fetch is in flight when the kill comes
    config = run_config(tmp_path, feeds)
    database = f"sqlite:///{tmp_path / 'tracker.db'}"
    env = environment(slack)
    first = tracker_process(config, env, "run")
    wait_until(lambda: sum(feeds.fetched.values()) >= 8, 30, "fetches in flight")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    feeds.delay = 0.0
    second = tracker_process(config, env, "run")  # the dead process's SQLite lock went with it
    try:
        wait_until(lambda: everything_done(database), 60, "the restarted bot to take over every feed after the lease")
        assert second.poll() is None, "the restarted bot stopped"
    finally:
        log = stop(second)
    assert "is already polling" not in log
    assert_nothing_lost_or_twice(database, slack)


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own, so it can be restarted without disturbing others."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if os.geteuid() != 0 or not binaries or shutil.which("runuser") is None:
        pytest.skip("needs root and PostgreSQL's server binaries to run a private cluster")
    # Not under pytest's tmp_path: the postgres user cannot enter root's private folder.
    bin_dir, data = binaries[-1], Path(tempfile.mkdtemp(prefix="tracker-faults-pg-"))
    shutil.chown(data, "postgres")
    port = free_port()

    def pg(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    pg(str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
    # -l: the server's output goes to a file, not to the pipe this test would wait on.
    control = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1"]
    pg(*control, "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", lambda action: pg(*control, "-m", "fast", action)
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", *control, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def test_postgres_restarted_mid_cycle_loses_and_duplicates_nothing(tmp_path, feed_server, slack, private_postgres):
    database, pg_ctl = private_postgres
    feeds = Feeds(feed_server)
    feeds.delay = 1.0
    config = run_config(tmp_path, feeds)
    bot = tracker_process(config, environment(slack, database), "run")
    try:
        wait_until(lambda: sum(feeds.fetched.values()) >= 4, 60, "the first fetches")
        pg_ctl("stop")  # mid-cycle: fetches in flight, their results not yet stored
        time.sleep(3)
        pg_ctl("start")
        feeds.delay = 0.0
        wait_until(lambda: everything_done(database), 90, "the bot to recover and finish the cycle")
        assert bot.poll() is None, "the bot stopped when the database went away"
    finally:
        stop(bot)
    assert_nothing_lost_or_twice(database, slack)


def test_sqlite_locked_by_another_writer_makes_the_poll_wait_not_fail(tmp_path, feed_server, slack, cli):
    feeds = Feeds(feed_server)
    config = run_config(tmp_path, feeds)
    database = tmp_path / "tracker.db"
    assert cli("--config", str(config), "db", "upgrade").exit_code == 0
    writer = sqlite3.connect(database, timeout=1, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    released = threading.Timer(4.0, writer.rollback)
    released.start()
    started = time.monotonic()
    poll = subprocess.run([sys.executable, "-m", "tracker", "--config", str(config), "poll"], capture_output=True, text=True, env=environment(slack), timeout=120)
    released.join()
    writer.close()
    assert poll.returncode == 0, poll.stderr
    assert time.monotonic() - started >= 4.0  # it waited for the lock
    assert f"new_entries={FEEDS}" in poll.stderr
    assert_nothing_lost_or_twice(f"sqlite:///{database}", slack)


def test_sqlite_locked_for_too_long_ends_the_command_with_a_clear_reason(tmp_path, cli):
    config = write_config(tmp_path, [])
    assert cli("--config", str(config), "db", "upgrade").exit_code == 0
    writer = sqlite3.connect(tmp_path / "tracker.db", timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import storage.engine as e, sys; e.SQLITE_BUSY_TIMEOUT_MS = 500; from tracker.cli import main; sys.exit(main())", "--config", str(config), "status", "set", "toyota-solid-state", "at_risk", "--note", "n"],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        writer.rollback()
        writer.close()
    assert result.returncode == 2
    assert "tracker: database: the SQLite file stayed locked by another writer" in result.stderr
    assert "Traceback" not in result.stderr


def in_process_tick(config: Path, clock):
    from tracker.app import App

    return replace(App(config).build_tick(), clock=clock)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_slack_down_for_minutes_then_back_loses_and_duplicates_no_alert(tmp_path, feed_server, slack, monkeypatch):
    from tracker.pipeline import TickReport, deliver, run_tick

    for name, value in environment(slack).items():
        monkeypatch.setenv(name, value)
    feeds = Feeds(feed_server)
    clock = Clock(datetime.now(timezone.utc))
    tick = in_process_tick(run_config(tmp_path, feeds), clock)
    slack.outage.set()
    run_tick(tick, all_feeds=True)  # stores, matches and tries to deliver: every call answers 503
    database = f"sqlite:///{tmp_path / 'tracker.db'}"
    for _ in range(8):  # eight minutes of outage, a wake-up a minute
        clock.now += timedelta(minutes=1)
        deliver(tick, TickReport())
    during = counts(database)
    posts = sum(path.endswith("chat.postMessage") for path, _body, _headers in slack.calls)
    assert posts <= 3 * 9  # one attempt per wake-up (slack-sdk retries it twice), not one per queued alert
    assert during.get("delivery_sent", 0) == 0 and during.get("delivery_failed", 0) > 0 and "delivery_parked" not in during
    slack.outage.clear()
    for _ in range(90):  # back up: the backoff (at most an hour) runs out, everything goes
        clock.now += timedelta(minutes=1)
        deliver(tick, TickReport())
        if everything_done(database):
            break
    assert everything_done(database)
    assert_nothing_lost_or_twice(database, slack)


def test_the_clock_jumping_forward_and_back_loses_and_duplicates_nothing(tmp_path, feed_server, slack, monkeypatch):
    from tracker.status.commitments import check_deadlines
    from tracker.pipeline import run_tick

    for name, value in environment(slack).items():
        monkeypatch.setenv(name, value)
    feeds = Feeds(feed_server)
    start = datetime.now(timezone.utc) + timedelta(minutes=1)  # after the feeds were added, due now
    clock = Clock(start)
    tick = in_process_tick(run_config(tmp_path, feeds), clock)
    database = f"sqlite:///{tmp_path / 'tracker.db'}"
    run_tick(tick)
    assert sum(feeds.fetched.values()) == FEEDS
    clock.now = start + timedelta(days=2)  # jump forward: everything is due, once
    run_tick(tick)
    check_deadlines(tick.engine, tick.routes, [90, 30, 7], clock())
    assert sum(feeds.fetched.values()) == 2 * FEEDS
    clock.now = start + timedelta(hours=1)  # and back: feeds polled "in the future" are due again, not stalled for two days
    run_tick(tick)
    check_deadlines(tick.engine, tick.routes, [90, 30, 7], clock())
    assert sum(feeds.fetched.values()) == 3 * FEEDS
    clock.now += timedelta(minutes=5)
    run_tick(tick)  # and then the normal interval applies again
    assert sum(feeds.fetched.values()) == 3 * FEEDS
    assert everything_done(database)
    assert_nothing_lost_or_twice(database, slack)
