"""Memory and CPU of a process and its descendants, sampled from /proc (Linux, stdlib only).

os.wait4 gives a child's exact peak RSS, but only its own: worker processes it
starts (a parser pool, a forkserver) are not added, and ru_maxrss of reaped
children is a maximum, not a sum. This samples the whole tree every `interval`
seconds: the sum of PSS (shared pages split fairly between the processes that
share them, so forked workers are not counted twice), the sum of RSS, and each
process's own high-water mark and CPU time as last seen. Short spikes between
two samples can be missed; wait4's figure for the main process cannot.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """pid and every process below it, via /proc/PID/task/TID/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                queue.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _read_kb(path: str, keys: tuple[str, ...]) -> dict[str, int]:
    values = {}
    with open(path, encoding="ascii", errors="replace") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if name in keys:
                values[name] = int(rest.split()[0])
    return values


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class TreeSampler:
    """Start with `start(pid)`, stop with `stop()`; figures in MB and seconds."""

    interval: float = 0.05
    peak_pss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    peak_processes: int = 0
    hwm_mb: dict[int, float] = field(default_factory=dict)
    cpu_s: dict[int, float] = field(default_factory=dict)
    _root: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self, pid: int) -> "TreeSampler":
        self._root = pid
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join()

    @property
    def descendant_cpu_s(self) -> float:
        return sum(seconds for pid, seconds in self.cpu_s.items() if pid != self._root)

    def _loop(self) -> None:
        while True:
            self._sample()
            if self._stopping.wait(self.interval):
                return

    def _sample(self) -> None:
        pss = rss = 0
        pids = descendants(self._root)
        for pid in pids:
            try:
                rollup = _read_kb(f"/proc/{pid}/smaps_rollup", ("Rss", "Pss"))
                status = _read_kb(f"/proc/{pid}/status", ("VmHWM",))
                self.cpu_s[pid] = _cpu_seconds(pid)
            except (OSError, ValueError, IndexError):
                continue
            pss += rollup.get("Pss", 0)
            rss += rollup.get("Rss", 0)
            self.hwm_mb[pid] = max(self.hwm_mb.get(pid, 0.0), status.get("VmHWM", 0) / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
        self.peak_processes = max(self.peak_processes, len(pids))
