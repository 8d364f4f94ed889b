"""The dataset stage: one task for a small dataset, an external m/z sort within a memory budget
for a large one, and the same segments either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ionscape.errors import EmptyDatasetError
from ionscape.io.imzml import LocalFile, read_imzml_index
from ionscape.pipeline.dataset import DatasetRef, build_dataset
from ionscape.pipeline.executor import Executor
from ionscape.pipeline.objects import get_arrays
from ionscape.pipeline.sort import (
    MIB,
    SortBudget,
    chunk_bytes_per_peak,
    group_segments,
    merge_bytes_per_row,
    merge_plans,
    read_sorted,
    segment_bounds,
    segment_counts,
    spectrum_ranges,
)
from tests.io.test_imzml import write_dataset

# --- planning, worked out by hand ---------------------------------------------------------------


def test_spectrum_ranges_respect_the_peak_limit():
    # cumulative declared peaks 3, 8, 10, 17, 18
    assert spectrum_ranges(np.array([3, 5, 2, 7, 1]), 8) == [(0, 2), (2, 3), (3, 5)]
    assert spectrum_ranges(np.array([10, 1]), 4) == [(0, 1), (1, 2)]  # a larger spectrum stands alone
    # at least 3 runs: an equal share of what is left each time, 4 of 10, 3 of 6, 3 of 3
    assert spectrum_ranges(np.ones(10, dtype=np.int64), 100, min_ranges=3) == [(0, 4), (4, 7), (7, 10)]
    assert spectrum_ranges(np.array([], dtype=np.int64), 5) == []


def test_segment_bounds_are_sample_quantiles():
    sample = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 6.0, 8.0, 7.0])
    # 16 peaks estimated (the 8 sampled of 8 declared are all kept), 3 rows per segment aimed at
    # (0.75 of 4): 6 segments, bounds at sorted positions 8·i//6 for i = 1..5
    np.testing.assert_array_equal(segment_bounds(sample, 8, 16, 4), [2.0, 3.0, 5.0, 6.0, 7.0])
    # 3 segments aimed at: sorted positions 1 and 2 both hold 1.0, which gives one bound, not two
    np.testing.assert_array_equal(segment_bounds(np.array([1.0, 1.0, 1.0, 2.0]), 4, 4, 2), [1.0])
    assert len(segment_bounds(np.array([]), 10, 100, 4)) == 0


def test_segment_counts_put_ties_in_one_segment():
    np.testing.assert_array_equal(
        segment_counts(np.array([1.0, 2.0, 2.0, 3.0, 5.0]), np.array([2.0, 4.0])), [1, 3, 1]
    )


def test_group_segments_and_merge_plans():
    assert group_segments(np.array([3, 0, 4, 5, 1]), 5) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    chunks = [
        {"key": "c0", "offset": 128, "counts": np.array([2, 0, 3])},
        {"key": "c1", "offset": 128, "counts": np.array([1, 4, 0])},
    ]
    first, second = merge_plans(chunks, [(0, 1), (1, 3)])
    assert list(first["keys"]) == ["c0", "c1"]
    np.testing.assert_array_equal(first["start"], [0, 0])
    np.testing.assert_array_equal(first["stop"], [2, 1])
    np.testing.assert_array_equal(first["segment_rows"], [3])
    np.testing.assert_array_equal(second["start"], [2, 1])  # rows 2-5 of c0, 1-5 of c1
    np.testing.assert_array_equal(second["stop"], [5, 5])
    np.testing.assert_array_equal(second["segment_rows"], [4, 3])


def test_budget_arithmetic():
    budget = SortBudget(working_bytes=6 * MIB, segment_mb=64.0)
    f64, f32 = np.dtype(np.float64), np.dtype(np.float32)
    assert budget.segment_bytes == 6 * MIB // 8  # small working set: segments shrink
    assert budget.segment_rows(f64) == budget.segment_bytes // 16  # row: f64 m/z, f32 intensity, u32 pixel
    assert budget.segment_rows(f32) == budget.segment_bytes // 12
    assert budget.chunk_peaks(f64, f32) == 6 * MIB // chunk_bytes_per_peak(f64, f32)
    assert budget.merge_rows(f64) == (6 * MIB - 2 * budget.segment_bytes) // merge_bytes_per_row(f64)
    assert SortBudget.for_task_memory(1024, 64.0).working_bytes == (1024 - 320) * MIB


# --- the stage on Lithops -----------------------------------------------------------------------

# three spectra, width 2: pixel 0, 1 and 2; one zero intensity, which is dropped
HAND_SPECTRA = [
    ([100.0, 150.0, 200.0], [1.0, 2.0, 3.0]),
    ([100.0, 200.0, 250.0], [4.0, 5.0, 6.0]),
    ([50.0, 100.0, 200.0], [7.0, 0.0, 9.0]),
]
HAND_COORDS = [(1, 1, 1), (2, 1, 1), (1, 2, 1)]
# the global stable sort by m/z: equal m/z values keep spectrum order
HAND_MZ = [50.0, 100.0, 100.0, 150.0, 200.0, 200.0, 200.0, 250.0]
HAND_INTS = [7.0, 1.0, 4.0, 2.0, 3.0, 5.0, 9.0, 6.0]
HAND_PIXELS = [2, 0, 1, 0, 0, 1, 2, 1]


@pytest.fixture(scope="module")
def executor(lithops_local):
    executor = Executor(lithops_local)
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def hand_dataset(tmp_path_factory) -> DatasetRef:
    path = write_dataset(tmp_path_factory.mktemp("hand") / "hand.imzML", HAND_SPECTRA, HAND_COORDS)
    return DatasetRef(str(path), str(path.with_suffix(".ibd")))


def segments_of(executor: Executor, summary: dict) -> list[dict[str, np.ndarray]]:
    return [get_arrays(executor.storage, executor.bucket, key) for key in summary["segment_keys"]]


@pytest.mark.parametrize("min_tasks", [1, 3])
def test_hand_made_dataset_sorted_stably_and_segmented(executor, hand_dataset, min_tasks):
    # 48-byte segments hold 3 rows of 16 bytes; 8 peaks at 2.25 rows each → 4 segments, bounds at
    # sorted sample positions 2, 4, 6: m/z 100 and 200 (twice); the 4 rows >= 200 are cut in two
    budget = SortBudget(working_bytes=MIB, segment_mb=48 / MIB)
    summary = build_dataset(
        executor, hand_dataset, f"test/hand-{min_tasks}", budget=budget, memory_mb=1024, min_tasks=min_tasks
    )
    segments = segments_of(executor, summary)
    assert [list(s["mz"]) for s in segments] == [
        [50.0],
        [100.0, 100.0, 150.0],
        [200.0, 200.0],
        [200.0, 250.0],
    ]
    assert summary["segment_lower"] == [50.0, 100.0, 200.0, 200.0]
    assert summary["segment_upper"] == [50.0, 150.0, 200.0, 250.0]
    np.testing.assert_array_equal(np.concatenate([s["mz"] for s in segments]), HAND_MZ)
    np.testing.assert_array_equal(np.concatenate([s["ints"] for s in segments]), HAND_INTS)
    np.testing.assert_array_equal(np.concatenate([s["pixels"] for s in segments]), HAND_PIXELS)
    assert segments[0]["pixels"].dtype == np.uint32 and segments[0]["ints"].dtype == np.float32
    assert (summary["n_peaks"], summary["n_spectra"], summary["width"], summary["height"]) == (8, 3, 2, 2)
    assert (summary["mz_min"], summary["mz_max"], summary["mz_dtype"]) == (50.0, 250.0, "float64")
    sort = summary["sort"]
    if min_tasks == 1:
        assert sort["one_task"] and sort["chunk_peaks"] == [] and sort["merge_rows"] == []
    else:
        assert not sort["one_task"]
        assert sort["chunk_peaks"] == [3, 3, 3]  # one spectrum per chunk task, zeros included
        assert sort["merge_rows"] == [1, 3, 4]
        left = executor.storage.list_keys(executor.bucket, prefix=f"test/hand-{min_tasks}/dataset/chunk-")
        assert left == []  # the sorted chunks are deleted once merged


def test_no_positive_intensity_stops_the_external_sort(executor, tmp_path):
    spectra = [([100.0, 200.0], [0.0, 0.0]), ([150.0], [0.0])]
    path = write_dataset(tmp_path / "zeros.imzML", spectra, [(1, 1, 1), (2, 1, 1)])
    ref = DatasetRef(str(path), str(path.with_suffix(".ibd")))
    with pytest.raises(EmptyDatasetError, match="no peak with a positive intensity"):
        build_dataset(executor, ref, "test/zeros", budget=SortBudget(MIB), memory_mb=1024, min_tasks=2)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, tuple[DatasetRef, Path]]:
    """About 80,000 peaks (1.3 MB of sorted rows) per dataset, processed and continuous (where every
    m/z value is shared by all spectra, so equal m/z values abound)."""
    from ionscape.synthetic import SynthSpec, synthesize

    folder = tmp_path_factory.mktemp("synthetic")
    datasets = {}
    for mode in ("processed", "continuous"):
        spec = SynthSpec(
            width=20, height=20, peaks_per_spectrum=200, n_planted=3, continuous=mode == "continuous", seed=5
        )
        synthesize(folder / f"{mode}.imzML", spec, truth_images=False)
        path = folder / f"{mode}.imzML"
        datasets[mode] = DatasetRef(str(path), str(path.with_suffix(".ibd"))), path
    return datasets


def reference_peaks(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All positive peaks read with pyimzML, stably sorted by m/z."""
    from pyimzml.ImzMLParser import ImzMLParser

    parser = ImzMLParser(str(path))
    xs, ys = (np.array([c[axis] for c in parser.coordinates]) for axis in (0, 1))
    width = xs.max() - xs.min() + 1
    mz, ints, pixels = [], [], []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        spectrum_mz, spectrum_ints = parser.getspectrum(i)
        keep = spectrum_ints > 0
        mz.append(spectrum_mz[keep])
        ints.append(spectrum_ints[keep])
        pixels.append(np.full(keep.sum(), (y - ys.min()) * width + (x - xs.min())))
    mz, ints, pixels = np.concatenate(mz), np.concatenate(ints), np.concatenate(pixels)
    order = np.argsort(mz, kind="stable")
    return mz[order], ints[order], pixels[order]


@pytest.mark.parametrize("mode", ["processed", "continuous"])
def test_dataset_three_times_the_budget_gives_the_one_task_segments(executor, synthetic, mode):
    ref, path = synthetic[mode]
    segment_mb = 20_000 / MIB  # the same segments under both budgets
    one = build_dataset(
        executor, ref, f"test/one-{mode}", budget=SortBudget(512 * MIB, segment_mb), memory_mb=1024
    )
    small = SortBudget(320 * 1024, segment_mb)
    external = build_dataset(executor, ref, f"test/external-{mode}", budget=small, memory_mb=1024)
    assert external["n_peaks"] * 16 >= 3 * small.working_bytes  # the sorted peaks (16-byte rows)
    assert one["sort"]["one_task"] and not external["sort"]["one_task"]

    # each task's working set is within the budget by construction
    mz_dtype, int_dtype = np.dtype(external["mz_dtype"]), np.dtype(external["sort"]["int_dtype"])
    chunk_peaks, merge_rows = external["sort"]["chunk_peaks"], external["sort"]["merge_rows"]
    assert len(chunk_peaks) >= 3 and len(merge_rows) >= 3
    assert sum(chunk_peaks) == external["sort"]["declared_peaks"]
    assert max(chunk_peaks) * chunk_bytes_per_peak(mz_dtype, int_dtype) <= small.working_bytes
    merge_peak = max(merge_rows) * merge_bytes_per_row(mz_dtype) + 2 * small.segment_bytes
    assert merge_peak <= small.working_bytes

    # the same segments, object by object, as the one-task result
    assert len(one["segment_keys"]) == len(external["segment_keys"]) > 10
    for name in ("segment_lower", "segment_upper", "n_peaks", "mz_min", "mz_max", "n_spectra", "ibd_bytes"):
        assert one[name] == external[name], name
    for a, b in zip(segments_of(executor, one), segments_of(executor, external), strict=True):
        for column in ("mz", "ints", "pixels"):
            np.testing.assert_array_equal(a[column], b[column])
            assert a[column].dtype == b[column].dtype

    # and their concatenation is the stable m/z sort of every positive peak in imzML order
    segments = segments_of(executor, external)
    assert all(len(s["mz"]) * 16 <= small.segment_bytes for s in segments)
    expected = reference_peaks(path)
    for column, values in zip(("mz", "ints", "pixels"), expected, strict=True):
        np.testing.assert_array_equal(np.concatenate([s[column] for s in segments]), values)


@pytest.mark.parametrize("threads", [1, 3])
def test_reading_on_threads_gives_the_stable_sort_of_every_peak(synthetic, threads):
    ref, path = synthetic["processed"]
    index = read_imzml_index(path)
    batch_peaks = 1_000  # dozens of batches, several in flight
    columns = read_sorted(index, LocalFile(ref.ibd), 0, index.n_spectra, batch_peaks, threads)
    for got, expected in zip(columns, reference_peaks(path), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_workers_force_the_external_sort_with_the_same_segments(executor, synthetic):
    ref, _ = synthetic["processed"]
    budget = SortBudget(512 * MIB, 20_000 / MIB)
    one = build_dataset(executor, ref, "test/one-w", budget=budget, memory_mb=1024)
    split = build_dataset(executor, ref, "test/split-w", budget=budget, memory_mb=1024, min_tasks=4)
    assert len(split["sort"]["chunk_peaks"]) == 4 and len(split["sort"]["merge_rows"]) >= 4
    assert one["segment_lower"] == split["segment_lower"]
    for a, b in zip(segments_of(executor, one), segments_of(executor, split), strict=True):
        np.testing.assert_array_equal(a["mz"], b["mz"])
        np.testing.assert_array_equal(a["pixels"], b["pixels"])


@pytest.mark.parametrize("backend", ["minio", "redis"])
def test_external_sort_reads_chunk_rows_by_range_on_remote_storage(hand_dataset, backend):
    from tests.pipeline.backends import S3Server, claimed_redis_db, redis_config

    budget = SortBudget(working_bytes=MIB, segment_mb=48 / MIB)
    if backend == "minio":
        server = S3Server()
        server.create_bucket("ionscape-sort")
        try:
            summary, segments = _remote_run(server.minio_config("ionscape-sort"), hand_dataset, budget)
        finally:
            server.stop()
        chunk_reads = [r for r in server.requests if r.method == "GET" and "/chunk-" in r.path]
        assert chunk_reads and all(r.range for r in chunk_reads)  # rows fetched by byte range
    else:
        with claimed_redis_db() as db:
            summary, segments = _remote_run(redis_config(db), hand_dataset, budget)
    assert not summary["sort"]["one_task"]
    np.testing.assert_array_equal(np.concatenate([s["mz"] for s in segments]), HAND_MZ)
    np.testing.assert_array_equal(np.concatenate([s["ints"] for s in segments]), HAND_INTS)
    np.testing.assert_array_equal(np.concatenate([s["pixels"] for s in segments]), HAND_PIXELS)


def _remote_run(
    config: dict, ref: DatasetRef, budget: SortBudget
) -> tuple[dict, list[dict[str, np.ndarray]]]:
    executor = Executor(config)
    try:
        summary = build_dataset(executor, ref, "test/remote", budget=budget, memory_mb=1024, min_tasks=3)
        return summary, segments_of(executor, summary)
    finally:
        executor.close()
