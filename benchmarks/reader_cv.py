"""The whole reader cross-validated on the shipped examples: in each fold the signal model
is trained on the other folds, and the fold's examples are read by the full RuleMatcher
(rule phrases, stated years, the model), as a live entry is.

    .venv/bin/python benchmarks/reader_cv.py                      # fold seeds 0, 1, 2
    .venv/bin/python benchmarks/reader_cv.py --seeds 3 4 5 --out readings.json
    EXP=my_variant .venv/bin/python benchmarks/reader_cv.py       # my_variant.apply() first

Prints each seed's share of right readings with progress and reaffirmed as one (a
status moves the same way for both), their mean (the figure to compare a change by: one
seed varies by about a point), the share right by what decided the signal, and the
commonest confusions. An example no rule matches is read by the model alone ("unmatched").
`EXP` names a module on the path whose `apply()` patches the tracker: a variant tried
without editing it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from tracker.matching.examples import load_examples  # noqa: E402
from tracker.matching.matcher import RuleMatcher  # noqa: E402
from tracker.matching.rulefile import load_rules  # noqa: E402
from tracker.matching.signal_model import train  # noqa: E402
from tracker.matching.training import from_examples  # noqa: E402
from tracker.model import Entry  # noqa: E402

FOLDS = 5


def as_status_reads(signal: str) -> str:
    return "progress" if signal == "reaffirmed" else signal


def read_fold(rules: dict, examples, readings, train_rows, test_rows) -> list[dict]:
    model = train([readings[row] for row in train_rows])
    matcher = RuleMatcher(list(rules.values()), signal_model=model)
    results = []
    for row in test_rows:
        example = examples[row]
        matches = matcher.match(Entry(key=example.source, title=example.title, summary=example.text, published_at=example.published_at))
        # The example's rule, or its umbrella or child (a jurisdiction's news moves its own rule).
        related = {example.rule, rules[example.rule].parent} if example.rule in rules else {example.rule}
        found = next((match for match in matches if match.rule_id == example.rule), None) or next(
            (match for match in matches if match.rule_id in related or rules[match.rule_id].parent == example.rule), None)
        if found is None:
            reading = model.read(example.category, readings[row].text, readings[row].cues, readings[row].original)
            guess, source = reading.signal.value, "unmatched"
        else:
            guess, source = found.signal.value, found.signal_source
        results.append({"example": int(row), "truth": example.signal, "guess": guess, "source": source})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold seeds (default 0 1 2)")
    parser.add_argument("--out", type=Path, help="write every reading as JSON")
    args = parser.parse_args()
    if os.environ.get("EXP"):
        importlib.import_module(os.environ["EXP"]).apply()
    rules = {rule.id: rule for rule in load_rules([ROOT / "rules"]).rules}
    examples = [example for example in load_examples() if not example.near_miss]
    readings = from_examples(examples, rules)
    targets = numpy.array([example.signal for example in examples])
    everything, shares = [], []
    for seed in args.seeds:
        folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(numpy.zeros(len(examples)), targets)
        results = [result for train_rows, test_rows in folds for result in read_fold(rules, examples, readings, train_rows, test_rows)]
        shares.append(sum(as_status_reads(r["truth"]) == as_status_reads(r["guess"]) for r in results) / len(results))
        print(f"seed {seed}: {shares[-1]:.4f} right (progress and reaffirmed as one)", flush=True)
        everything += results
    print(f"mean over {len(shares)} seeds: {statistics.mean(shares):.4f}")
    exact = sum(r["truth"] == r["guess"] for r in everything) / len(everything)
    print(f"exact (every signal apart): {exact:.4f}")
    matched = [r for r in everything if r["source"] != "unmatched"]
    right_matched = sum(as_status_reads(r["truth"]) == as_status_reads(r["guess"]) for r in matched) / max(1, len(matched))
    print(f"of the readings whose rule matched (the issue's bar counts these): {right_matched:.4f}")
    by_source, right = Counter(), Counter()
    for r in everything:
        by_source[r["source"]] += 1
        right[r["source"]] += as_status_reads(r["truth"]) == as_status_reads(r["guess"])
    for source, count in by_source.most_common():
        print(f"  decided by {source:<10} {count:>5} readings, {right[source] / count:.2f} right")
    confusions = Counter((as_status_reads(r["truth"]), as_status_reads(r["guess"])) for r in everything
                         if as_status_reads(r["truth"]) != as_status_reads(r["guess"]))
    print("commonest confusions (truth → read):", ", ".join(f"{truth} → {guess} {count}" for (truth, guess), count in confusions.most_common(10)))
    if args.out:
        args.out.write_text(json.dumps(everything), encoding="utf-8")


if __name__ == "__main__":
    main()
