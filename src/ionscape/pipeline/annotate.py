"""Stage: ion images and metrics, one task per batch of ions close in m/z.

The driver sorts the ions by the m/z of their principal peak and cuts them into batches; each
task loads only the dataset segments its batch's m/z range touches, scores every ion
(ALGORITHM.md §5–6) and writes the metrics of the ions worth keeping and the sparse images of
the kept target ions to storage.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ionscape.config import AnnotationConfig
from ionscape.errors import PipelineError
from ionscape.pipeline.executor import BaseExecutor
from ionscape.pipeline.objects import get_arrays, put_arrays

METRIC_COLUMNS = ("chaos", "spatial", "spectral", "msm", "mz_err_abs", "mz_err_rel")
PEAK_COLUMNS = ("total_iso_ints", "min_iso_ints", "max_iso_ints", "mz_mean", "mz_stddev")
MIN_IONS_PER_TASK = 20_000
MAX_IONS_PER_TASK = 100_000
LOADED_PEAK_WORK = 1.0
"""Work of loading a dataset peak into a task, against 1 for a peak in an ion's window (which
its images and metrics go through) and 1 for an ion. With these weights the two annotate
tasks of the medium benchmark take the same time (``benchmarks/RESULTS.md``)."""
BYTES_PER_LOADED_PEAK = 32
"""Memory of a task per dataset peak it loads: the batch's m/z, intensity and int64 pixel
columns (at most 8 + 4 + 8 bytes), filled one segment at a time, with slack for the images
of the kept ions."""
TASK_RESERVE_MB = 512
"""Memory of a task besides the peaks: runtime (≈ 320 MB), the segment object being read
(at most 64 MiB by default), the batch's ions and its scores."""


def max_peaks_per_task(memory_mb: int) -> int:
    """Dataset peaks an annotate task with ``memory_mb`` of memory may load."""
    return max(1, (memory_mb - TASK_RESERVE_MB) * 2**20 // BYTES_PER_LOADED_PEAK)


def ions_per_task(n_ions: int, workers: int) -> int:
    """Ions of one annotate batch: an equal share per worker, within ``MIN_IONS_PER_TASK`` and
    ``MAX_IONS_PER_TASK``. One batch per worker rather than two: every task pays ≈ 0.7 s of
    imports and compiled-kernel loading, about what the ions of a medium batch cost to score."""
    return int(np.clip(-(-n_ions // max(workers, 1)), MIN_IONS_PER_TASK, MAX_IONS_PER_TASK))


def plan_batches(
    centroid_mz: np.ndarray,
    ppm: float,
    segment_lower: np.ndarray,
    segment_upper: np.ndarray,
    workers: int,
    segment_rows: np.ndarray | None = None,
    max_rows: int | None = None,
) -> list[tuple[np.ndarray, list[int]]]:
    """Cut ions into m/z-contiguous batches: (ion positions, indices of the segments needed).

    Only ions with at least one centroid strictly inside the dataset's m/z range are kept
    (ALGORITHM.md §7.2, clip). There are as many batches as :func:`ions_per_task` asks for,
    cut where they hold equal shares of the work. Given the peaks of each segment
    (``segment_rows``), the work counts each ion, the dataset peaks expected in its windows
    and ``LOADED_PEAK_WORK`` per peak in the batch's m/z range (:func:`peaks_below`); without
    them, each ion alone. A batch holds at most ``MAX_IONS_PER_TASK`` ions and is cut short
    before its segments hold more than ``max_rows`` peaks (never below one ion), so a task's
    memory is bounded on any dataset.
    """
    lo_mz, hi_mz = segment_lower[0], segment_upper[-1]
    real = centroid_mz > 0
    inside = (real & (centroid_mz > lo_mz) & (centroid_mz < hi_mz)).any(axis=1)
    ions = np.flatnonzero(inside)
    if len(ions) == 0:
        return []
    first_peak = np.where(real[ions], centroid_mz[ions], np.inf).min(axis=1)
    order = np.argsort(first_peak, kind="stable")
    ions, first_peak = ions[order], first_peak[order]
    last_peak = np.where(real[ions], centroid_mz[ions], -np.inf).max(axis=1)
    # the segments each ion's windows reach; ions are in first-peak order, so first_segment grows
    first_segment = np.searchsorted(segment_lower, first_peak * (1 - ppm * 1e-6), side="right") - 1
    first_segment = np.maximum(first_segment, 0)
    last_segment = np.searchsorted(segment_upper, last_peak * (1 + ppm * 1e-6), side="left")
    last_segment = np.minimum(last_segment, len(segment_upper) - 1)
    done = np.arange(1, len(ions) + 1, dtype=np.float64)
    if segment_rows is not None:
        below = functools.partial(peaks_below, lower=segment_lower, upper=segment_upper, rows=segment_rows)
        half_width = centroid_mz[ions] * ppm * 1e-6
        in_windows = below(centroid_mz[ions] + half_width) - below(centroid_mz[ions] - half_width)
        loaded = below(first_peak) - below(first_peak[:1])  # from the first ion's m/z on
        done += np.cumsum(in_windows.sum(axis=1)) + LOADED_PEAK_WORK * loaded
    n_batches = -(-len(ions) // ions_per_task(len(ions), workers))
    # a batch ends with the ion whose work reaches the batch's share of the total
    shares = done[-1] * np.arange(1, n_batches) / n_batches
    ends = [*(np.searchsorted(done, shares) + 1).tolist(), len(ions)]
    rows_before = np.concatenate(([0], np.cumsum(segment_rows))) if segment_rows is not None else None
    batches = []
    start = 0
    for end in ends:
        while start < end:
            reach = np.maximum.accumulate(last_segment[start : min(end, start + MAX_IONS_PER_TASK)])
            size = len(reach)
            if rows_before is not None and max_rows is not None:
                rows = rows_before[reach + 1] - rows_before[first_segment[start]]
                size = max(1, min(size, int(np.searchsorted(rows, max_rows, side="right"))))
            segments = list(range(first_segment[start], reach[size - 1] + 1))
            batches.append((ions[start : start + size], segments))
            start += size
    return batches


def peaks_below(mz: np.ndarray, lower: np.ndarray, upper: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Dataset peaks expected below each m/z value, from the segments' m/z ranges
    ``[lower, upper]`` and peak counts ``rows``, with peaks spread evenly within a segment."""
    segment = np.searchsorted(lower, mz, side="right") - 1
    inside = np.maximum(segment, 0)
    span = upper[inside] - lower[inside]
    share = np.divide(mz - lower[inside], span, out=np.ones_like(mz, dtype=np.float64), where=span > 0)
    before = np.concatenate(([0], np.cumsum(rows)))[inside]
    return np.where(segment >= 0, before + rows[inside] * np.clip(share, 0.0, 1.0), 0.0)


def score_batch(
    ions_key: str,
    segment_keys: list[str],
    segment_rows: list[int],
    mz_dtype: str,
    geometry_key: str,
    image_generation: dict[str, Any],
    out_key: str,
    storage: Any,
) -> dict[str, Any]:
    """Lithops task: score one batch of ions; writes metrics and target images to ``out_key``."""
    from ionscape.kernels.scoring import ImageGeometry, score_ions

    bucket = storage.bucket
    ions = get_arrays(storage, bucket, ions_key)
    geometry = get_arrays(storage, bucket, geometry_key)
    mz, ints, pixels = load_segments(storage, segment_keys, segment_rows, np.dtype(mz_dtype))
    scores = score_ions(
        mz,
        ints,
        pixels,
        ions["mz"],
        ions["ints"],
        ions["target"],
        ions["targeted"],
        ImageGeometry(int(geometry["width"]), int(geometry["height"]), geometry["sampled_pixels"]),
        ppm=image_generation["ppm"],
        min_px=image_generation["min_px"],
        n_levels=image_generation["n_levels"],
        compute_unused_metrics=image_generation["compute_unused_metrics"],
        only_kept_rows=True,
    )
    kept = np.flatnonzero(scores.kept)
    with_images = kept[ions["target"][kept]]
    lo, hi = scores.lo[with_images], scores.hi[with_images]
    rows = ranges_to_indices(lo.ravel(), hi.ravel())
    put_arrays(
        storage,
        bucket,
        out_key,
        formula_i=ions["formula_i"][kept],
        **{name: getattr(scores, name)[kept] for name in METRIC_COLUMNS + PEAK_COLUMNS},
        image_formula_i=ions["formula_i"][with_images],
        image_counts=(hi - lo).astype(np.int64),
        image_pixels=pixels[rows].astype(np.uint32),
        image_ints=ints[rows],
    )
    return {"out_key": out_key, "n_ions": len(ions["formula_i"]), "n_kept": len(kept)}


def load_segments(
    storage: Any, keys: list[str], rows: list[int], mz_dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The peaks of consecutive segments as one m/z, one intensity and one int64 pixel column,
    filled one segment at a time (``rows``: the peaks of each), so only one segment's object
    is held besides them."""
    total = sum(rows)
    mz, ints, pixels = np.empty(total, mz_dtype), np.empty(total, np.float32), np.empty(total, np.int64)
    start = 0
    for key, n in zip(keys, rows, strict=True):
        segment = get_arrays(storage, storage.bucket, key)
        if len(segment["mz"]) != n:
            found = len(segment["mz"])
            raise PipelineError(f"segment {key} holds {found} peaks; the dataset stage wrote {n}")
        for column, name in ((mz, "mz"), (ints, "ints"), (pixels, "pixels")):
            column[start : start + n] = segment[name]
        start += n
    return mz, ints, pixels


def ranges_to_indices(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(lo[i], hi[i])`` for all i, vectorised."""
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return starts + np.arange(total, dtype=np.int64)


def score_ions_distributed(
    executor: BaseExecutor,
    *,
    job_prefix: str,
    dataset: dict[str, Any],
    formula_i: np.ndarray,
    centroid_mz: np.ndarray,
    centroid_ints: np.ndarray,
    target: np.ndarray,
    targeted: np.ndarray,
    config: AnnotationConfig,
    workers: int,
    memory_mb: int,
) -> list[str]:
    """Plan batches, write their inputs, run the annotate stage; returns the output keys.

    Each task gets ``memory_mb`` and loads at most the peaks that memory holds (see
    :func:`max_peaks_per_task`)."""
    storage, bucket = executor.storage, executor.bucket
    batches = plan_batches(
        centroid_mz,
        config.image_generation.ppm,
        np.asarray(dataset["segment_lower"]),
        np.asarray(dataset["segment_upper"]),
        workers,
        segment_rows=np.asarray(dataset["segment_rows"]),
        max_rows=max_peaks_per_task(memory_mb),
    )
    image_generation = {
        "ppm": config.image_generation.ppm,
        "min_px": config.image_generation.min_px,
        "n_levels": config.image_generation.n_levels,
        "compute_unused_metrics": config.image_generation.compute_unused_metrics,
    }
    iterdata = []
    for i, (rows, segments) in enumerate(batches):
        ions_key = put_arrays(
            storage,
            bucket,
            f"{job_prefix}/ions/batch-{i:05d}",
            formula_i=formula_i[rows],
            mz=centroid_mz[rows],
            ints=centroid_ints[rows],
            target=target[rows],
            targeted=targeted[rows],
        )
        iterdata.append(
            {
                "ions_key": ions_key,
                "segment_keys": [dataset["segment_keys"][s] for s in segments],
                "segment_rows": [int(dataset["segment_rows"][s]) for s in segments],
                "mz_dtype": dataset["mz_dtype"],
                "geometry_key": dataset["geometry_key"],
                "image_generation": image_generation,
                "out_key": f"{job_prefix}/scores/batch-{i:05d}",
            }
        )
    if not iterdata:
        return []
    return [r["out_key"] for r in executor.map("annotate", score_batch, iterdata, memory_mb=memory_mb)]
