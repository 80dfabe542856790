"""The `reader` library's side of peers.py, run with the peers' interpreter (benchmarks/.peers).

    .peers/bin/python benchmarks/reader_cycle.py setup DB URLS_FILE    # add_feed for each URL (untimed)
    .peers/bin/python benchmarks/reader_cycle.py update DB --workers 16
    .peers/bin/python benchmarks/reader_cycle.py count DB             # JSON on stdout

`update` is one cycle: every feed, whether or not reader would schedule it
(`scheduled=False`, as `tracker poll` polls every active feed), with `workers`
threads retrieving and parsing. Its outcome goes to stderr as one line
("peer: new=… not_modified=… errors=…"): reader stores every entry it parses,
so new entries are what a fresh cycle has to show.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from reader import make_reader


def setup(database: Path, urls: Path) -> None:
    reader = make_reader(str(database))
    for url in urls.read_text(encoding="utf-8").split():
        reader.add_feed(url)
    reader.close()


def update(database: Path, workers: int) -> None:
    reader = make_reader(str(database))
    outcome: Counter[str] = Counter()
    errors = []
    for result in reader.update_feeds_iter(scheduled=False, workers=workers):
        value = result.value
        if value is None:
            outcome["not_modified"] += 1
        elif isinstance(value, Exception):
            outcome["errors"] += 1
            errors.append(f"{result.url}: {type(value).__name__}: {value}")
        else:
            outcome["updated"] += 1
            outcome["new"] += value.new
            outcome["modified"] += value.modified
    reader.close()
    print("peer: " + " ".join(f"{key}={outcome[key]}" for key in ("updated", "not_modified", "errors", "new", "modified")),
          file=sys.stderr)
    for line in errors[:20]:
        print(f"feed error: {line[:300]}", file=sys.stderr)


def count(database: Path) -> None:
    reader = make_reader(str(database))
    feeds = list(reader.get_feeds())
    counts = {
        "entries": reader.get_entry_counts().total,
        "feeds": len(feeds),
        "feeds_with_entries": sum(1 for feed in feeds if reader.get_entry_counts(feed=feed).total),
        "feeds_with_error": sum(1 for feed in feeds if feed.last_exception is not None),
    }
    reader.close()
    print(json.dumps(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("setup", "update", "count"))
    parser.add_argument("database", type=Path)
    parser.add_argument("urls", type=Path, nargs="?")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    if args.action == "setup":
        setup(args.database, args.urls)
    elif args.action == "update":
        update(args.database, args.workers)
    else:
        count(args.database)


if __name__ == "__main__":
    main()
