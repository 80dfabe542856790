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


def _doctor_environment(monkeypatch, slack, token: str) -> None:
    for name in ("SLACK_BOT_TOKEN_FILE", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_FILE", "TRACKER_DATABASE_URL", "TRACKER_WEB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-for-doctor")


@pytest.fixture
def good_setup(feed_server, tmp_path, cli, monkeypatch):
    """A polled feed, good rules, a Slack token the stand-in accepts and a channel the bot is in."""
    from tests.slack_stub import SlackStub

    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))], extra='[slack]\nchannel = "#commitments"\nper_channel_interval = 0\n')
    with SlackStub() as slack:
        slack.valid_token = "xoxb-good-token-1234"
        slack.channel_ids["commitments"] = "C1"
        _doctor_environment(monkeypatch, slack, "xoxb-good-token-1234")
        assert cli("--config", str(config), "poll").exit_code == 0
        yield config, slack


def test_doctor_passes_a_good_setup(good_setup, cli):
    import json

    config, _slack = good_setup
    result = cli("--config", str(config), "doctor", "--format", "json")
    checks = {check["part"]: check for check in json.loads(result.stdout)}
    assert result.exit_code == 0, result.stdout
    assert {"config", "database", "rules", "feed wire", "slack token", "channel #commitments", "web: Slack buttons"} <= set(checks)
    assert all(check["ok"] for check in checks.values())
    assert "tracker-bot" in checks["slack token"]["detail"]


def test_doctor_fails_a_wrong_slack_token_in_words_and_never_prints_it(good_setup, cli, monkeypatch):
    config, slack = good_setup
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-wrong-token-98765")
    result = cli("--config", str(config), "doctor")
    assert result.exit_code == 1
    assert "✗" in result.output and "slack token" in result.output and "invalid_auth" in result.output
    assert "→ the token in $SLACK_BOT_TOKEN is not valid" in result.output
    assert "98765" not in result.output and "xoxb-wrong" not in result.output


def test_doctor_names_what_is_wrong_and_what_to_do(good_setup, cli, tmp_path):
    import json

    config, slack = good_setup
    slack.not_member.add("commitments")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("id: a\ntitle: &t b\n", encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace("[rules]\npaths = [", f'[rules]\npaths = ["{rules}", ')
    config.write_text(text, encoding="utf-8")
    result = cli("--config", str(config), "doctor", "--format", "json")
    assert result.exit_code == 1
    checks = {check["part"]: check for check in json.loads(result.stdout)}
    assert not checks["rules"]["ok"] and "broken.yaml:2:8" in checks["rules"]["detail"]
    assert not checks["channel #commitments"]["ok"] and "/invite" in checks["channel #commitments"]["advice"]
    assert checks["slack token"]["ok"] and checks["database"]["ok"]


def test_doctor_says_when_the_database_cannot_be_reached(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = write_config(tmp_path, [])
    config.write_text(config.read_text(encoding="utf-8").replace('url = "sqlite:///tracker.db"', 'url = "postgresql+psycopg://nobody:pw-not-shown@127.0.0.1:9/none"'), encoding="utf-8")
    result = cli("--config", str(config), "doctor")
    assert result.exit_code == 1 and "cannot connect" in result.output and "pw-not-shown" not in result.output


PROMETHEUS_DOCS = Path(__file__).resolve().parent.parent / "docs" / "prometheus"


@pytest.mark.skipif(__import__("shutil").which("promtool") is None, reason="promtool is not installed")
def test_the_shipped_alert_rules_pass_promtool():
    result = subprocess.run(["promtool", "check", "rules", str(PROMETHEUS_DOCS / "tracker-alerts.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_name_only_metrics_the_tracker_serves(tracked):
    import re

    with TestClient(create_app(tracked)) as client:
        served = set(families(client.get("/metrics").text)) | {"tracker_fetches_total"}
    rules = (PROMETHEUS_DOCS / "tracker-alerts.yml").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(tracker_[a-z_]+)\b", rules))
    assert named and named <= served | {name.removesuffix("_total") for name in served}, named - served


@pytest.mark.parametrize("url, words", [("postgresql//u:pw-hidden@h/x", "not a database URL"), ("foo://u:pw-hidden@h/x", "no driver for it")])
def test_doctor_tells_a_bad_database_url_in_words(tmp_path, cli, monkeypatch, url, words):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    config = write_config(tmp_path, [])
    config.write_text(config.read_text(encoding="utf-8").replace('url = "sqlite:///tracker.db"', f'url = "{url}"'), encoding="utf-8")
    result = cli("--config", str(config), "doctor")
    assert result.exit_code == 1 and words in result.output and "pw-hidden" not in result.output


def test_doctor_creates_no_database_file(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    result = cli("--config", str(write_config(tmp_path, [])), "doctor")
    assert "no file yet" in result.output and not (tmp_path / "tracker.db").exists()


def test_configured_host_names_keep_loopback_answering_when_serving_on_loopback():
    from tracker.cli.web import served_host_names

    assert set(served_host_names("127.0.0.1", ["tracker.example.org"])) >= {"tracker.example.org", "127.0.0.1", "localhost"}
    assert served_host_names("0.0.0.0", ["tracker.example.org"]) == ["tracker.example.org"]
