"""Stage: read the imzML dataset, sort all peaks by m/z, and store them as m/z segments.

The output is a list of segment objects, each holding a slice of the global (stable) m/z-sorted
peak list, plus the segment bounds the annotate stage uses to find the segments an ion needs
(ALGORITHM.md §5.1, §7.2 load_ds). A first task reads the imzML index and a sample of spectra
and fixes the segments' m/z bounds; when the dataset fits that task's memory budget it also does
the rest, otherwise the peaks go through the external sort of :mod:`ionscape.pipeline.sort`
(chunk tasks, then merge tasks), so no task holds more than its budget.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ionscape.errors import DatasetError, EmptyDatasetError, MissingIbdError
from ionscape.pipeline.objects import put_arrays
from ionscape.pipeline.sort import (
    SortBudget,
    available_cores,
    group_segments,
    index_slice,
    merge_plans,
    merge_segments,
    plan_chunks,
    read_sample,
    segment_bounds,
    sort_chunk,
    sort_in_one_task,
)

if TYPE_CHECKING:
    from ionscape.io.imzml import ByteSource, ImzMLIndex
    from ionscape.pipeline.executor import BaseExecutor

STORAGE_SCHEME = "lithops://"


@dataclass(frozen=True)
class DatasetRef:
    """Where a dataset is: local paths, or ``lithops://bucket/key`` URIs in Lithops storage."""

    imzml: str
    ibd: str

    @property
    def in_storage(self) -> bool:
        """True when the files are objects in Lithops storage."""
        return self.imzml.startswith(STORAGE_SCHEME)


class StorageObject:
    """A :class:`ionscape.io.imzml.ByteSource` reading byte ranges of an object in Lithops storage.

    Every read is one ranged GET; the whole object is never fetched. Ranges are clipped to the
    object's size, so a read at or past the end returns fewer bytes (or none) on every backend.
    """

    def __init__(self, storage: Any, uri: str) -> None:
        self.storage = storage
        self.uri = uri
        self.bucket, self.key = split_storage_uri(uri)
        self._size: int | None = None

    def size(self) -> int:
        """Object size in bytes; raises :class:`MissingIbdError` when there is no such object."""
        if self._size is None:
            from lithops.storage.utils import StorageNoSuchKeyError

            try:
                head = self.storage.head_object(self.bucket, self.key)
            except StorageNoSuchKeyError as exc:
                raise MissingIbdError(f"{self.uri} is missing") from exc
            self._size = int(head["content-length"])
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        """``length`` bytes from byte ``offset`` (fewer at the end of the object)."""
        end = min(offset + length, self.size())
        if end <= offset:
            return b""
        rng = {"Range": f"bytes={offset}-{end - 1}"}
        return self.storage.get_object(self.bucket, self.key, extra_get_args=rng)

    def read_into(self, offset: int, out: np.ndarray) -> int:
        """Fill the uint8 array ``out`` from byte ``offset`` (one ranged GET); returns the bytes read."""
        data = self.read(offset, len(out))
        out[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        return len(data)


def split_storage_uri(uri: str) -> tuple[str, str]:
    """``lithops://bucket/key`` → (bucket, key)."""
    bucket, _, key = uri.removeprefix(STORAGE_SCHEME).partition("/")
    return bucket, key


def download_object(storage: Any, uri: str) -> bytes:
    """The whole object at ``uri``; raises :class:`DatasetError` when there is no such object."""
    from lithops.storage.utils import StorageNoSuchKeyError

    bucket, key = split_storage_uri(uri)
    try:
        return storage.get_object(bucket, key)
    except StorageNoSuchKeyError as exc:
        raise DatasetError(f"{uri} is missing") from exc


def open_ibd(ibd: str, storage: Any) -> ByteSource:
    """The ``.ibd`` bytes: an object in Lithops storage (``lithops://``) or a local file."""
    from ionscape.io.imzml import LocalFile

    return StorageObject(storage, ibd) if ibd.startswith(STORAGE_SCHEME) else LocalFile(ibd)


def read_index(
    ref: DatasetRef, storage: Any, allow_profile: bool, spectrum_metadata: bool = False
) -> tuple[ImzMLIndex, ByteSource]:
    """Parse and validate the imzML of ``ref`` (on all of this process's cores); returns its
    index and the ``.ibd`` byte source. The spectra's TIC and m/z range are read only with
    ``spectrum_metadata``: the stage does not use them, and pyimzML parses faster without."""
    from ionscape.io.imzml import read_imzml_index

    source = open_ibd(ref.ibd, storage)
    parse = functools.partial(
        read_imzml_index,
        ibd_size=source.size(),
        allow_profile=allow_profile,
        spectrum_metadata=spectrum_metadata,
        processes=available_cores(),
    )
    if not ref.in_storage:
        return parse(ref.imzml), source
    with tempfile.TemporaryDirectory() as tmp:
        local_xml = os.path.join(tmp, os.path.basename(split_storage_uri(ref.imzml)[1]))
        with open(local_xml, "wb") as f:
            f.write(download_object(storage, ref.imzml))
        return parse(local_xml), source


def prepare_dataset(
    dataset: dict[str, str],
    prefix: str,
    budget: dict[str, float],
    min_tasks: int,
    allow_profile: bool,
    storage: Any,
) -> dict[str, Any]:
    """Lithops task: index the dataset, write its geometry, fix the segment bounds from a sample.

    When the dataset fits ``budget`` (and ``min_tasks`` <= 1) the task sorts and writes all
    segments itself (``"segments"`` in the answer); otherwise it writes the inputs of the chunk
    tasks (``"chunks"``): an index slice per chunk, and the segment bounds.
    """
    ref = DatasetRef(**dataset)
    sizing = SortBudget(**budget)
    index, source = read_index(ref, storage, allow_profile)
    bucket = storage.bucket
    info = {
        "imzml": ref.imzml,
        "geometry_key": put_arrays(
            storage,
            bucket,
            f"{prefix}/dataset/geometry",
            width=np.int64(index.width),
            height=np.int64(index.height),
            sampled_pixels=index.sampled_pixels,
        ),
        "n_spectra": int(index.n_spectra),
        "width": int(index.width),
        "height": int(index.height),
        "mz_dtype": str(index.mz_dtype),
        "ibd_bytes": int(source.size()),
        "declared_peaks": index.n_peaks,
        "int_dtype": str(index.int_dtype),
    }
    sample, sample_declared = read_sample(index, source)
    bounds = segment_bounds(sample, sample_declared, index.n_peaks, sizing.segment_rows(index.mz_dtype))
    del sample
    ranges = plan_chunks(index, sizing, min_tasks)
    if ranges is None:
        segments = sort_in_one_task(index, source, bounds, f"{prefix}/dataset", sizing, storage)
        return {"info": info, "segments": segments}
    bounds_key = put_arrays(storage, bucket, f"{prefix}/dataset/bounds", bounds=bounds)
    chunks = []
    for i, (start, stop) in enumerate(ranges):
        chunks.append(
            {
                "index_key": put_arrays(
                    storage, bucket, f"{prefix}/dataset/spectra-{i:05d}", **index_slice(index, start, stop)
                ),
                "ibd": ref.ibd,
                "bounds_key": bounds_key,
                "out_key": f"{prefix}/dataset/chunk-{i:05d}",
                "batch_peaks": sizing.read_batch_peaks(index.mz_dtype, index.int_dtype),
                "declared_peaks": int(index.mz_lengths[start:stop].sum()),
            }
        )
    return {"info": info, "chunks": chunks}


def build_dataset(
    executor: BaseExecutor,
    dataset: DatasetRef,
    prefix: str,
    *,
    budget: SortBudget,
    memory_mb: int,
    allow_profile: bool = False,
    min_tasks: int = 1,
) -> dict[str, Any]:
    """Run the dataset stage: one task when the dataset fits ``budget``, else the external sort.

    ``memory_mb`` is what each task asks Lithops for; ``min_tasks`` > 1 forces the external sort
    with at least that many chunk and merge tasks. Returns the summary the annotate stage reads
    (geometry and segment keys, segment m/z bounds, counts), plus ``"sort"``: how the work was
    split (declared peaks per chunk task, rows per merge task).
    """
    prepared = executor.map(
        "dataset",
        prepare_dataset,
        [
            {
                "dataset": {"imzml": dataset.imzml, "ibd": dataset.ibd},
                "prefix": prefix,
                "budget": {"working_bytes": budget.working_bytes, "segment_mb": budget.segment_mb},
                "min_tasks": min_tasks,
                "allow_profile": allow_profile,
            }
        ],
        memory_mb=memory_mb,
    )[0]
    info = prepared["info"]
    if "segments" in prepared:
        return _summary(info, prepared["segments"], one_task=True, chunk_peaks=[], merge_rows=[])

    chunk_tasks = prepared["chunks"]
    declared = [task.pop("declared_peaks") for task in chunk_tasks]
    chunks = executor.map("dataset", sort_chunk, chunk_tasks, memory_mb=memory_mb)
    mz_dtype = np.dtype(info["mz_dtype"])
    totals = np.sum([c["counts"] for c in chunks], axis=0)
    groups = group_segments(totals, budget.merge_rows(mz_dtype), min_tasks)
    iterdata = []
    for i, ((first, _), plan) in enumerate(zip(groups, merge_plans(chunks, groups), strict=True)):
        plan_key = put_arrays(executor.storage, executor.bucket, f"{prefix}/dataset/merge-{i:05d}", **plan)
        iterdata.append(
            {
                "plan_key": plan_key,
                "prefix": f"{prefix}/dataset",
                "mz_dtype": info["mz_dtype"],
                "first_segment": first,
                "max_rows": budget.segment_rows(mz_dtype),
            }
        )
    written = executor.map("dataset", merge_segments, iterdata, memory_mb=memory_mb)
    executor.storage.delete_objects(executor.bucket, [c["key"] for c in chunks])
    return _summary(
        info,
        [segment for part in written for segment in part],
        one_task=False,
        chunk_peaks=declared,
        merge_rows=[int(totals[first:stop].sum()) for first, stop in groups],
    )


def _summary(info: dict[str, Any], segments: list[dict[str, Any]], **sort: Any) -> dict[str, Any]:
    """The stage's answer from the dataset facts and the segments in m/z order; ``sort`` says how
    the work was split (``one_task``; declared peaks per chunk task, rows per merge task)."""
    if not segments:
        raise EmptyDatasetError(f"{info['imzml']}: no peak with a positive intensity in any spectrum")
    return {
        "geometry_key": info["geometry_key"],
        "segment_keys": [s["key"] for s in segments],
        "segment_lower": [s["lower"] for s in segments],
        "segment_upper": [s["upper"] for s in segments],
        "segment_rows": [int(s["rows"]) for s in segments],
        "n_spectra": info["n_spectra"],
        "n_peaks": sum(s["rows"] for s in segments),
        "width": info["width"],
        "height": info["height"],
        "mz_dtype": info["mz_dtype"],
        "mz_min": segments[0]["lower"],
        "mz_max": segments[-1]["upper"],
        "ibd_bytes": info["ibd_bytes"],
        "sort": sort | {"declared_peaks": info["declared_peaks"], "int_dtype": info["int_dtype"]},
    }
