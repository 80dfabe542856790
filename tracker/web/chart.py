"""A metric's series as an SVG line chart, drawn on the server.

Hand-drawn rather than a charting library: the page must work offline and without
JavaScript, and the chart is one line, one target and a baseline. Every label is
escaped; the values come from news text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 20, 40


@dataclass(frozen=True)
class MetricChart:
    """What the chart shows: dated values, and the commitment's terms to read them against."""

    name: str
    unit: str
    points: tuple[tuple[date, float], ...]
    target: float | None = None
    deadline: date | None = None
    baseline: float | None = None
    baseline_year: int | None = None


def draw_metric_chart(chart: MetricChart) -> str:
    """The SVG markup (an <svg> element with a <title> for screen readers)."""
    points = list(chart.points)
    # A baseline is a year's figure: drawn mid-year, marked apart from reported values.
    baseline = (date(chart.baseline_year, 7, 1), chart.baseline) if chart.baseline is not None and chart.baseline_year else None
    line = sorted(([baseline] if baseline else []) + points)
    days = [day for day, _ in line] + ([chart.deadline] if chart.deadline else [])
    values = [value for _, value in line] + [v for v in (chart.target, chart.baseline) if v is not None]
    if not days or not values:
        return ""
    first, last = date(min(days).year, 1, 1), max(days)  # from the start of the first year, so it has its tick
    low, high, step = _value_range(values)
    span_days = max((last - first).days, 1)

    def x(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span_days

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))

    label = f"{chart.name} ({chart.unit})" if chart.unit else chart.name
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
        *_axes(low, high, step, first, last, x, y, chart.unit),
    ]
    if chart.target is not None:
        target_y = y(chart.target)
        parts.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{target_y:.1f}" y2="{target_y:.1f}"/>')
        by = f" by {chart.deadline.isoformat()}" if chart.deadline else ""
        parts.append(f'<text class="target-label" x="{WIDTH - RIGHT}" y="{target_y - 5:.1f}" text-anchor="end">target {_number(chart.target)}{escape(_unit(chart.unit))}{by}</text>')
    if chart.deadline:
        deadline_x = x(chart.deadline)
        parts.append(f'<line class="deadline" x1="{deadline_x:.1f}" x2="{deadline_x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
        parts.append(f'<text class="deadline-label" x="{deadline_x - 4:.1f}" y="{TOP + 10}" text-anchor="end">deadline</text>')
    if len(line) > 1:
        path = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in line)
        parts.append(f'<polyline class="series" points="{path}"/>')
    if baseline:
        day, value = baseline
        parts.append(
            f'<circle class="baseline" cx="{x(day):.1f}" cy="{y(value):.1f}" r="5">'
            f"<title>baseline {chart.baseline_year}: {_number(value)}{escape(_unit(chart.unit))}</title></circle>"
        )
        parts.append(f'<text class="baseline-label" x="{x(day) + 8:.1f}" y="{y(value) - 8:.1f}">{chart.baseline_year} baseline</text>')
    for day, value in points:
        parts.append(
            f'<circle class="point" cx="{x(day):.1f}" cy="{y(value):.1f}" r="4">'
            f"<title>{day.isoformat()}: {_number(value)}{escape(_unit(chart.unit))}</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def chart_for_card(card: dict) -> MetricChart | None:
    """The chart of a commitment's card (tracker.status.review.card), or None when it has no metric."""
    metric = card.get("metric")
    if not metric:
        return None
    points = tuple(
        (datetime.fromisoformat(item["published"]).astimezone(timezone.utc).date(), float(item["value"]))
        for item in card.get("metric_series", [])
    )
    return MetricChart(
        name=metric.get("name") or card["title"],
        unit=metric.get("unit") or "",
        points=tuple(sorted(points)),
        target=metric.get("target"),
        deadline=date.fromisoformat(card["deadline"]) if card.get("deadline") else None,
        baseline=metric.get("baseline"),
        baseline_year=metric.get("baseline_year"),
    )


def _value_range(values: list[float]) -> tuple[float, float, float]:
    """(low, high, tick step) on round numbers, from zero when every value is positive:
    a share read from an arbitrary floor looks like a collapse."""
    low, high = min(values + [0.0]), max(values)
    raw_step = (high - low) / 4 or 1.0
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if high - (max(values)) < step * 0.1:  # leave room above the highest point for its label
        high += step
    return low, high, step


def _axes(low: float, high: float, step: float, first: date, last: date, x, y, unit: str) -> list[str]:
    bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
    parts = [f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}"/>', f'<line class="axis" x1="{LEFT}" x2="{right}" y1="{bottom}" y2="{bottom}"/>']
    for index in range(round((high - low) / step) + 1):
        value = low + step * index
        parts.append(f'<text class="tick" x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value)}{escape(_unit(unit))}</text>')
    every = max(1, math.ceil((last.year - first.year + 1) / 8))  # at most about eight year labels
    years = list(range(first.year, last.year + 1, every))
    for year in years:
        day = max(date(year, 1, 1), first)
        parts.append(f'<text class="tick" x="{x(day):.1f}" y="{bottom + 18}" text-anchor="middle">{year}</text>')
    return parts


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


UNIT_SUFFIX = {"percent": "%", "gw": " GW", "gwh": " GWh", "usd": " USD"}


def _unit(unit: str) -> str:
    return UNIT_SUFFIX.get(unit, "")
