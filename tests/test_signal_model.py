"""The signal model: its own file format reads exactly what training learnt, the
shipped file is what the shipped examples train, and it is rebuilt when missing."""

from __future__ import annotations

import functools

import pytest

from tracker.matching import model_store
from tracker.matching.examples import examples_digest, load_examples
from tracker.matching.signal_model import Labelled, SignalModel, _matrix, fit_estimator, train

TEXTS = {
    "delay": ["maker pushes its battery launch back a year", "plant opening slips into next year", "debut put off again",
              "launch moved later after supplier trouble", "output start postponed to the next decade", "timeline slides once more"],
    "progress": ["maker opens pilot line for new cells", "first samples shipped to carmakers", "factory construction starts",
                 "government approves the production plan", "partner signs supply deal for electrolyte", "test cars take to public roads"],
    "doubt": ["analysts question whether the plan is realistic", "experts say the cells are years away", "cost worries cloud the plan",
              "sceptics line up against the promised date", "engineers warn of durability hurdles", "investors unconvinced by roadmap"],
}
EXAMPLES = [Labelled("batteries", text, signal) for signal, texts in TEXTS.items() for text in texts]


def test_the_files_probabilities_are_what_training_learnt():
    fitted = fit_estimator(EXAMPLES)
    model = train(EXAMPLES)
    probe = ["pilot line opens for the new cells", "experts doubt the promised date", "launch slips a year", "an unrelated sentence"]
    expected = fitted.predict_proba(_matrix([model.feature_values("batteries", text) for text in probe]))
    for text, row in zip(probe, expected):
        ours = model.probabilities(model.feature_values("batteries", text))
        for label, probability in zip(fitted.classes, row):
            assert ours[label] == pytest.approx(probability, abs=1e-4)
        assert ours["achieved"] < 1e-6  # a signal it never saw is never read


REAFFIRMED = ["maker sticks to its 2028 target", "company reaffirms the launch date", "ceo says the timeline is unchanged",
              "maker stands by its battery plan", "the date still holds, the company insists", "firm confirms target once more"]


@pytest.mark.parametrize("text, signal", [
    ("pilot line opens for the new cells", "progress"),
    ("experts doubt the promised date", "doubt"),
    ("launch slips a year", "delay"),
    ("maker reaffirms its target date", "reaffirmed"),
    ("company sticks to the plan", "reaffirmed"),
])
def test_a_trained_model_reads_headlines_it_never_saw_and_tells_a_restated_plan_from_a_step(text, signal):
    # Progress and reaffirmed are fitted as one signal and told apart in a second stage:
    # without it, a restated plan would read as a step.
    model = train(EXAMPLES + [Labelled("batteries", line, "reaffirmed") for line in REAFFIRMED])
    assert model.read("batteries", text).signal.value == signal


@pytest.mark.parametrize("text, signal", [
    ("発売時期を再び先送り", "delay"),
    ("専門家は計画の実現性を疑問視", "doubt"),
    ("Markteinführung der Batterie erneut verschoben", "delay"),
    ("Pilotanlage für neue Zellen eröffnet", "progress"),
    ("专家质疑该计划能否实现", "doubt"),
])
def test_a_model_taught_in_english_reads_the_same_news_in_other_languages(text, signal):
    # No word of these is in the examples: the sentence embedding carries what they mean.
    assert _english_model().read("batteries", text).signal.value == signal


@functools.cache
def _english_model() -> SignalModel:
    return train(EXAMPLES)


def test_a_model_survives_its_file_format_and_a_bad_file_is_refused():
    model = train(EXAMPLES)
    again = SignalModel.from_bytes(model.to_bytes())
    assert again.read("batteries", "launch postponed again").probabilities == model.read("batteries", "launch postponed again").probabilities
    with pytest.raises(ValueError, match="not a tracker signal model"):
        SignalModel.from_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError):
        SignalModel.from_bytes(model.to_bytes()[:-200])


def test_training_says_what_it_lacks():
    with pytest.raises(ValueError, match="three signals"):
        train(EXAMPLES[:6])


def test_the_shipped_model_is_trained_on_the_shipped_examples():
    model = model_store.shipped_model()
    assert model is not None
    assert model.info["examples_digest"] == examples_digest(), "retrain: rm tracker/matching/data/signal-model.bin and run `tracker rules check`"
    assert model.info["shipped_examples"] == sum(1 for example in load_examples() if not example.near_miss)


def test_a_missing_shipped_model_is_rebuilt_from_the_examples(tmp_path, monkeypatch):
    monkeypatch.setattr(model_store, "SHIPPED_MODEL", tmp_path / "signal-model.bin")
    model_store.shipped_model.cache_clear()
    try:
        rebuilt = model_store.shipped_model()
        assert rebuilt is not None and (tmp_path / "signal-model.bin").exists()
        assert rebuilt.info["examples_digest"] == examples_digest()
        assert rebuilt.read("batteries", "Toyota scraps its solid-state battery plan", ("phrase_abandoned",)).signal.value == "abandoned"
    finally:
        model_store.shipped_model.cache_clear()
