"""Measure of chaos (ALGORITHM.md §6.4) against hand-worked images and cpyImagingMSpec."""

from __future__ import annotations

import numpy as np
import pytest
from cpyImagingMSpec import measure_of_chaos as oracle_measure_of_chaos
from scipy import ndimage

from ionscape.kernels.chaos import (
    chaos_of_entries,
    chaos_of_sparse,
    chaos_scratch,
    measure_of_chaos,
    opening_is_empty,
)


def _oracle(image: np.ndarray, n_levels: int) -> float:
    """cpyImagingMSpec's value with METASPACE's post-processing: NaN and ≈1 become 0."""
    value = oracle_measure_of_chaos(np.ascontiguousarray(image, dtype=np.float32), n_levels)
    return 0.0 if np.isnan(value) or np.isclose(value, 1) else value


def _gaussian(size: int, sd: float, centre: float) -> np.ndarray:
    y, x = np.mgrid[:size, :size]
    return np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * sd**2)).astype(np.float32)


def test_reference_values():
    assert measure_of_chaos(np.ones((5, 5), dtype=np.float32)) == pytest.approx(0.96, abs=1e-12)
    isolated = np.zeros((10, 10), dtype=np.float32)
    isolated[::3, ::3] = 1
    assert measure_of_chaos(isolated) == 0.0
    assert measure_of_chaos(_gaussian(20, 4, 9.5)) == pytest.approx(0.99758333, abs=1e-8)
    image = np.array(
        [
            [0, 0, 0, 0, 0, 0],
            [0, 1, 2, 2, 0, 0],
            [0, 2, 5, 4, 1, 0],
            [0, 1, 3, 3, 0, 0],
            [0, 0, 0, 0, 0, 7],
            [0, 0, 0, 0, 0, 0],
        ],
        dtype=np.float32,
    )
    assert measure_of_chaos(image) == pytest.approx(0.96060606, abs=1e-8)


def test_gap_closed_by_dilation_makes_one_object():
    # the zero column is filled by the dilation and survives the erosion: 1 object at every level
    image = np.array([[1, 1, 0, 1, 1], [1, 1, 0, 1, 1]], dtype=np.float32)
    assert measure_of_chaos(image) == 1 - 1 / 8


def test_two_objects_at_low_levels_one_at_high_levels():
    # values 2 are above all 30 thresholds 2i/30, values 1 only for i < 15; the 4-column gap
    # is too wide to close, so the levels count 2 objects (i < 15) and 1 object (i >= 15)
    image = np.zeros((2, 8), dtype=np.float32)
    image[:, :2] = 2
    image[:, 6:] = 1
    assert measure_of_chaos(image) == 1 - ((15 * 2 + 15 * 1) / 30) / 8


def test_empty_and_non_positive_images_score_zero():
    assert measure_of_chaos(np.zeros((4, 4), dtype=np.float32)) == 0.0
    assert measure_of_chaos(np.zeros((0, 0), dtype=np.float32)) == 0.0
    assert chaos_of_entries(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 3, 3, 30) == 0.0


def test_invalid_arguments():
    with pytest.raises(ValueError):
        measure_of_chaos(np.ones(5, dtype=np.float32))
    with pytest.raises(ValueError):
        measure_of_chaos(np.ones((2, 2), dtype=np.float32), n_levels=0)


def _random_image(rng: np.random.Generator) -> np.ndarray:
    height, width = rng.integers(1, 36, size=2)
    density = rng.random() ** 2
    image = rng.random((height, width)) ** 3 * 10 ** rng.uniform(0, 8)
    image *= rng.random((height, width)) < density
    if rng.random() < 0.3 and image.max() > 0:  # few distinct values: many ties with thresholds
        image = np.round(image * 4 / image.max())
    return image.astype(np.float32)


def test_bit_identical_to_cpyimagingmspec_on_random_images():
    rng = np.random.default_rng(42)
    for _ in range(300):
        image = _random_image(rng)
        n_levels = int(rng.integers(1, 33))
        assert measure_of_chaos(image, n_levels) == _oracle(image, n_levels)


def test_sparse_entries_equal_the_dense_image():
    rng = np.random.default_rng(7)
    for _ in range(100):
        image = _random_image(rng)
        height, width = image.shape
        pixels = np.flatnonzero(image)
        # split every value into two entries at the same pixel, in shuffled order
        halves = (image.ravel()[pixels] / 2).astype(np.float32)
        entry_pixels = np.concatenate([pixels, pixels])
        entry_values = np.concatenate([halves, image.ravel()[pixels] - halves])
        order = rng.permutation(len(entry_pixels))
        dense = np.zeros(height * width, dtype=np.float32)
        np.add.at(dense, entry_pixels[order], entry_values[order])  # float32, in entry order
        expected = measure_of_chaos(dense.reshape(height, width))
        assert chaos_of_entries(entry_pixels[order], entry_values[order], width, height, 30) == expected


def test_small_object_in_a_large_frame_is_unchanged_by_row_and_column_dropping():
    rng = np.random.default_rng(3)
    patch = (rng.random((7, 9)) * (rng.random((7, 9)) < 0.7)).astype(np.float32)
    for top, left in [(0, 0), (1, 150), (120, 2), (140, 3), (60, 191)]:
        frame = np.zeros((147, 200), dtype=np.float32)
        frame[top : top + 7, left : left + 9] = patch[: 147 - top, : 200 - left]
        frame[top, min(left + 40, 199)] = 0.5  # a second object in the same rows
        assert measure_of_chaos(frame) == _oracle(frame, 30)


def _empty(pixels, width, height):
    stamp = np.full(width * height, -1, dtype=np.int64)
    return opening_is_empty(np.asarray(pixels, dtype=np.int64), width, height, stamp, 0)


def test_opening_of_scattered_pixels_is_empty():
    # 5×5 grid, pixels (0,0), (2,2), (4,4): pixel (1,1)'s square reaches (0,2), which no cross covers
    assert _empty([0, 12, 24], 5, 5)
    assert chaos_of_entries(np.array([0, 12, 24]), np.ones(3, dtype=np.float32), 5, 5, 30) == 0


def test_opening_of_a_solid_block_or_a_filled_corner_is_not_empty():
    block = [r * 7 + c for r in range(2, 5) for c in range(2, 5)]  # 3×3 block in a 7×7 grid
    assert not _empty(block, 7, 7)
    # a 2×2 block in the corner of a 2×2 grid: outside the grid counts as on
    assert not _empty([0, 1, 2, 3], 2, 2)
    # a cross in a 5×5 grid: its centre's square is covered by the dilated cross
    assert not _empty([7, 11, 12, 13, 17], 5, 5)


def _opening_oracle(pixels, width, height):
    """Empty opening from scipy's morphology: dilate by the cross (outside off), erode by the
    3×3 square (outside on)."""
    image = np.zeros(height * width, dtype=bool)
    image[pixels] = True
    dilated = ndimage.binary_dilation(image.reshape(height, width), ndimage.generate_binary_structure(2, 1))
    eroded = ndimage.binary_erosion(dilated, np.ones((3, 3), dtype=bool), border_value=1)
    return not eroded.any()


def test_opening_test_agrees_with_scipy_morphology():
    rng = np.random.default_rng(11)
    outcomes = set()
    stamp = np.full(40 * 40, -1, dtype=np.int32)
    for mark in range(400):
        width, height = rng.integers(1, 40, 2)
        density = rng.choice([0.02, 0.1, 0.3, 0.6])
        pixels = np.flatnonzero(rng.random(width * height) < density)
        pixels = np.concatenate([pixels, pixels[: len(pixels) // 3]])  # duplicate entries
        expected = _opening_oracle(pixels, width, height)
        assert opening_is_empty(pixels.astype(np.int64), width, height, stamp, mark) == expected
        outcomes.add(expected)
    assert outcomes == {True, False}


def test_an_empty_opening_always_means_zero_chaos():
    rng = np.random.default_rng(5)
    seen_empty = seen_full = 0
    for _ in range(300):
        width, height = rng.integers(1, 12, 2)
        n = rng.integers(1, width * height // 2 + 2)
        pixels = rng.choice(width * height, size=n, replace=False)
        intensities = rng.uniform(0.1, 10, n).astype(np.float32)
        if _empty(pixels, width, height):
            seen_empty += 1
            assert chaos_of_entries(pixels, intensities, width, height, 30) == 0
        else:
            seen_full += 1
    assert seen_empty > 30 and seen_full > 30


def test_sparse_chaos_with_shared_scratch_equals_cpyimagingmspec():
    # one scratch for many images on one grid, as the scoring kernel uses it: each result equals
    # cpyImagingMSpec's value and the scratch is left as it was found
    width, height = 37, 23
    scratch = chaos_scratch(width * height)
    value, level, dilated, node = scratch
    rng = np.random.default_rng(17)
    for _ in range(200):
        n = int(rng.integers(0, 3 * width * height // 2))
        pixels = rng.integers(0, width * height, n)
        values = rng.choice([0.5, 1.0, 2.0, 3.7], n).astype(np.float32)  # ties between pixels
        dense = np.zeros(width * height, dtype=np.float32)
        np.add.at(dense, pixels, values)
        got = chaos_of_sparse(pixels, values, width, height, 30, scratch)
        assert got == _oracle(dense.reshape(height, width), 30)
    assert not value.any() and not level.any() and not dilated.any()
    assert (node == -1).all()
