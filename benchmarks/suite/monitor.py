"""Peak resident memory and CPU time of a whole process tree, sampled from a background thread."""

from __future__ import annotations

import threading
import time

import psutil


def tree_sample(root: psutil.Process) -> dict[tuple[int, float], tuple[int, float]]:
    """RSS (bytes) and CPU seconds so far of ``root`` and each descendant, keyed by (pid, start time)."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    sample = {}
    for process in processes:
        try:
            with process.oneshot():
                times = process.cpu_times()
                sample[(process.pid, process.create_time())] = (
                    process.memory_info().rss,
                    times.user + times.system,
                )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return sample


class TreeMonitor:
    """Samples :func:`tree_sample` of ``pid`` every ``interval`` seconds while the context is open.

    ``peak_mb``: the largest summed RSS seen (pages shared between forked workers are counted once
    per process, so this is an upper bound). ``cpu_seconds``: user + system time of every process
    seen, as of its last sample (a process loses at most ``interval`` of CPU time).
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._cpu: dict[tuple[int, float], float] = {}
        self.peak_bytes = 0
        self.peak_processes = 0

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        """Largest summed RSS seen, in MiB."""
        return self.peak_bytes / 2**20

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds used by the tree (user + system)."""
        return sum(self._cpu.values())

    def _sample(self) -> None:
        while not self._stop.is_set():
            sample = tree_sample(self._root)
            self.peak_bytes = max(self.peak_bytes, sum(rss for rss, _ in sample.values()))
            self.peak_processes = max(self.peak_processes, len(sample))
            self._cpu.update((key, cpu) for key, (_, cpu) in sample.items())
            time.sleep(self._interval)
