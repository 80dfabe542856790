"""Operating the bot from outside: /metrics, the Host check, `tracker doctor`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DATA, Route, free_port, write_config
from tracker.web import create_app


def families(text: str) -> dict:
    """Prometheus text → {family name: {labels tuple: value}} (parsing it is the check)."""
    parsed = {}
    for family in text_string_to_metric_families(text):
        parsed[family.name] = {tuple(sorted(sample.labels.items())): sample.value for sample in family.samples}
    return parsed


def test_metrics_parse_as_prometheus_text_and_cover_the_fleet(tracked):
    with TestClient(create_app(tracked)) as client:
        answer = client.get("/metrics")
        commitments = client.get("/api/commitments").json()
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    metrics = families(answer.text)
    assert metrics["tracker_database_up"][()] == 1
    assert sum(metrics["tracker_feeds"].values()) == 0  # `poll --file` ingests files: no configured feed
    statuses = {dict(labels)["status"]: value for labels, value in metrics["tracker_commitments"].items()}
    assert sum(statuses.values()) == len(commitments)
    assert statuses["delayed"] == sum(row["status"] == "delayed" for row in commitments)
    deliveries = {dict(labels)["state"]: value for labels, value in metrics["tracker_deliveries"].items()}
    assert deliveries["sent"] > 0 and deliveries["pending"] == 0  # the console took every alert
    assert metrics["tracker_oldest_waiting_delivery_age_seconds"][()] == 0
    assert metrics["tracker_entries"][()] > 0 and metrics["tracker_matches"][()] > 0


def test_metrics_are_behind_the_access_token(tracked):
    with TestClient(create_app(tracked, access_token="s3cret-token")) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_tracker_run_serves_metrics_for_its_feeds_ticks_and_heartbeat(feed_server, tmp_path):
    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    feed_server.routes["/gone.xml"] = Route(b"gone", status=404)
    port = free_port()
    config = write_config(
        tmp_path, [("wire", feed_server.url("/news.xml")), ("gone", feed_server.url("/gone.xml"))],
        extra=f'[schedule]\ntick = "1s"\n[metrics]\nport = {port}\n',
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL")}
    process = subprocess.Popen([str(Path(sys.executable).parent / "tracker"), "--config", str(config), "run"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        deadline, metrics = time.monotonic() + 60, {}
        while time.monotonic() < deadline and not metrics.get("tracker_instance_last_tick_time_seconds"):
            time.sleep(0.3)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                    metrics = families(answer.read().decode())
            except OSError:
                continue
    finally:
        process.send_signal(signal.SIGTERM)
        _out, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    feeds = {dict(labels)["state"]: value for labels, value in metrics["tracker_feeds"].items()}
    assert sum(feeds.values()) == 2 and feeds["failing"] == 1 and feeds["ok"] == 1
    fetches = {dict(labels)["outcome"]: value for labels, value in metrics["tracker_fetches"].items()}
    assert fetches["ok"] == 1 and fetches["failed"] == 1
    [(labels, last_tick)] = metrics["tracker_instance_last_tick_time_seconds"].items()
    assert dict(labels)["command"] == "run" and abs(last_tick - time.time()) < 60
    assert metrics["tracker_instance_heartbeat_time_seconds"]


@pytest.mark.parametrize("host, answered", [("127.0.0.1:8080", True), ("localhost", True), ("attacker.example", False)])
def test_the_server_answers_only_to_the_host_names_it_serves(tracked, host, answered):
    from tracker.cli.web import served_host_names

    with TestClient(create_app(tracked, allowed_hosts=served_host_names("127.0.0.1", []))) as client:
        answer = client.get("/api/commitments", headers={"Host": host})
    assert (answer.status_code == 200) is answered
    if not answered:
        assert answer.status_code == 400 and "commitment" not in answer.text


def test_a_poll_records_a_redirect_into_another_loopback_address_as_the_feeds_error(feed_server, tmp_path, cli):
    import json

    from tests.conftest import FeedServer

    with FeedServer("127.0.0.2") as inside:
        inside.routes["/admin"] = Route(b"<rss><channel><title>inside</title></channel></rss>")
        feed_server.routes["/feed.xml"] = Route(status=301, headers={"Location": inside.url("/admin")})
        config = write_config(tmp_path, [("hostile", feed_server.url("/feed.xml"))])
        result = cli("--config", str(config), "poll")
        assert result.exit_code == 0
        assert not inside.requests
    [feed] = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)
    assert feed["url"] == feed_server.url("/feed.xml")  # a refused 301 moves nothing
    assert feed["last_error"].startswith("refused to follow a redirect to 127.0.0.2: a loopback address")
