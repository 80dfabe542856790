"""Slack through the real slack-sdk against a local Web API stand-in."""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from notifiers import DeliveryError
from notifiers.slack import SlackNotifier, escape_mrkdwn, render_blocks
from tests.conftest import DATA, Route, write_config
from tests.slack_stub import SlackStub
from tracker.model import Alert

TOKEN = "xoxb-000-secret-token-for-tests"

HOSTILE = Alert(
    kind="status_change",
    commitment_id="nissan-solid-state",
    commitment_title="Nissan <!here> solid-state",
    old_status="pending",
    new_status="delayed",
    deadline=date(2029, 3, 31),
    target="All-solid-state EVs <@U123>",
    entry_title="<!channel> Nissan plant <https://evil.example|opens> & more",
    entry_url="https://wire.example.org/a",
    feed_name="wire",
    matched_terms=("nissan", "<!everyone>"),
    source_document="001_c0028fe4bae245fb.txt",
)


@pytest.fixture
def slack():
    with SlackStub() as stub:
        yield stub


def test_hostile_feed_text_pings_no_one_and_links_nowhere(slack):
    notifier = SlackNotifier(TOKEN, base_url=slack.base_url, default_channel="#c")
    notifier.send(HOSTILE)
    [message] = slack.posted()
    everything = json.dumps(message)
    for hostile in ("<!channel>", "<!here>", "<@U123>", "<!everyone>", "<https://evil.example|opens>"):
        assert hostile not in everything
    assert "&lt;!channel&gt;" in everything
    assert "<https://wire.example.org/a|" in everything  # our own link, built from a vetted URL
    assert message["unfurl_links"] in (False, "0", "false", 0)


def test_a_link_with_markup_characters_is_not_made_a_link():
    alert = Alert(kind="evidence", commitment_id="x", commitment_title="x", entry_title="t", entry_url="https://a.example/|<!here>")
    assert "<https://a.example" not in json.dumps(render_blocks(alert, date(2026, 1, 1)))


def test_a_status_change_card_says_why_it_changed():
    alert = Alert(kind="status_change", commitment_id="x", commitment_title="X", old_status="on_track", new_status="at_risk", text="set by ana: <!here> supplier cut")
    text = json.dumps(render_blocks(alert, date(2026, 1, 1)))
    assert "set by ana: &lt;!here&gt; supplier cut" in text


def test_escaping_replaces_ampersand_first():
    assert escape_mrkdwn("a &lt; <b>") == "a &amp;lt; &lt;b&gt;"


@pytest.mark.parametrize(
    "error, permanent",
    [("channel_not_found", True), ("invalid_auth", True), ("not_in_channel", True), ("is_archived", True), ("internal_error", False)],
)
def test_failures_are_classified(slack, error, permanent):
    slack.script = [(200, {"ok": False, "error": error}, {})]
    with pytest.raises(DeliveryError) as raised:
        SlackNotifier(TOKEN, base_url=slack.base_url).send(HOSTILE)
    assert raised.value.permanent is permanent
    assert error in str(raised.value)


def test_rate_limits_are_retried_by_the_client_honouring_retry_after(slack):
    slack.script = [(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})]
    sent = SlackNotifier(TOKEN, base_url=slack.base_url).send(HOSTILE)
    assert sent.remote_id and len(slack.posted()) == 2


def test_the_token_never_reaches_logs_errors_or_reprs(slack, caplog):
    caplog.set_level(logging.DEBUG)
    slack.script = [(200, {"ok": False, "error": "invalid_auth"}, {})]
    notifier = SlackNotifier(TOKEN, base_url=slack.base_url)
    with pytest.raises(DeliveryError) as raised:
        notifier.send(HOSTILE)
    assert TOKEN not in str(raised.value) and TOKEN not in repr(raised.value)
    assert TOKEN not in repr(notifier)
    assert TOKEN not in caplog.text
    assert slack.calls[0][2]["authorization"] == f"Bearer {TOKEN}"  # it was sent, to Slack only


def test_a_poll_with_a_token_posts_to_slack_and_never_logs_the_token(feed_server, slack, tmp_path, cli, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    feed_server.routes["/news.xml"] = Route((DATA / "feeds" / "climate_news.xml").read_bytes())
    config = write_config(tmp_path, [("wire", feed_server.url("/news.xml"))])
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    result = cli("--config", str(config), "-v", "poll")
    assert result.exit_code == 0
    posted = slack.posted()
    assert len(posted) == 5  # 3 pieces of evidence, 2 status changes
    # The first alert per commitment opens a thread in the default channel; the rest reply in it.
    openers = [message for message in posted if "thread_ts" not in message]
    assert len(openers) == 2 and all(message["channel"] == "#commitments" for message in openers)
    assert TOKEN not in result.output and TOKEN not in caplog.text
