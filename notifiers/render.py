"""Turning an Alert into words: pure functions shared by every channel."""

from __future__ import annotations

from datetime import date

from tracker.model import Alert

STATUS_EMOJI = {
    "pending": ":hourglass_flowing_sand:",
    "on_track": ":large_green_circle:",
    "at_risk": ":large_yellow_circle:",
    "delayed": ":large_orange_circle:",
    "weakened": ":small_red_triangle_down:",
    "achieved": ":white_check_mark:",
    "missed": ":x:",
    "abandoned": ":no_entry:",
}


def status_label(status: str | None) -> str:
    return (status or "unknown").replace("_", " ")


def days_left(deadline: date | None, today: date) -> str:
    if deadline is None:
        return ""
    days = (deadline - today).days
    if days >= 0:
        return f"{days} days left"
    return f"{-days} days overdue"


def headline(alert: Alert) -> str:
    """One line saying what happened, in plain text."""
    if alert.kind == "status_change":
        return f"{alert.commitment_title}: {status_label(alert.old_status)} → {status_label(alert.new_status)}"
    if alert.kind == "evidence":
        # A reading too unsure to move the status says so wherever it is shown.
        look = ", needs a look: it moved no status" if alert.needs_review else ""
        return f"{alert.commitment_title}: new evidence ({alert.signal or 'mention'}{look})"
    if alert.kind == "reminder":
        return f"{alert.commitment_title}: deadline {alert.deadline.isoformat() if alert.deadline else ''} approaching"
    return alert.commitment_title


def plain_text(alert: Alert, today: date) -> str:
    """The whole alert as readable plain text (console, fallback text)."""
    lines = [headline(alert)]
    if alert.kind in ("status_change", "reminder") and alert.text:
        lines.append(f"  {alert.text}")
    if alert.kind == "notice":
        return "\n".join(lines + [f"  {line}" for line in (alert.text or "").splitlines()])
    if alert.target:
        deadline = f" by {alert.deadline.isoformat()} ({days_left(alert.deadline, today)})" if alert.deadline else ""
        lines.append(f"  target: {alert.target}{deadline}")
    if alert.entry_title:
        published = f", {alert.published_at:%Y-%m-%d}" if alert.published_at else ""
        source = f" ({alert.feed_name}{published})" if alert.feed_name else ""
        lines.append(f"  evidence: {alert.entry_title}{source}")
    if alert.entry_url:
        lines.append(f"  link: {alert.entry_url}")
    if alert.matched_terms:
        lines.append(f"  matched: {', '.join(alert.matched_terms)}")
    context = f"rule {alert.commitment_id}"
    if alert.source_document:
        context += f" · source {alert.source_document}"
    lines.append(f"  {context}")
    return "\n".join(lines)
