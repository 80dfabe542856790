"""Statuses an analyst would agree with: evidence in publication order, deadlines,
numbers against targets, people's decisions and dismissals, each explained in history."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import DATA, write_config
from tracker.model import Evidence, Override, SignalKind, Status
from tracker.status.derive import MetricTarget, derive_status, reminder_due

UTC = timezone.utc
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def ev(day: str, signal: SignalKind, key: str = "", source: str = "", value=None, year=None) -> Evidence:
    return Evidence(key or day + signal.value, signal, datetime.fromisoformat(day).replace(tzinfo=UTC), source or key or day, year, value)


@pytest.mark.parametrize(
    "evidence, expected",
    [
        ([], Status.PENDING),
        ([ev("2026-01-01", SignalKind.MENTION)], Status.PENDING),
        ([ev("2026-01-01", SignalKind.PROGRESS)], Status.ON_TRACK),
        ([ev("2026-01-01", SignalKind.PROGRESS), ev("2026-02-01", SignalKind.DELAY)], Status.DELAYED),
        ([ev("2026-02-01", SignalKind.DELAY), ev("2026-03-01", SignalKind.REAFFIRMED)], Status.ON_TRACK),  # both ways
        ([ev("2026-03-01", SignalKind.DOUBT)], Status.AT_RISK),
        ([ev("2026-03-01", SignalKind.WEAKENED)], Status.WEAKENED),
        ([ev("2026-03-01", SignalKind.ABANDONED)], Status.ABANDONED),
        ([ev("2026-03-01", SignalKind.ACHIEVED)], Status.ACHIEVED),
    ],
)
def test_signals_move_the_status(evidence, expected):
    assert derive_status(evidence, date(2028, 12, 31), NOW).status == expected


def test_an_older_article_arriving_late_does_not_override_newer_news():
    newer = ev("2026-04-01", SignalKind.DELAY, year=2030)
    late_but_older = ev("2026-01-01", SignalKind.PROGRESS)
    derived = derive_status([newer, late_but_older], date(2028, 12, 31), NOW)
    assert derived.status == Status.DELAYED and derived.revised_target_year == 2030


def test_achieved_waits_for_the_confirmations_the_rule_asks_for():
    one = [ev("2026-01-01", SignalKind.ACHIEVED, key="a", source="reuters.com")]
    same_source = one + [ev("2026-01-02", SignalKind.ACHIEVED, key="b", source="reuters.com")]
    two = one + [ev("2026-01-03", SignalKind.ACHIEVED, key="c", source="nikkei.com")]
    assert derive_status(one, date(2028, 12, 31), NOW, confirmations=2).status == Status.PENDING
    assert derive_status(same_source, date(2028, 12, 31), NOW, confirmations=2).status == Status.PENDING
    assert derive_status(two, date(2028, 12, 31), NOW, confirmations=2).status == Status.ACHIEVED


def test_a_passed_deadline_without_evidence_is_overdue_not_missed_and_a_future_one_is_projected():
    evidence = [ev("2026-01-01", SignalKind.PROGRESS)]
    assert derive_status(evidence, date(2028, 12, 31), NOW).status == Status.ON_TRACK
    projected = derive_status(evidence, date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC))
    assert projected.status == Status.OVERDUE and projected.cause == "deadline"
    assert projected.event_at == datetime(2028, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)  # when it became overdue
    assert derive_status([], date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC)).status == Status.OVERDUE
    met = evidence + [ev("2028-06-01", SignalKind.ACHIEVED)]
    assert derive_status(met, date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC)).status == Status.ACHIEVED


def test_missed_takes_news_after_the_deadline_that_says_so_or_a_persons_decision():
    late_slip = [ev("2026-01-01", SignalKind.PROGRESS), ev("2029-02-01", SignalKind.DELAY)]
    assert derive_status(late_slip, date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC)).status == Status.MISSED
    early_slip = [ev("2027-02-01", SignalKind.DELAY)]
    assert derive_status(early_slip, date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC)).status == Status.OVERDUE
    decided = Override(Status.MISSED, datetime(2029, 3, 1, tzinfo=UTC), "ana", "no line was built")
    assert derive_status([], date(2028, 12, 31), datetime(2029, 6, 1, tzinfo=UTC), overrides=[decided]).status == Status.MISSED


def test_the_replay_keeps_each_step_with_the_date_it_happened():
    evidence = [ev("2023-01-01", SignalKind.PROGRESS), ev("2024-01-01", SignalKind.DELAY), ev("2025-06-01", SignalKind.ABANDONED)]
    derived = derive_status(evidence, date(2030, 12, 31), NOW)
    assert [(step.status, step.event_at.date().isoformat()) for step in derived.trail] == [
        (Status.ON_TRACK, "2023-01-01"), (Status.DELAYED, "2024-01-01"), (Status.ABANDONED, "2025-06-01")]


def test_evidence_that_needs_a_look_moves_nothing():
    unsure = [Evidence(entry_key="e", signal=SignalKind.ABANDONED, published_at=datetime(2026, 1, 1, tzinfo=UTC), needs_review=True)]
    assert derive_status(unsure, date(2030, 12, 31), NOW).status == Status.PENDING


def test_a_persons_decision_holds_until_evidence_points_elsewhere():
    decision = Override(Status.ON_TRACK, datetime(2026, 3, 1, tzinfo=UTC), "ana", "talked to the company")
    before = [ev("2026-02-01", SignalKind.DOUBT)]
    assert derive_status(before, date(2028, 12, 31), NOW, overrides=[decision]).cause == "person"
    agreeing = before + [ev("2026-04-01", SignalKind.PROGRESS)]
    held = derive_status(agreeing, date(2028, 12, 31), NOW, overrides=[decision])
    assert held.status == Status.ON_TRACK and held.cause == "person"
    different = agreeing + [ev("2026-05-01", SignalKind.DELAY)]
    assert derive_status(different, date(2028, 12, 31), NOW, overrides=[decision]).status == Status.DELAYED


def test_numbers_are_judged_against_the_target_and_its_direction():
    share = MetricTarget(target=50, direction="at_most", baseline=72)
    falling = [ev("2026-01-01", SignalKind.MENTION, value=65)]
    assert derive_status(falling, date(2030, 12, 31), NOW, metric=share).status == Status.ON_TRACK
    rising = falling + [ev("2026-03-01", SignalKind.MENTION, value=70)]
    assert derive_status(rising, date(2030, 12, 31), NOW, metric=share).status == Status.AT_RISK
    met_once = rising + [ev("2026-05-01", SignalKind.MENTION, value=48, source="a.example")]
    assert derive_status(met_once, date(2030, 12, 31), NOW, metric=share).status == Status.AT_RISK  # one number is not enough
    met = met_once + [ev("2026-05-02", SignalKind.MENTION, value=47, source="b.example")]
    assert derive_status(met, date(2030, 12, 31), NOW, metric=share).status == Status.ACHIEVED


def test_reminders_come_at_each_threshold():
    assert reminder_due(date(2026, 8, 1), date(2026, 6, 1), [90, 30, 7]) == 90
    assert reminder_due(date(2026, 7, 1), date(2026, 6, 1), [90, 30, 7]) == 30
    assert reminder_due(date(2026, 6, 20), date(2026, 6, 1), [90, 30, 7]) == 30
    assert reminder_due(date(2027, 6, 20), date(2026, 6, 1), [90, 30, 7]) is None
    assert reminder_due(date(2026, 5, 1), date(2026, 6, 1), [90, 30, 7]) is None


# -- through the command line, on a real database ------------------------------------

ITEMS = {
    "progress": ("Toyota will start production of solid-state batteries in 2027", "Mon, 02 Mar 2026 08:00:00 GMT"),
    "delay": ("Toyota now expects solid-state batteries in 2030", "Wed, 15 Apr 2026 08:00:00 GMT"),
    "old": ("Toyota starts a solid-state battery pilot line", "Mon, 05 Jan 2026 08:00:00 GMT"),
}


def _feed(path: Path, names: list[str]) -> Path:
    items = "".join(
        f"<item><title>{ITEMS[n][0]}</title><link>https://news.example/{n}</link><pubDate>{ITEMS[n][1]}</pubDate></item>" for n in names
    )
    path.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>', encoding="utf-8")
    return path


def _status(cli, config, *extra) -> dict:
    return {row["id"]: row for row in json.loads(cli("--config", str(config), "status", "--format", "json", *extra).stdout)}


def test_replayed_news_moves_the_status_and_late_old_news_does_not(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress", "delay"])))
    assert _status(cli, config)["toyota-solid-state"]["status"] == "delayed"
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "b.xml", ["old"])))
    row = _status(cli, config)["toyota-solid-state"]
    assert row["status"] == "delayed" and row["evidence_count"] == 3


def test_as_of_shows_the_past_and_projects_missed_deadlines(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress", "delay"])))
    assert _status(cli, config, "--as-of", "2026-03-15")["toyota-solid-state"]["status"] == "on_track"
    assert _status(cli, config, "--as-of", "2026-01-01")["toyota-solid-state"]["status"] == "pending"
    future = _status(cli, config, "--as-of", "2029-01-15")
    assert future["toyota-solid-state"]["status"] == "overdue"
    assert future["nissan-solid-state"]["status"] == "pending"  # fiscal 2028 ends 2029-03-31
    assert _status(cli, config, "--as-of", "2029-04-01")["nissan-solid-state"]["status"] == "overdue"


def test_a_persons_override_survives_restarts_and_polls_and_is_explained(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress"])))
    result = cli("--config", str(config), "status", "set", "toyota-solid-state", "at_risk", "--note", "supplier trouble", "--by", "ana")
    assert result.exit_code == 0 and "on_track → at_risk" in result.stdout
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "b.xml", ["progress", "old"])))
    assert _status(cli, config)["toyota-solid-state"]["status"] == "at_risk"
    card = cli("--config", str(config), "show", "toyota-solid-state").stdout
    assert "on_track → at_risk  (set by ana: supplier trouble)" in card
    # An article from before the decision is part of what the person overruled; news after it is not.
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "c.xml", ["delay"])))
    assert _status(cli, config)["toyota-solid-state"]["status"] == "at_risk"
    soon = datetime.now(UTC) + timedelta(seconds=1)
    ITEMS["fresh"] = ("Toyota delays its solid-state battery launch to 2030", soon.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    time.sleep(1.5)
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "d.xml", ["fresh"])))
    assert _status(cli, config)["toyota-solid-state"]["status"] == "delayed"


def test_dismissing_a_false_positive_recomputes_the_status_and_keeps_the_record(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress", "delay"])))
    evidence = json.loads(cli("--config", str(config), "evidence", "toyota-solid-state", "--format", "json").stdout)
    delay_entry = next(row["entry_id"] for row in evidence if "2030" in row["item_title"])
    result = cli("--config", str(config), "evidence", "dismiss", str(delay_entry), "toyota-solid-state", "--note", "about a concept car")
    assert result.exit_code == 0 and "delayed → on_track" in result.stdout
    assert _status(cli, config)["toyota-solid-state"]["status"] == "on_track"
    kept = json.loads(cli("--config", str(config), "evidence", "toyota-solid-state", "--all", "--format", "json").stdout)
    assert any(row["dismissed"] for row in kept)
    assert len(json.loads(cli("--config", str(config), "evidence", "toyota-solid-state", "--format", "json").stdout)) == 1


def test_show_explains_every_change_with_its_evidence(tmp_path, cli):
    config = write_config(tmp_path, [])
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress", "delay"])))
    card = cli("--config", str(config), "show", "toyota-solid-state").stdout
    assert "target: Start production of all-solid-state EV batteries" in card
    assert "deadline: 2028-12-31" in card and "days left" in card
    assert "revised target year: 2030" in card
    history = card.split("History")[1].split("Evidence")[0]
    assert "pending → delayed" in history or ("pending → on_track" in history and "on_track → delayed" in history)
    assert "Toyota now expects solid-state batteries in 2030" in history
    assert "https://news.example/delay" in card
    assert cli("--config", str(config), "show", "no-such-id").exit_code == 1


def test_the_daily_job_marks_passed_deadlines_overdue_once_and_says_why(tmp_path, cli):
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8").replace("deadline: 2028", "deadline: 2020")
    (rules / "toyota.yaml").write_text(text, encoding="utf-8")
    config = write_config(tmp_path, [], rules=[rules])
    first = cli("--config", str(config), "poll")
    # A new database: one summary of where things stand, not an alert per passed deadline.
    assert "Tracking 1 commitments: 1 overdue." in first.stdout
    assert "pending → overdue" not in first.stdout
    assert "overdue" not in cli("--config", str(config), "poll").stdout
    card = cli("--config", str(config), "show", "toyota-solid-state").stdout
    assert "pending → overdue" in card and "the deadline passed without the target reported met" in card


def test_a_deadline_passing_on_a_database_in_use_is_alerted_as_overdue(tmp_path, cli):
    rules = tmp_path / "rules"
    rules.mkdir()
    config = write_config(tmp_path, [], rules=[rules])
    text = (DATA / "rules" / "toyota-solid-state.yaml").read_text(encoding="utf-8")
    (rules / "toyota.yaml").write_text(text, encoding="utf-8")
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["progress"])))
    (rules / "toyota.yaml").write_text(text.replace("deadline: 2028", "deadline: 2020"), encoding="utf-8")
    later = cli("--config", str(config), "poll")
    assert "Toyota begins solid-state battery production for EVs: on track → overdue" in later.stdout
    assert "the deadline passed with no evidence that the target was met" in later.stdout


def test_a_commitment_without_recent_evidence_is_flagged_stale(tmp_path, cli):
    config = write_config(tmp_path, [], extra="[status]\nstale_after_days = 30")
    cli("--config", str(config), "poll", "--file", str(_feed(tmp_path / "a.xml", ["old"])))
    rows = _status(cli, config)
    assert rows["toyota-solid-state"]["stale"] is True  # last evidence in January
    assert _status(cli, config, "--as-of", "2026-01-20")["toyota-solid-state"]["stale"] is False
    assert list(_status(cli, config, "--stale")) == ["toyota-solid-state"]
