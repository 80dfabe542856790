"""A sender killed between Slack storing a message and the tracker recording it:
after a restart, no alert is lost, none is sent twice, and none waits for the dead
sender's lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from tests.conftest import DATA, write_config
from tests.slack_stub import SlackStub

pytestmark = pytest.mark.faults


def _tracker(config: Path, slack: SlackStub, *args: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if k not in ("TRACKER_DATABASE_URL", "SLACK_WEBHOOK_URL")}
    environment.update(SLACK_BOT_TOKEN="xoxb-crash-test", SLACK_API_URL=slack.base_url)
    command = [str(Path(sys.executable).parent / "tracker"), "--config", str(config), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def test_a_kill_during_delivery_then_a_restart_loses_nothing_and_duplicates_nothing(tmp_path):
    config = write_config(tmp_path, [], extra='[slack]\nper_channel_interval = "0s"')
    feed = str(DATA / "feeds" / "climate_news.xml")
    with SlackStub() as slack:
        slack.hold_posts.set()
        first = _tracker(config, slack, "poll", "--file", feed)
        assert slack.post_arrived.wait(60), "no message reached Slack"
        first.send_signal(signal.SIGKILL)  # Slack has the message; the tracker never heard back
        first.communicate(timeout=30)
        assert len(slack.messages) == 1

        engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
        with engine.begin() as connection:
            states = dict(connection.execute(text("SELECT state, count(*) FROM delivery GROUP BY state")).all())
            assert states.get("sending") == 1 and states.get("pending") == 4
            # The dead sender's five-minute lease has not run out: the restart must not wait for it.
            [(holder, _lease_ends)] = connection.execute(text("SELECT lease_holder, next_attempt_at FROM delivery WHERE state = 'sending'")).all()
            assert holder and connection.execute(text("SELECT count(*) FROM instance WHERE id = :id"), {"id": holder}).scalar() == 1

        slack.hold_posts.clear()
        slack.release.set()
        second = _tracker(config, slack, "poll", "--file", feed)
        _out, errors = second.communicate(timeout=120)
        assert second.returncode == 0, errors
        assert "is gone: its 0 feed(s) and 1 delivery(ies) in hand are taken back now" in errors

        with engine.connect() as connection:
            deliveries = connection.execute(text("SELECT id, state FROM delivery ORDER BY id")).all()
        assert [state for _id, state in deliveries] == ["sent"] * 5
        delivered = slack.delivered_ids()
        assert sorted(delivered) == sorted(str(delivery_id) for delivery_id, _state in deliveries)  # each exactly once
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM instance")).scalar() == 0  # the dead one forgotten, the second gone cleanly
        lookups = [path for path, _body, _headers in slack.calls if path.endswith(("conversations.history", "conversations.replies"))]
        assert lookups, "the in-doubt delivery was not looked for before resending"
