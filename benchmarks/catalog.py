"""How well the rule catalogue finds the commitments in the shipped news examples.

    .venv/bin/python benchmarks/catalog.py                 # per-rule recall and precision
    .venv/bin/python benchmarks/catalog.py --misses RULE   # the examples a rule misses or wrongly takes

Recall: examples about a rule that the rule matches. Precision: of everything a rule
matches among all examples (near misses included), the share that is about it. The
examples are written after real articles (tracker/matching/data/signals/); a rule
tuned to pass them should be tuned with terms of the concept, in each language the
news uses, never with an example's own words.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.matching.examples import load_examples  # noqa: E402
from tracker.matching.matcher import RuleMatcher  # noqa: E402
from tracker.matching.rulefile import load_rules  # noqa: E402
from tracker.model import Entry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", metavar="RULE", help="list what RULE misses and what it takes that is not its")
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    args = parser.parse_args()
    rules = load_rules([args.rules]).rules
    matcher = RuleMatcher(list(rules))
    examples = load_examples()
    about, found, right = Counter(), Counter(), Counter()
    missed, wrong = defaultdict(list), defaultdict(list)
    for example in examples:
        entry = Entry(key=example.source, title=example.title, summary=example.text)
        matched = {match.rule_id for match in matcher.match(entry)}
        truth = None if example.near_miss else example.rule
        if truth:
            about[truth] += 1
            if truth in matched:
                right[truth] += 1
            else:
                missed[truth].append(example)
        for rule_id in matched:
            found[rule_id] += 1
            if rule_id != truth:
                wrong[rule_id].append(example)
    if args.misses:
        print(f"missed by {args.misses}:")
        for example in missed[args.misses]:
            print(f"  [{example.lang}] {example.title} | {example.text[:120]}")
        print(f"taken by {args.misses} but about something else:")
        for example in wrong[args.misses]:
            print(f"  [{example.lang}] ({example.rule or 'near miss'}) {example.title}")
        return
    print(f"{'rule':34} {'about':>5} {'recall':>7} {'found':>6} {'precision':>9}")
    for rule in sorted(rules, key=lambda rule: rule.id):
        recall = right[rule.id] / about[rule.id] if about[rule.id] else float("nan")
        precision = (found[rule.id] - len(wrong[rule.id])) / found[rule.id] if found[rule.id] else float("nan")
        print(f"{rule.id:34} {about[rule.id]:5} {recall:7.2f} {found[rule.id]:6} {precision:9.2f}")
    total_about, total_right = sum(about.values()), sum(right.values())
    total_found, total_wrong = sum(found.values()), sum(len(items) for items in wrong.values())
    print(f"{'all':34} {total_about:5} {total_right / total_about:7.2f} {total_found:6} {(total_found - total_wrong) / max(1, total_found):9.2f}")


if __name__ == "__main__":
    main()
