"""Three real `tracker run` processes on one PostgreSQL, 200 local feeds, Slack's stand-in.

Every feed is fetched once per interval, every alert is sent once, and a killed
instance's feeds are picked up by the others within the lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from tests.conftest import Route, write_config
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.postgres

FEEDS = 200
INTERVAL = 12.0
LEASE = 6.0


def feed_body(number: int) -> bytes:
    """One story per feed, distinct titles, every fifth about Toyota's solid-state plans."""
    about = "Toyota confirms solid-state battery production" if number % 5 == 0 else "Regional grid operator publishes"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Local {number}</title><link>https://local{number}.example/</link>
<item><title>{about}: report number {number}</title><link>https://local{number}.example/story-{number}</link>
<guid isPermaLink="false">local-{number}</guid><pubDate>Tue, 10 Mar 2026 08:00:00 GMT</pubDate>
<description>Story {number} of the instance test.</description></item>
</channel></rss>""".encode()


class TimedFeeds:
    """Serves the feeds, remembering when each was fetched; some can be made slow."""

    def __init__(self, feed_server) -> None:
        self.fetched: dict[str, list[float]] = defaultdict(list)
        self.slow: set[str] = set()
        self._lock = threading.Lock()
        for number in range(FEEDS):
            path = f"/feed-{number}.xml"
            feed_server.routes[path] = Route(handler=self._handler(path, feed_body(number)))

    def _handler(self, path: str, body: bytes):
        def answer(request) -> None:
            with self._lock:
                self.fetched[path].append(time.monotonic())
            if path in self.slow:
                time.sleep(3)
            request._answer(200, {"Content-Type": "application/rss+xml"}, body)

        return answer


def start_instances(config: Path, count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(count)
    ]


def stop(processes: list[subprocess.Popen]) -> str:
    logs = []
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        logs.append(stderr or "")
    text_ = "\n".join(logs)
    Path(os.environ.get("TRACKER_TEST_LOG", "/dev/null")).write_text(text_)
    return text_


@pytest.fixture
def cluster(postgres_database, feed_server, tmp_path):
    """A config for instances sharing `postgres_database`, and the environment they run in."""
    with SlackStub() as slack:
        feeds = TimedFeeds(feed_server)
        config = write_config(
            tmp_path,
            [(f"feed-{n}", feed_server.url(f"/feed-{n}.xml")) for n in range(FEEDS)],
            extra=(
                f'[schedule]\ninterval = "{INTERVAL:g}s"\njitter = 0\ntick = "1s"\nlease = "{LEASE:g}s"\n'
                '[fetch]\ndeadline = "5s"\ntimeout = "4s"\n[parse]\nworkers = 1\n'
                '[slack]\nper_channel_interval = 0\n[digest]\nfrequency = "off"\n'
            ),
        )
        env = {**os.environ, "TRACKER_DATABASE_URL": postgres_database, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.base_url}
        subprocess.run([sys.executable, "-m", "tracker", "--config", str(config), "db", "upgrade"], env=env, check=True, capture_output=True)
        yield config, env, feeds, slack


def deliveries(database_url: str) -> list[tuple[int, str]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text("SELECT id, state FROM delivery ORDER BY id"))]
    finally:
        engine.dispose()


def delivered_ids(slack: SlackStub) -> list[str]:
    return [message["metadata"]["event_payload"]["delivery_id"] for message in slack.messages if message.get("metadata")]


def test_three_instances_fetch_each_feed_once_per_interval_and_send_each_alert_once(cluster, postgres_database):
    config, env, feeds, slack = cluster
    started = time.monotonic()
    instances = start_instances(config, 3, env)
    try:
        time.sleep(2.3 * INTERVAL)
    finally:
        logs = stop(instances)
    assert "Traceback" not in logs, logs
    for path, times in feeds.fetched.items():
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        assert all(gap > INTERVAL - 1.5 for gap in gaps), f"{path} fetched twice within an interval: {gaps}"
    assert len(feeds.fetched) == FEEDS
    # Two intervals: the first round at start, the second one interval later, the third not yet due.
    counts = {path: len(times) for path, times in feeds.fetched.items()}
    assert set(counts.values()) == {3} or set(counts.values()) <= {2, 3}, counts
    assert min(times[0] for times in feeds.fetched.values()) - started < 15
    rows = deliveries(postgres_database)
    assert rows and all(state == "sent" for _, state in rows), rows
    sent = delivered_ids(slack)
    assert sorted(sent, key=int) == [str(delivery_id) for delivery_id, _ in rows]  # each once, none missing
    assert sum("solid-state" in (message.get("text") or "") for message in slack.messages) >= FEEDS // 5


@pytest.mark.faults
def test_a_killed_instances_feeds_are_picked_up_within_the_lease(cluster, postgres_database):
    config, env, feeds, slack = cluster
    feeds.slow = {f"/feed-{n}.xml" for n in range(FEEDS)}  # every first fetch is in flight for 3 s
    instances = start_instances(config, 3, env)
    try:
        deadline = time.monotonic() + 30
        while len(feeds.fetched) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = instances[0]
        victim.send_signal(signal.SIGKILL)  # mid-fetch: its claimed feeds are never recorded by it
        killed_at = time.monotonic()
        victim.wait()
        feeds.slow = set()
        deadline = killed_at + LEASE + 10
        while time.monotonic() < deadline and not _all_recorded(postgres_database):
            time.sleep(0.5)
        picked_up_after = time.monotonic() - killed_at
    finally:
        logs = stop(instances)
    assert _all_recorded(postgres_database), "some feeds were never recorded after the kill"
    assert picked_up_after < LEASE + 10
    assert "Traceback" not in logs, logs
    rows = deliveries(postgres_database)
    sent = delivered_ids(slack)
    assert len(sent) == len(set(sent))  # none twice
    assert {str(delivery_id) for delivery_id, state in rows if state == "sent"} == set(sent)


def _all_recorded(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            missing = connection.execute(text("SELECT count(*) FROM feed WHERE active AND last_polled_at IS NULL")).scalar()
            entries = connection.execute(text("SELECT count(*) FROM entry")).scalar()
        return missing == 0 and entries == FEEDS
    finally:
        engine.dispose()


@pytest.mark.faults
def test_an_instance_killed_mid_delivery_leaves_nothing_waiting_for_its_lease(cluster, postgres_database):
    """The delivery lease is five minutes; the survivor sends the killed one's alerts at once."""
    config, env, feeds, slack = cluster
    slack.hold_posts.set()
    instances = start_instances(config, 2, env)
    try:
        assert slack.post_arrived.wait(60), "no alert reached Slack"
        engine = make_engine(postgres_database)
        try:
            with engine.connect() as connection:
                holder_pid = connection.execute(text(
                    "SELECT i.pid FROM delivery d JOIN instance i ON i.id = d.lease_holder WHERE d.state = 'sending' LIMIT 1"
                )).scalar()
        finally:
            engine.dispose()
        victim = next(process for process in instances if process.pid == holder_pid)
        victim.send_signal(signal.SIGKILL)  # Slack has its message; it never records it
        victim.wait()
        killed_at = time.monotonic()
        slack.hold_posts.clear()
        slack.release.set()
        while time.monotonic() - killed_at < 60 and not (deliveries(postgres_database) and all(state == "sent" for _, state in deliveries(postgres_database))):
            time.sleep(0.5)
        waited = time.monotonic() - killed_at
    finally:
        logs = stop(instances)
    rows = deliveries(postgres_database)
    assert rows and all(state == "sent" for _, state in rows), rows
    assert waited < 30, f"the killed instance's delivery waited {waited:.0f} s"
    sent = delivered_ids(slack)
    assert sorted(sent, key=int) == [str(delivery_id) for delivery_id, _ in rows]  # each once, none missing
    assert "is gone" in logs and "Traceback" not in logs, logs
