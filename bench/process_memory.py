"""Peak memory of a process tree (the webserver, the daemon, their code servers and run workers).

Sampled in a thread: RSS summed over the roots and every descendant alive at
the sample. Shared pages (the Python interpreter, imported libraries) count
once per process, so the figure is what the machine must hold at most, not
what one process uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil


def tree_rss(pids: list[int]) -> tuple[int, int, int]:
    """(bytes of RSS summed over the trees rooted at ``pids``, number of processes, bytes of the largest one)."""
    seen: dict[int, int] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in members:
            try:
                seen[process.pid] = process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue  # a run worker that exited between listing and reading
    return sum(seen.values()), len(seen), max(seen.values(), default=0)


class PeakMemory:
    """``with PeakMemory(lambda: pids) as peak:`` ... ``peak.peak_mb``, ``peak.largest_mb``, ``peak.most_processes``.

    ``largest_mb`` is the peak of the largest single process: the run worker's, in a backfill.
    """

    def __init__(self, roots: Callable[[], list[int]], interval: float = 0.25):
        self.roots, self.interval = roots, interval
        self.peak_bytes, self.largest_bytes, self.most_processes = 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    @property
    def largest_mb(self) -> float:
        return self.largest_bytes / 2**20

    def _sample(self) -> None:
        while True:
            rss, count, largest = tree_rss(self.roots())
            self.peak_bytes = max(self.peak_bytes, rss)
            self.largest_bytes = max(self.largest_bytes, largest)
            self.most_processes = max(self.most_processes, count)
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
