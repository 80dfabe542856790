"""The HTML pages: the status table, a page per commitment, feed health. No JavaScript needed."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from tracker.web.chart import chart_for_card, draw_metric_chart
from tracker.model import STATUS_SORT_KEYS, SignalKind, Status, end_of_day
from tracker.web.api import StatusQuery
from tracker.web.forms import form_token

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

STATUS_COLUMNS = (
    ("id", "id"),
    ("title", None),
    ("actor", "actor"),
    ("category", None),
    ("status", "status"),
    ("deadline", "deadline"),
    ("days left", "days_left"),
    ("last evidence", "last_evidence"),
    ("evidence", "evidence_count"),
    ("needs a look", None),
    ("stale", None),
)


@router.get("/", response_class=HTMLResponse)
def status_page(request: Request, query: Annotated[StatusQuery, Query()]) -> Response:
    every_row = request.app.state.data.status_rows(query.as_of_moment())
    rows = query.select(every_row)
    chosen = {key: value for key, value in request.query_params.multi_items() if value}
    return templates.TemplateResponse(
        request,
        "status.html",
        {
            "rows": rows,
            "total": len(every_row),
            "counts": Counter(row["status"] for row in rows),
            "statuses": [status.value for status in Status],
            "categories": sorted({row["category"] for row in every_row}),
            "query": query,
            "columns": [(label, key, _sort_link(chosen, key)) for label, key in STATUS_COLUMNS],
            "as_of": query.as_of,
        },
    )


@router.get("/commitments/{commitment_id}", response_class=HTMLResponse)
def commitment_page(request: Request, commitment_id: str, as_of: date | None = None) -> Response:
    moment = None if as_of is None else end_of_day(as_of)
    card = request.app.state.data.commitment(commitment_id, moment)
    if card is None:
        return render_error(request, 404, f"No commitment with id “{commitment_id}”.")
    chart = chart_for_card(card)
    return templates.TemplateResponse(
        request,
        "commitment.html",
        {
            "card": card,
            "as_of": as_of,
            # The chart is built from escaped parts (tracker/web/chart.py), so it may go in as markup.
            "chart": Markup(draw_metric_chart(chart)) if chart else None,
            "history": list(reversed(card["history"])),
            "signals": [kind.value for kind in SignalKind],
            "form_token": lambda entry_id: form_token(request.app.state.form_secret, commitment_id, entry_id),
        },
    )


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request) -> Response:
    feeds = request.app.state.data.feeds()
    return templates.TemplateResponse(request, "feeds.html", {"feeds": feeds, "counts": Counter(feed["health"] for feed in feeds)})


def render_error(request: Request, status_code: int, message: str) -> Response:
    title = {400: "Bad request", 401: "Access token needed", 404: "Not found"}.get(status_code, "Error")
    return templates.TemplateResponse(request, "error.html", {"message": message, "title": title}, status_code=status_code)


def _sort_link(chosen: dict[str, Any], key: str | None) -> str | None:
    """The address of the same view, ordered by `key`."""
    if key not in STATUS_SORT_KEYS:
        return None
    return "/?" + urlencode({**chosen, "sort": key})


def _days_left(days: int | None) -> str:
    if days is None:
        return ""
    return f"{days} days" if days >= 0 else f"{-days} days overdue"


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


templates.env.filters["days_left"] = _days_left
templates.env.filters["number"] = _number
templates.env.filters["label"] = _label
templates.env.filters["day"] = lambda value: (value or "")[:10]
templates.env.filters["minute"] = lambda value: (value or "")[:16].replace("T", " ")
