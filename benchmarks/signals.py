"""What the signal model costs: its load time, its cost per 1,000 matched entries, and a
whole fresh `tracker poll` with it against the same poll reading with phrases alone.

    .venv/bin/python benchmarks/signals.py                       # real snapshots in ../shared/feeds (~1 min)
    .venv/bin/python benchmarks/signals.py --feeds DIR --rounds 3

Ratios are against baselines measured in this run, on the same bytes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.matching.examples import load_examples  # noqa: E402
from tracker.matching.matcher import RuleMatcher  # noqa: E402
from tracker.matching.model_store import SHIPPED_MODEL  # noqa: E402
from tracker.matching.rulefile import load_rules  # noqa: E402
from tracker.matching.sentence_encoder import SentenceEncoder  # noqa: E402
from tracker.matching.signal_model import SignalModel  # noqa: E402
from tracker.model import Entry  # noqa: E402


def load_time(rounds: int) -> tuple[float, float]:
    """Seconds to read the model file, and to load the sentence encoder it reads with
    (each process pays both once, the encoder only when it reads a match)."""
    data = SHIPPED_MODEL.read_bytes()
    model_times, encoder_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        SignalModel.from_bytes(data)
        model_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        SentenceEncoder().load()
        encoder_times.append(time.perf_counter() - start)
    return min(model_times), min(encoder_times)


def per_thousand_matches(model: SignalModel, rounds: int) -> tuple[float, float, int]:
    """Seconds to match 1,000 entries that match a rule, with the model and with phrases alone."""
    rules = list(load_rules([ROOT / "rules"]).rules)
    entries = [Entry(key=str(n), title=example.title, summary=example.text) for n, example in enumerate(load_examples()) if not example.near_miss]
    with_model, phrases = RuleMatcher(rules, signal_model=model, min_confidence=0.25), RuleMatcher(rules)
    matching = [entry for entry in entries if phrases.match(entry)]
    batch = (matching * (1000 // len(matching) + 1))[:1000]
    results = {}
    for name, matcher in (("model", with_model), ("phrases", phrases)):
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for entry in batch:
                matcher.match(entry)
            times.append(time.perf_counter() - start)
        results[name] = min(times)
    return results["model"], results["phrases"], len(matching)


def poll_seconds(feeds: list[Path], reader: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(f'[database]\nurl = "sqlite:///{folder}/t.db"\n[rules]\npaths = ["{ROOT / "rules"}"]\n[signals]\nreader = "{reader}"\n', encoding="utf-8")
        command = [str(Path(sys.executable).parent / "tracker"), "--config", str(config), "poll"]
        for feed in feeds:
            command += ["--file", str(feed)]
        subprocess.run([str(Path(sys.executable).parent / "tracker"), "--config", str(config), "db", "upgrade"], check=True, capture_output=True)
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=Path, default=ROOT.parent / "shared" / "feeds")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = SignalModel.from_bytes(SHIPPED_MODEL.read_bytes())
    model_load, encoder_load = load_time(args.rounds)
    print(f"model file {SHIPPED_MODEL.stat().st_size / 1e6:.2f} MB, load {model_load * 1000:.0f} ms; "
          f"sentence encoder load {encoder_load * 1000:.0f} ms")
    with_model, phrases, matching = per_thousand_matches(model, args.rounds)
    print(f"1,000 matched entries ({matching} distinct examples that match): {with_model:.3f} s with the model, "
          f"{phrases:.3f} s with phrases alone: the model costs {(with_model - phrases) * 1000:.1f} ms per 1,000 matches")
    feeds = sorted((path for path in args.feeds.glob("*") if path.suffix in (".xml", ".rss", ".atom")), key=lambda path: -path.stat().st_size)[:100]
    if not feeds:
        print(f"no feed snapshots in {args.feeds}: the poll comparison is skipped")
        return
    timings = {"model": [], "phrases": []}
    for _ in range(args.rounds):
        for reader in ("phrases", "model"):  # alternated, so drift in the machine hits both
            timings[reader].append(poll_seconds(feeds, reader))
    best = {reader: min(values) for reader, values in timings.items()}
    spread = {reader: statistics.pstdev(values) for reader, values in timings.items()}
    print(f"fresh `tracker poll --file` of the {len(feeds)} largest snapshots, best of {args.rounds}: "
          f"{best['model']:.2f} s with the model (±{spread['model']:.2f}), {best['phrases']:.2f} s with phrases (±{spread['phrases']:.2f}): "
          f"{best['model'] / best['phrases']:.3f}×")


if __name__ == "__main__":
    main()
