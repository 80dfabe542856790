"""Printing rows (lists of dicts) as a table, JSON, CSV or Markdown."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Sequence

from rich.console import Console
from rich.table import Table

STATUS_COLOURS = {
    "pending": "dim",
    "on_track": "green",
    "at_risk": "yellow",
    "delayed": "dark_orange",
    "weakened": "magenta",
    "achieved": "bold green",
    "missed": "bold red",
    "abandoned": "red",
}


def render(
    rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str], console: Console | None = None, markdown_columns: Sequence[str] = ()
) -> str | None:
    """JSON, CSV and Markdown come back as text; a table is printed to `console`.

    Feed text is made inert for where it is pasted: a CSV cell a spreadsheet would
    run as a formula gets a leading apostrophe, Markdown cells cannot become links or
    HTML (except `markdown_columns`, already written as Markdown), every cell is one line.
    """
    if fmt == "json":
        return json.dumps(list(rows), indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: csv_cell(row.get(key)) for key in columns})
        return buffer.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        for row in rows:
            cells = (_cell(row.get(key)) if key in markdown_columns else markdown_text(_cell(row.get(key))) for key in columns)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return "\n".join(lines) + "\n"
    table = Table(show_lines=False)
    for key in columns:
        table.add_column(key.replace("_", " "), overflow="fold")
    for row in rows:
        cells = []
        for key in columns:
            text = _short_time(_cell(row.get(key)))
            colour = STATUS_COLOURS.get(text) if key == "status" else None
            cells.append(f"[{colour}]{text}[/]" if colour else text.replace("[", "\\["))
        table.add_row(*cells)
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=200)  # piped or in CI: do not wrap ids and titles at 80 columns
    console.print(table)
    return None


_ISO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)[\d:.]*(?:\+00:00|Z)$")


def _short_time(text: str) -> str:
    """A table shows UTC times to the minute; JSON and CSV keep them whole."""
    found = _ISO_TIME.match(text)
    return f"{found.group(1)} {found.group(2)}" if found else text


def _cell(value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value)


_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"[\\\[\]<>`]")
_FORMULA_STARTS = ("=", "+", "-", "@")


def csv_cell(value: Any) -> str:
    """One line; text starting like a formula (`=HYPERLINK(…)`) gets an apostrophe, the
    usual guard against CSV injection. Numbers stay numbers (-3 days left is not a formula)."""
    text = _cell(value)
    if isinstance(value, str):
        text = _WHITESPACE.sub(" ", text).strip()
        if text[:1] in _FORMULA_STARTS:
            return "'" + text
    return text


def markdown_text(text: str) -> str:
    """One line, with what would turn it into a link, HTML or code escaped."""
    return _MARKDOWN_SPECIAL.sub(lambda found: "\\" + found.group(0), _WHITESPACE.sub(" ", text).strip())
