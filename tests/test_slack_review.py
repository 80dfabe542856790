"""Review from Slack, as a reviewer sees it: the buttons on a posted card, what a signed
click changes (exactly what the matching command changes), the card's update, the
`/commitments` slash command, and everything unsigned or stale refused.

The real FastAPI app on real SQLite, the real slack-sdk against a local Slack stand-in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import pytest
from fastapi.testclient import TestClient

from notifiers.slack import render_blocks
from tests.conftest import write_config
from tests.slack_stub import SlackStub
from tracker.model import Alert
from tracker.web.slack_actions import fit_sections
from tracker.web import create_app

TOKEN = "xoxb-review-token-for-tests"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FAST = '[slack]\nper_channel_interval = "0s"'
NISSAN = "nissan-solid-state"
NISSAN_DELAYED = "pending → delayed"
# What the parser leaves of a hostile headline: a mention of everyone and of one person.
HOSTILE_TITLE = "Nissan &lt;!here&gt; solid-state battery plant <@U123> tour & more"
# (title, link, published): the delay is the newest Nissan news, so the status change's
# card shows it and its Dismiss button names it; the hostile headline gets a card of its own.
NEWS = [
    ("Nissan now expects its all-solid-state battery EVs in 2030", "https://wire.example.org/nissan-delay", datetime(2026, 4, 15, 9, tzinfo=timezone.utc)),
    (HOSTILE_TITLE, "javascript:alert(1)", datetime(2026, 4, 1, 7, tzinfo=timezone.utc)),
    ("Toyota confirms solid-state battery production will start in 2027 and remains on schedule", "https://wire.example.org/toyota", datetime(2026, 3, 10, 8, tzinfo=timezone.utc)),
]


def write_news(folder: Path) -> Path:
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid isPermaLink=\"false\">news-{number}</guid>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate></item>"
        for number, (title, link, published) in enumerate(NEWS)
    )
    path = folder / "news.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>', encoding="utf-8")
    return path


def polled(folder: Path, cli) -> Path:
    """A tracker that has read the news: Nissan delayed, Toyota on track, cards in Slack."""
    folder.mkdir(exist_ok=True)
    config = write_config(folder, [], extra=FAST)
    result = cli("--config", str(config), "poll", "--file", str(write_news(folder)))
    assert result.exit_code == 0, result.output
    return config


@pytest.fixture
def config(slack, tmp_path, cli) -> Path:
    return polled(tmp_path / "tracker", cli)


@pytest.fixture
def client(config):
    with TestClient(create_app(config, signing_secret=SECRET)) as test_client:
        yield test_client


def signed(body: str, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """Headers as Slack sends them, computed here from Slack's documented recipe."""
    timestamp = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/x-www-form-urlencoded"}


def card(slack: SlackStub, headline_end: str) -> dict:
    """The newest alert card (not a thread's opener, which shows the current status) with that headline."""
    return [
        message for message in slack.messages
        if (message["text"] or "").splitlines()[0].endswith(headline_end) and message["thread_ts"]
    ][-1]


def buttons(message: dict) -> dict[str, dict]:
    [actions] = [block for block in message["blocks"] if block["type"] == "actions"]
    return {element["action_id"]: element for element in actions["elements"]}


def click(message: dict, action_id: str, user_name: str = "alice", value: str | None = None) -> dict:
    """The block_actions payload Slack sends when `action_id` is clicked on `message`."""
    return {
        "type": "block_actions",
        "user": {"id": "U42", "username": user_name, "name": user_name, "team_id": "T1"},
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": message["channel"], "is_ephemeral": False},
        "channel": {"id": message["channel"], "name": "commitments"},
        "message": {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"action_id": action_id, "block_id": "tracker_review", "type": "button", "action_ts": "1.2",
                     "value": buttons(message)[action_id]["value"] if value is None else value}],
    }


def post_click(client: TestClient, payload: dict, **signing):
    body = urlencode({"payload": json.dumps(payload)})
    return client.post("/slack/interactions", content=body, headers=signed(body, **signing))


def command(client: TestClient, text: str, headers: dict | None = None):
    body = urlencode({"command": "/commitments", "text": text, "user_id": "U42", "user_name": "alice", "channel_id": "C1", "response_url": "https://hooks.slack.com/commands/x"})
    return client.post("/slack/commands", content=body, headers=signed(body) if headers is None else headers)


def statuses(cli, config: Path) -> dict[str, str]:
    result = cli("--config", str(config), "status", "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["id"]: row["status"] for row in json.loads(result.stdout)}


def shown(cli, config: Path, commitment_id: str = NISSAN) -> dict:
    result = cli("--config", str(config), "show", commitment_id, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def entry_id(cli, config: Path, title_part: str = "now expects") -> int:
    """The id of Nissan's evidence whose title has `title_part` (default: the delay that made it delayed)."""
    result = cli("--config", str(config), "evidence", NISSAN, "--format", "json")
    [entry] = [row["entry_id"] for row in json.loads(result.stdout) if title_part in row["item_title"]]
    return entry


# 1. The buttons on a card.


def test_a_status_change_card_carries_confirm_dismiss_and_snooze_with_what_they_need(config, slack, cli):
    card_buttons = buttons(card(slack, NISSAN_DELAYED))
    assert list(card_buttons) == ["confirm", "dismiss", "snooze", "label"]
    assert card_buttons["confirm"]["text"]["text"] == "Confirm delayed"
    assert card_buttons["dismiss"]["text"]["text"] == "Dismiss as false positive"
    assert card_buttons["snooze"]["text"]["text"] == "Snooze 7 days"
    assert "now expects" in json.dumps(card(slack, NISSAN_DELAYED)["blocks"])  # the entry it names is the one it shows
    value = json.loads(card_buttons["dismiss"]["value"])
    assert value == {"commitment_id": NISSAN, "entry_id": entry_id(cli, config), "status": "delayed"}
    evidence_value = json.loads(buttons(card(slack, "new evidence (mention)"))["dismiss"]["value"])
    assert evidence_value == {"commitment_id": NISSAN, "entry_id": entry_id(cli, config, "battery plant"), "status": None}


def test_a_threads_first_message_showing_the_current_status_keeps_confirm_and_snooze(config, slack):
    [opener] = [message for message in slack.messages if message["thread_ts"] is None and NISSAN in json.dumps(message["blocks"])]
    assert opener.get("updated")  # it was the first evidence card; it now shows where Nissan stands
    opener_buttons = buttons(opener)
    assert list(opener_buttons) == ["confirm", "snooze"] and opener_buttons["confirm"]["text"]["text"] == "Confirm delayed"
    assert json.loads(opener_buttons["confirm"]["value"]) == {"commitment_id": NISSAN, "entry_id": None, "status": "delayed"}


def test_hostile_feed_text_on_a_card_with_buttons_pings_no_one_and_links_nowhere(config, slack, cli):
    assert "<!here>" in json.dumps(shown(cli, config)["evidence"])  # it reached the database as it came
    everything = json.dumps(slack.messages)
    assert "<!here>" not in everything and "<@U123>" not in everything and "javascript:" not in everything
    assert "&lt;!here&gt;" in everything and "&lt;@U123&gt;" in everything
    evidence_cards = [message for message in slack.messages if "new evidence" in (message["text"] or "") and any(b["type"] == "actions" for b in message["blocks"])]
    assert evidence_cards and all(buttons(message)["confirm"]["text"]["text"] == "Confirm status" for message in evidence_cards)


@pytest.mark.parametrize(
    "alert, expected",
    [
        (Alert(kind="evidence", commitment_id="x", commitment_title="X", entry_title="t", entry_id=7), ["confirm", "dismiss", "snooze", "label"]),
        (Alert(kind="status_change", commitment_id="x", commitment_title="X", old_status="pending", new_status="missed"), ["confirm", "snooze"]),
        (Alert(kind="reminder", commitment_id="x", commitment_title="X", new_status="on_track", deadline=date(2030, 1, 1)), ["confirm", "snooze"]),
        (Alert(kind="notice", commitment_id="", commitment_title="Feed wire is broken", text="HTTP 503"), None),
        (Alert(kind="notice", commitment_id="", commitment_title="Commitments digest, 2026-01-01", text="…"), None),
    ],
)
def test_only_alerts_about_a_commitment_carry_buttons_and_dismiss_needs_an_entry(alert, expected):
    actions = [block for block in render_blocks(alert, date(2026, 1, 1)) if block["type"] == "actions"]
    assert [element["action_id"] for element in actions[0]["elements"]] == expected if expected else actions == []


# 2. Refused: unsigned, badly signed, stale, or no secret to check with.


@pytest.mark.parametrize(
    "case",
    ["unsigned", "signed with another secret", "body changed after signing", "signed 6 minutes ago", "signed 6 minutes ahead", "no signing secret configured"],
)
def test_an_interaction_without_a_good_fresh_signature_is_refused_and_changes_nothing(config, slack, cli, case):
    assert cli("--config", str(config), "status", "set", NISSAN, "at_risk", "--note", "wire was wrong", "--by", "bob").exit_code == 0
    body = urlencode({"payload": json.dumps(click(card(slack, NISSAN_DELAYED), "confirm"))})
    headers = {
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "signed with another secret": signed(body, secret="not-the-secret"),
        "body changed after signing": signed(body.replace("alice", "mallory")),
        "signed 6 minutes ago": signed(body, at=time.time() - 360),
        "signed 6 minutes ahead": signed(body, at=time.time() + 360),
        "no signing secret configured": signed(body),
    }[case]
    history, calls = shown(cli, config)["history"], len(slack.calls)
    with TestClient(create_app(config, signing_secret=None if case == "no signing secret configured" else SECRET)) as client:
        answer = client.post("/slack/interactions", content=body, headers=headers)
    assert answer.status_code == 401
    if case == "no signing secret configured":
        assert "$SLACK_SIGNING_SECRET is not set" in answer.json()["detail"]
    if case.startswith("signed 6"):
        assert "stale" in answer.json()["detail"]
    assert statuses(cli, config)[NISSAN] == "at_risk"
    assert shown(cli, config)["history"] == history
    assert len(slack.calls) == calls  # no card update, no alert


@pytest.mark.parametrize(
    "change",
    [
        "unknown action_id",
        "value not JSON",
        "value without commitment",
        "unknown status",
        "dismiss without entry",
        "not a button click",
        "no payload field",
        "payload not JSON",
    ],
)
def test_a_signed_but_malformed_interaction_gets_a_clear_400_and_changes_nothing(config, slack, cli, client, change):
    payload = click(card(slack, NISSAN_DELAYED), "confirm")
    action = payload["actions"][0]
    if change == "unknown action_id":
        action["action_id"] = "delete_everything"
    elif change == "value not JSON":
        action["value"] = "nissan"
    elif change == "value without commitment":
        action["value"] = json.dumps({"status": "achieved"})
    elif change == "unknown status":
        action["value"] = json.dumps({"commitment_id": NISSAN, "status": "done"})
    elif change == "dismiss without entry":
        action.update(action_id="dismiss", value=json.dumps({"commitment_id": NISSAN, "entry_id": None}))
    elif change == "not a button click":
        payload["type"] = "view_submission"
    body = {"no payload field": "text=hello", "payload not JSON": "payload=%7Bnope"}.get(change) or urlencode({"payload": json.dumps(payload)})
    history, calls = shown(cli, config)["history"], len(slack.calls)
    answer = client.post("/slack/interactions", content=body, headers=signed(body))
    assert answer.status_code == 400 and answer.json()["detail"]
    assert shown(cli, config)["history"] == history and len(slack.calls) == calls


# 3. A signed click does what the command does.


def _state(cli, config: Path, slack: SlackStub, posts_before: int) -> dict:
    """What a user can see after an action: statuses, the history, the evidence, the alerts it
    sent, and whether a later alert is held (a muted commitment's wait in `tracker outbox`)."""
    now = statuses(cli, config)
    sent = [body["text"] for body in slack.posted()[posts_before:]]
    history = [{key: change[key] for key in ("old", "new", "cause", "by", "note")} for change in shown(cli, config)["history"]]
    evidence = json.loads(cli("--config", str(config), "evidence", "--all", "--format", "json").stdout)
    probe = cli("--config", str(config), "status", "set", NISSAN, "weakened", "--note", "probe", "--by", "probe")
    assert probe.exit_code == 0, probe.output
    held = json.loads(cli("--config", str(config), "outbox", "--format", "json").stdout)
    return {
        "statuses": now,
        "history": history,
        "evidence": [(row["entry_id"], row["commitment"], row["dismissed"]) for row in evidence],
        "sent": sent,
        "held": [(row["state"], row["kind"], row["commitment"], row["last_error"]) for row in held],
    }


IN_A_WEEK = (datetime.now(timezone.utc) + timedelta(days=7)).date().isoformat()


@pytest.mark.parametrize(
    "action, on_card, before, command_line",
    [
        ("confirm", NISSAN_DELAYED, [], ["status", "set", NISSAN, "delayed", "--note", "confirmed in Slack", "--by", "alice"]),
        ("dismiss", NISSAN_DELAYED, [], ["evidence", "dismiss", "{entry}", NISSAN, "--note", "false positive, dismissed in Slack by alice"]),
        ("snooze", NISSAN_DELAYED, [], ["mute", NISSAN, "--until", IN_A_WEEK, "--note", "snoozed in Slack by alice"]),
    ],
)
def test_a_signed_click_changes_exactly_what_the_matching_command_changes(slack, tmp_path, cli, action, on_card, before, command_line):
    by_command, by_click = polled(tmp_path / "command", cli), polled(tmp_path / "click", cli)
    for config in (by_command, by_click):
        if before:
            assert cli("--config", str(config), *before).exit_code == 0
    message = card(slack, on_card)

    posts = len(slack.posted())
    entry = str(entry_id(cli, by_command))
    result = cli("--config", str(by_command), *[part.replace("{entry}", entry) for part in command_line])
    assert result.exit_code == 0, result.output
    expected = _state(cli, by_command, slack, posts)

    posts = len(slack.posted())
    with TestClient(create_app(by_click, signing_secret=SECRET)) as client:
        answer = post_click(client, click(message, action))
    assert answer.status_code == 200, answer.text
    assert _state(cli, by_click, slack, posts) == expected
    # Each case changes something a user sees.
    if action == "confirm":
        assert expected["statuses"][NISSAN] == "delayed"
        assert "set by alice: confirmed in Slack" in cli("--config", str(by_click), "show", NISSAN).stdout  # a decision in the history
    if action == "dismiss":
        assert expected["statuses"][NISSAN] != "delayed" and any(dismissed for *_, dismissed in expected["evidence"])
    if action == "snooze":
        assert expected["held"][0][0] == "muted" and expected["sent"] == []


def test_the_card_shows_what_was_done_by_whom_without_buttons(config, slack, cli, client):
    message = card(slack, NISSAN_DELAYED)
    blocks_before = message["blocks"]

    answer = post_click(client, click(message, "confirm", user_name="<!here> alice"))
    assert answer.status_code == 200
    assert statuses(cli, config)[NISSAN] == "delayed"
    [update] = [body for body in slack.updates() if body["ts"] == message["ts"]]
    assert update["channel"] == message["channel"]
    assert [block["type"] for block in update["blocks"]] == [block["type"] for block in blocks_before[:-1]] + ["context"]
    assert update["blocks"][:-1] == blocks_before[:-1]  # the same card
    done = update["blocks"][-1]["elements"][0]["text"]
    assert "Confirmed delayed by &lt;!here&gt; alice" in done and "<!here>" not in done
    assert "<!date^" in done  # when, in each reader's time zone
    assert "actions" not in json.dumps([block["type"] for block in card(slack, NISSAN_DELAYED)["blocks"]])


def test_confirm_on_a_card_whose_status_has_moved_since_changes_nothing_and_says_why(config, slack, cli, client):
    message = card(slack, NISSAN_DELAYED)
    assert cli("--config", str(config), "status", "set", NISSAN, "at_risk", "--note", "wire was wrong", "--by", "bob").exit_code == 0
    answer = post_click(client, click(message, "confirm"))
    assert answer.status_code == 200
    assert statuses(cli, config)[NISSAN] == "at_risk"  # bob's newer decision stands
    assert not [body for body in slack.updates() if body["ts"] == message["ts"]]
    [told] = slack.ephemerals()
    assert "at risk now" in told["text"] and "not delayed" in told["text"]


def test_confirming_the_status_already_shown_is_kept_as_a_decision_that_holds(config, slack, cli, client):
    since = shown(cli, config)["last_changed"]
    posts = len(slack.posted())
    assert post_click(client, click(card(slack, NISSAN_DELAYED), "confirm")).status_code == 200
    card_after = shown(cli, config)
    assert card_after["status"] == "delayed" and card_after["last_changed"] == since
    last = card_after["history"][-1]
    assert (last["old"], last["new"], last["cause"], last["by"], last["note"]) == ("delayed", "delayed", "person", "alice", "confirmed in Slack")
    assert len(slack.posted()) == posts  # nothing changed, so no alert
    assert "Confirmed delayed by alice" in json.dumps(slack.updates()[-1]["blocks"])

    # The evidence behind it turns out false: the reviewer's confirmation still stands.
    dismissed = cli("--config", str(config), "evidence", "dismiss", str(entry_id(cli, config)), NISSAN, "--note", "misread")
    assert dismissed.exit_code == 0, dismissed.output
    assert statuses(cli, config)[NISSAN] == "delayed"


def test_a_click_that_cannot_be_done_tells_only_the_clicker_why_and_keeps_the_buttons(config, slack, cli, client):
    payload = click(card(slack, NISSAN_DELAYED), "dismiss")
    assert post_click(client, payload).status_code == 200
    updates = len(slack.updates())
    status = statuses(cli, config)[NISSAN]

    again = post_click(client, payload)  # a second reviewer, on a card not yet updated on their screen
    assert again.status_code == 200  # Slack shows an error icon for anything else
    [told] = slack.ephemerals()
    assert told["user"] == "U42" and told["channel"] == payload["container"]["channel_id"]
    assert "already dismissed" in told["text"]
    assert len(slack.updates()) == updates and statuses(cli, config)[NISSAN] == status


def test_a_snoozed_commitment_holds_its_alerts_for_seven_days(config, slack, cli, client):
    assert post_click(client, click(card(slack, NISSAN_DELAYED), "snooze", user_name="carol")).status_code == 200
    assert "Alerts snoozed until " + IN_A_WEEK in json.dumps(slack.updates()[-1]["blocks"])
    posts = len(slack.posted())
    assert cli("--config", str(config), "status", "set", NISSAN, "achieved", "--note", "done", "--by", "bob").exit_code == 0
    assert len(slack.posted()) == posts
    [held] = json.loads(cli("--config", str(config), "outbox", "--format", "json").stdout)
    assert held["state"] == "muted" and held["last_error"] == f"muted until {IN_A_WEEK}: snoozed in Slack by carol"


def test_the_token_never_appears_when_the_card_cannot_be_updated(config, slack, cli, client, caplog):
    caplog.set_level(logging.DEBUG)
    slack.script = [(200, {"ok": False, "error": "invalid_auth"}, {})]
    answer = post_click(client, click(card(slack, NISSAN_DELAYED), "confirm"))
    assert answer.status_code == 200
    assert "could not update the card" in caplog.text and "invalid_auth" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in answer.text
    assert shown(cli, config)["history"][-1]["by"] == "alice"  # the decision was made all the same


# 4. The /commitments slash command.


def test_commitments_without_an_id_answers_the_status_table_to_the_asker_only(config, client):
    answer = command(client, "")
    assert answer.status_code == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    table = body["blocks"][0]["text"]["text"]
    assert table.startswith("```id") and "days left" in table
    rows = {line.split()[0]: line for line in table.strip("`").splitlines()[1:]}
    assert set(rows) == {NISSAN, "toyota-solid-state"}
    assert "delayed" in rows[NISSAN] and "on track" in rows["toyota-solid-state"]
    assert all(len(block["text"]["text"]) <= 3000 for block in body["blocks"]) and len(body["blocks"]) <= 50


def test_commitments_with_an_id_answers_its_card_with_feed_text_escaped(config, client):
    body = command(client, f"  {NISSAN} ").json()
    text = "\n".join(block["text"]["text"] for block in body["blocks"])
    assert body["response_type"] == "ephemeral"
    assert "status: delayed" in text and "History" in text and "pending → delayed" in text
    assert "&lt;!here&gt;" in text and "<!here>" not in text and "<@U123>" not in text


def test_a_long_answer_fits_slacks_limits_and_says_where_the_rest_is():
    sections = fit_sections([f"line {number} " + "x" * 200 for number in range(1000)] + ["y" * 5000], "tracker status")
    assert len(sections) <= 50 and all(len(section) <= 3000 for section in sections)
    assert sections[0].startswith("```line 0 ") and sections[-1].startswith("… ") and "`tracker status`" in sections[-1]
    assert fit_sections(["<!here>", "z" * 5000], "x")[0] == "```&lt;!here&gt;```"


@pytest.mark.parametrize("text, expected", [("no-such-thing", "No commitment with id `no-such-thing`"), ("<!here>", "`&lt;!here&gt;`"), ("help", "`/commitments ID`")])
def test_commitments_with_an_unknown_id_or_help_answers_how_to_use_it(config, client, text, expected):
    body = command(client, text).json()
    answer = json.dumps(body["blocks"], ensure_ascii=False)
    assert body["response_type"] == "ephemeral" and expected in answer
    assert "<!here>" not in answer


@pytest.mark.parametrize("headers", [{}, {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}])
def test_an_unsigned_or_badly_signed_slash_command_is_refused(config, client, headers):
    answer = command(client, "", headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    assert answer.status_code == 401 and NISSAN not in answer.text


# 4. Reading an entry as a person would: the "Read as…" menu.


def choose(message: dict, signal: str, user_name: str = "alice") -> dict:
    """The block_actions payload Slack sends when `signal` is chosen in the card's menu."""
    payload = click(message, "confirm", user_name)
    menu = buttons(message)["label"]
    [option] = [option for option in menu["options"] if option["text"]["text"] == signal]
    payload["actions"] = [{"action_id": "label", "block_id": "tracker_review", "type": "static_select", "action_ts": "1.3", "selected_option": option}]
    return payload


def test_the_menu_reads_the_entry_as_the_person_says_and_the_next_poll_keeps_it(config, slack, cli, client):
    delay_card = card(slack, NISSAN_DELAYED)
    assert "*Read as:* _delay_ (by the stated year against the target" in json.dumps(delay_card["blocks"])
    assert post_click(client, choose(delay_card, "reaffirmed")).status_code == 200
    assert statuses(cli, config)[NISSAN] == "on_track"
    last = shown(cli, config)["history"][-1]
    assert last["by"] == "alice" and "read as reaffirmed" in last["note"]
    # The same news polled again (a second feed carrying it) leaves the person's reading.
    cli("--config", str(config), "poll", "--file", str(write_news(config.parent)))
    assert statuses(cli, config)[NISSAN] == "on_track"


def test_a_menu_choice_that_names_no_signal_is_refused(config, slack, client, cli):
    payload = choose(card(slack, NISSAN_DELAYED), "delay")
    payload["actions"][0]["selected_option"]["value"] = json.dumps({"commitment_id": NISSAN, "entry_id": 1, "signal": "exploded"})
    before = statuses(cli, config)
    answer = post_click(client, payload)
    assert answer.status_code == 400 and "unknown signal" in answer.text
    assert statuses(cli, config) == before
