"""A commitment's card as plain text, for `tracker show`."""

from __future__ import annotations

from typing import Any

EVIDENCE_SHOWN = 20


def format_card(card: dict[str, Any], as_of: str | None = None) -> str:
    lines = [card["title"], "=" * min(len(card["title"]), 80)]
    lines.append(f"id: {card['id']} · {card['actor']} · {card['category']} · {card.get('strength') or ''}".rstrip(" ·"))
    if as_of:
        lines.append(f"as of {as_of}")
    lines.append(f"target: {card['target']}")
    days = card.get("days_left")
    left = f"{days} days left" if days is not None and days >= 0 else f"{-days} days overdue" if days is not None else ""
    lines.append(f"deadline: {card['deadline']} ({left})")
    if card.get("revised_target_year"):
        lines.append(f"revised target year: {card['revised_target_year']}")
    if card.get("baseline"):
        lines.append(f"baseline: {card['baseline']}")
    since = f" since {card['last_changed'][:10]}" if card.get("last_changed") else ""
    stale = " (stale: no recent evidence)" if card.get("stale") else ""
    lines.append(f"status: {card['status'].replace('_', ' ')}{since}{stale}")
    if card.get("source_document"):
        lines.append(f"source: {card['source_document']}: “{card.get('source_quote') or ''}”")
    if card.get("description"):
        lines += ["", card["description"].strip()]
    lines += ["", "History"]
    if not card["history"]:
        lines.append("  no changes yet")
    for change in card["history"]:
        lines.append(f"  {change['event_at'][:16].replace('T', ' ')}  {change['old']} → {change['new']}  ({_cause(change)})")
    metric = card.get("metric")
    if metric:
        direction = "at most" if metric["direction"] == "at_most" else "at least"
        lines += ["", f"Metric: {metric['name']} — target {direction} {metric['target']:g} {metric['unit']}"]
        if metric.get("baseline") is not None:
            lines.append(f"  baseline {metric['baseline']:g}" + (f" ({metric['baseline_year']})" if metric.get("baseline_year") else ""))
        for point in card["metric_series"]:
            lines.append(f"  {point['published'][:10]}  {point['value']:g}  ({point['source']}: {point['title'][:70]})")
        if card.get("metric_trend"):
            lines.append(f"  trend: {card['metric_trend']}")
    lines += ["", f"Evidence ({len(card['evidence'])})"]
    for item in card["evidence"][:EVIDENCE_SHOWN]:
        dismissed = " [dismissed]" if item["dismissed"] else ""
        if item.get("needs_look"):
            dismissed += f" [needs a look: {item['signal_source']} {item['confidence']:.0%} sure; `tracker evidence label {item['entry_id']} {item['commitment']} SIGNAL`]"
        elif item.get("labelled_by"):
            dismissed += f" [read as {item['signal']} by {item['labelled_by']}]"
        lines.append(f"  {(item['published'] or '')[:10]}  [{item['signal']}] {item['item_title']}{dismissed}  (entry {item['entry_id']})")
        lines.append(f"      {item['feed']} · {item['item_url'] or ''}")
        if item.get("quote"):
            lines.append(f"      “{item['quote']}”")
    if len(card["evidence"]) > EVIDENCE_SHOWN:
        lines.append(f"  … {len(card['evidence']) - EVIDENCE_SHOWN} more: tracker evidence {card['id']}")
    return "\n".join(lines)


def _cause(change: dict[str, Any]) -> str:
    if change["cause"] == "person":
        return f"set by {change['by'] or 'a reviewer'}: {change['note'] or ''}".rstrip(": ")
    if change["cause"] == "deadline":
        return "the deadline passed without the target reported met"
    if change["evidence_title"]:
        revised = f", revised target {change['revised_target_year']}" if change.get("revised_target_year") else ""
        # A person's reading of the entry (a label) says who and why.
        why = f"; {change['note']}" if change.get("by") and change.get("note") else ""
        return f"{change['cause']}: {change['evidence_title']} ({change['evidence_feed']}){revised}{why}"
    return change["cause"] + (f": {change['note']}" if change.get("note") else "")
