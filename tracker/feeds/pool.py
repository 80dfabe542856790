"""Parsing fetched documents on every core while the main process stores results.

feedparser is pure Python and dominates a first cycle; worker processes sidestep
the GIL. Workers come from a forkserver preloaded with the parser, so they start
fast and never inherit the threads (scheduler, HTTP) of the process that asks.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator, Sequence

from tracker.model import FetchResult, ParsedFeed
from tracker.feeds.parse import parse_document

log = logging.getLogger("tracker")

# Below this many bytes to parse, starting workers costs more than it saves.
POOL_THRESHOLD_BYTES = 2 * 1024 * 1024
INCREMENTAL_SHARE = 20


class ParserPool:
    """Parses many documents in worker processes, yielding results in order."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None

    def parse_in_order(self, jobs: Sequence[tuple | None]) -> Iterator[ParsedFeed | None]:
        """One result per job (None where the job is None), as soon as each is ready."""
        # A feed read before costs a cut (expat, C) and a parse of its new items only:
        # a twentieth of its bytes is a fair guess of what it costs to read.
        size = sum(len(job[0]) // (INCREMENTAL_SHARE if len(job) > 3 and job[3] else 1) for job in jobs if job)
        # Workers already up (a running bot, after its first big cycle) cost only the
        # bytes sent to them: a small cycle goes to them too (grown, in `tracker run`:
        # took= 1.20 → 1.13 s, benchmarks/running_cycle.py).
        if self.workers <= 1 or (size < POOL_THRESHOLD_BYTES and self._executor is None):
            for job in jobs:
                yield parse_document(*job) if job else None
            return
        executor = self._ensure_executor()
        # Biggest first, so the long parses start early and the tail is short.
        order = sorted((i for i, job in enumerate(jobs) if job), key=lambda i: -len(jobs[i][0]))
        futures: dict[int, Future] = {i: executor.submit(parse_document, *jobs[i]) for i in order}
        for index, job in enumerate(jobs):
            yield self._result(futures[index], job) if job else None

    def warm_up(self) -> None:
        """Start the workers now, in the background, while the process does its other
        start-up work (imports, rules, database): by the time documents arrive, parsing
        runs beside storing instead of after it. The forkserver imports the parser while
        this process imports the rest, each on its own core."""
        if self.workers <= 1 or self._executor is not None:
            return
        executor = self._ensure_executor()
        # Starting a worker waits for the forkserver to finish its imports: in a thread,
        # not here. A failed start shows later: parse_in_order then parses in this process.
        threading.Thread(target=_start_workers, args=(executor, self.workers), name="parser-warm-up", daemon=True).start()

    def _result(self, future: Future, job: tuple) -> ParsedFeed:
        try:
            return future.result()
        except BrokenProcessPool:
            log.error("a parser process died; parsing %s in the main process", job[2])
            self.close()
            return parse_document(*job)

    def _ensure_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            # feedparser by name: tracker.feeds.parse imports it only when it first parses.
            context.set_forkserver_preload(["tracker.feeds.parse", "feedparser"])
            self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._executor

    def close(self, wait: bool = False) -> None:
        """Stop the workers; `wait` for them at exit, so none is left writing to a closed pipe."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None


def _ready() -> None:
    return None


def _start_workers(executor: ProcessPoolExecutor, count: int) -> None:
    try:
        for future in [executor.submit(_ready) for _ in range(count)]:
            future.result()
    except Exception as error:  # noqa: BLE001 - told, and parsing falls back to this process
        log.debug("parser workers did not start ahead: %s", error)


def parse_jobs(results: Sequence[FetchResult], needs_parse) -> list[tuple[bytes, dict, str, frozenset[str]] | None]:
    """What each result's parse needs: its bytes, headers, address and the hashes of the
    items read in the feed's last parse (those are not parsed again)."""
    return [
        (result.body, dict(result.headers), result.final_url or result.feed.url, result.feed.item_hashes) if needs_parse(result) else None
        for result in results
    ]
