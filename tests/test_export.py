"""`tracker export`: what an analyst pastes into a report or opens in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tests.conftest import DATA, write_config
from tracker.status.export import HISTORY_COLUMNS, TABLE_COLUMNS, export_history

FEED_FILE = DATA / "feeds" / "climate_news.xml"
NISSAN_DELAY = "Nissan now expects its all-solid-state battery EVs in 2030"


@pytest.fixture
def reviewed(tmp_path, cli):
    """A database after a poll of the fixture feed and one reviewer's decision."""
    config = str(write_config(tmp_path, []))
    assert cli("--config", config, "poll", "--file", str(FEED_FILE)).exit_code == 0
    decided = cli("--config", config, "status", "set", "toyota-solid-state", "at_risk", "--note", "yields | costs\nunclear", "--by", "ana")
    assert decided.exit_code == 0, decided.output

    def export(*args: str):
        result = cli("--config", config, "export", *args)
        assert result.exit_code == 0, result.output
        return result.stdout

    export.config = config
    return export


def test_the_csv_opens_with_the_table_header_and_one_row_per_commitment(reviewed):
    text = reviewed("--format", "csv")
    assert text.splitlines()[0] == ",".join(TABLE_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["id"], row["status"]) for row in rows] == [("nissan-solid-state", "delayed"), ("toyota-solid-state", "at_risk")]
    assert rows[0]["deadline"] == "2029-03-31" and rows[0]["revised_target_year"] == "2030"


def test_the_history_csv_has_one_row_per_change_with_its_evidence(reviewed):
    text = reviewed("--format", "csv", "--history")
    assert text.splitlines()[0] == ",".join(HISTORY_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    changes = [(row["commitment_id"], row["old_status"], row["new_status"], row["cause"]) for row in rows]
    assert changes == [
        ("nissan-solid-state", "pending", "delayed", "evidence"),
        ("toyota-solid-state", "pending", "on_track", "evidence"),
        ("toyota-solid-state", "on_track", "at_risk", "person"),
    ]
    nissan = rows[0]
    assert nissan["commitment_title"] == "Nissan all-solid-state battery EVs by fiscal 2028"
    assert nissan["evidence_title"] == NISSAN_DELAY
    assert nissan["evidence_url"] == "https://wire.example.org/2026/04/nissan-delay"
    assert nissan["evidence_feed"] == "file:climate_news.xml"
    assert nissan["evidence_published"] == "2026-04-15T09:30:00+00:00"
    assert nissan["evidence_quote"] and nissan["revised_target_year"] == "2030"
    decision = rows[2]
    assert decision["changed_by"] == "ana" and decision["note"] == "yields | costs unclear"  # one line per cell
    assert decision["evidence_title"] == "" and decision["evidence_url"] == ""
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", row["changed_at"])


def test_the_json_is_the_status_table_and_with_history_adds_each_commitments_changes(reviewed, cli):
    status = json.loads(cli("--config", reviewed.config, "status", "--format", "json").stdout)
    assert json.loads(reviewed("--format", "json")) == status
    exported = json.loads(reviewed("--format", "json", "--history"))
    assert [{key: value for key, value in row.items() if key != "history"} for row in exported] == status
    history = {row["id"]: row["history"] for row in exported}
    assert [(change["old_status"], change["new_status"]) for change in history["toyota-solid-state"]] == [("pending", "on_track"), ("on_track", "at_risk")]
    assert history["nissan-solid-state"][0]["evidence_title"] == NISSAN_DELAY
    assert history["toyota-solid-state"][1]["note"] == "yields | costs\nunclear"  # JSON keeps values as they are


def test_the_markdown_is_the_table_then_a_section_per_commitment_with_pipes_escaped(reviewed):
    text = reviewed("--format", "markdown", "--history")
    assert text.startswith("| id | title | actor |")
    assert "### nissan-solid-state: Nissan all-solid-state battery EVs by fiscal 2028" in text
    assert "### toyota-solid-state: Toyota begins solid-state battery production for EVs" in text
    assert f"[{NISSAN_DELAY}](https://wire.example.org/2026/04/nissan-delay)" in text
    assert "ana; yields \\| costs unclear" in text
    for table in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.MULTILINE):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table.splitlines()}
        assert len(widths) == 1, table  # no cell breaks its row
    assert "[bold" not in text and "\x1b[" not in text


def test_output_writes_the_same_text_to_a_file(reviewed, tmp_path):
    target = tmp_path / "report.csv"
    reviewed("--format", "csv", "--history", "--output", str(target))
    assert target.read_text(encoding="utf-8") == reviewed("--format", "csv", "--history")


def _change(**evidence) -> dict:
    change = {key: None for key in HISTORY_COLUMNS}
    change.update(commitment_id="c", commitment_title="C", changed_at="2026-01-01T00:00:00+00:00", old_status="pending", new_status="delayed", cause="evidence")
    change.update(evidence)
    return change


ROW = {"id": "c", "title": "C"}


@pytest.mark.parametrize(
    "title, url, expected",
    [
        ("<!channel> plant <https://evil.example|opens>", "https://ok.example/a", r"[\<!channel\> plant \<https://evil.example\|opens\>](https://ok.example/a)"),
        ("[click](https://evil.example)", None, r"\[click\](https://evil.example)"),
        ("Harmless", "javascript:alert(1)", "| Harmless |"),
        ("Paren", "https://ok.example/a (b)", "[Paren](https://ok.example/a%20%28b%29)"),
    ],
)
def test_feed_text_in_markdown_cannot_become_a_link_or_html(title, url, expected):
    text = export_history([ROW], [_change(evidence_title=title, evidence_url=url)], "markdown")
    assert expected in text
    assert "javascript:" not in text


@pytest.mark.parametrize("title", ["=HYPERLINK(\"https://evil.example\")", "+1 800", "@SUM(A1)", "-2+3"])
def test_a_feed_title_cannot_run_as_a_spreadsheet_formula(title):
    [row] = csv.DictReader(io.StringIO(export_history([ROW], [_change(evidence_title=title)], "csv")))
    assert row["evidence_title"] == "'" + title


def test_every_csv_and_markdown_output_keeps_feed_text_inert(tmp_path, cli):
    """`tracker evidence`, `status` and `feeds` print CSV and Markdown through the same guard as the export."""
    feed = tmp_path / "hostile.xml"
    feed.write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>=HYPERLINK("http://evil.example") Toyota solid-state battery plan [ok](http://x) &lt;b&gt;</title>
<link>https://news.example/a</link><guid>h1</guid><pubDate>Tue, 10 Mar 2026 08:00:00 GMT</pubDate></item>
</channel></rss>""",
        encoding="utf-8",
    )
    config = str(write_config(tmp_path, []))
    assert cli("--config", config, "poll", "--file", str(feed)).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(cli("--config", config, "evidence", "--format", "csv").stdout)))
    assert rows[0]["item_title"].startswith("'=HYPERLINK(")
    markdown = cli("--config", config, "evidence", "--format", "markdown").stdout
    assert "\\[ok\\](http://x)" in markdown
    table = list(csv.DictReader(io.StringIO(cli("--config", config, "status", "--format", "csv").stdout)))
    assert all(not row["days_left"].startswith("'") for row in table)  # numbers are not formulas
