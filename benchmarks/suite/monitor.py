"""Peak resident memory of a whole process tree, sampled from a background thread."""

from __future__ import annotations

import threading
import time

import psutil


def tree_rss(root: psutil.Process) -> tuple[int, int]:
    """Summed RSS in bytes of ``root`` and all its descendants, and how many processes that is.

    Pages shared between forked workers are counted once per process, so this is an upper bound.
    """
    total, count = 0, 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    for process in processes:
        try:
            total += process.memory_info().rss
            count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total, count


class TreeMemorySampler:
    """Samples :func:`tree_rss` of ``pid`` every ``interval`` seconds while the context is open."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_bytes = 0
        self.peak_processes = 0

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        """Largest summed RSS seen, in MiB."""
        return self.peak_bytes / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss, count = tree_rss(self._root)
            self.peak_bytes = max(self.peak_bytes, rss)
            self.peak_processes = max(self.peak_processes, count)
            time.sleep(self._interval)
