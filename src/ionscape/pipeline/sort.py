"""External m/z sort of a dataset's peaks, in tasks whose memory is bounded by a budget.

The global peak list (every peak with a positive intensity, spectra in imzML order) is cut into
m/z *segments* by value bounds taken from a sample of the spectra, so the segmentation depends
on the data and the segment size only, never on how the work is split into tasks:

1. ``sort_chunk`` (one task per run of consecutive spectra): read the spectra, stable-sort their
   peaks by m/z, write them as one object of packed rows and count the rows of every segment.
2. ``merge_segments`` (one task per run of consecutive segments): read each chunk's rows of
   those segments by byte range, in chunk order, stable-sort them by m/z and write the segments.

A stable sort of chunk-ordered parts that are each stably sorted keeps equal m/z values in
spectrum order, so the result equals one stable sort of all peaks (ALGORITHM.md §5.1). A small
dataset does both steps in one task (:func:`sort_in_one_task`), with the same segments.

Memory: :class:`SortBudget` turns a task's working-set budget into peaks per chunk and rows per
merge, from the bytes each peak costs at the worst point of each task (``benchmarks/bench_memory.py``
measures them).
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ionscape.io.imzml import ByteSource, ImzMLIndex, read_peaks
from ionscape.kernels.radix import kernel_threads, sort_by_key
from ionscape.pipeline.objects import get_arrays, put_arrays

MIB = 2**20
RUNTIME_RESERVE_MB = 320
"""Memory of a task process before it touches data: interpreter, numpy, Lithops, ionscape."""
SEGMENT_FILL = 0.75
"""Segments aim at this share of the maximum segment size, so sampling error rarely splits one."""
SEGMENTS_PER_BUDGET = 8
"""A segment is at most 1/SEGMENTS_PER_BUDGET of a task's working set."""
READ_SHARE = 8
"""A chunk task reads its spectra in batches of at most 1/READ_SHARE of its peaks."""
SAMPLE_BLOCKS = 16
SAMPLE_MAX_PEAKS = 2**18
"""The m/z sample: at most this many declared peaks, in SAMPLE_BLOCKS runs of spectra spread over the file."""
WRITE_THREADS = 2
"""Segments written at once by the one-task sort. Each write holds about two segment sizes
(slices and their serialised bytes); while writing, the task holds only the sorted columns,
and the budget's 32 bytes per peak beyond them cover two writes."""
_SLICE_ARRAYS = ("x", "y", "mz_offsets", "mz_lengths", "int_offsets", "int_lengths")


def row_dtype(mz_dtype: np.dtype | str) -> np.dtype:
    """Packed little-endian row of a sorted chunk object: m/z (as declared), intensity, pixel."""
    return np.dtype([("mz", np.dtype(mz_dtype).newbyteorder("<")), ("ints", "<f4"), ("pixels", "<u4")])


@dataclass(frozen=True)
class SortBudget:
    """The bytes of data one dataset task may hold (its working set), and the largest segment (MiB)."""

    working_bytes: int
    segment_mb: float = 64.0

    @classmethod
    def for_task_memory(cls, memory_mb: int, segment_mb: float = 64.0) -> SortBudget:
        """The budget of a task given ``memory_mb`` (Lithops ``runtime_memory``)."""
        return cls(max(memory_mb - RUNTIME_RESERVE_MB, 1) * MIB, segment_mb)

    @property
    def segment_bytes(self) -> int:
        """Largest segment in bytes: ``segment_mb``, or less when the working set is small."""
        return int(min(self.segment_mb * MIB, self.working_bytes / SEGMENTS_PER_BUDGET))

    def segment_rows(self, mz_dtype: np.dtype) -> int:
        """Largest number of peaks in one segment."""
        return max(1, self.segment_bytes // row_dtype(mz_dtype).itemsize)

    def chunk_peaks(self, mz_dtype: np.dtype, int_dtype: np.dtype) -> int:
        """Declared peaks one chunk task may read (zero intensities included)."""
        return max(1, self.working_bytes // chunk_bytes_per_peak(mz_dtype, int_dtype))

    def read_batch_peaks(self, mz_dtype: np.dtype, int_dtype: np.dtype) -> int:
        """Declared peaks read by one :func:`read_peaks` call inside a chunk task."""
        return max(1, self.chunk_peaks(mz_dtype, int_dtype) // READ_SHARE)

    def merge_rows(self, mz_dtype: np.dtype) -> int:
        """Peaks one merge task may sort, besides the segments it is writing."""
        free = self.working_bytes - 2 * self.segment_bytes
        return max(1, free // merge_bytes_per_row(mz_dtype))

    def single_task_peaks(self, mz_dtype: np.dtype, int_dtype: np.dtype) -> int:
        """Declared peaks up to which one task reads, sorts and writes the whole dataset."""
        free = self.working_bytes - 2 * self.segment_bytes
        return max(0, free // chunk_bytes_per_peak(mz_dtype, int_dtype))


def chunk_bytes_per_peak(mz_dtype: np.dtype, int_dtype: np.dtype) -> int:
    """Bytes per declared peak at a chunk task's peak.

    Read phase: the chunk's columns plus one read batch, at most 1/READ_SHARE of the chunk, whose
    raw bytes, gathered arrays and their concatenation cost at most 4 · (2 · row + raw) bytes per
    batch peak (about 100 measured for float64 m/z). Sort phase: the columns (the m/z column
    becomes the sort keys), a second key buffer (at most 8) and the reordered intensity and
    pixel columns (8). Write phase: columns and the packed rows, then rows and their bytes
    (2 · row). The bound also covers the sorts of earlier versions, which held up to another
    row's worth (2 · row + 16).
    """
    row = row_dtype(mz_dtype).itemsize
    raw = np.dtype(mz_dtype).itemsize + np.dtype(int_dtype).itemsize
    read = row + math.ceil(4 * (2 * row + raw) / READ_SHARE)
    return max(read, 2 * row + 16)


def merge_bytes_per_row(mz_dtype: np.dtype) -> int:
    """Bytes per row at a merge task's peak, with a margin: rows, a contiguous m/z copy that
    becomes the sort keys, a second key buffer and the reordered intensity and pixel columns
    (at most 8 + 8 + 8) while sorting, then columns."""
    row = row_dtype(mz_dtype).itemsize
    return 2 * row + np.dtype(mz_dtype).itemsize + 12


# --- planning -----------------------------------------------------------------------------------


def spectrum_ranges(lengths: np.ndarray, max_peaks: int, min_ranges: int = 1) -> list[tuple[int, int]]:
    """Cut spectra into consecutive runs of at most ``max_peaks`` declared peaks (a larger spectrum
    stands alone), and into at least ``min_ranges`` runs of about equal size when there are enough
    spectra. Each cut is the spectrum boundary nearest to an equal share of the peaks left."""
    n = len(lengths)
    ends = np.cumsum(lengths)
    wanted = max(min_ranges, math.ceil(int(ends[-1]) / max(max_peaks, 1)) if n else 0, 1)
    edges = [0]
    while edges[-1] < n:
        start, left = edges[-1], wanted - len(edges) + 1  # runs still to cut, this one included
        before = int(ends[start - 1]) if start else 0
        target = before + min(max_peaks, math.ceil((int(ends[-1]) - before) / max(left, 1)))
        stop = int(np.searchsorted(ends, target, side="right"))
        below = int(ends[stop - 1]) if stop > start else before
        if stop < n and int(ends[stop]) - before <= max_peaks and int(ends[stop]) - target < target - below:
            stop += 1
        edges.append(max(min(stop, n - max(left - 1, 0)), start + 1))
    return list(itertools.pairwise(edges))


def sample_blocks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """Spectrum runs read for the m/z sample: all spectra, or SAMPLE_BLOCKS evenly spread runs."""
    n = len(lengths)
    if int(lengths.sum()) <= SAMPLE_MAX_PEAKS:
        return [(0, n)]
    mean = max(float(lengths.mean()), 1.0)
    per_block = max(1, int(SAMPLE_MAX_PEAKS / SAMPLE_BLOCKS / mean))
    starts = np.unique(np.linspace(0, n - per_block, SAMPLE_BLOCKS).astype(np.int64))
    return [(int(s), int(s) + per_block) for s in starts]


def segment_bounds(
    sample_mz: np.ndarray, sample_declared: int, total_declared: int, segment_rows: int
) -> np.ndarray:
    """Interior m/z bounds of the segments: quantiles of the sampled m/z values.

    The number of segments comes from the estimated peak count (declared peaks × the sample's
    share of positive intensities), with segments filled to SEGMENT_FILL of ``segment_rows``.
    Segment i holds bounds[i-1] <= m/z < bounds[i]; equal m/z values never straddle a bound.
    """
    if len(sample_mz) == 0:
        return np.empty(0, dtype=np.float64)
    estimate = total_declared * len(sample_mz) / max(sample_declared, 1)
    n_segments = max(1, math.ceil(estimate / (SEGMENT_FILL * segment_rows)))
    ordered = np.sort(sample_mz).astype(np.float64)
    picks = np.arange(1, n_segments) * len(ordered) // n_segments
    return np.unique(ordered[picks])


def plan_chunks(index: ImzMLIndex, budget: SortBudget, min_tasks: int = 1) -> list[tuple[int, int]] | None:
    """Spectrum ranges of the chunk tasks, or None when one task can sort the whole dataset
    within ``budget`` and no more than one task is asked for."""
    if min_tasks <= 1 and index.n_peaks <= budget.single_task_peaks(index.mz_dtype, index.int_dtype):
        return None
    return spectrum_ranges(index.mz_lengths, budget.chunk_peaks(index.mz_dtype, index.int_dtype), min_tasks)


def group_segments(rows: np.ndarray, max_rows: int, min_groups: int = 1) -> list[tuple[int, int]]:
    """Runs [first, stop) of consecutive segments holding at most ``max_rows`` rows each (a larger
    segment stands alone), and at least ``min_groups`` runs when there are enough segments."""
    return spectrum_ranges(rows, max_rows, min_groups)


# --- reading and sorting ------------------------------------------------------------------------


def index_slice(index: ImzMLIndex, start: int, stop: int) -> dict[str, np.ndarray]:
    """What a chunk task needs of spectra [start, stop) of ``index``, as plain arrays."""
    arrays = {name: getattr(index, name)[start:stop] for name in _SLICE_ARRAYS}
    return arrays | {
        "shape": np.array([index.width, index.height], dtype=np.int64),
        "dtypes": np.array([index.mz_dtype.str, index.int_dtype.str]),
        "names": np.array([index.imzml_name, index.ibd_name]),
    }


def index_from_slice(arrays: dict[str, np.ndarray]) -> ImzMLIndex:
    """The :class:`ImzMLIndex` of the spectra in an :func:`index_slice`."""
    width, height = (int(v) for v in arrays["shape"])
    mz_dtype, int_dtype = (np.dtype(str(v)) for v in arrays["dtypes"])
    imzml_name, ibd_name = (str(v) for v in arrays["names"])
    return ImzMLIndex(
        imzml_name=imzml_name,
        ibd_name=ibd_name,
        n_spectra=len(arrays["x"]),
        x=arrays["x"],
        y=arrays["y"],
        raw_min_xy=(0, 0),
        raw_max_xy=(width - 1, height - 1),
        width=width,
        height=height,
        mz_dtype=mz_dtype,
        int_dtype=int_dtype,
        mz_offsets=arrays["mz_offsets"],
        mz_lengths=arrays["mz_lengths"],
        int_offsets=arrays["int_offsets"],
        int_lengths=arrays["int_lengths"],
        continuous=False,
        centroided=True,
        tic=None,
        polarity=None,
        mz_range=None,
        uuid=None,
    )


def read_sample(index: ImzMLIndex, source: ByteSource) -> tuple[np.ndarray, int]:
    """m/z values of the sampled spectra's peaks and the number of peaks those spectra declare."""
    blocks = sample_blocks(index.mz_lengths)
    parts = [read_peaks(index, source, start, stop)[0] for start, stop in blocks]
    declared = sum(int(index.mz_lengths[start:stop].sum()) for start, stop in blocks)
    return np.concatenate(parts), declared


def read_batches(
    index: ImzMLIndex, source: ByteSource, ranges: list[tuple[int, int]], threads: int = 1
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`read_peaks` of each spectrum range, in order, with up to ``threads`` reads in
    flight (file reads and the compiled copies release the GIL): at most ``threads`` batches
    are held at any time, the one being consumed included."""
    if threads <= 1:
        for lo, hi in ranges:
            yield read_peaks(index, source, lo, hi)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[tuple[np.ndarray, np.ndarray, np.ndarray]]] = deque()
        for lo, hi in ranges:
            pending.append(pool.submit(read_peaks, index, source, lo, hi))
            if len(pending) == threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def read_sorted(
    index: ImzMLIndex, source: ByteSource, start: int, stop: int, batch_peaks: int, threads: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peaks of spectra [start, stop) stably sorted by m/z: (mz, ints float32, pixels uint32).

    Spectra are read into preallocated columns, at most ``batch_peaks`` and at most 1/READ_SHARE
    of the declared peaks at a time (split between ``threads`` reads in flight), so reading never
    needs more than the sort after it. The sort and the reordering run on ``threads`` threads.
    """
    declared = int(index.mz_lengths[start:stop].sum())
    batch_peaks = max(1, min(batch_peaks, math.ceil(declared / READ_SHARE)) // threads)
    mz = np.empty(declared, dtype=index.mz_dtype)
    ints = np.empty(declared, dtype=np.float32)
    pixels = np.empty(declared, dtype=np.uint32)
    filled = 0
    ranges = [
        (start + lo, start + hi) for lo, hi in spectrum_ranges(index.mz_lengths[start:stop], batch_peaks)
    ]
    for batch in read_batches(index, source, ranges, threads):
        n = len(batch[0])
        for column, values in zip((mz, ints, pixels), batch, strict=True):
            column[filled : filled + n] = values
        filled += n
        del batch
    return sort_columns(mz[:filled], ints[:filled], pixels[:filled], threads)


def sort_columns(
    mz: np.ndarray, ints: np.ndarray, pixels: np.ndarray, threads: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three peak columns reordered by a stable sort of ``mz``, on ``threads`` threads; a
    contiguous ``mz`` is consumed (its buffer holds the sorted m/z)."""
    with kernel_threads(threads):
        return sort_by_key(mz, ints, pixels)


def segment_counts(sorted_mz: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Rows of each segment in m/z-sorted values (len(bounds) + 1 counts)."""
    cuts = np.searchsorted(sorted_mz, bounds, side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_mz)]))).astype(np.int64)


def write_segments(
    storage: Any,
    prefix: str,
    columns: tuple[np.ndarray, np.ndarray, np.ndarray],
    counts: np.ndarray,
    first_segment: int,
    max_rows: int,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """Write consecutive segments of sorted ``columns`` (``counts`` rows each, numbered from
    ``first_segment``), ``threads`` objects at a time; a segment over ``max_rows`` is cut into
    equal parts. Empty ones are skipped.

    Returns one ``{"key", "lower", "upper", "rows"}`` per object written, in m/z order.
    """
    mz, ints, pixels = columns
    pieces = []
    bounds = np.concatenate(([0], np.cumsum(counts)))
    for segment, (start, stop) in enumerate(itertools.pairwise(bounds.tolist()), start=first_segment):
        edges = np.linspace(start, stop, math.ceil((stop - start) / max_rows) + 1).astype(np.int64).tolist()
        pieces += [
            (f"{prefix}/segment-{segment:05d}-{i:03d}", lo, hi)
            for i, (lo, hi) in enumerate(itertools.pairwise(edges))
        ]

    def write(piece: tuple[str, int, int]) -> dict[str, Any]:
        key, lo, hi = piece
        put_arrays(storage, storage.bucket, key, mz=mz[lo:hi], ints=ints[lo:hi], pixels=pixels[lo:hi])
        return {"key": key, "lower": float(mz[lo]), "upper": float(mz[hi - 1]), "rows": hi - lo}

    with ThreadPoolExecutor(max(1, threads)) as pool:
        return list(pool.map(write, pieces))


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def sort_in_one_task(
    index: ImzMLIndex, source: ByteSource, bounds: np.ndarray, prefix: str, budget: SortBudget, storage: Any
) -> list[dict[str, Any]]:
    """Read, sort and segment the whole dataset in this process, on all its cores (it is the
    stage's only task); returns the segments written."""
    threads = available_cores()
    batch = budget.read_batch_peaks(index.mz_dtype, index.int_dtype)
    columns = read_sorted(index, source, 0, index.n_spectra, batch, threads)
    counts = segment_counts(columns[0], bounds)
    max_rows = budget.segment_rows(index.mz_dtype)
    return write_segments(storage, prefix, columns, counts, 0, max_rows, min(threads, WRITE_THREADS))


# --- the two Lithops tasks ----------------------------------------------------------------------


def sort_chunk(
    index_key: str, ibd: str, bounds_key: str, out_key: str, batch_peaks: int, storage: Any
) -> dict[str, Any]:
    """Lithops task: sort one chunk of spectra by m/z and write it as packed rows (a ``.npy`` object).

    Returns the object's key, the byte offset of its first row, and its rows per segment.
    """
    from ionscape.pipeline.dataset import open_ibd

    index = index_from_slice(get_arrays(storage, storage.bucket, index_key))
    bounds = get_arrays(storage, storage.bucket, bounds_key)["bounds"]
    mz, ints, pixels = read_sorted(index, open_ibd(ibd, storage), 0, index.n_spectra, batch_peaks)
    counts = segment_counts(mz, bounds)
    rows = np.empty(len(mz), dtype=row_dtype(index.mz_dtype))
    rows["mz"], rows["ints"], rows["pixels"] = mz, ints, pixels
    del mz, ints, pixels
    header = _npy_header(rows.dtype, len(rows))
    storage.put_object(storage.bucket, out_key, b"".join((header, memoryview(rows).cast("B"))))
    return {"key": out_key, "offset": len(header), "counts": counts}


def merge_segments(
    plan_key: str, prefix: str, mz_dtype: str, first_segment: int, max_rows: int, storage: Any
) -> list[dict[str, Any]]:
    """Lithops task: merge the chunks' rows of a run of segments and write those segments.

    The plan object lists, per chunk in chunk order, its key, first-row offset and row range,
    and the rows of each segment of the run.
    """
    plan = get_arrays(storage, storage.bucket, plan_key)
    dtype = row_dtype(mz_dtype)
    rows = np.empty(int(plan["stop"].sum() - plan["start"].sum()), dtype=dtype)
    filled = 0
    for key, offset, start, stop in zip(
        plan["keys"], plan["offset"].tolist(), plan["start"].tolist(), plan["stop"].tolist(), strict=True
    ):
        first, end = offset + start * dtype.itemsize, offset + stop * dtype.itemsize
        byte_range = {"Range": f"bytes={first}-{end - 1}"}
        data = storage.get_object(storage.bucket, str(key), extra_get_args=byte_range)
        rows[filled : filled + stop - start] = np.frombuffer(data, dtype=dtype)
        filled += stop - start
        del data
    columns = sort_columns(rows["mz"], rows["ints"], rows["pixels"], threads=1)  # merges run side by side
    del rows
    return write_segments(storage, prefix, columns, plan["segment_rows"], first_segment, max_rows)


def merge_plans(chunks: list[dict[str, Any]], groups: list[tuple[int, int]]) -> list[dict[str, np.ndarray]]:
    """The plan object of each merge task (segments [first, stop) of ``groups``): per chunk that
    has rows there, its key, first-row offset and row range; and the rows of each segment."""
    counts = np.stack([c["counts"] for c in chunks])
    ends = np.concatenate((np.zeros((len(chunks), 1), dtype=np.int64), np.cumsum(counts, axis=1)), axis=1)
    keys = np.array([c["key"] for c in chunks])
    offsets = np.array([c["offset"] for c in chunks], dtype=np.int64)
    plans = []
    for first, stop in groups:
        starts, stops = ends[:, first], ends[:, stop]
        used = stops > starts
        plans.append(
            {
                "keys": keys[used],
                "offset": offsets[used],
                "start": starts[used],
                "stop": stops[used],
                "segment_rows": counts[:, first:stop].sum(axis=0),
            }
        )
    return plans


def _npy_header(dtype: np.dtype, n_rows: int) -> bytes:
    """The ``.npy`` header of a 1-d array of ``n_rows`` rows of ``dtype``."""
    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (n_rows,)}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()
