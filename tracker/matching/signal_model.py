"""The signal model: what a piece of news says about a commitment, learnt from examples.

A linear model over hashed word and character n-grams (so Chinese, Japanese and Korean,
written without spaces, are read too) and the text's sentence embedding (what it means,
in any language: tracker.matching.sentence_encoder), with the commitment's category as a feature,
trained with scikit-learn (linear support-vector machines, one signal against the rest:
as accurate as logistic regression on the shipped examples and two orders of magnitude
faster to fit; plus which side the news is on, and complement naive Bayes, all summed
into one set of weights) and calibrated (sigmoid, cross-validated) so that its
probability can decide whether a machine reading moves a status.

Reading needs no scikit-learn: the trained weights are plain numbers in a small binary
file of our own (a JSON header and two arrays, never a pickle, so a model file or
database row cannot run code), and prediction is a sum over the text's features.
Importing scikit-learn takes over a second; a poll cycle never pays it.
"""

from __future__ import annotations

import json
import math
import sys
import re
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from tracker.matching import sentence_encoder
from tracker.matching.textnorm import is_unspaced_script, normalise
from tracker.model import SignalKind

if TYPE_CHECKING:  # numpy is for training: reading a model needs none of it
    import numpy

LABELS: tuple[str, ...] = tuple(kind.value for kind in SignalKind)
# 2^18 buckets: collisions cost nothing measurable at this vocabulary (a few thousand
# examples) and the matrix stays small to train.
FEATURE_BITS = 18
_MASK = (1 << FEATURE_BITS) - 1
# Bumped whenever `features` changes: a model trained on other features is refused.
FEATURIZER_VERSION = 5
# The sentence embedding's dimensions are features past the hashed ones, with this weight
# against the n-grams' unit length (cross-validated: 0.4-0.6 read alike, 0.25 and 1 worse;
# benchmarks/README.md, "Sentence embeddings").
MEANING_BASE = 1 << FEATURE_BITS
MEANING_WEIGHT = 0.5
FEATURE_COUNT = MEANING_BASE + sentence_encoder.DIMENSIONS
_MAGIC = b"TRKSIG1\n"

_TOKEN = re.compile(r"\w+", re.UNICODE)
_DIGIT = re.compile(r"\d")
# A question ("Can Nissan really …?") and a negation are what a doubt or a step back says
# in many languages: each is one feature (cross-validated, +0.4 points).
_NEGATION = re.compile(r"\b(?:not|no|never|nicht|kein\w*|nie|pas|non|ne|sin|senza|nao)\b|"
                       r"不会|不會|不能|不再|未能|未达|未達|没有|沒有|无法|無法|できない|ない|않|못")


def _split_token(token: str) -> list[str]:
    """A run of \\w may mix scripts ("EV用全固体電池"): split where spaced and unspaced meet."""
    parts, current, unspaced = [], "", None
    for ch in token:
        kind = is_unspaced_script(ch)
        if current and kind != unspaced:
            parts.append(current)
            current = ""
        current += ch
        unspaced = kind
    if current:
        parts.append(current)
    return parts


def features(category: str, text: str, cues: Iterable[str] = (), meaning: Sequence[float] = ()) -> dict[int, float]:
    """Hashed features of one reading: words, word pairs, character n-grams of words
    (1-3 characters in unspaced scripts), the category alone and with each word, whether
    it asks a question or negates, and cues found by the rules' own machinery (a
    built-in phrase's kind, a stated year compared with the target). Sublinear counts,
    L2-normalised; then the text's sentence embedding (`meaning`), if given, weighted."""
    normalised = _DIGIT.sub("0", normalise(text))
    words = [part for token in _TOKEN.findall(normalised) for part in _split_token(token)]
    counts: Counter[str] = Counter()
    for number, word in enumerate(words):
        counts["w:" + word] += 1
        counts[f"c:{category}|{word}"] += 1
        if number:
            counts[f"b:{words[number - 1]} {word}"] += 1
        if is_unspaced_script(word[0]):
            for size in (1, 2, 3):
                for start in range(0, max(1, len(word) - size + 1)):
                    counts["u:" + word[start:start + size]] += 1
        elif len(word) > 3:
            padded = f" {word} "
            for size in (4, 5):
                for start in range(0, len(padded) - size + 1):
                    counts["g:" + padded[start:start + size]] += 1
    counts["c:" + category] += 1
    if "?" in text or "？" in text:
        counts["p:question"] += 1
    if _NEGATION.search(normalised):
        counts["p:negation"] += 1
    for cue in cues:
        counts["x:" + cue] += 2
        counts[f"x:{category}|{cue}"] += 1
    weighted: dict[int, float] = {}
    for key, count in counts.items():
        index = zlib.crc32(key.encode("utf-8")) & _MASK
        weighted[index] = weighted.get(index, 0.0) + 1.0 + math.log(count)
    norm = math.sqrt(sum(value * value for value in weighted.values())) or 1.0
    values = {index: value / norm for index, value in weighted.items()}
    for dimension, value in enumerate(meaning):
        values[MEANING_BASE + dimension] = MEANING_WEIGHT * value
    return values


@dataclass(frozen=True)
class Reading:
    signal: SignalKind
    confidence: float
    probabilities: dict[str, float]


class SignalModel:
    """Trained weights, read-only. `read` gives the signal with its calibrated probability."""

    def __init__(self, header: dict, indices: array, weights: array) -> None:
        if header.get("featurizer") != FEATURIZER_VERSION:
            raise ValueError(f"signal model for featurizer {header.get('featurizer')}, this tracker reads {FEATURIZER_VERSION}: retrain it")
        self.header = header
        self.labels: list[str] = header["labels"]
        self._intercepts: list[float] = header["intercepts"]
        self._calibration: list[tuple[float, float]] = [tuple(pair) for pair in header["calibration"]]
        self._width = len(self.labels)
        family = header.get("family")
        # The family's second member is chosen only between the two: against the rest the
        # family's first member stands for both.
        self._family = (self.labels.index(family[0]), self.labels.index(family[1])) if family else None
        if header.get("sentence_encoder") not in (None, sentence_encoder.NAME):
            raise ValueError(f"signal model for sentence encoder {header['sentence_encoder']}, this tracker has {sentence_encoder.NAME}: retrain it")
        self._row = {index: number for number, index in enumerate(indices)}
        self._weights = weights

    @property
    def reads_meaning(self) -> bool:
        """Whether it was trained on sentence embeddings, and so needs them to read."""
        return self.header.get("sentence_encoder") == sentence_encoder.NAME

    def feature_values(self, category: str, text: str, cues: Iterable[str] = (), original: str = "") -> dict[int, float]:
        """`text` normalised (the n-grams), `original` the same as the entry wrote it (the
        embedding; `text` when not given)."""
        meaning = sentence_encoder.sentence_encoder().embed([original or text])[0] if self.reads_meaning else ()
        return features(category, text, cues, meaning)

    @property
    def info(self) -> dict:
        """What it was trained on, and when (for `tracker signals` and the card)."""
        return {key: value for key, value in self.header.items() if key not in ("intercepts", "calibration", "family")}

    def scores(self, feature_values: dict[int, float]) -> list[float]:
        totals = list(self._intercepts)
        width, weights, rows = self._width, self._weights, self._row
        for index, value in feature_values.items():
            row = rows.get(index)
            if row is None:
                continue
            base = row * width
            for label in range(width):
                totals[label] += weights[base + label] * value
        return totals

    def probabilities(self, feature_values: dict[int, float], scores: list[float] | None = None) -> dict[str, float]:
        """Per-label sigmoid calibration of the linear scores, normalised (as scikit-learn's
        CalibratedClassifierCV does for several classes)."""
        calibrated = []
        for score, (slope, offset) in zip(scores or self.scores(feature_values), self._calibration):
            exponent = slope * score + offset
            calibrated.append(1.0 / (1.0 + math.exp(exponent)) if exponent > -700 else 1.0)
        total = sum(calibrated)
        if total <= 0:
            return {label: 1.0 / self._width for label in self.labels}
        return {label: value / total for label, value in zip(self.labels, calibrated)}

    def read(self, category: str, text: str, cues: Iterable[str] = (), original: str = "") -> Reading:
        """The signal the linear model scores highest, with its calibrated probability.

        Not the most probable after calibration: the model is fitted with every signal
        weighted alike, and each signal's calibration, fitted one against the rest, leans
        back towards the most frequent (progress): choosing by it was right less often,
        cross-validated (benchmarks/README.md, "Signals"). Reaffirmed is chosen in a
        second stage, between it and progress only (FAMILY)."""
        values = self.feature_values(category, text, cues, original)
        scores = self.scores(values)
        probabilities = self.probabilities(values, scores)
        if self._family is None:
            best = self.labels[max(range(self._width), key=scores.__getitem__)]
        else:
            first, second = self._family
            number = max((label for label in range(self._width) if label != second), key=scores.__getitem__)
            if number == first and scores[second] > scores[first]:
                number = second
            best = self.labels[number]
        return Reading(SignalKind(best), probabilities[best], probabilities)

    # -- the file format --------------------------------------------------------------

    def to_bytes(self) -> bytes:
        header = json.dumps(self.header, ensure_ascii=False, sort_keys=True).encode("utf-8")
        indices, weights = array("i", sorted(self._row, key=self._row.get)), array("f", self._weights)
        if sys.byteorder == "big":  # the file is little-endian on every machine: one file for every instance
            indices.byteswap()
            weights.byteswap()
        body = len(header).to_bytes(4, "big") + header + len(indices).to_bytes(4, "big") + indices.tobytes() + weights.tobytes()
        return _MAGIC + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> "SignalModel":
        if not data.startswith(_MAGIC):
            raise ValueError("not a tracker signal model")
        try:
            body = zlib.decompress(data[len(_MAGIC):])
            size = int.from_bytes(body[:4], "big")
            header = json.loads(body[4:4 + size].decode("utf-8"))
        except (zlib.error, UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"signal model file is damaged ({error})") from None
        position = 4 + size
        count = int.from_bytes(body[position:position + 4], "big")
        position += 4
        indices = array("i")
        indices.frombytes(body[position:position + 4 * count])
        weights = array("f")
        weights.frombytes(body[position + 4 * count:])
        if sys.byteorder == "big":
            indices.byteswap()
            weights.byteswap()
        missing = [key for key in ("labels", "intercepts", "calibration", "featurizer") if key not in header]
        if missing:
            raise ValueError(f"signal model file lacks {', '.join(missing)}")
        if len(weights) != count * len(header["labels"]):
            raise ValueError("signal model file is truncated")
        return cls(header, indices, weights)


# -- training (scikit-learn, imported only here) ----------------------------------------

@dataclass(frozen=True)
class Labelled:
    """One reading to learn from: what the news says, about which kind of commitment."""

    category: str
    text: str
    signal: str
    cues: tuple[str, ...] = ()
    weight: float = 1.0
    # The same text before normalising, which the sentence encoder reads ("" : `text`).
    original: str = ""


REGULARISATION = 0.5  # LinearSVC's C, chosen by cross-validation on the shipped examples
CALIBRATION_FOLDS = 5
# Progress and reaffirmed are one reading for a status ("it goes on"): the model is
# fitted with them as one signal, and a second, smaller model splits the two afterwards
# (a two-stage decision). Fitted apart they took examples from each other and from the rest.
FAMILY = ("progress", "reaffirmed")
# Which way the news goes, learnt over all its signals at once, added to each signal of
# that side with this weight: the rare signals borrow from their side's many examples.
SIDES = {"progress": "forward", "reaffirmed": "forward", "achieved": "forward",
         "delay": "back", "weakened": "back", "abandoned": "back", "doubt": "back", "mention": "mention"}
SIDE_WEIGHT = 0.5
# Complement naive Bayes log-probabilities mixed into the linear scores, scaled to the
# same spread: a second, differently biased reading of the same counts.
NAIVE_BAYES_WEIGHT = 0.3
NAIVE_BAYES_ALPHA = 0.3
# What these three bought, cross-validated through the whole reader (benchmarks/README.md):
# 0.513 → 0.534 of readings right, progress and reaffirmed taken as one, three seeds.


def _matrix(rows: Sequence[dict[int, float]]):
    from scipy.sparse import csr_matrix

    data, indices, pointers = [], [], [0]
    for row in rows:
        for index, value in sorted(row.items()):
            indices.append(index)
            data.append(value)
        pointers.append(len(indices))
    return csr_matrix((data, indices, pointers), shape=(len(rows), FEATURE_COUNT), dtype="float64")


def _one_against_rest(matrix, positive, balance: float, sample_weight):
    """A binary LinearSVC's weights and intercept. The positives weigh `balance` of all
    rows together (1 / number of classes: scikit-learn's class_weight="balanced")."""
    import numpy
    from sklearn.svm import LinearSVC

    share = max(1, int(positive.sum())) / len(positive)
    fitted = LinearSVC(C=REGULARISATION, max_iter=5000, random_state=0)
    fitted.fit(matrix, positive.astype(int), sample_weight=numpy.where(positive, balance / share, 1.0) * sample_weight)
    return fitted.coef_.ravel(), float(fitted.intercept_[0])


def _linear(matrix, targets, sample_weight):
    """Weights (signals × features) and intercepts of the combined linear reading: per
    signal one against the rest (the family as one), plus its side, plus naive Bayes;
    and the family split as a last row."""
    import numpy

    merged = numpy.array([FAMILY[0] if target in FAMILY else target for target in targets])
    classes = sorted(set(merged))
    coef = numpy.zeros((len(classes), matrix.shape[1]))
    intercepts = numpy.zeros(len(classes))
    for number, label in enumerate(classes):
        coef[number], intercepts[number] = _one_against_rest(matrix, merged == label, 1.0 / len(classes), sample_weight)
    _add_sides(matrix, merged, sample_weight, classes, coef, intercepts)
    coef += _naive_bayes(matrix, merged, sample_weight, classes, coef)
    return _split_family(matrix, targets, sample_weight, classes, coef, intercepts)


def _add_sides(matrix, merged, sample_weight, classes, coef, intercepts) -> None:
    """Each signal gains SIDE_WEIGHT of its side's score, one side against the others."""
    import numpy

    sides = numpy.array([SIDES.get(target, target) for target in merged])
    present = sorted(set(sides))
    if len(present) < 2:
        return
    for side in present:
        weights, intercept = _one_against_rest(matrix, sides == side, 1.0 / len(present), sample_weight)
        for number, label in enumerate(classes):
            if SIDES.get(label, label) == side:
                coef[number] += SIDE_WEIGHT * weights
                intercepts[number] += SIDE_WEIGHT * intercept


def _naive_bayes(matrix, merged, sample_weight, classes, coef):
    """Complement naive Bayes log-probabilities, centred and scaled to the linear scores'
    spread, times NAIVE_BAYES_WEIGHT: what is added to the weights. Over the n-grams only:
    naive Bayes counts, and an embedding's dimensions are no counts."""
    import numpy
    from sklearn.naive_bayes import ComplementNB

    counts = matrix[:, :MEANING_BASE]
    bayes = ComplementNB(alpha=NAIVE_BAYES_ALPHA).fit(counts, merged, sample_weight=sample_weight)
    log_probabilities = bayes.feature_log_prob_[[list(bayes.classes_).index(label) for label in classes]]
    seen = numpy.asarray(counts.sum(axis=0)).ravel() > 0  # an unseen feature adds nothing
    log_probabilities = (log_probabilities - log_probabilities.mean(axis=0, keepdims=True)) * seen
    spread = (counts @ log_probabilities.T).std()
    if spread <= 0:
        return 0.0
    added = numpy.zeros_like(coef)
    added[:, :MEANING_BASE] = NAIVE_BAYES_WEIGHT * (matrix @ coef.T).std() / spread * log_probabilities
    return added


def _split_family(matrix, targets, sample_weight, classes, coef, intercepts):
    """The second stage: reaffirmed against progress, within the family only, as one more
    row (the family's row plus the split)."""
    import numpy

    in_family = numpy.isin(targets, FAMILY)
    if not all((targets[in_family] == label).sum() >= 2 for label in FAMILY):
        return classes, coef, intercepts
    split, split_intercept = _one_against_rest(matrix[in_family], targets[in_family] == FAMILY[1], 0.5, sample_weight[in_family])
    base = classes.index(FAMILY[0])
    return classes + [FAMILY[1]], numpy.vstack([coef, coef[base] + split]), numpy.append(intercepts, intercepts[base] + split_intercept)


@dataclass(frozen=True)
class Fitted:
    """What training learnt, in numpy: the linear scores, and each signal's sigmoid
    calibration fitted one against the rest on cross-validated scores."""

    classes: list[str]
    coef: numpy.ndarray  # signals × features
    intercepts: numpy.ndarray
    calibration: list[tuple[float, float]]

    def decision_function(self, matrix):
        return matrix @ self.coef.T + self.intercepts

    def predict_proba(self, matrix):
        import numpy

        scores = self.decision_function(matrix)
        slopes = numpy.array([pair[0] for pair in self.calibration])
        offsets = numpy.array([pair[1] for pair in self.calibration])
        calibrated = 1.0 / (1.0 + numpy.exp(slopes * scores + offsets))
        return calibrated / calibrated.sum(axis=1, keepdims=True)


def fit_estimator(examples: Sequence[Labelled]) -> Fitted:
    """Fit the linear reading and calibrate it (what `train` writes into the file)."""
    import numpy
    from sklearn.model_selection import StratifiedKFold

    present = Counter(example.signal for example in examples)
    # Three, because the per-signal calibration needs rest to calibrate against; and
    # enough of each to calibrate.
    if len(present) < 3 or min(present.values()) < CALIBRATION_FOLDS:
        raise ValueError(f"training needs examples of three signals at least, {CALIBRATION_FOLDS} of each (have: "
                         + (", ".join(f"{signal} {count}" for signal, count in sorted(present.items())) or "none") + ")")
    meanings = sentence_encoder.sentence_encoder().embed([example.original or example.text for example in examples])
    matrix = _matrix([features(example.category, example.text, example.cues, meaning) for example, meaning in zip(examples, meanings)])
    targets = numpy.array([example.signal for example in examples])
    sample_weight = numpy.array([example.weight for example in examples])
    classes, coef, intercepts = _linear(matrix, targets, sample_weight)
    held_out = numpy.zeros((len(targets), len(classes)))
    for train_rows, test_rows in StratifiedKFold(CALIBRATION_FOLDS).split(numpy.zeros(len(targets)), targets):
        fold_classes, fold_coef, fold_intercepts = _linear(matrix[train_rows], targets[train_rows], sample_weight[train_rows])
        scores = matrix[test_rows] @ fold_coef.T + fold_intercepts
        for number, label in enumerate(classes):
            held_out[test_rows, number] = scores[:, fold_classes.index(label)] if label in fold_classes else -30.0
    calibration = []
    for number, label in enumerate(classes):
        calibration.append(_platt(held_out[:, number], targets == label, sample_weight))
    return Fitted(classes, coef, intercepts, calibration)


def _platt(scores, positive, sample_weight) -> tuple[float, float]:
    """Platt's sigmoid, P(signal) = 1 / (1 + exp(a·score + b)), fitted on held-out scores
    (a logistic regression on the one score, all but unregularised)."""
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression(C=1e6, max_iter=1000).fit(scores.reshape(-1, 1), positive.astype(int), sample_weight=sample_weight)
    return -float(fitted.coef_[0][0]), -float(fitted.intercept_[0])


def train(examples: Sequence[Labelled], info: dict | None = None) -> SignalModel:
    """Fit and calibrate on the examples; every label of LABELS is kept (a label with no
    example gets no weight and the lowest probability)."""
    import numpy

    fitted = fit_estimator(examples)
    coef = fitted.coef
    used = numpy.flatnonzero(numpy.abs(coef).sum(axis=0) > 0)
    width = len(LABELS)
    weights = numpy.zeros((len(used), width), dtype="float32")
    intercept_row = [-30.0] * width
    calibration = [[0.0, 30.0]] * width  # a label never seen: sigmoid ≈ 0
    for number, label in enumerate(fitted.classes):
        column = LABELS.index(label)
        weights[:, column] = coef[number, used]
        intercept_row[column] = float(fitted.intercepts[number])
        calibration[column] = list(fitted.calibration[number])
    header = {
        "featurizer": FEATURIZER_VERSION,
        "labels": list(LABELS),
        "intercepts": intercept_row,
        "calibration": calibration,
        "family": list(FAMILY) if FAMILY[1] in fitted.classes else None,
        "sentence_encoder": sentence_encoder.NAME,
        "examples": len(examples),
        "by_signal": dict(Counter(example.signal for example in examples)),
        **{key: value for key, value in (info or {}).items() if key not in ("labels", "featurizer", "intercepts", "calibration", "family", "sentence_encoder")},
    }
    return SignalModel(header, array("i", (int(index) for index in used)), array("f", weights.reshape(-1).tolist()))


def cross_validate(examples: Sequence[Labelled], folds: int = 5, seed: int = 0) -> list[tuple[str, str]]:
    """(truth, prediction) for every example, each predicted by a model that never saw it."""
    import numpy
    from sklearn.model_selection import StratifiedKFold

    targets = numpy.array([example.signal for example in examples])
    smallest = min(Counter(targets).values())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    pairs: list[tuple[str, str] | None] = [None] * len(examples)
    for train_rows, test_rows in splitter.split(numpy.zeros(len(examples)), targets):
        model = train([examples[row] for row in train_rows])
        for row in test_rows:
            example = examples[row]
            pairs[row] = (example.signal, model.read(example.category, example.text, example.cues, example.original).signal.value)
    return [pair for pair in pairs if pair is not None]
