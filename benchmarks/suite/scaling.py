"""Power-law fits of time and memory against a size, and their log-log plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from suite.report import cpu_seconds

SIZE_AXES = {
    "pixels": ("n_spectra", "pixels"),
    "peaks": ("peaks_per_spectrum", "peaks per spectrum"),
    "database": ("formulas", "database formulas"),
}
"""Series name → (record field holding the size, axis label)."""

MEASURES = {
    "end to end": lambda r: r["wall_s"],
    "CPU of the process tree": cpu_seconds,
    "dataset stage": lambda r: r["stages"]["dataset"],
    "annotate stage": lambda r: r["stages"]["annotate"],
    "centroids stage": lambda r: r["stages"]["centroids"],
}
"""What is fitted against the size (seconds): wall time of the job, CPU time of all its processes
(when recorded), wall time of its heavy stages."""


def size_of(record: dict[str, Any], series: str) -> float:
    """The size a record has along a series (pixels, peaks per spectrum or database formulas)."""
    field = SIZE_AXES[series][0]
    if field == "peaks_per_spectrum":
        return record["workload"]["peaks"]
    return record[field]


def exponent(sizes: np.ndarray, values: np.ndarray) -> float:
    """Slope of log(values) against log(sizes): the b of values ≈ a·sizes^b (nan below two sizes)."""
    keep = (sizes > 0) & (values > 0)
    if len(np.unique(sizes[keep])) < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes[keep]), np.log(values[keep]), 1)[0])


def top_exponent(sizes: np.ndarray, values: np.ndarray) -> float:
    """The exponent between the two largest sizes only, where fixed costs matter least."""
    order = np.argsort(sizes)
    return exponent(sizes[order][-2:], values[order][-2:])


def fit_series(records: list[dict[str, Any]], series: str) -> dict[str, tuple[float, float]]:
    """Exponents of every measure and of the process tree's peak RSS along ``series``.

    Each is a pair: the fit over all sizes, and the exponent between the two largest sizes.
    """
    sizes = np.array([size_of(r, series) for r in records], dtype=float)
    measures = {**MEASURES, "peak RSS": lambda r: r["tree_peak_rss_mb"]}
    fits = {}
    for name, get in measures.items():
        values = np.array([get(r) for r in records], float)
        fits[name] = (exponent(sizes, values), top_exponent(sizes, values))
    return fits


def plot_series(records: list[dict[str, Any]], series: str, title: str, path: Path) -> None:
    """Log-log plot of time (left) and peak memory (right) against the series' size, with fits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    records = sorted(records, key=lambda r: size_of(r, series))
    sizes = np.array([size_of(r, series) for r in records], dtype=float)
    fits = fit_series(records, series)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, get in MEASURES.items():
        values = np.array([get(r) for r in records], float)
        if not np.any(values > 0.05):
            continue
        left.plot(sizes, values, "o-", label=f"{name} (exponent {fits[name][0]:.2f})")
    left.set_ylabel("seconds")
    memory = [r["tree_peak_rss_mb"] for r in records]
    memory_label = f"process tree (exponent {fits['peak RSS'][0]:.2f})"
    right.plot(sizes, memory, "o-", color="tab:red", label=memory_label)
    right.set_ylabel("peak RSS, MiB")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel(SIZE_AXES[series][1])
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_workers(groups: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Wall time against the number of workers, one line per workload, executor and cache state."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axis = plt.subplots(figsize=(6, 4))
    for label, records in groups.items():
        records = sorted(records, key=lambda r: r["workload"]["workers"])
        axis.plot(
            [r["workload"]["workers"] for r in records], [r["wall_s"] for r in records], "o-", label=label
        )
    axis.set_xlabel("workers (Lithops worker processes, Spark local[N])")
    axis.set_ylabel("wall time, s")
    axis.set_xscale("log", base=2)
    axis.set_xticks(sorted({r["workload"]["workers"] for records in groups.values() for r in records}))
    axis.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axis.set_ylim(bottom=0)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
