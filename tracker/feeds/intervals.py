"""When a feed is checked next: its interval with jitter, never sooner than the server
or the feed asked, and exponential backoff after failures. Pure arithmetic."""

from __future__ import annotations

import re
from datetime import timedelta

from tracker.model import FetchResult, ParsedFeed

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)")
# A Cache-Control max-age beyond a week is a misconfiguration, not a wish to be left alone.
MAX_AGE_CAP = timedelta(days=7)


def jittered(interval: timedelta, jitter: float, fraction: float) -> timedelta:
    """`interval` moved by up to `jitter` of itself either way (`fraction` in [0, 1)), so feeds
    on one host do not all come due at the same second."""
    return interval * (1 + jitter * (2 * fraction - 1))


def backoff(interval: timedelta, failures: int, jitter: float, fraction: float, cap: timedelta) -> timedelta:
    """Capped exponential backoff from the feed's interval, by consecutive failures."""
    return min(jittered(interval * 2**failures, jitter, fraction), cap)


def next_interval(interval: timedelta, result: FetchResult, parsed: ParsedFeed | None, jitter: float, fraction: float) -> timedelta:
    """The feed's interval, but never sooner than the server (Retry-After, max-age) or the feed (ttl) asked."""
    lower_bounds = [timedelta(seconds=result.retry_after_seconds or 0)]
    max_age = _MAX_AGE.search(result.headers.get("cache-control", ""))
    if max_age:
        lower_bounds.append(min(timedelta(seconds=int(max_age.group(1))), MAX_AGE_CAP))
    if parsed and parsed.ttl_minutes:
        lower_bounds.append(timedelta(minutes=parsed.ttl_minutes))
    return max([jittered(interval, jitter, fraction)] + lower_bounds)
