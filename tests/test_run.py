"""`tracker run` as a real process: it polls on its schedule and stops cleanly on a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import DATA, Route, write_config


def test_run_polls_due_feeds_and_stops_cleanly_on_sigterm(feed_server, tmp_path):
    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))], extra='[schedule]\ntick = "1s"')
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL")}
    tracker = str(Path(sys.executable).parent / "tracker")
    process = subprocess.Popen(
        [tracker, "--config", str(config), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not feed_server.requests_to("/news.xml"):
            time.sleep(0.1)
        time.sleep(2.5)  # a few more ticks: the feed is not due again for 30 minutes
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert len(feed_server.requests_to("/news.xml")) == 1
    assert "pending → delayed" in stdout  # the alert went to the console
    assert "stopped" in stderr
    status = subprocess.run([tracker, "--config", str(config), "status", "--format", "json"], capture_output=True, text=True, env=environment)
    assert {row["id"]: row["status"] for row in json.loads(status.stdout)}["nissan-solid-state"] == "delayed"


def test_a_reload_says_which_changes_wait_for_a_restart(tmp_path, caplog):
    from tracker.cli.run import _warn_of_restart_only_changes
    from tracker.config import load_settings

    first = tmp_path / "first.toml"
    first.write_text('[schedule]\ntick = "2s"\n', encoding="utf-8")
    second = tmp_path / "second.toml"
    second.write_text('[schedule]\ntick = "7s"\n[digest]\nat = "09:00"\n', encoding="utf-8")
    _warn_of_restart_only_changes(load_settings(first, environ={}), load_settings(second, environ={}))
    assert "[schedule] tick, [digest] at changed: it takes effect when `tracker run` restarts" in caplog.text
