"""The review pages and the JSON API, through FastAPI's test client and a real `tracker serve`."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from fastapi.testclient import TestClient

from tests.conftest import DATA, REPO, Route, write_config
from tracker.web import create_app

NEWS_FEED = DATA / "feeds" / "climate_news.xml"


@pytest.fixture
def client(tracked) -> TestClient:
    return TestClient(create_app(tracked))


def shipped_rule_ids() -> set[str]:
    return {re.search(r"^id: (\S+)", path.read_text(encoding="utf-8"), re.M).group(1) for path in (REPO / "rules").rglob("*.yaml")}


def test_the_front_page_lists_every_commitment_with_its_status(client):
    page = client.get("/")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr id="([^"]+)">.*?class="status status-([a-z_]+)"', page.text, re.S))
    assert set(rows) == shipped_rule_ids()
    assert rows["us-battery-imports-china"] == "on_track"
    assert rows["nissan-solid-state"] == "delayed"
    assert "US cuts the share of its lithium-ion battery imports from China to 50%" in page.text


@pytest.mark.parametrize(
    "query, options",
    [
        ("", []),
        ("?status=delayed", ["--status", "delayed"]),
        ("?category=vehicles&sort=deadline", ["--category", "vehicles", "--sort", "deadline"]),
        ("?actor=china&sort=evidence_count", ["--actor", "china", "--sort", "evidence_count"]),
        ("?overdue=true", ["--overdue"]),
        ("?stale=true&sort=last_evidence", ["--stale", "--sort", "last_evidence"]),
        ("?as_of=2025-06-30", ["--as-of", "2025-06-30"]),
    ],
)
def test_the_api_agrees_with_tracker_status_json(client, tracked, cli, query, options):
    from_cli = json.loads(cli("--config", str(tracked), "status", "--format", "json", *options).stdout)
    from_api = client.get("/api/commitments" + query).json()
    assert from_api == from_cli
    assert from_api or query  # the unfiltered table is never empty


def test_the_page_filters_and_sorts_like_the_cli(client, tracked, cli):
    expected = [row["id"] for row in json.loads(cli("--config", str(tracked), "status", "--format", "json", "--category", "vehicles", "--sort", "deadline").stdout)]
    page = client.get("/", params={"category": "vehicles", "status": "", "actor": "", "overdue": "", "sort": "deadline"})  # an empty form field filters nothing
    assert client.get("/api/commitments?sort=&status=").json() == client.get("/api/commitments").json()
    assert re.findall(r'<tr id="([^"]+)">', page.text) == expected
    assert f"{len(expected)} of {len(shipped_rule_ids())} shown" in page.text
    assert 'href="/?category=vehicles&amp;sort=days_left"' in page.text  # a header re-sorts the same view


def test_a_bad_filter_is_explained_not_ignored(client):
    page = client.get("/?status=nearly_done")
    assert page.status_code == 400 and "status" in page.text
    assert client.get("/api/commitments?status=nearly_done").status_code == 422
    assert client.get("/api/commitments?colour=red").status_code == 422


def test_a_commitment_page_shows_terms_history_evidence_and_a_chart(client):
    page = client.get("/commitments/us-battery-imports-china")
    assert page.status_code == 200
    text = page.text
    assert "Share of US lithium-ion battery imports coming from China at most 50%" in text
    assert "2030-12-31" in text
    timeline = text[text.index('<ol class="timeline">') : text.index("</ol>")]
    # In event time: on track from the first number that moved the right way (68%, in
    # February 2025), dated then; the later 61% keeps it there.
    assert "pending" in timeline and "on track" in timeline and "fell to 68% in 2024" in timeline
    assert '<time datetime="2025-02-10' in timeline
    assert 'href="https://customs.example.org/2026/01/battery-imports"' in text
    assert "<blockquote>China&#39;s share of US lithium-ion battery imports fell to 68% in 2024</blockquote>" in text
    chart = text[text.index("<svg") : text.index("</svg>")]
    assert "<polyline" in chart  # baseline 72 (2023), then 68 and 61 as reported
    assert chart.count('<circle class="point"') == 2 and '<circle class="baseline"' in chart and "2023 baseline" in chart
    assert "target 50% by 2030-12-31" in chart
    assert "<script" not in text


def test_a_commitment_without_a_metric_has_no_chart_and_an_unknown_id_is_a_404(client):
    page = client.get("/commitments/nissan-solid-state")
    assert page.status_code == 200 and "<svg" not in page.text and "Nissan now expects" in page.text
    assert client.get("/commitments/no-such-thing").status_code == 404
    assert client.get("/api/commitments/no-such-thing").status_code == 404


def test_the_api_card_is_what_tracker_show_prints(client, tracked, cli):
    from_cli = json.loads(cli("--config", str(tracked), "show", "us-battery-imports-china", "--format", "json").stdout)
    from_api = client.get("/api/commitments/us-battery-imports-china").json()
    assert from_api == from_cli
    assert [point["value"] for point in from_api["metric_series"]] == [68.0, 61.0]


def test_the_feeds_page_shows_each_feeds_health(tmp_path, cli, feed_server):
    feed_server.routes["/ok.xml"] = Route(NEWS_FEED.read_bytes())
    feed_server.routes["/gone.xml"] = Route(b"", status=500)
    config = write_config(tmp_path, [("good wire", feed_server.url("/ok.xml")), ("bad wire", feed_server.url("/gone.xml"))])
    cli("--config", str(config), "poll")
    client = TestClient(create_app(config))
    health = {feed["name"]: feed["health"] for feed in client.get("/api/feeds").json()}
    assert health == {"good wire": "ok", "bad wire": "failing"}
    page = client.get("/feeds").text
    assert "good wire" in page and "bad wire" in page and "HTTP 500" in page
    assert '<span class="health health-failing">failing</span>' in page
    good_row = page[page.index("good wire") : page.index("</tr>", page.index("good wire"))]
    assert '<td class="number">6</td>' in good_row  # the items it carries


def test_the_openapi_description_names_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    assert {"/api/commitments", "/api/commitments/{commitment_id}", "/api/feeds"} <= set(spec["paths"])
    assert "status" in json.dumps(spec["components"]["schemas"]["CommitmentStatus"])


def test_nothing_is_loaded_from_another_host(client):
    for path in ("/", "/commitments/us-battery-imports-china", "/feeds"):
        html = client.get(path).text
        for tag, attribute in re.findall(r"<(script|link|img|iframe)[^>]*?\b(?:src|href)=\"([^\"]*)\"", html):
            assert not attribute.startswith(("http:", "https:", "//")), (path, tag, attribute)
        assert "@import" not in html and "fonts.googleapis" not in html
    assert client.get("/docs").status_code == 404  # FastAPI's docs page pulls its scripts from a CDN
    css = client.get("/static/tracker.css").text
    assert "url(" not in css and "@import" not in css


def test_rule_edits_show_up_without_a_restart(client, tracked):
    rule = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8")
    assert client.get("/api/commitments/toyota-test-copy").status_code == 404
    new_rule = tracked.parent / "extra-rules" / "toyota-test-copy.yaml"
    new_rule.parent.mkdir()
    new_rule.write_text(rule.replace("id: toyota-solid-state", "id: toyota-test-copy"), encoding="utf-8")
    config_text = tracked.read_text(encoding="utf-8").replace("paths = [", f'paths = ["{new_rule.parent}", ', 1)
    tracked.write_text(config_text, encoding="utf-8")
    fresh = TestClient(create_app(tracked))  # a config change needs a restart; rule files do not
    assert fresh.get("/api/commitments/toyota-test-copy").status_code == 200
    new_rule.write_text(re.sub(r"^title: ", "title: Edited, ", new_rule.read_text(encoding="utf-8"), count=1, flags=re.M), encoding="utf-8")
    assert fresh.get("/api/commitments/toyota-test-copy").json()["title"].startswith("Edited, ")


class TestAccessToken:
    TOKEN = "s3cret-review-token"

    @pytest.fixture
    def guarded(self, tracked) -> TestClient:
        return TestClient(create_app(tracked, access_token=self.TOKEN))

    def test_without_the_token_nothing_is_shown(self, guarded):
        for path in ("/", "/api/commitments", "/commitments/us-paris", "/feeds", "/openapi.json"):
            answer = guarded.get(path)
            assert answer.status_code == 401, path
            assert "us-paris" not in answer.text
        assert guarded.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401

    def test_a_bearer_token_opens_the_api(self, guarded):
        answer = guarded.get("/api/commitments", headers={"Authorization": f"Bearer {self.TOKEN}"})
        assert answer.status_code == 200 and len(answer.json()) == len(shipped_rule_ids())

    def test_a_browser_brings_the_token_once_and_keeps_a_cookie(self, guarded):
        first = guarded.get(f"/?status=delayed&token={self.TOKEN}", follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == "/?status=delayed"  # the token leaves the address bar
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie  # links from Slack or mail open the page
        assert guarded.get("/?status=delayed").status_code == 200  # the client kept the cookie
        elsewhere = guarded.get(f"//evil.example/?token={self.TOKEN}", follow_redirects=False)
        assert elsewhere.headers["location"].startswith("/") and not elsewhere.headers["location"].startswith("//")

    def test_slack_requests_do_not_need_it(self, guarded):
        # Slack signs its requests instead; without a valid signature they are refused, but not by the token.
        answer = guarded.post("/slack/interactions", content=b"payload=%7B%7D")
        assert answer.status_code != 404 and "access token" not in answer.text


def test_tracker_serve_answers_on_127_0_0_1(served):
    with urllib.request.urlopen(served + "/api/commitments", timeout=5) as answer:
        assert len(json.load(answer)) == len(shipped_rule_ids())


def test_a_commitment_whose_rule_file_went_away_keeps_its_page(client, tracked, cli):
    rules = tracked.parent / "own-rules"
    rules.mkdir()
    kept = (DATA / "rules" / "nissan-solid-state.yaml").read_text(encoding="utf-8")
    (rules / "nissan-solid-state.yaml").write_text(kept, encoding="utf-8")
    tracked.write_text(tracked.read_text(encoding="utf-8").replace(f'"{REPO / "rules"}"', f'"{rules}"'), encoding="utf-8")
    fresh = TestClient(create_app(tracked))
    # Reading retires nothing (an operator's wrong rules folder must not retire them all); polling does.
    assert "us-battery-imports-china" in [row["id"] for row in fresh.get("/api/commitments").json()]
    assert cli("--config", str(tracked), "poll", "--file", str(DATA / "feeds" / "climate_news.xml")).exit_code == 0
    assert "us-battery-imports-china" not in [row["id"] for row in fresh.get("/api/commitments").json()]
    page = fresh.get("/commitments/us-battery-imports-china")
    assert page.status_code == 200 and "rule file is missing or broken" in page.text
    assert fresh.get("/api/commitments/us-battery-imports-china").json()["active"] is False


def test_a_muted_commitment_says_so_and_dismissed_evidence_is_counted_apart(client, tracked, cli):
    assert cli("--config", str(tracked), "mute", "us-battery-imports-china", "--until", "2099-01-01", "--note", "holiday").exit_code == 0
    [row] = [row for row in client.get("/api/commitments").json() if row["id"] == "us-battery-imports-china"]
    assert row["muted_until"].startswith("2099-01-01")
    assert "muted until 2099-01-01" in client.get("/").text
    evidence = client.get("/api/commitments/us-battery-imports-china").json()["evidence"]
    assert cli("--config", str(tracked), "evidence", "dismiss", str(evidence[0]["entry_id"]), "us-battery-imports-china", "--note", "n").exit_code == 0
    page = client.get("/commitments/us-battery-imports-china").text
    assert "Evidence (1, and 1 dismissed)" in page and "alerts muted until 2099-01-01: holiday" in page


def test_a_busy_port_is_one_clear_line(tracked):
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "tracker", "--config", str(tracked), "serve", "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
