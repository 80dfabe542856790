"""Slack through an incoming webhook: the alternative to a bot token.

A webhook posts to the one channel it was made for, cannot thread or update, and
answers errors instead of raising them, so each answer is classified here.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Callable

from slack_sdk.webhook import WebhookClient

from notifiers import DeliveryError, Sending, Sent
from notifiers.render import plain_text
from notifiers.slack import FALLBACK_LIMIT, escape_mrkdwn, render_blocks, truncate
from tracker.model import Alert, ThreadRef

# Answers that will not change until someone fixes the webhook or its channel.
PERMANENT_ANSWERS = ("invalid_token", "no_service", "channel_not_found", "channel_is_archived", "action_prohibited", "no_active_hooks", "invalid_payload")


class WebhookNotifier:
    name = "slack-webhook"
    supports_threads = False

    def __init__(self, url: str, today: Callable[[], date] | None = None) -> None:
        self._client = WebhookClient(url, timeout=15)
        self._today = today or (lambda: datetime.now(timezone.utc).date())

    def __repr__(self) -> str:  # the URL is a secret
        return "WebhookNotifier()"

    def send(self, alert: Alert, sending: Sending | None = None) -> Sent:
        try:
            response = self._client.send(
                text=truncate(escape_mrkdwn(plain_text(alert, self._today())), FALLBACK_LIMIT),
                blocks=render_blocks(alert, self._today()),
                unfurl_links=False,
                unfurl_media=False,
            )
        except OSError as error:
            raise DeliveryError(f"slack webhook: network error: {type(error).__name__}", permanent=False, in_doubt=True) from None
        if response.status_code == 200:
            return Sent()
        body = (response.body or "").strip()[:100]
        if response.status_code == 429:
            retry_after = (response.headers or {}).get("retry-after") or (response.headers or {}).get("Retry-After")
            raise DeliveryError("slack webhook: rate limited", permanent=False, retry_after=float(retry_after[0] if isinstance(retry_after, list) else retry_after or 30))
        permanent = any(answer in body for answer in PERMANENT_ANSWERS) or response.status_code in (403, 404, 410)
        raise DeliveryError(f"slack webhook: HTTP {response.status_code} {body}", permanent=permanent)

    def update_parent(self, thread: ThreadRef, alert: Alert) -> None:
        """A webhook cannot edit what it posted."""
