"""Slack through slack-sdk's WebClient: Block Kit cards, escaped text, classified failures."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from notifiers import DeliveryError, Sending, Sent
from notifiers.render import STATUS_EMOJI, days_left, headline, plain_text, status_label
from tracker.model import SIGNALS_TO_CHOOSE, Alert, ThreadRef

log = logging.getLogger("tracker")

# Errors that no retry will heal: the config (token, channel, membership) must change.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
        "token_revoked", "token_expired", "not_authed", "msg_too_long", "no_permission",
        "missing_scope", "invalid_blocks", "restricted_action",
    }
)
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
MAX_BLOCKS = 50


def escape_mrkdwn(text: str) -> str:
    """Make feed text inert in Slack: no mentions, no links, no markup it did not earn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


DELIVERY_EVENT = "tracker_delivery"


class SlackNotifier:
    name = "slack"
    supports_threads = True

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://slack.com/api/",
        default_channel: str = "#commitments",
        today: Callable[[], date] | None = None,
        client: WebClient | None = None,
    ) -> None:
        self._client = client or WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=15,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2),
                RateLimitErrorRetryHandler(max_retry_count=2),
                ServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        self._default_channel = default_channel
        self._today = today or (lambda: datetime.now(timezone.utc).date())
        self._channel_ids: dict[str, str] = {}

    def __repr__(self) -> str:  # never show the client, which holds the token
        return f"SlackNotifier(default_channel={self._default_channel!r})"

    def send(self, alert: Alert, sending: Sending | None = None) -> Sent:
        """Post the alert (in its thread when there is one), tagged with its delivery id.

        An in-doubt delivery (the last attempt may have arrived) first looks for its
        tag in the channel: found, it is not posted again.
        """
        sending = sending or Sending(delivery_id=0, channel=alert.channel or self._default_channel)
        channel = sending.thread.channel_id if sending.thread and sending.thread.channel_id else sending.channel
        if sending.in_doubt and (found := self._find_delivered(channel, sending)) is not None:
            return found
        arguments: dict[str, Any] = dict(
            channel=channel,
            text=truncate(escape_mrkdwn(plain_text(alert, self._today())), FALLBACK_LIMIT),
            blocks=render_blocks(alert, self._today()),
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": str(sending.delivery_id)}},
        )
        if sending.thread:
            arguments.update(thread_ts=sending.thread.parent_id, reply_broadcast=sending.broadcast)
        response = self._call("chat_postMessage", channel, **arguments)
        return Sent(remote_id=response.get("ts"), channel_id=response.get("channel"))

    def update_parent(self, thread: ThreadRef, alert: Alert) -> None:
        """The thread's first message shows the commitment's current status."""
        channel = thread.channel_id or alert.channel or self._default_channel
        self._call(
            "chat_update",
            channel,
            channel=channel,
            ts=thread.parent_id,
            text=truncate(escape_mrkdwn(plain_text(alert, self._today())), FALLBACK_LIMIT),
            blocks=render_parent_blocks(alert, self._today()),
        )

    def update_card(self, channel_id: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a posted card (after a button on it was used); `text` is the fallback as Slack holds it."""
        self._call("chat_update", channel_id, channel=channel_id, ts=ts, text=truncate(text, FALLBACK_LIMIT), blocks=blocks[:MAX_BLOCKS])

    def tell(self, channel_id: str, user_id: str, text: str) -> None:
        """A message only `user_id` sees, e.g. why their click changed nothing."""
        self._call("chat_postEphemeral", channel_id, channel=channel_id, user=user_id, text=truncate(escape_mrkdwn(text), FALLBACK_LIMIT))

    def check(self) -> str:
        """Who the token is, for `tracker notify test`; raises DeliveryError if it is not valid."""
        response = self._call("auth_test", "-")
        return f"{response.get('user', '?')} in {response.get('team', '?')}"

    def channel_access(self) -> dict[str, bool]:
        """Channel name → whether the bot is a member, for every channel it can see (`tracker
        doctor`); raises DeliveryError when Slack will not list them (a missing scope)."""
        seen: dict[str, bool] = {}
        cursor = None
        while True:
            response = self._call("conversations_list", "-", types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor)
            for item in response.get("channels", []):
                seen[item["name"]] = bool(item.get("is_member"))
                self._channel_ids[item["name"]] = item["id"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return seen

    def _call(self, method: str, where: str, **arguments: Any) -> Any:
        """Call the Web API; every failure becomes a classified DeliveryError naming `where`."""
        try:
            return getattr(self._client, method)(**arguments)
        except SlackApiError as error:
            raise classify(error, where) from None
        except SlackClientError as error:
            raise DeliveryError(f"slack: {type(error).__name__}: {error}", permanent=False, in_doubt=True) from None
        except OSError as error:
            raise DeliveryError(f"slack: network error: {error}", permanent=False, in_doubt=True) from None

    def _find_delivered(self, channel: str, sending: Sending) -> Sent | None:
        """Look for a message tagged with this delivery's id; None when absent or when looking fails."""
        try:
            channel_id = self._channel_id(channel)
            if sending.thread:
                response = self._client.conversations_replies(channel=channel_id, ts=sending.thread.parent_id, include_all_metadata=True, limit=200)
            else:
                response = self._client.conversations_history(channel=channel_id, include_all_metadata=True, limit=200)
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("slack: could not check whether delivery %d already arrived (%s); sending it", sending.delivery_id, type(error).__name__)
            return None
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == DELIVERY_EVENT and str(payload.get("delivery_id")) == str(sending.delivery_id):
                return Sent(remote_id=message.get("ts"), channel_id=channel_id, already_there=True)
        return None

    def _channel_id(self, channel: str) -> str:
        """conversations.history wants an id (C…); postMessage took a name (#…)."""
        name = channel.lstrip("#")
        if channel == name and name[:1] in "CGD" and name.isupper():
            return channel
        if name not in self._channel_ids:
            cursor = None
            while True:
                response = self._client.conversations_list(types="public_channel,private_channel", limit=1000, cursor=cursor)
                for item in response.get("channels", []):
                    self._channel_ids[item["name"]] = item["id"]
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if name in self._channel_ids or not cursor:
                    break
        return self._channel_ids.get(name, channel)


def classify(error: SlackApiError, channel: str) -> DeliveryError:
    response = error.response
    code = response.get("error", "unknown_error") if hasattr(response, "get") else "unknown_error"
    status = getattr(response, "status_code", None)
    retry_after = None
    if status == 429:
        header = (getattr(response, "headers", None) or {}).get("Retry-After") or (
            getattr(response, "headers", None) or {}
        ).get("retry-after")
        retry_after = float(header) if header and str(header).isdigit() else 30.0
        return DeliveryError(f"slack: rate limited in {channel}", permanent=False, retry_after=retry_after)
    if status is not None and status >= 500:
        return DeliveryError(f"slack: server error {status} ({code})", permanent=False)
    permanent = code in PERMANENT_ERRORS
    where = f" ({channel})" if code in ("channel_not_found", "not_in_channel", "is_archived") else ""
    return DeliveryError(f"slack: {code}{where} (HTTP {status})", permanent=permanent)


def render_blocks(alert: Alert, today: date) -> list[dict[str, Any]]:
    """A Block Kit card. Every text from a feed or a rule is escaped and cut to Slack's limits."""
    title = truncate(escape_mrkdwn(alert.commitment_title), HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}]
    if alert.kind == "notice":
        return blocks + [_section(escape_mrkdwn(alert.text or ""))]
    if alert.kind == "status_change":
        old, new = alert.old_status or "pending", alert.new_status or "pending"
        line = f"{STATUS_EMOJI.get(old, '')} {status_label(old)} → {STATUS_EMOJI.get(new, '')} *{status_label(new)}*"
    else:
        line = escape_mrkdwn(headline(alert))
    blocks.append(_section(line))
    if alert.kind in ("status_change", "reminder") and alert.text:  # why: "set by ana: …", "the deadline passed"
        blocks.append(_section(escape_mrkdwn(alert.text)))
    if alert.target:
        deadline = f"\n*Deadline:* {alert.deadline.isoformat()} ({days_left(alert.deadline, today)})" if alert.deadline else ""
        blocks.append(_section(f"*Target:* {escape_mrkdwn(alert.target)}{deadline}"))
    if alert.entry_title:
        title_text = escape_mrkdwn(truncate(alert.entry_title, 500))
        link = f"<{alert.entry_url}|{title_text}>" if _is_safe_url(alert.entry_url) else title_text
        published = f" · {alert.published_at:%Y-%m-%d}" if alert.published_at else ""
        source = f"\n{escape_mrkdwn(alert.feed_name or '')}{published}"
        blocks.append(_section(f"*Evidence:* {link}{source}"))
    if alert.matched_terms:
        blocks.append(_section("*Matched:* " + escape_mrkdwn(", ".join(alert.matched_terms))))
    if alert.entry_id is not None and alert.signal:
        blocks.append(_section(reading_line(alert)))
    context = f"rule `{escape_mrkdwn(alert.commitment_id)}`"
    if alert.source_document:
        context += f" · source {escape_mrkdwn(alert.source_document)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, SECTION_LIMIT)}]})
    if alert.kind in REVIEWED_KINDS and alert.commitment_id:
        blocks = blocks[: MAX_BLOCKS - 1] + [render_actions(alert)]
    return blocks[:MAX_BLOCKS]


# Alerts about one commitment carry the review buttons; notices and digests do not.
REVIEWED_KINDS = ("evidence", "status_change", "reminder")
ACTIONS_BLOCK_ID = "tracker_review"


def render_actions(alert: Alert) -> dict[str, Any]:
    """Confirm, Dismiss as false positive (only with an entry behind the alert), Snooze 7 days.

    Each button's value carries what its action needs, so a click never has to guess
    which status or entry the reviewer saw. Only our own words go into labels.
    """
    status = alert.new_status if alert.kind in ("status_change", "reminder") else None
    value = json.dumps({"commitment_id": alert.commitment_id, "entry_id": alert.entry_id, "status": status}, separators=(",", ":"))
    confirm = f"Confirm {status_label(status)}" if status else "Confirm status"
    buttons = [_button("confirm", confirm, value, style="primary")]
    if alert.entry_id is not None:
        dismiss = _button("dismiss", "Dismiss as false positive", value, style="danger")
        dismiss["confirm"] = {
            "title": {"type": "plain_text", "text": "Dismiss this evidence?"},
            "text": {"type": "plain_text", "text": "The entry stops counting for this commitment and its status is recomputed without it."},
            "confirm": {"type": "plain_text", "text": "Dismiss"},
            "deny": {"type": "plain_text", "text": "Keep it"},
        }
        buttons.append(dismiss)
    buttons.append(_button("snooze", "Snooze 7 days", value))
    if alert.entry_id is not None:
        buttons.append(_label_menu(alert))
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons}




def reading_line(alert: Alert) -> str:
    """How the tracker read the entry, and whether it needs a person's look."""
    source = {"rule": "a rule's phrase", "target": "the stated year against the target", "model": "the signal model",
              "phrase": "built-in phrases", "person": "a person"}.get(alert.signal_source or "", "the rules")
    sure = f", {alert.confidence:.0%} sure" if alert.confidence is not None and alert.signal_source in ("model", "target") else ""
    if alert.needs_review:
        return f":eyes: *Needs a look:* read as _{alert.signal}_ by {source}{sure}; it moved no status. Correct it with *Read as…*"
    return f"*Read as:* _{alert.signal}_ (by {source}{sure})"


def _label_menu(alert: Alert) -> dict[str, Any]:
    """"Read as…": the person's signal for this entry and commitment (`tracker evidence label`)."""
    options = [
        {"text": {"type": "plain_text", "text": label}, "value": json.dumps({"commitment_id": alert.commitment_id, "entry_id": alert.entry_id, "signal": label}, separators=(",", ":"))}
        for label in (kind.value for kind in SIGNALS_TO_CHOOSE)
    ]
    return {"type": "static_select", "action_id": "label", "placeholder": {"type": "plain_text", "text": "Read as…"}, "options": options}


def render_reviewed_blocks(blocks: list[dict[str, Any]], what: str, by: str, at: datetime) -> list[dict[str, Any]]:
    """The clicked card as it was, its buttons replaced by a line saying what was done, by whom, when.

    `blocks` are the card as Slack sent it back; `what` and `by` are escaped like feed text
    (a display name is chosen by its owner). The time is shown in each reader's own zone.
    """
    stamp = f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC>"
    line = f":ballot_box_with_check: {escape_mrkdwn(what)} by {escape_mrkdwn(by)} · {stamp}"
    done = {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(line, SECTION_LIMIT)}]}
    kept = [done if block.get("type") == "actions" else block for block in blocks]
    return kept if done in kept else kept + [done]


def render_parent_blocks(alert: Alert, today: date) -> list[dict[str, Any]]:
    """The thread's first message: the commitment and where it stands now."""
    status = alert.new_status or "pending"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(escape_mrkdwn(alert.commitment_title), HEADER_LIMIT), "emoji": True}},
        _section(f"*Status:* {STATUS_EMOJI.get(status, '')} *{status_label(status)}*"),
    ]
    if alert.target:
        deadline = f"\n*Deadline:* {alert.deadline.isoformat()} ({days_left(alert.deadline, today)})" if alert.deadline else ""
        blocks.append(_section(f"*Target:* {escape_mrkdwn(alert.target)}{deadline}"))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"rule `{escape_mrkdwn(alert.commitment_id)}` · updates in the thread"}]})
    # It replaces the thread's first card and its buttons: keep Confirm and Snooze for the
    # status it now shows; no Dismiss, as it shows no entry.
    return blocks + [render_actions(replace(alert, kind="status_change", entry_id=None))]


def _button(action_id: str, label: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}
    if style:
        button["style"] = style
    return button


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _is_safe_url(url: str | None) -> bool:
    """Only http(s) links without characters that would break out of Slack's <url|label>."""
    return bool(url) and url.startswith(("http://", "https://")) and not any(ch in url for ch in "<>|\n ")
