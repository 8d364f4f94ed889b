"""Planning of annotate batches and centroid tasks, worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ionscape.errors import PipelineError
from ionscape.pipeline.annotate import (
    ions_per_task,
    load_segments,
    peaks_below,
    plan_batches,
    ranges_to_indices,
)
from ionscape.pipeline.centroids import centroid_task_count
from ionscape.pipeline.objects import put_arrays


def test_ranges_to_indices():
    np.testing.assert_array_equal(
        ranges_to_indices(np.array([2, 5, 9]), np.array([4, 5, 12])), [2, 3, 9, 10, 11]
    )
    assert len(ranges_to_indices(np.array([3]), np.array([3]))) == 0


def test_plan_batches_clips_to_dataset_range_and_picks_segments():
    # dataset segments cover 100-200, 200-300, 300-400
    lower, upper = np.array([100.0, 200.0, 300.0]), np.array([199.9, 299.9, 400.0])
    centroids = np.array(
        [
            [150.0, 151.0, 0.0],  # inside segment 0
            [50.0, 51.0, 0.0],  # below the dataset range: dropped
            [399.0, 401.0, 0.0],  # one peak inside: kept
            [250.0, 251.0, 252.0],  # segment 1
            [0.0, 0.0, 0.0],  # no centroids: dropped
        ]
    )
    batches = plan_batches(centroids, ppm=3.0, segment_lower=lower, segment_upper=upper, workers=1)
    assert len(batches) == 1
    ions, segments = batches[0]
    np.testing.assert_array_equal(ions, [0, 3, 2])  # sorted by principal peak m/z
    assert segments == [0, 1, 2]


def test_plan_batches_empty_when_nothing_in_range():
    centroids = np.array([[10.0, 11.0]])
    assert plan_batches(centroids, 3.0, np.array([100.0]), np.array([200.0]), 1) == []


def test_plan_batches_bounds_the_peaks_a_task_loads():
    lower, upper = np.array([100.0, 200.0, 300.0]), np.array([199.9, 299.9, 400.0])
    rows = np.array([100, 100, 100])
    centroids = np.array(
        [
            [350.0, 351.0],  # segment 2
            [150.0, 151.0],  # segment 0
            [199.0, 201.0],  # segments 0 and 1: 200 peaks, more than the bound, alone
            [160.0, 161.0],  # segment 0
            [250.0, 251.0],  # segment 1
        ]
    )
    batches = plan_batches(centroids, 3.0, lower, upper, workers=1, segment_rows=rows, max_rows=150)
    assert [(ions.tolist(), segments) for ions, segments in batches] == [
        ([1, 3], [0]),
        ([2], [0, 1]),
        ([4], [1]),
        ([0], [2]),
    ]
    # a bound every segment fits in gives the batches of the ion count alone
    unbounded = plan_batches(centroids, 3.0, lower, upper, workers=1)
    assert [b[1] for b in plan_batches(centroids, 3.0, lower, upper, 1, rows, 10**9)] == [
        b[1] for b in unbounded
    ]


def test_peaks_below_spreads_each_segments_peaks_evenly():
    lower, upper, rows = np.array([100.0, 300.0]), np.array([200.0, 400.0]), np.array([100, 50])
    mz = np.array([50.0, 100.0, 150.0, 250.0, 350.0, 400.0, 500.0])
    # below the data, at its start, half of segment 0, in the gap, half of segment 1, its end, above
    np.testing.assert_allclose(peaks_below(mz, lower, upper, rows), [0, 0, 50, 100, 125, 150, 150])


def test_batches_hold_equal_work_not_equal_ion_counts():
    # 20k ions spread evenly over 100-200 Da (1M peaks), 20k over 200-300 Da (20k peaks), one
    # centroid each, windows so narrow that they hold about no peak. Ion i of the first half
    # has work 1 plus the 50 peaks between it and the ion before, so the work up to it is
    # 51 i + 1; all ions hold 40k + 1M + 20k. Ion 10,392 reaches half of that: the first batch
    # ends with it.
    lower, upper, rows = np.array([100.0, 200.0]), np.array([200.0, 300.0]), np.array([1_000_000, 20_000])
    mz = np.concatenate([100 + 100 * (np.arange(20_000) + 0.5) / 20_000] * 2)
    mz[20_000:] += 100
    batches = plan_batches(mz[:, None], 1e-3, lower, upper, workers=2, segment_rows=rows, max_rows=10**9)
    assert len(batches) == 2
    assert len(batches[0][0]) == 10_393
    np.testing.assert_array_equal(np.concatenate([ions for ions, _ in batches]), np.arange(40_000))
    assert [segments for _, segments in batches] == [[0], [0, 1]]
    # without the peaks per segment, every ion counts the same
    assert [len(ions) for ions, _ in plan_batches(mz[:, None], 1e-3, lower, upper, workers=2)] == [20_000] * 2


@pytest.mark.parametrize(
    ("n_ions", "workers", "tasks"),
    [
        (117_124, 2, 6),  # 14.6k per task wanted: 20k at least
        (1_427_467, 2, 15),  # 178k per task wanted: 100k at most
        (1_427_467, 100, 100),  # 20k per task gives 72 tasks: one per worker instead
        (2_500, 2, 2),  # one per worker, each with at least 1000 ions
        (900, 2, 1),
        (0, 4, 1),
    ],
)
def test_centroid_task_count(n_ions, workers, tasks):
    assert centroid_task_count(n_ions, workers) == tasks


@pytest.mark.parametrize(
    ("n_ions", "workers", "per_task"),
    [
        (117_124, 2, 58_562),  # one batch per worker
        (117_125, 2, 58_563),
        (1_060_000, 2, 100_000),  # 530k per batch wanted: 100k at most
        (30_000, 4, 20_000),  # 7.5k per batch wanted: 20k at least
        (50_000, 0, 50_000),  # no worker count: as for one worker
    ],
)
def test_ions_per_task(n_ions, workers, per_task):
    assert ions_per_task(n_ions, workers) == per_task


class DictStorage:
    """The part of a Lithops storage client that put_arrays and get_arrays use."""

    bucket = "test"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[key] = data

    def get_object(self, bucket: str, key: str) -> bytes:
        return self.objects[key]


def test_load_segments_fills_one_column_per_field_in_segment_order():
    storage = DictStorage()
    first = {"mz": np.array([100.0, 100.5]), "ints": np.float32([1, 2]), "pixels": np.uint32([3, 4])}
    put_arrays(storage, "test", "s0", **first)
    put_arrays(storage, "test", "s1", mz=np.array([200.0]), ints=np.float32([5]), pixels=np.uint32([7]))
    mz, ints, pixels = load_segments(storage, ["s0", "s1"], [2, 1], np.dtype(np.float64))
    assert mz.tolist() == [100.0, 100.5, 200.0] and mz.dtype == np.float64
    assert ints.tolist() == [1.0, 2.0, 5.0] and ints.dtype == np.float32
    assert pixels.tolist() == [3, 4, 7] and pixels.dtype == np.int64
    with pytest.raises(PipelineError, match="segment s1 holds 1 peaks; the dataset stage wrote 2"):
        load_segments(storage, ["s0", "s1"], [2, 2], np.dtype(np.float64))
