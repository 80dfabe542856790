"""The whole path, as a user runs it: a local feed server, `tracker poll`, then the views."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, Route, write_config

FEED = (DATA / "feeds" / "climate_news.xml").read_bytes()


def test_a_poll_finds_the_commitments_in_a_feed_and_the_views_show_them(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(FEED, etag='"v1"')
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])

    poll = cli("--config", str(config), "poll")
    assert poll.exit_code == 0, poll.output

    statuses = {row["id"]: row for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert set(statuses) == {"toyota-solid-state", "nissan-solid-state"}
    assert statuses["toyota-solid-state"]["status"] == "on_track"
    assert statuses["nissan-solid-state"]["status"] == "delayed"
    assert statuses["nissan-solid-state"]["revised_target_year"] == 2030
    for row in statuses.values():
        assert {"id", "title", "status", "deadline", "last_changed", "evidence_count"} <= set(row)

    evidence = json.loads(cli("--config", str(config), "evidence", "--format", "json").stdout)
    titles = {(row["commitment"], row["item_title"]) for row in evidence}
    assert ("toyota-solid-state", "Toyota confirms solid-state battery production will start in 2027") in titles
    assert ("nissan-solid-state", "Nissan now expects its all-solid-state battery EVs in 2030") in titles
    assert not any("recalls" in title or "phone" in title or "Paris" in title for _, title in titles)
    toyota = next(row for row in evidence if row["commitment"] == "toyota-solid-state")
    assert toyota["item_url"] == "https://wire.example.org/2026/03/toyota-solid-state"  # tracking parameters gone
    assert toyota["feed"] == "wire"
    assert toyota["published"].startswith("2026-03-10")
    assert "toyota" in [term.lower() for term in toyota["matched"]]
    assert {"commitment", "item_url", "item_title", "feed", "published", "signal", "matched"} <= set(toyota)

    feeds = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)
    assert feeds[0]["name"] == "wire" and feeds[0]["items"] == 6 and feeds[0]["last_status"] == "200"
    assert {"name", "url", "last_status", "last_error", "items", "last_polled"} <= set(feeds[0])


def test_the_console_alert_names_the_change_and_its_evidence(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(FEED)
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    output = cli("--config", str(config), "poll").stdout
    assert "Nissan all-solid-state battery EVs by fiscal 2028: pending → delayed" in output
    assert "evidence: Nissan now expects its all-solid-state battery EVs in 2030 (wire, 2026-04-15)" in output
    assert "javascript:" not in output


def test_a_second_poll_sends_conditional_headers_and_stores_and_alerts_nothing_new(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(FEED, etag='"v1"')
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    cli("--config", str(config), "poll")
    second = cli("--config", str(config), "poll")
    assert feed_server.requests_to("/news.xml")[-1].get("if-none-match") == '"v1"'
    assert "not_modified=1" in second.stderr
    assert "alerts_sent=0" in second.stderr and "new_entries=0" in second.stderr
    assert second.stdout == ""


def test_the_same_bytes_without_validators_are_not_parsed_again(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(FEED)
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    cli("--config", str(config), "poll")
    second = cli("--config", str(config), "poll")
    assert "unchanged=1" in second.stderr and "new_entries=0" in second.stderr


def test_feed_errors_are_reported_and_the_poll_still_succeeds(feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(FEED)
    feed_server.routes["/gone.xml"] = Route(b"gone", status=410)
    feed_server.routes["/page.html"] = Route(b"<html><body>Not a feed</body></html>", headers={"Content-Type": "text/html"})
    config = write_config(
        tmp_path,
        [
            ("wire", feed_server.url("/news.xml")),
            ("gone", feed_server.url("/gone.xml")),
            ("page", feed_server.url("/page.html")),
            ("refused", "http://127.0.0.1:9/feed.xml"),
        ],
    )
    poll = cli("--config", str(config), "poll")
    assert poll.exit_code == 0
    feeds = {row["name"]: row for row in json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)}
    assert feeds["wire"]["items"] == 6 and feeds["wire"]["last_error"] is None
    assert "HTTP 410" in feeds["gone"]["last_error"]
    assert "no entries" in feeds["page"]["last_error"]
    assert feeds["refused"]["last_error"] and feeds["refused"]["consecutive_failures"] == 1
    assert "feed error: feed gone" in poll.stderr


def test_the_installed_command_polls_a_feed_from_a_subprocess(feed_server, tmp_path):
    """The console script itself, as a user runs it, with TRACKER_CONFIG."""
    feed_server.routes["/news.xml"] = Route(FEED)
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL")}
    environment["TRACKER_CONFIG"] = str(config)
    tracker = Path(sys.executable).parent / "tracker"
    poll = subprocess.run([str(tracker), "poll"], capture_output=True, text=True, env=environment, timeout=120)
    assert poll.returncode == 0, poll.stderr
    status = subprocess.run([str(tracker), "status", "--format", "json"], capture_output=True, text=True, env=environment, timeout=60)
    assert {row["id"] for row in json.loads(status.stdout)} == {"toyota-solid-state", "nissan-solid-state"}
    assert (tmp_path / "tracker.db").exists()  # relative to the config file, not the working folder
