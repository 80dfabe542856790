"""The shipped signal model: a file in the package, trained from the shipped examples,
rebuilt from them when it is missing or was made for other features."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from tracker.matching.signal_model import SignalModel

log = logging.getLogger("tracker")

SHIPPED_MODEL = Path(__file__).parent / "data" / "signal-model.bin"


@functools.cache  # one read per process: the file only changes with a new release
def shipped_model() -> SignalModel | None:
    """The model shipped with the tracker; None (the built-in phrases decide) only when it
    can neither be read nor rebuilt."""
    try:
        return SignalModel.from_bytes(SHIPPED_MODEL.read_bytes())
    except FileNotFoundError:
        log.warning("no shipped signal model at %s: rebuilding it from the shipped examples", SHIPPED_MODEL)
    except ValueError as error:
        log.warning("shipped signal model unusable (%s): rebuilding it from the shipped examples", error)
    try:
        model = build_shipped_model()
    except (ImportError, ValueError) as error:  # no scikit-learn, or no examples: reading still works, from phrases
        log.error("cannot rebuild the signal model (%s): signals come from phrases only", error)
        return None
    try:
        SHIPPED_MODEL.write_bytes(model.to_bytes())
    except OSError:
        pass  # a read-only install: rebuilt again by the next process
    return model


def build_shipped_model() -> SignalModel:
    """Train on the shipped examples, with the shipped rules for their readings."""
    from tracker.matching.rulefile import load_rules
    from tracker.matching.training import train_model

    rules = {rule.id: rule for rule in load_rules([SHIPPED_RULES]).rules} if SHIPPED_RULES.is_dir() else {}
    return train_model(rules)


# The rule catalogue beside the package in a checkout (an installed tracker reads the
# examples without rules: their readings are then the whole text).
SHIPPED_RULES = Path(__file__).resolve().parents[2] / "rules"
