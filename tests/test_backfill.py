"""`tracker backfill`: a rule added today finds the news already stored, once."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

from sqlmodel import Session, select

from storage.engine import make_engine
from storage.tables import EntryRow
from tests.conftest import DATA, write_config

FEED_FILE = DATA / "feeds" / "climate_news.xml"
NISSAN = "Nissan all-solid-state battery EVs by fiscal 2028"
TOYOTA = "Toyota begins solid-state battery production for EVs"


def _setup(tmp_path, cli, feed_file=FEED_FILE):
    """Entries stored while no rule existed; then both rule files are added."""
    rules = tmp_path / "rules"
    rules.mkdir()
    config = str(write_config(tmp_path, [], rules=[rules]))
    poll = cli("--config", config, "poll", "--file", str(feed_file))
    assert poll.exit_code == 0 and "new_entries=" in poll.stderr and "matches=0" in poll.stderr, poll.output
    for name in ("toyota-solid-state.yaml", "nissan-solid-state.yaml"):
        shutil.copy(DATA / "rules" / name, rules / name)
    return config


def _statuses(cli, config) -> dict[str, dict]:
    return {row["id"]: row for row in json.loads(cli("--config", config, "status", "--format", "json").stdout)}


def test_a_backfill_finds_old_entries_for_the_named_rule_and_alerts_its_status_change_once(tmp_path, cli):
    config = _setup(tmp_path, cli)
    run = cli("--config", config, "backfill", "toyota-solid-state")
    assert run.exit_code == 0, run.output
    assert f"{TOYOTA}: pending → on track" in run.stdout
    assert "backfill: 1 stored entry newly matched" in run.stdout
    assert "evidence: Toyota confirms solid-state battery production will start in 2027" in run.stdout
    assert "toyota-solid-state: 1 new evidence" in run.stdout
    assert "new_evidence=1 status_changes=1 alerts_sent=1" in run.stderr
    statuses = _statuses(cli, config)
    assert statuses["toyota-solid-state"]["status"] == "on_track" and statuses["toyota-solid-state"]["evidence_count"] == 1
    assert statuses["nissan-solid-state"]["status"] == "pending" and statuses["nissan-solid-state"]["evidence_count"] == 0


def test_old_evidence_gets_no_alert_of_its_own_only_the_status_change(tmp_path, cli):
    config = _setup(tmp_path, cli)
    run = cli("--config", config, "backfill")
    assert run.stdout.count(f"{NISSAN}: pending → delayed") == 1
    assert f"{NISSAN}: new evidence" not in run.stdout and f"{TOYOTA}: new evidence" not in run.stdout  # no per-article alert
    assert "nissan-solid-state: 2 new evidence" in run.stdout  # the delay and a later mention
    assert _statuses(cli, config)["nissan-solid-state"]["revised_target_year"] == 2030
    history = json.loads(cli("--config", config, "export", "--format", "json", "--history").stdout)
    [change] = next(row["history"] for row in history if row["id"] == "nissan-solid-state")
    assert change["evidence_title"] == "Nissan now expects its all-solid-state battery EVs in 2030"
    assert change["note"] == "backfill: 2 stored entries newly matched"


def test_a_second_backfill_adds_nothing(tmp_path, cli):
    config = _setup(tmp_path, cli)
    cli("--config", config, "backfill")
    before = json.loads(cli("--config", config, "evidence", "--format", "json").stdout)
    again = cli("--config", config, "backfill")
    assert again.exit_code == 0
    assert again.stdout == ""
    assert "new_evidence=0 status_changes=0 alerts_sent=0" in again.stderr
    assert json.loads(cli("--config", config, "evidence", "--format", "json").stdout) == before


def test_an_unknown_rule_id_is_refused(tmp_path, cli):
    config = _setup(tmp_path, cli)
    run = cli("--config", config, "backfill", "toyota-solid-state", "no-such-rule")
    assert run.exit_code == 1
    assert "no rule with id 'no-such-rule'" in run.stderr
    assert _statuses(cli, config)["toyota-solid-state"]["evidence_count"] == 0


def test_an_undated_entry_is_dated_when_it_was_first_stored(tmp_path, cli):
    undated = tmp_path / "undated.xml"
    undated.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        "<title>Toyota says its solid-state battery line is on schedule</title>"
        "<link>https://wire.example.org/undated</link></item></channel></rss>",
        encoding="utf-8",
    )
    config = _setup(tmp_path, cli, undated)
    stored_at = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
    with Session(make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")) as session:
        for row in session.exec(select(EntryRow)):
            row.first_seen_at = stored_at
            session.add(row)
        session.commit()
    cli("--config", config, "backfill")
    [evidence] = json.loads(cli("--config", config, "evidence", "toyota-solid-state", "--format", "json").stdout)
    assert evidence["published"] == stored_at.isoformat()


def test_a_long_backfill_reports_progress_in_a_few_plain_lines(tmp_path, cli):
    items = "".join(
        f"<item><title>Story {number} about wind farms</title><link>https://wire.example.org/{number}</link>"
        f"<pubDate>Tue, 10 Mar 2026 08:{number:02}:00 GMT</pubDate></item>"
        for number in range(40)
    )
    many = tmp_path / "many.xml"
    many.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>', encoding="utf-8")
    config = _setup(tmp_path, cli, many)
    run = cli("--config", config, "backfill")
    lines = [line for line in run.stderr.splitlines() if line.startswith("backfill: ") and "/40 entries" in line]
    assert 1 <= len(lines) <= 10
    assert lines[-1] == "backfill: 40/40 entries (100%)"
    assert "entries_scanned=40" in run.stderr
