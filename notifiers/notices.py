"""Operations notices (a feed broken or recovered, rule files broken): alerts about the
tracker itself, not a commitment, through the same outbox."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import outbox
from tracker.model import Alert, alert_to_payload


def enqueue_notice(session: Session, channel: str | None, dedupe_key: str, title: str, text: str, now: datetime) -> None:
    alert = Alert(kind="notice", commitment_id="", commitment_title=title, channel=channel, text=text)
    outbox.enqueue_delivery(session, dedupe_key, "notice", channel, alert_to_payload(alert), None, now)


def notify_broken_rules(engine: Engine, channel: str | None, problems: Sequence[str], now: datetime) -> None:
    """One notice per distinct breakage of the rule files, not one per reload."""
    digest = hashlib.sha256("\n".join(problems).encode("utf-8")).hexdigest()[:16]
    text = "The last good rule set stays in use until these are fixed:\n" + "\n".join(problems[:20])
    with Session(engine) as session:
        enqueue_notice(session, channel, f"rules-broken:{digest}", "Rule files have errors", text, now)
        session.commit()
