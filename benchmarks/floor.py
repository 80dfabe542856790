"""The tracker's own text work on the same bytes, with the parser taken out: a floor.

Whatever parses the documents, the tracker still turns every entry's HTML into plain
text (`normalise_entry`) and matches it against the rules (`RuleMatcher.match`), over
the title and the opening of its summary and content (matcher.lead_of). Timed here
in one process, sequentially, on feedparser's output (the tracker's options), each
distinct file once and weighted by the URLs that serve it, like `feedparser_times`.
With the parse at zero seconds, a fresh cycle on C cores cannot take less than
start-up + (normalising + matching) / C: peers.py prints that beside newsboat's cycle.
"""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import feedparser

from tracker.matching.matcher import RuleMatcher
from tracker.feeds.parse import FEEDPARSER_OPTIONS, normalise_entry
from tracker.matching.rulefile import load_rules


def text_work_seconds(files: list[Path], uses: Counter, rules: Path, content_types: dict[str, str]) -> tuple[float, float, int]:
    """(normalising s, matching s, entries): every entry of every file, weighted by URL count."""
    matcher = RuleMatcher(load_rules([rules]).rules)
    normalising = matching = 0.0
    entries = 0
    for path in files:
        url = f"http://127.0.0.1/{path.name}"
        headers = {"content-type": content_types[path.suffix], "content-location": url}
        parsed = feedparser.parse(io.BytesIO(path.read_bytes()), response_headers=headers, **FEEDPARSER_OPTIONS)
        language = parsed.feed.get("language")
        started = time.perf_counter()
        normalised = [
            entry
            for raw in parsed.entries
            if (entry := normalise_entry(raw, scope=url, feed_language=language)) is not None
        ]
        middle = time.perf_counter()
        for entry in normalised:
            matcher.match(entry)
        ended = time.perf_counter()
        normalising += (middle - started) * uses[path]
        matching += (ended - middle) * uses[path]
        entries += len(normalised) * uses[path]
    return normalising, matching, entries
