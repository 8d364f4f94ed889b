"""numpy's huge-page hint, turned off where the kernel would stall on it.

numpy asks Linux for transparent huge pages on every large array (``madvise(MADV_HUGEPAGE)``).
Where the kernel's THP ``defrag`` mode is ``always``, ``madvise`` or ``defer+madvise`` (the
default of Debian and Ubuntu is ``madvise``), a page fault in such a region, when no free huge
page is at hand, waits for the kernel to reclaim and compact memory on the spot. On a machine
whose memory is fragmented (a busy page cache), first touches of fresh arrays then cost
2–3 s per GB instead of about 0.5 (numpy issue #31590; ``benchmarks/RESULTS.md`` measures it).
The tasks of a job touch gigabytes of fresh arrays once each, so they go without the hint there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

NUMPY_HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"
THP_DEFRAG = Path("/sys/kernel/mm/transparent_hugepage/defrag")
STALLING_DEFRAG_MODES = frozenset({"always", "madvise", "defer+madvise"})
"""THP defrag modes in which a fault in a region numpy hinted compacts memory synchronously."""


def defrag_mode(path: Path = THP_DEFRAG) -> str | None:
    """The kernel's THP defrag mode (the bracketed word of ``path``), or None where there is none."""
    try:
        chosen = re.search(r"\[([^\]]+)\]", path.read_text())
    except OSError:
        return None
    return chosen.group(1) if chosen else None


def avoid_hugepage_stalls(path: Path = THP_DEFRAG) -> bool:
    """Set ``NUMPY_MADVISE_HUGEPAGE=0`` for the worker processes this process starts from now on,
    when the kernel's defrag mode stalls on numpy's hint and the variable is not set already (a
    user's own choice wins). Returns True when it was set."""
    if NUMPY_HUGEPAGE_ENV in os.environ or defrag_mode(path) not in STALLING_DEFRAG_MODES:
        return False
    os.environ[NUMPY_HUGEPAGE_ENV] = "0"
    return True
