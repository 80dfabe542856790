"""Progress of a long operation (a backfill, a first poll of many feeds) for the person waiting.

The operation calls back with plain data, `(done, total)`; this module decides how
to show it: a rich bar when stderr is a terminal, otherwise a plain line on stderr
every tenth of the way, so a cron log or CI output gets about ten lines however many
items there are.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]

# Below this many items an operation is quick: its summary line says enough, and a
# poll of three feeds in a cron job should not log three progress lines as well.
QUIET_BELOW = 10
STEPS = 10


@contextmanager
def show_progress(label: str, unit: str, console: Console | None = None, quiet_below: int = QUIET_BELOW) -> Iterator[ProgressCallback]:
    """A `(done, total)` callback for the length of the block: a bar on a terminal, plain lines otherwise."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield PlainProgress(label, unit, console.file, quiet_below)
        return
    bar = RichBar(label, unit, console)
    try:
        yield bar
    finally:
        bar.close()


class PlainProgress:
    """`label: done/total unit (pct%)` each time another tenth is done, and at the end."""

    def __init__(self, label: str, unit: str, stream: TextIO, quiet_below: int = QUIET_BELOW) -> None:
        self._label, self._unit, self._stream, self._quiet_below = label, unit, stream, quiet_below
        self._last_step = 0

    def __call__(self, done: int, total: int) -> None:
        if total < max(self._quiet_below, 1) or done <= 0:
            return
        step = min(done, total) * STEPS // total
        if step <= self._last_step:
            return
        self._last_step = step
        self._stream.write(f"{self._label}: {done}/{total} {self._unit} ({done * 100 // total}%)\n")
        self._stream.flush()


class RichBar:
    """A rich progress bar, started on the first report with a total and closed when done."""

    def __init__(self, label: str, unit: str, console: Console) -> None:
        self._label = label
        # Alerts printed to stdout while the bar runs must stay on stdout (`tracker poll >
        # alerts.txt`), so only stderr is routed above the bar.
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            redirect_stdout=False,
        )
        self._task: TaskID | None = None
        self._running = False

    def __call__(self, done: int, total: int) -> None:
        if self._task is None:
            if total <= 0:
                return
            self._bar.start()
            self._task, self._running = self._bar.add_task(self._label, total=total), True
        self._bar.update(self._task, completed=done, total=total)
        if done >= total:
            self.close()  # what follows (alerts, the summary) prints below a finished bar

    def close(self) -> None:
        if self._running:
            self._running = False
            self._bar.stop()
