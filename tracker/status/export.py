"""Exports for reports and spreadsheets: the status table, and every status change with its evidence.

Plain data in, text out. Columns come in a fixed order and times as ISO 8601, so a
spreadsheet built on one export still lines up with the next. CSV and Markdown cells
are one line each (a quoted passage with line breaks would break a Markdown row and
make CSV awkward in a spreadsheet); JSON keeps every value as it is.
"""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any, Sequence

from tracker.output import markdown_text, render

FORMATS = ("csv", "json", "markdown")

TABLE_COLUMNS = (
    "id", "title", "actor", "category", "status", "deadline", "days_left", "revised_target_year", "last_changed",
    "last_evidence", "evidence_count", "stale", "metric_value", "metric_trend", "source_document", "muted_until",
)
# One row per status change; the evidence columns are empty for a change no article caused.
HISTORY_COLUMNS = (
    "commitment_id", "commitment_title", "event_at", "changed_at", "old_status", "new_status", "cause", "changed_by", "note",
    "revised_target_year", "evidence_title", "evidence_url", "evidence_feed", "evidence_published", "evidence_signal",
    "evidence_quote",
)
_CHANGE_COLUMNS = ("event_at", "changed_at", "change", "cause", "by", "revised_target_year", "evidence", "feed", "published", "quote")



def export_table(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """The status table: JSON as `tracker status --format json` prints it, CSV and Markdown with every column."""
    if fmt == "json":
        return render(rows, "json", TABLE_COLUMNS) + "\n"
    return render(rows, fmt, TABLE_COLUMNS)


def export_history(rows: Sequence[dict[str, Any]], changes: Sequence[dict[str, Any]], fmt: str) -> str:
    """The table and every change of its commitments (`changes` grouped by commitment, oldest first).

    JSON: the table's rows, each with its `history`. CSV: one row per change.
    Markdown: the table, then a section per commitment with its changes.
    """
    by_commitment = {key: list(group) for key, group in groupby(changes, key=lambda change: change["commitment_id"])}
    if fmt == "json":
        tables = [{**row, "history": [_without_commitment(change) for change in by_commitment.get(row["id"], [])]} for row in rows]
        return json.dumps(tables, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt == "csv":
        return render([change for row in rows for change in by_commitment.get(row["id"], [])], "csv", HISTORY_COLUMNS)
    sections = [export_table(rows, "markdown"), "## Status changes\n"]
    sections += [_markdown_section(row, by_commitment.get(row["id"], [])) for row in rows]
    return "\n".join(sections)


def _markdown_section(row: dict[str, Any], changes: list[dict[str, Any]]) -> str:
    heading = f"### {markdown_text(row['id'])}: {markdown_text(row['title'])}\n\n"
    if not changes:
        return heading + "No status changes.\n"
    lines = [_change_line(change) for change in changes]
    for line, change in zip(lines, changes):
        line["evidence"] = _markdown_link(markdown_text(line["evidence"] or ""), change["evidence_url"]) or None
    return heading + render(lines, "markdown", _CHANGE_COLUMNS, markdown_columns=("evidence",))


def _change_line(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_at": change["event_at"],
        "changed_at": change["changed_at"],
        "change": f"{change['old_status']} → {change['new_status']}",
        "cause": change["cause"],
        "by": "; ".join(part for part in (change["changed_by"], change["note"]) if part),
        "revised_target_year": change["revised_target_year"],
        "evidence": change["evidence_title"],
        "feed": change["evidence_feed"],
        "published": change["evidence_published"],
        "quote": change["evidence_quote"],
    }


def _markdown_link(title: str | None, url: str | None) -> str | None:
    """`[title](url)` for a web link (title already escaped); any other scheme stays plain text."""
    if not url or not url.startswith(("https://", "http://")):
        return title
    target = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{title or 'link'}]({target})"


def _without_commitment(change: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in change.items() if key not in ("commitment_id", "commitment_title")}
