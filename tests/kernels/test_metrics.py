"""Spectral, spatial and extra metrics (ALGORITHM.md §6.2, §6.3, §6.5, §6.6)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from pyImagingMSpec.image_measures import isotope_image_correlation, isotope_pattern_match

from ionscape.kernels.metrics import (
    intensity_stats,
    pairwise_sum32,
    spatial_correlation,
    spatial_of_slots,
    spectral_of_slots,
    spectral_similarity,
    weighted_mz_stats,
)

REFERENCE_IMAGES = np.array(
    [[1, 2, 3, 4, 0, 5], [0.5, 1.1, 1.4, 2.2, 0.3, 2.4], [0.1, 0.2, 0.35, 0.4, 0, 0.6], [0] * 6],
    dtype=np.float32,
)
REFERENCE_THEO = np.array([100, 45, 10, 2], dtype=np.float32)


def test_reference_values():
    assert spectral_similarity(REFERENCE_IMAGES, REFERENCE_THEO) == pytest.approx(0.9783878, abs=1e-7)
    assert spatial_correlation(REFERENCE_IMAGES, REFERENCE_THEO) == pytest.approx(0.95290957, abs=1e-8)
    with_empty_pixels = np.hstack([REFERENCE_IMAGES, np.zeros((4, 4), dtype=np.float32)])
    assert spatial_correlation(with_empty_pixels, REFERENCE_THEO) == pytest.approx(0.9569224, abs=1e-7)


def test_spectral_by_hand():
    # mask = pixels 0 and 2, s = (4, 1), θ = (3, 1)
    images = np.array([[1, 0, 3], [1, 1, 0]], dtype=np.float32)
    expected = (
        1 - (abs(3 / math.sqrt(10) - 4 / math.sqrt(17)) + abs(1 / math.sqrt(10) - 1 / math.sqrt(17))) / 2
    )
    assert spectral_similarity(images, np.array([3, 1], dtype=np.float32)) == pytest.approx(
        expected, abs=1e-7
    )


def test_spectral_edge_cases():
    theo = np.array([100, 50, 0, 0], dtype=np.float32)
    assert spectral_similarity(np.zeros((4, 5), dtype=np.float32), theo) == 0.0  # no signal
    assert spectral_similarity(np.ones((4, 5), dtype=np.float32), np.zeros(4, dtype=np.float32)) == 0.0
    single = np.zeros((4, 5), dtype=np.float32)
    single[0] = [1, 2, 0, 0, 3]
    # one centroid: the pattern matches exactly, and 1.0 is replaced by 0
    assert spectral_similarity(single, np.array([100, 0, 0, 0], dtype=np.float32)) == 0.0
    one_pixel = np.array([[2.0], [1.0]], dtype=np.float32)
    assert spectral_similarity(one_pixel, np.array([2, 1], dtype=np.float32)) == 0.0
    assert spectral_similarity(one_pixel, np.array([1, 1], dtype=np.float32)) == pytest.approx(
        1 - (abs(1 / math.sqrt(2) - 2 / math.sqrt(5)) + abs(1 / math.sqrt(2) - 1 / math.sqrt(5))) / 2,
        abs=1e-7,
    )


def test_spatial_by_hand():
    # r(F0, F1) = 1; r(F0, F2): means 1.5, centred products sum to 1, both variances 5 -> 0.2
    images = np.array([[1, 2, 3, 0], [2, 4, 6, 0], [3, 2, 1, 0]], dtype=np.float32)
    theo = np.array([100, 50, 50], dtype=np.float32)
    assert spatial_correlation(images, theo) == pytest.approx((50 * 1 + 50 * 0.2) / 100, abs=1e-15)


def test_spatial_edge_cases():
    theo = np.array([100, 50], dtype=np.float32)
    assert spatial_correlation(np.zeros((2, 4), dtype=np.float32), theo) == 0.0  # empty
    assert spatial_correlation(np.array([[1.0], [1.0]], dtype=np.float32), theo) == 0.0  # one pixel
    one_positive = np.array([[0, 3, 0], [1, 2, 3]], dtype=np.float32)
    assert spatial_correlation(one_positive, theo) == 0.0
    constant = np.array([[1, 2, 3], [0.1, 0.1, 0.1]], dtype=np.float32)  # zero variance: r -> 0
    assert spatial_correlation(constant, theo) == 0.0
    single_slot = np.array([[1, 2, 3]], dtype=np.float32)
    assert spatial_correlation(single_slot, np.array([100], dtype=np.float32)) == 0.0
    correlated = np.array([[1, 2, 3], [2, 4, 6]], dtype=np.float32)
    assert spatial_correlation(correlated, np.array([100, 0], dtype=np.float32)) == 0.0  # zero θ tail
    anti = np.array([[1, 2, 3], [3, 2, 1]], dtype=np.float32)
    assert spatial_correlation(anti, theo) == 0.0  # clipped at 0


def _random_case(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_slots, n_pixels = int(rng.integers(1, 8)), int(rng.integers(1, 300))
    images = rng.random((n_slots, n_pixels)) ** 2 * 10 ** rng.uniform(0, 7)
    images *= rng.random((n_slots, n_pixels)) < rng.random()
    theo = rng.random(n_slots) * 100
    if rng.random() < 0.2:
        theo[rng.integers(0, n_slots) :] = 0
    return images.astype(np.float32), theo.astype(np.float32)


def test_random_cases_against_pyimagingmspec():
    rng = np.random.default_rng(0)
    for _ in range(300):
        images, theo = _random_case(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected_spectral = float(np.nan_to_num(isotope_pattern_match(list(images), theo)))
            weights = theo[1:]
            expected_spatial = (
                float(isotope_image_correlation(list(images), weights)) if weights.sum() else 0.0
            )
        assert spectral_similarity(images, theo) == pytest.approx(expected_spectral, abs=2**-24)
        assert spatial_correlation(images, theo) == pytest.approx(expected_spatial, abs=1e-12)


def test_signal_pixels_only_give_the_same_metrics():
    rng = np.random.default_rng(1)
    for _ in range(100):
        images, theo = _random_case(rng)
        signal = images.any(axis=0)
        sparse = np.ascontiguousarray(images[:, signal])
        assert spectral_of_slots(sparse, theo) == spectral_similarity(images, theo)
        assert spatial_of_slots(sparse, theo, images.shape[1]) == pytest.approx(
            spatial_correlation(images, theo), abs=1e-12
        )


def test_pairwise_sum_rounds_like_numpy_sum():
    rng = np.random.default_rng(2)
    lengths = [*range(0, 300), 1000, 1031, 4096, 100_003]
    for n in lengths:
        x = (rng.random(n) ** 3 * 10 ** rng.uniform(0, 8)).astype(np.float32)
        assert pairwise_sum32(x) == np.sum(x)


def test_intensity_stats():
    values = np.array([[1, 2.5, 4], [0, 0, 7]], dtype=np.float32)
    total, minimum, maximum = intensity_stats(values)
    assert total.dtype == minimum.dtype == maximum.dtype == np.float32
    np.testing.assert_array_equal(total, [7.5, 7])
    np.testing.assert_array_equal(minimum, [0, 0])  # the minimum never exceeds 0
    np.testing.assert_array_equal(maximum, [4, 7])
    total, minimum, maximum = intensity_stats(np.zeros((3, 0), dtype=np.float32))
    assert not total.any() and not minimum.any() and not maximum.any()


def test_weighted_mz_stats_by_hand():
    mean, stddev = weighted_mz_stats(np.array([100.0, 102.0]), np.array([1, 3], dtype=np.float32))
    assert mean == 101.5
    assert stddev == pytest.approx(math.sqrt((1 * 1.5**2 + 3 * 0.5**2) / 4), rel=1e-15)


def test_weighted_mz_stats_use_float32_mz_values():
    mzs = np.array([300.000011, 300.000025, 300.000031])
    weights = np.array([1e6, 2e5, 3.5e7], dtype=np.float32)
    assert weighted_mz_stats(mzs, weights) == weighted_mz_stats(mzs.astype(np.float32), weights)


def test_weighted_mz_stats_match_extended_precision():
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(1, 5000))
        mzs = (500 + rng.normal(0, 3e-4, n)).astype(np.float32)
        weights = (10 ** rng.uniform(0, 8, n)).astype(np.float32)
        m, w = mzs.astype(np.longdouble), weights.astype(np.longdouble)
        expected_mean = (m * w).sum() / w.sum()
        expected_std = np.sqrt((w * (m - expected_mean) ** 2).sum() / w.sum())
        mean, stddev = weighted_mz_stats(mzs, weights)
        assert mean == pytest.approx(float(expected_mean), rel=4e-16)
        assert stddev == pytest.approx(float(expected_std), rel=1e-9)
