"""The digest: where every commitment stands, what changed, what is coming."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.outbox import enqueue_delivery
from storage.views import changes_since, last_digest_at
from tracker.model import Alert, alert_to_payload
from tracker.status.review import status_table

STATUS_ORDER = ("on_track", "at_risk", "delayed", "weakened", "achieved", "missed", "abandoned", "pending")


def digest_text(rows: list[dict[str, Any]], changes: list[dict[str, Any]], since: datetime | None, deadline_days: int) -> str:
    """Plain text: counts by status, changes since the last digest, deadlines approaching, stale."""
    counts = Counter(row["status"] for row in rows)
    lines = ["Commitments: " + ", ".join(f"{counts[status]} {status.replace('_', ' ')}" for status in STATUS_ORDER if counts[status])]
    lines.append("")
    lines.append(f"Changes since {since:%Y-%m-%d %H:%M} UTC:" if since else "Changes:")
    lines += [f"• {change['title']}: {change['old']} → {change['new']} ({change['cause']})" for change in changes] or ["• none"]
    approaching = sorted((row for row in rows if 0 <= row["days_left"] <= deadline_days and row["status"] not in ("achieved", "abandoned", "missed")), key=lambda row: row["days_left"])
    lines += ["", f"Deadlines within {deadline_days} days:"]
    lines += [f"• {row['title']}: {row['deadline']} ({row['days_left']} days, {row['status'].replace('_', ' ')})" for row in approaching] or ["• none"]
    stale = [row for row in rows if row["stale"]]
    lines += ["", "Stale (no recent evidence):"]
    lines += [f"• {row['title']} (last evidence {(row['last_evidence'] or 'never')[:10]})" for row in stale] or ["• none"]
    return "\n".join(lines)


def enqueue_digest(engine: Engine, channel: str | None, now: datetime, stale_after_days: int, deadline_days: int, *, dry_run: bool = False) -> str:
    """Build the digest; unless dry, put it in the outbox (once per day)."""
    with Session(engine) as session:
        since = last_digest_at(session)
        rows = status_table(session, now, stale_after_days)
        text = digest_text(rows, changes_since(session, since), since, deadline_days)
        if not dry_run:
            alert = digest_alert(text, channel, now)
            enqueue_delivery(session, f"digest:{now:%Y-%m-%d}", "digest", alert.channel, alert_to_payload(alert), None, now)
            session.commit()
    return text


def digest_alert(text: str, channel: str | None, now: datetime) -> Alert:
    return Alert(kind="notice", commitment_id="", commitment_title=f"Commitments digest, {now:%Y-%m-%d}", channel=channel, text=text)
