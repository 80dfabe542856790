"""The signal model: what a piece of news says about a commitment, learnt from examples.

A linear model over hashed word and character n-grams (so Chinese, Japanese and Korean,
written without spaces, are read too), with the commitment's category as a feature,
trained with scikit-learn (a linear support-vector machine: as accurate as logistic
regression on the shipped examples and two orders of magnitude faster to fit) and
calibrated (sigmoid, cross-validated) so that its
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
from typing import Iterable, Sequence

from tracker.matching.textnorm import is_unspaced_script, normalise
from tracker.model import SignalKind

LABELS: tuple[str, ...] = tuple(kind.value for kind in SignalKind)
# 2^18 buckets: collisions cost nothing measurable at this vocabulary (a few thousand
# examples) and the matrix stays small to train.
FEATURE_BITS = 18
_MASK = (1 << FEATURE_BITS) - 1
# Bumped whenever `features` changes: a model trained on other features is refused.
FEATURIZER_VERSION = 1
_MAGIC = b"TRKSIG1\n"

_TOKEN = re.compile(r"\w+", re.UNICODE)
_DIGIT = re.compile(r"\d")


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


def features(category: str, text: str, cues: Iterable[str] = ()) -> dict[int, float]:
    """Hashed features of one reading: words, word pairs, character n-grams of words
    (1-3 characters in unspaced scripts), the category alone and with each word, and
    cues found by the rules' own machinery (a built-in phrase's kind, a stated year
    compared with the target). Sublinear counts, L2-normalised."""
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
    for cue in cues:
        counts["x:" + cue] += 2
        counts[f"x:{category}|{cue}"] += 1
    weighted: dict[int, float] = {}
    for key, count in counts.items():
        index = zlib.crc32(key.encode("utf-8")) & _MASK
        weighted[index] = weighted.get(index, 0.0) + 1.0 + math.log(count)
    norm = math.sqrt(sum(value * value for value in weighted.values())) or 1.0
    return {index: value / norm for index, value in weighted.items()}


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
        self._row = {index: number for number, index in enumerate(indices)}
        self._weights = weights

    @property
    def info(self) -> dict:
        """What it was trained on, and when (for `tracker signals` and the card)."""
        return {key: value for key, value in self.header.items() if key not in ("intercepts", "calibration")}

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

    def read(self, category: str, text: str, cues: Iterable[str] = ()) -> Reading:
        """The signal the linear model scores highest, with its calibrated probability.

        Not the most probable after calibration: the model is fitted with every signal
        weighted alike, and each signal's calibration, fitted one against the rest, leans
        back towards the most frequent (progress). Cross-validated on the shipped
        examples the raw choice is right 0.48 of the time, the calibrated one 0.46."""
        values = features(category, text, cues)
        scores = self.scores(values)
        probabilities = self.probabilities(values, scores)
        best = self.labels[max(range(self._width), key=scores.__getitem__)]
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


REGULARISATION = 0.5  # LinearSVC's C, chosen by cross-validation on the shipped examples
CALIBRATION_FOLDS = 5


def _matrix(rows: Sequence[dict[int, float]]):
    from scipy.sparse import csr_matrix

    data, indices, pointers = [], [], [0]
    for row in rows:
        for index, value in sorted(row.items()):
            indices.append(index)
            data.append(value)
        pointers.append(len(indices))
    return csr_matrix((data, indices, pointers), shape=(len(rows), 1 << FEATURE_BITS), dtype="float64")


def _estimator():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    linear = LinearSVC(C=REGULARISATION, class_weight="balanced", max_iter=5000, random_state=0)
    return CalibratedClassifierCV(linear, method="sigmoid", cv=CALIBRATION_FOLDS, ensemble=False)


def fit_estimator(examples: Sequence[Labelled]):
    """The fitted scikit-learn estimator (what `train` reads its weights from)."""
    import numpy

    present = Counter(example.signal for example in examples)
    # Three, because with two scikit-learn calibrates one side only and the file's
    # per-signal calibration would not be its reading; and enough of each to calibrate.
    if len(present) < 3 or min(present.values()) < CALIBRATION_FOLDS:
        raise ValueError(f"training needs examples of three signals at least, {CALIBRATION_FOLDS} of each (have: "
                         + (", ".join(f"{signal} {count}" for signal, count in sorted(present.items())) or "none") + ")")
    matrix = _matrix([features(example.category, example.text, example.cues) for example in examples])
    targets = numpy.array([example.signal for example in examples])
    return _estimator().fit(matrix, targets, sample_weight=numpy.array([example.weight for example in examples]))


def train(examples: Sequence[Labelled], info: dict | None = None) -> SignalModel:
    """Fit and calibrate on the examples; every label of LABELS is kept (a label with no
    example gets no weight and the lowest probability)."""
    import numpy

    fitted = fit_estimator(examples)
    inner = fitted.calibrated_classifiers_[0]
    classes = list(fitted.classes_)
    coef = inner.estimator.coef_
    intercepts = inner.estimator.intercept_
    used = numpy.flatnonzero(numpy.abs(coef).sum(axis=0) > 0)
    width = len(LABELS)
    weights = numpy.zeros((len(used), width), dtype="float32")
    intercept_row = [-30.0] * width
    calibration = [[0.0, 30.0]] * width  # a label never seen: sigmoid ≈ 0
    for number, label in enumerate(classes):
        column = LABELS.index(label)
        weights[:, column] = coef[number, used]
        intercept_row[column] = float(intercepts[number])
        calibrator = inner.calibrators[number]
        calibration[column] = [float(calibrator.a_), float(calibrator.b_)]
    header = {
        "featurizer": FEATURIZER_VERSION,
        "labels": list(LABELS),
        "intercepts": intercept_row,
        "calibration": calibration,
        "examples": len(examples),
        "by_signal": dict(Counter(example.signal for example in examples)),
        **{key: value for key, value in (info or {}).items() if key not in ("labels", "featurizer", "intercepts", "calibration")},
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
            pairs[row] = (example.signal, model.read(example.category, example.text, example.cues).signal.value)
    return [pair for pair in pairs if pair is not None]
