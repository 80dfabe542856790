"""Quality of the shipped rule catalogue on a held-out set of news items.

tests/data/news_eval.yaml holds realistic headlines and summaries, each labelled with the
commitments an analyst would call it evidence for (or none: look-alikes such as solid-state
drives, Paris the city, Toyota recalls). The set was written without looking at rules/, so
it measures how well the rules generalise rather than whether they fit their own examples.

Scoring is micro-averaged over (item, family) pairs, where a family is a commitment id
except that every id starting with "ice-phaseout-2035" counts as "ice-phaseout-2035".
Rules whose family the evaluation set does not label are not scored (their matches are
listed on failure for information).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tracker.matching.matcher import RuleMatcher
from tracker.model import Entry
from tracker.matching.rulefile import find_rule_files, load_rules

REPO = Path(__file__).parent.parent
RULES = REPO / "rules"
EVAL_SET = Path(__file__).parent / "data" / "news_eval.yaml"

MIN_PRECISION = 0.95
MIN_RECALL = 0.90

# Every commitment the catalogue must cover, as a family.
FAMILIES = (
    "toyota-solid-state",
    "nissan-solid-state",
    "samsung-sdi-solid-state",
    "catl-byd-solid-state",
    "quantumscape-powerco",
    "ice-phaseout-2035",
    "china-ndc",
    "us-paris",
    "us-battery-imports-china",
    "china-nuclear-2030",
    "china-liion-share-2025",
    "next-gen-battery-share-2035",
    "us-liion-share-2030",
    "us-next-gen-battery-support",
    "usps-ev-2028",
    "coal-gas-phaseout",
    "bri-green",
    "china-market-access",
    "us-china-cerc",
    "us-china-low-carbon-cities",
    "renewables-300gw",
)


def family(rule_id: str) -> str:
    return "ice-phaseout-2035" if rule_id.startswith("ice-phaseout-2035") else rule_id


def _eval_items() -> list[dict]:
    items = YAML(typ="safe").load(EVAL_SET.read_text(encoding="utf-8"))
    assert isinstance(items, list) and items, "the evaluation set is empty"
    return items


def _require_rules():
    if not any(RULES.glob("**/*.yaml")):
        pytest.skip("rules/ has no *.yaml files yet")
    rule_set = load_rules([RULES])
    assert rule_set.rules, "no rule in rules/ could be loaded:\n" + "\n".join(map(str, rule_set.problems))
    return rule_set


def test_the_evaluation_set_is_well_formed_and_covers_every_commitment():
    items = _eval_items()
    counts = {name: 0 for name in FAMILIES}
    negatives = 0
    for number, item in enumerate(items):
        assert set(item) == {"title", "summary", "expect"}, f"item {number}: {sorted(item)}"
        assert item["title"].strip() and item["summary"].strip(), f"item {number} has an empty text"
        expected = {family(rule_id) for rule_id in item["expect"]}
        assert expected <= set(FAMILIES), f"item {number} names unknown ids: {expected - set(FAMILIES)}"
        for name in expected:
            counts[name] += 1
        negatives += not expected
    assert len(items) >= 160
    assert negatives >= 60
    assert not [name for name, count in counts.items() if count < 5], counts


def test_the_catalog_finds_the_commitments_in_held_out_news_with_high_precision_and_recall():
    rule_set = _require_rules()
    matcher = RuleMatcher(rule_set.rules)
    scored = set(FAMILIES)

    true_positives = 0
    false_positives: list[tuple[str, list[str], list[str]]] = []
    false_negatives: list[tuple[str, list[str], list[str]]] = []
    unscored: list[tuple[str, list[str]]] = []
    for number, item in enumerate(_eval_items()):
        entry = Entry(key=f"eval-{number}", title=item["title"], summary=item["summary"])
        matched_ids = sorted({found.rule_id for found in matcher.match(entry)})
        got = {family(rule_id) for rule_id in matched_ids}
        expected = {family(rule_id) for rule_id in item["expect"]}
        others = sorted(got - scored)
        if others:
            unscored.append((item["title"], others))
        got &= scored
        true_positives += len(got & expected)
        wrong, missed = sorted(got - expected), sorted(expected - got)
        if wrong:
            false_positives.append((item["title"], wrong, matched_ids))
        if missed:
            false_negatives.append((item["title"], missed, matched_ids))

    n_fp = sum(len(wrong) for _title, wrong, _ids in false_positives)
    n_fn = sum(len(missed) for _title, missed, _ids in false_negatives)
    precision = true_positives / (true_positives + n_fp) if true_positives + n_fp else 1.0
    recall = true_positives / (true_positives + n_fn) if true_positives + n_fn else 1.0

    report = [f"precision {precision:.3f} (minimum {MIN_PRECISION}), recall {recall:.3f} (minimum {MIN_RECALL})"]
    report.append(f"{true_positives} true positives, {n_fp} false positives, {n_fn} false negatives")
    report.append(f"\nFALSE POSITIVES ({n_fp}): matched but not evidence for")
    report += [f"  {wrong}  <- {title!r}  (all matched: {ids})" for title, wrong, ids in false_positives]
    report.append(f"\nFALSE NEGATIVES ({n_fn}): evidence the rules missed")
    report += [f"  {missed}  <- {title!r}  (matched instead: {ids or 'nothing'})" for title, missed, ids in false_negatives]
    if unscored:
        report.append(f"\nnot scored (rules outside the evaluated families): {len(unscored)}")
        report += [f"  {ids}  <- {title!r}" for title, ids in unscored]
    text = "\n".join(report)
    print(text)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, text


def test_the_catalog_has_a_rule_file_for_every_commitment():
    if not find_rule_files([RULES]):
        pytest.skip("rules/ has no rule files yet")
    rule_set = load_rules([RULES])
    present = {family(rule.id) for rule in rule_set.rules}
    missing = [name for name in FAMILIES if name not in present]
    problems = "\n".join(map(str, rule_set.problems))
    assert not missing, f"no loadable rule for: {missing}" + (f"\nproblems:\n{problems}" if problems else "")
