"""What the signal model learns from: the shipped examples and people's labels, each read
the way the matcher reads a live entry (the title and the sentences about the
commitment, with the same cues), so that training and use see the same thing."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from tracker.matching.examples import EXAMPLES_DIR, NewsExample, examples_digest, load_examples
from tracker.matching.matcher import RuleMatcher
from tracker.matching.ruleformat import Rule
from tracker.matching.signal_model import LABELS, Labelled, SignalModel, cross_validate, train
from tracker.model import Entry

# A person's label weighs more than a shipped example: it is this team's own reading.
LABEL_WEIGHT = 3.0


@dataclass(frozen=True)
class PersonLabel:
    """A signal a person gave a stored entry for a commitment."""

    entry: Entry
    commitment_id: str
    category: str
    signal: str


def from_examples(examples: Sequence[NewsExample], rules: Mapping[str, Rule]) -> list[Labelled]:
    """The labelled readings of the shipped examples (near misses are the matcher's test, not
    the model's: they are about no commitment)."""
    matcher = RuleMatcher(list(rules.values()), signal_model=None)
    readings = []
    for example in examples:
        if example.near_miss:  # NewsExample guarantees every other one a signal and a category
            continue
        entry = Entry(key=example.source, title=example.title, summary=example.text, published_at=example.published_at)
        text, cues, original = (matcher.reading_input(example.rule, entry) if example.rule in rules else None) or matcher.text_reading(entry)
        readings.append(Labelled(example.category, text, example.signal, cues, original=original))
    return readings


def from_labels(labels: Iterable[PersonLabel], rules: Mapping[str, Rule]) -> list[Labelled]:
    matcher = RuleMatcher(list(rules.values()), signal_model=None)
    readings = []
    for label in labels:
        text, cues, original = matcher.reading_input(label.commitment_id, label.entry) or matcher.text_reading(label.entry)
        readings.append(Labelled(label.category, text, label.signal, cues, weight=LABEL_WEIGHT, original=original))
    return readings


def train_model(rules: Mapping[str, Rule], labels: Sequence[PersonLabel] = (), folder: Path = EXAMPLES_DIR) -> SignalModel:
    """A model from the shipped examples and the labels given, recording what it learnt from."""
    shipped = from_examples(load_examples(folder), rules)
    learnt = from_labels(labels, rules)
    return train(shipped + learnt, info={"examples_digest": examples_digest(folder), "shipped_examples": len(shipped), "person_labels": len(learnt)})


@dataclass(frozen=True)
class Evaluation:
    """Per-signal precision and recall, and the confusion matrix, of (truth, prediction) pairs."""

    pairs: tuple[tuple[str, str], ...]

    @property
    def labels(self) -> list[str]:
        seen = {label for pair in self.pairs for label in pair}
        return [label for label in LABELS if label in seen]

    def precision_recall(self) -> dict[str, tuple[float, float, int]]:
        """signal → (precision, recall, examples of it)."""
        truths = Counter(truth for truth, _ in self.pairs)
        predicted = Counter(guess for _, guess in self.pairs)
        right = Counter(truth for truth, guess in self.pairs if truth == guess)
        return {label: (right[label] / predicted[label] if predicted[label] else 0.0,
                        right[label] / truths[label] if truths[label] else 0.0, truths[label]) for label in self.labels}

    def accuracy(self, same: Sequence[set[str]] = ()) -> float:
        """Share of right readings; labels in one set of `same` count as one."""
        def key(label: str) -> str:
            return next((min(group) for group in same if label in group), label)

        return sum(key(truth) == key(guess) for truth, guess in self.pairs) / max(1, len(self.pairs))

    def confusion(self) -> list[list[int]]:
        labels = self.labels
        counts = Counter(self.pairs)
        return [[counts[(truth, guess)] for guess in labels] for truth in labels]


def evaluate_examples(rules: Mapping[str, Rule], folds: int = 5, folder: Path = EXAMPLES_DIR) -> Evaluation:
    """Cross-validated: every example read by a model trained without it."""
    return Evaluation(tuple(cross_validate(from_examples(load_examples(folder), rules), folds)))


def evaluate_labels(model: SignalModel, labels: Sequence[PersonLabel], rules: Mapping[str, Rule]) -> Evaluation:
    """How a model reads the entries people labelled (the shipped model has never seen them)."""
    readings = from_labels(labels, rules)
    return Evaluation(tuple((item.signal, model.read(item.category, item.text, item.cues, item.original).signal.value) for item in readings))
