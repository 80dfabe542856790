"""Alerts on their way to Slack, as a user sees them: the real slack-sdk against a local
Web API stand-in, real SQLite, and the `tracker` commands that show and steer the outbox."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from tests.conftest import DATA, Route, write_config
from tests.slack_stub import SlackStub

TOKEN = "xoxb-test-token"
CLIMATE_NEWS = DATA / "feeds" / "climate_news.xml"
FAST = '[slack]\nper_channel_interval = "0s"'
TOYOTA_PROGRESS = "Toyota will start production of solid-state batteries in 2027"
TOYOTA_DELAY = "Toyota now expects solid-state batteries in 2030"


def write_feed(folder: Path, name: str, *items: tuple[str, datetime]) -> Path:
    """A small RSS file of (title, published) items."""
    rendered = "".join(
        f"<item><title>{escape(title)}</title><link>https://wire.example.org/{name}/{number}</link>"
        f'<guid isPermaLink="false">{name}-{number}</guid><pubDate>{format_datetime(published, usegmt=True)}</pubDate>'
        f"<description>{escape(title)}.</description></item>"
        for number, (title, published) in enumerate(items)
    )
    path = folder / f"{name}.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test wire</title>'
        f"<link>https://wire.example.org/</link><description>test</description>{rendered}</channel></rss>",
        encoding="utf-8",
    )
    return path


def outbox(cli, config: Path) -> list[dict]:
    result = cli("--config", str(config), "outbox", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def headline(message: dict) -> str:
    """The first line of the fallback text (of a post as sent: an updated opener's text changes)."""
    return (message["text"] or "").splitlines()[0]


def posted_delivery_ids(slack: SlackStub) -> list[str]:
    return [str(body["metadata"]["event_payload"]["delivery_id"]) for body in slack.posted()]


def commitment_of(message: dict) -> str:
    """The rule id a card names in its context line."""
    context = json.dumps(message["blocks"])
    return next(rule for rule in ("toyota-solid-state", "nissan-solid-state") if rule in context)


# 1. One message per change, none for old news.


def test_every_status_change_is_one_message_and_a_poll_without_news_sends_nothing(slack, feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(CLIMATE_NEWS.read_bytes(), etag='"v1"')
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))], extra=FAST)

    first = cli("--config", str(config), "poll")
    assert first.exit_code == 0, first.output
    assert "alerts_sent=5" in first.stderr
    changes = [headline(post) for post in slack.posted() if "→" in headline(post)]
    assert sorted(changes) == [
        "Nissan all-solid-state battery EVs by fiscal 2028: pending → delayed",
        "Toyota begins solid-state battery production for EVs: pending → on track",
    ]
    assert len(slack.messages) == 5  # the two changes and three pieces of evidence
    assert sorted(slack.delivered_ids()) == sorted(set(slack.delivered_ids()))

    second = cli("--config", str(config), "poll")
    assert second.exit_code == 0, second.output
    assert "alerts_sent=0" in second.stderr
    assert len(slack.messages) == 5 and len(slack.posted()) == 5
    assert outbox(cli, config) == []


# 2. Threads.


def test_a_commitment_gets_one_thread_that_follow_ups_join_and_its_opener_shows_the_current_status(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    progress = write_feed(tmp_path, "progress", (TOYOTA_PROGRESS, datetime(2026, 10, 1, 8, tzinfo=timezone.utc)))
    delay = write_feed(tmp_path, "delay", (TOYOTA_DELAY, datetime(2026, 11, 2, 8, tzinfo=timezone.utc)))

    assert cli("--config", str(config), "poll", "--file", str(progress)).exit_code == 0
    opener, on_track = slack.messages
    assert opener["thread_ts"] is None and opener["channel"] == slack.channel_id("#commitments")
    assert slack.posted()[0]["channel"] == "#commitments"
    assert ": new evidence (" in headline(slack.posted()[0])
    assert on_track["thread_ts"] == opener["ts"] and on_track["reply_broadcast"] is True
    assert headline(on_track).endswith("pending → on track")
    assert opener.get("updated") and "*on track*" in json.dumps(opener["blocks"])

    assert cli("--config", str(config), "poll", "--file", str(delay)).exit_code == 0
    evidence, delayed = slack.messages[2:]
    assert evidence["thread_ts"] == opener["ts"] and not evidence["reply_broadcast"]
    assert "new evidence (delay)" in headline(evidence)
    assert delayed["thread_ts"] == opener["ts"] and delayed["reply_broadcast"] is True
    assert headline(delayed).endswith("on track → delayed")
    assert [message for message in slack.messages if message["thread_ts"] is None] == [opener]
    status_block = json.dumps(opener["blocks"][1])
    assert "*delayed*" in status_block and "on track" not in status_block
    updates = [body for path, body, _headers in slack.calls if path.endswith("chat.update")]
    assert len(updates) == 2 and all(body["ts"] == opener["ts"] for body in updates)


# 3. Routing.


def test_category_alerts_go_to_their_channel_and_a_broken_feed_is_told_to_the_ops_channel(slack, feed_server, tmp_path, cli):
    feed_server.routes["/news.xml"] = Route(CLIMATE_NEWS.read_bytes())
    extra = FAST + '\nops_channel = "#ops"\ncategory_channels = { batteries = "#batteries" }\n[fetch]\nbroken_after = 1'
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml")), ("refused", "http://127.0.0.1:9/feed.xml")], extra=extra)

    poll = cli("--config", str(config), "poll")
    assert poll.exit_code == 0, poll.output

    notices = [message for message in slack.messages if message["channel"] == slack.channel_id("#ops")]
    alerts = [message for message in slack.messages if message not in notices]
    assert len(alerts) == 5 and {message["channel"] for message in alerts} == {slack.channel_id("#batteries")}
    assert {body["channel"] for body in slack.posted() if "thread_ts" not in body} == {"#batteries", "#ops"}
    [notice] = notices
    assert headline(notice) == "Feed refused is broken"
    assert "127.0.0.1:9" in notice["text"]
    assert slack.channel_id("#commitments") not in {message["channel"] for message in slack.messages}


# 4. Transient failures.


def test_a_rate_limited_alert_is_retried_after_retry_after_and_arrives_once(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    slack.script = [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    started = time.monotonic()
    poll = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    assert time.monotonic() - started >= 1  # the client waited as told
    tries = posted_delivery_ids(slack)
    assert len(tries) == 6 and tries[0] == tries[1]  # the first alert, asked twice
    assert len(slack.messages) == 5 and len(set(slack.delivered_ids())) == 5
    assert outbox(cli, config) == []


def test_an_alert_slack_keeps_refusing_with_503_waits_as_failed_then_retry_sends_it_once(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    # slack-sdk asks again twice on a 503: three answers use up every try of the first alert.
    slack.script = [(503, {"ok": False, "error": "service_unavailable"}, {})] * 3
    poll = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    assert "alerts_sent=4" in poll.stderr and "alerts_failed=1" in poll.stderr

    [failed] = outbox(cli, config)
    assert failed["state"] == "failed" and failed["attempts"] == 1
    assert "503" in failed["last_error"]
    assert datetime.fromisoformat(failed["next_attempt"]) > datetime.now(timezone.utc)
    assert posted_delivery_ids(slack).count(str(failed["id"])) == 3
    assert str(failed["id"]) not in slack.delivered_ids()

    calls = len(slack.calls)
    cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert len(slack.calls) == calls  # not before its next attempt

    retry = cli("--config", str(config), "outbox", "retry")
    assert retry.exit_code == 0, retry.output
    assert "retried 1: 1 sent, 0 failed" in retry.stdout
    assert slack.delivered_ids().count(str(failed["id"])) == 1
    assert len(slack.messages) == 5 and outbox(cli, config) == []


# 5. Permanent failures.


@pytest.mark.parametrize("code", ["channel_not_found", "invalid_auth"])
def test_a_permanent_error_parks_alerts_with_the_reason_until_outbox_retry(slack, tmp_path, cli, caplog, code):
    config = write_config(tmp_path, [], extra=FAST)
    slack.script = [(200, {"ok": False, "error": code}, {})] * 5
    poll = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    assert "alerts_failed=5" in poll.stderr and caplog.text.count("(parked)") == 5

    parked = outbox(cli, config)
    assert len(parked) == 5 and {row["state"] for row in parked} == {"parked"}
    assert all(code in row["last_error"] for row in parked)
    assert all(row["next_attempt"] is None for row in parked)
    assert slack.messages == []

    calls = len(slack.calls)
    assert cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS)).exit_code == 0
    assert len(slack.calls) == calls  # a later poll leaves parked alerts alone

    retry = cli("--config", str(config), "outbox", "retry")
    assert retry.exit_code == 0, retry.output
    assert "retried 5: 5 sent, 0 failed" in retry.stdout
    assert sorted(slack.delivered_ids()) == sorted(str(row["id"]) for row in parked)
    assert outbox(cli, config) == []


def test_alerts_parked_for_a_missing_channel_go_to_the_corrected_channel_on_retry(slack, tmp_path, cli):
    answer = slack.answer

    def only_real_channels(method: str, body: dict) -> dict:
        if method == "chat.postMessage" and body["channel"] == "#missing":
            return {"ok": False, "error": "channel_not_found"}
        return answer(method, body)

    slack.answer = only_real_channels
    config = write_config(tmp_path, [], extra=FAST + '\nchannel = "#missing"')
    assert cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS)).exit_code == 0
    assert {row["state"] for row in outbox(cli, config)} == {"parked"}

    write_config(tmp_path, [], extra=FAST + '\nchannel = "#alerts"')  # the fix the error asked for
    retry = cli("--config", str(config), "outbox", "retry")
    assert "retried 5: 5 sent, 0 failed" in retry.stdout
    assert {body["channel"] for body in slack.posted()[5:] if "thread_ts" not in body} == {"#alerts"}


# 6. `tracker notify test`.


def test_notify_test_posts_a_test_message(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    result = cli("--config", str(config), "notify", "test")
    assert result.exit_code == 0, result.output
    assert "test message sent to #commitments via slack (tracker-bot in Policy)" in result.stdout
    [message] = slack.messages
    assert message["channel"] == slack.channel_id("#commitments") and headline(message) == "tracker test message"


@pytest.mark.parametrize(
    "script, says",
    [
        ([(200, {"ok": False, "error": "invalid_auth"}, {})], ["invalid_auth", "$SLACK_BOT_TOKEN is not valid"]),
        (
            [(200, {"ok": True, "user": "tracker-bot", "team": "Policy"}, {}), (200, {"ok": False, "error": "channel_not_found"}, {})],
            ["channel_not_found", "there is no channel #nowhere"],
        ),
    ],
    ids=["invalid_auth", "channel_not_found"],
)
def test_notify_test_fails_with_exit_2_and_says_what_to_fix(slack, tmp_path, cli, script, says):
    config = write_config(tmp_path, [], extra=FAST)
    slack.script = list(script)
    result = cli("--config", str(config), "notify", "test", "--channel", "#nowhere")
    assert result.exit_code == 2
    for words in says:
        assert words in result.stderr
    assert TOKEN not in result.output and slack.messages == []


# 7. Mutes.


def test_a_muted_commitment_is_held_back_while_others_are_sent_and_unmute_lets_new_alerts_through(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    mute = cli("--config", str(config), "mute", "toyota-solid-state", "--until", "2099-12-31", "--note", "embargoed until the annual report")
    assert mute.exit_code == 0, mute.output
    assert "toyota-solid-state muted until 2099-12-31" in mute.stdout

    assert cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS)).exit_code == 0
    held = outbox(cli, config)
    assert len(held) == 2 and {row["commitment"] for row in held} == {"toyota-solid-state"}
    assert {row["state"] for row in held} == {"muted"}
    assert all(row["last_error"] == "muted until 2099-12-31: embargoed until the annual report" for row in held)
    assert len(slack.messages) == 3 and {commitment_of(message) for message in slack.messages} == {"nissan-solid-state"}

    unmute = cli("--config", str(config), "unmute", "toyota-solid-state")
    assert unmute.exit_code == 0 and "toyota-solid-state unmuted" in unmute.stdout
    delay = write_feed(tmp_path, "delay", (TOYOTA_DELAY, datetime(2026, 11, 2, 8, tzinfo=timezone.utc)))
    assert cli("--config", str(config), "poll", "--file", str(delay)).exit_code == 0
    toyota = [post for post in slack.posted() if commitment_of(post) == "toyota-solid-state"]
    assert [headline(post).rsplit(": ", 1)[-1] for post in toyota] == ["new evidence (delay)", "on track → delayed"]


def test_alerts_that_came_due_during_a_mute_are_dropped_not_replayed_after_it(slack, tmp_path, cli):
    """Like a silence in an alerting system: what a mute held back stays in the outbox as a
    record (state muted, with the note) and is not sent later; new alerts flow after unmute."""
    config = write_config(tmp_path, [], extra=FAST)
    cli("--config", str(config), "mute", "toyota-solid-state", "--until", "2099-12-31", "--note", "embargo")
    cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    cli("--config", str(config), "unmute", "toyota-solid-state")
    cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    cli("--config", str(config), "outbox", "retry")
    held = outbox(cli, config)
    assert [row["state"] for row in held] == ["muted", "muted"]
    assert all("embargo" in row["last_error"] for row in held)
    assert len(slack.messages) == 3


# 8. The digest.


def test_the_digest_counts_statuses_lists_changes_deadlines_and_stale_ones_and_is_posted_once_a_day(slack, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST + "\n[digest]\ndeadline_days = 10000")
    now = datetime.now(timezone.utc)
    feed = write_feed(
        tmp_path,
        "news",
        (TOYOTA_PROGRESS, now - timedelta(days=2)),
        ("Nissan now expects its all-solid-state battery EVs in 2030", now - timedelta(days=200)),
    )
    assert cli("--config", str(config), "poll", "--file", str(feed)).exit_code == 0
    alerts = len(slack.messages)

    dry = cli("--config", str(config), "digest", "--dry-run")
    assert dry.exit_code == 0, dry.output
    text = dry.stdout
    assert "Commitments: 1 on track, 1 delayed" in text
    assert "• Toyota begins solid-state battery production for EVs: pending → on_track" in text
    assert "• Nissan all-solid-state battery EVs by fiscal 2028: pending → delayed" in text
    deadlines = text.split("Deadlines within 10000 days:")[1].split("Stale")[0]
    assert "Toyota begins" in deadlines and "Nissan all-solid-state" in deadlines
    stale = text.split("Stale (no recent evidence):")[1]
    assert "Nissan all-solid-state" in stale and "Toyota" not in stale
    assert len(slack.messages) == alerts  # a dry run posts nothing

    sent = cli("--config", str(config), "digest")
    assert sent.exit_code == 0, sent.output
    [digest] = slack.messages[alerts:]
    assert headline(digest) == f"Commitments digest, {now:%Y-%m-%d}"
    assert "1 on track, 1 delayed" in digest["text"] and digest["thread_ts"] is None

    again = cli("--config", str(config), "digest")
    assert again.exit_code == 0, again.output
    assert len(slack.messages) == alerts + 1 and len(slack.posted()) == alerts + 1


# 9. The incoming webhook alternative.


@pytest.fixture
def webhook(slack, monkeypatch):
    """Only a webhook URL: the stub answers its unknown path with 200, which is all a webhook says."""
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    url = slack.base_url + "webhook"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", url)
    return url


def _webhook_posts(slack: SlackStub) -> list[dict]:
    return [body for path, body, _headers in slack.calls if path == "/api/webhook"]


def test_with_only_a_webhook_url_alerts_arrive_through_the_webhook(slack, webhook, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    poll = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    assert "alerts_sent=5" in poll.stderr
    posts = _webhook_posts(slack)
    assert len(posts) == 5 and len(slack.calls) == 5  # no Web API calls: no threads, no updates
    assert all(post["blocks"] and "thread_ts" not in post for post in posts)
    assert "Nissan all-solid-state battery EVs by fiscal 2028: pending → delayed" in [headline(post) for post in posts]
    assert outbox(cli, config) == []


def test_a_webhook_answering_404_no_service_parks_the_alerts(slack, webhook, tmp_path, cli):
    config = write_config(tmp_path, [], extra=FAST)
    slack.script = [(404, "no_service", {})] * 5
    poll = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    rows = outbox(cli, config)
    assert len(rows) == 5 and {row["state"] for row in rows} == {"parked"}
    assert all("404" in row["last_error"] and "no_service" in row["last_error"] for row in rows)
    listing = cli("--config", str(config), "outbox", "--format", "csv").stdout + poll.output
    assert webhook not in listing  # the URL is a secret too


def test_the_webhook_url_never_appears_in_verbose_logs(slack, webhook, tmp_path, cli, caplog):
    caplog.set_level(logging.DEBUG)
    config = write_config(tmp_path, [], extra=FAST)
    poll = cli("--config", str(config), "-v", "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0 and len(_webhook_posts(slack)) == 5
    assert webhook not in poll.output
    assert webhook not in caplog.text


# 10. The token from a file, and kept secret.


def test_a_token_from_slack_bot_token_file_works_and_never_shows_in_output_or_logs(slack, tmp_path, cli, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "xoxb-from-a-file-4242424242-abcdef"
    token_file = tmp_path / "slack-token"
    token_file.write_text(secret + "\n", encoding="utf-8")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(token_file))
    config = write_config(tmp_path, [], extra=FAST)
    slack.script = [(200, {"ok": False, "error": "invalid_auth"}, {})]  # one failure, so the outbox has a reason to show

    poll = cli("--config", str(config), "-v", "poll", "--file", str(CLIMATE_NEWS))
    assert poll.exit_code == 0, poll.output
    assert len(slack.messages) == 4
    assert {headers["authorization"] for _path, _body, headers in slack.calls} == {f"Bearer {secret}"}

    shown = [poll.output]
    for fmt in ("table", "json", "csv"):
        result = cli("--config", str(config), "outbox", "--format", fmt)
        shown.append(result.output)
    assert "invalid_auth" in shown[2]
    retry = cli("--config", str(config), "-v", "outbox", "retry")
    assert retry.exit_code == 0 and len(slack.messages) == 5
    shown.append(retry.output)
    for text in shown + [caplog.text]:
        assert secret not in text and "4242424242" not in text


# 11. Pacing.


def _record_sends(slack: SlackStub, monkeypatch) -> list[tuple[float, str]]:
    """When each post leaves the real slack-sdk client for the stub, with the channel it
    goes to: the pacer's spacing, without the trip's jitter on a busy machine."""
    from slack_sdk import WebClient

    sends: list[tuple[float, str]] = []
    post = WebClient.chat_postMessage

    def timed(client, **arguments):
        sends.append((time.monotonic(), slack.channel_id(arguments["channel"])))
        return post(client, **arguments)

    monkeypatch.setattr(WebClient, "chat_postMessage", timed)
    return sends


def test_alerts_to_one_channel_are_spaced_by_the_per_channel_interval(slack, tmp_path, cli, monkeypatch):
    config = write_config(tmp_path, [], extra='[slack]\nper_channel_interval = "0.3s"')
    sends = _record_sends(slack, monkeypatch)
    assert cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS)).exit_code == 0
    times = [moment for moment, _channel in sends]
    assert len(times) == 5
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert min(gaps) >= 0.28, gaps
    assert times[-1] - times[0] >= 4 * 0.28


def test_pacing_one_channel_does_not_delay_another(slack, tmp_path, cli, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "toyota-solid-state.yaml").write_text((DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    nissan = (DATA / "rules" / "nissan-solid-state.yaml").read_text(encoding="utf-8")
    (rules / "nissan-solid-state.yaml").write_text(nissan + 'channel: "#nissan"\n', encoding="utf-8")
    config = write_config(tmp_path, [], rules=[rules], extra='[slack]\nper_channel_interval = "0.3s"')
    arrivals = _record_sends(slack, monkeypatch)

    assert cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS)).exit_code == 0
    by_channel: dict[str, list[float]] = {}
    for moment, channel in arrivals:
        by_channel.setdefault(channel, []).append(moment)
    toyota, nissan = by_channel[slack.channel_id("#commitments")], by_channel[slack.channel_id("#nissan")]
    assert (len(toyota), len(nissan)) == (2, 3)
    for times in (toyota, nissan):
        assert all(later - earlier >= 0.28 for earlier, later in zip(times, times[1:]))
    assert nissan[0] - toyota[0] < 0.2  # the first Nissan alert did not wait for Toyota's channel
    assert arrivals[-1][0] - arrivals[0][0] < 4 * 0.3  # one shared pace would have needed 1.2 s


def test_an_empty_token_file_or_two_ways_of_setting_one_stop_the_command_instead_of_falling_back(slack, tmp_path, cli, monkeypatch):
    config = write_config(tmp_path, [], extra=FAST)
    empty = tmp_path / "slack-token"
    empty.write_text("\n", encoding="utf-8")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(empty))
    both = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))  # SLACK_BOT_TOKEN is set too
    assert both.exit_code == 2 and "both $SLACK_BOT_TOKEN and $SLACK_BOT_TOKEN_FILE are set" in both.stderr
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    result = cli("--config", str(config), "poll", "--file", str(CLIMATE_NEWS))
    assert result.exit_code == 2 and f"SLACK_BOT_TOKEN_FILE: {empty} is empty" in result.stderr
    assert slack.messages == [] and "alerts are printed here" not in result.output
