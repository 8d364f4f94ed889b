"""Ion-image kernels: ppm windows and densification (ALGORITHM.md §5)."""

from __future__ import annotations

import numpy as np
import pytest

from ionscape.kernels.images import centroid_windows, dense_image, masked_flat


def _window(m: float, ppm: float) -> tuple[float, float]:
    half_width = m * ppm * 1e-6
    return m - half_width, m + half_width


def test_window_bounds_are_inclusive_on_both_sides():
    lower, upper = _window(200.0, 3.0)
    peaks = np.array(
        [
            np.nextafter(lower, -np.inf),
            lower,
            200.0,
            upper,
            np.nextafter(upper, np.inf),
        ]
    )
    lo, hi = centroid_windows(peaks, np.array([[200.0]]), 3.0)
    assert (lo[0, 0], hi[0, 0]) == (1, 4)


def test_windows_of_several_ions_and_padding():
    peaks = np.array([100.0, 100.0001, 150.0, 200.0, 200.0, 300.0])
    centroids = np.array([[100.0, 200.0, 0.0], [150.0, 250.0, 0.0]])
    lo, hi = centroid_windows(peaks, centroids, 3.0)
    assert lo.dtype == hi.dtype == np.int64
    np.testing.assert_array_equal(lo, [[0, 3, 0], [2, 5, 0]])
    np.testing.assert_array_equal(hi, [[2, 5, 0], [3, 5, 0]])


def test_float32_peaks_are_compared_in_float64():
    peak = np.float32(99.99)
    # a centroid whose lower bound lies just above the float32 peak, by less than a float32 ulp
    m = (np.float64(peak) + 1e-12) / (1 - 3e-6)
    lower, _ = _window(m, 3.0)
    assert np.float64(peak) < lower and np.float32(lower) == peak  # float32 comparison would match
    lo, hi = centroid_windows(np.array([peak], dtype=np.float32), np.array([[m]]), 3.0)
    assert hi[0, 0] - lo[0, 0] == 0
    lo, hi = centroid_windows(np.array([peak], dtype=np.float32), np.array([[m - 1e-9]]), 3.0)
    assert hi[0, 0] - lo[0, 0] == 1


def test_centroid_windows_rejects_integer_peaks():
    with pytest.raises(ValueError):
        centroid_windows(np.array([1, 2]), np.array([[1.0]]), 3.0)


def test_dense_image_places_pixel_index_y_times_width_plus_x():
    image = dense_image(np.array([0, 4, 5]), np.array([1, 2, 3], dtype=np.float32), width=3, height=2)
    assert image.dtype == np.float32
    np.testing.assert_array_equal(image, [[1, 0, 0], [0, 2, 3]])


def test_duplicates_are_summed_in_float32_in_entry_order():
    big = np.float32(2**24)  # 2**24 + 1 is not a float32: it rounds back to 2**24
    pixels = np.array([1, 1, 1])
    image = dense_image(pixels, np.array([big, 1, 1], dtype=np.float32), width=2, height=1)
    assert image[0, 1] == 2**24
    image = dense_image(pixels, np.array([1, 1, big], dtype=np.float32), width=2, height=1)
    assert image[0, 1] == 2**24 + 2


def test_masked_flat_keeps_sampled_pixels_in_pixel_order():
    # 3x2 image, pixel 2 has no spectrum: sampled pixels 0, 1, 3, 4, 5
    flat_index = np.array([0, 1, -1, 2, 3, 4])
    pixels = np.array([5, 0, 5, 3])
    intensities = np.array([1.0, 2.0, 0.5, 4.0], dtype=np.float32)
    flat = masked_flat(pixels, intensities, flat_index, 5)
    assert flat.dtype == np.float32
    np.testing.assert_array_equal(flat, [2, 0, 4, 0, 1.5])


def test_pixel_indices_out_of_range_are_rejected():
    with pytest.raises(ValueError):
        dense_image(np.array([6]), np.array([1.0], dtype=np.float32), width=3, height=2)
    with pytest.raises(ValueError):
        masked_flat(np.array([-1]), np.array([1.0], dtype=np.float32), np.arange(4), 4)
