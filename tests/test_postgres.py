"""The same cycle on PostgreSQL: what several instances share (skipped without TRACKER_TEST_POSTGRES_URL)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA, Route, write_config

pytestmark = pytest.mark.postgres

FEED = (DATA / "feeds" / "climate_news.xml").read_bytes()


def test_a_poll_on_postgres_stores_matches_and_alerts_like_on_sqlite(postgres_database, feed_server, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", postgres_database)
    feed_server.routes["/news.xml"] = Route(FEED, etag='"v1"')
    feed_server.routes["/mirror.xml"] = Route(FEED)
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml")), ("mirror", feed_server.url("/mirror.xml"))])
    first = cli("--config", str(config), "poll")
    assert first.exit_code == 0, first.output
    assert first.stdout.count("pending → delayed") == 1  # the mirror's copies are the same stories
    statuses = {row["id"]: row["status"] for row in json.loads(cli("--config", str(config), "status", "--format", "json").stdout)}
    assert statuses == {"toyota-solid-state": "on_track", "nissan-solid-state": "delayed"}
    feeds = {row["name"]: row["items"] for row in json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)}
    assert feeds == {"wire": 6, "mirror": 6}
    second = cli("--config", str(config), "poll")
    assert "new_entries=0" in second.stderr and second.stdout == ""
    assert not (tmp_path / "tracker.db").exists()


def test_status_set_dismiss_and_show_work_on_postgres(postgres_database, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("TRACKER_DATABASE_URL", postgres_database)
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(DATA / "feeds" / "climate_news.xml"))
    assert cli("--config", str(config), "status", "set", "toyota-solid-state", "at_risk", "--note", "n", "--by", "ana").exit_code == 0
    evidence = json.loads(cli("--config", str(config), "evidence", "nissan-solid-state", "--format", "json").stdout)
    delay = next(row["entry_id"] for row in evidence if "2030" in row["item_title"])
    assert cli("--config", str(config), "evidence", "dismiss", str(delay), "--note", "test").exit_code == 0
    card = cli("--config", str(config), "show", "toyota-solid-state").stdout
    assert "set by ana" in card
    future = {row["id"]: row["status"] for row in json.loads(cli("--config", str(config), "status", "--format", "json", "--as-of", "2031-01-01").stdout)}
    assert future["toyota-solid-state"] == "overdue"
