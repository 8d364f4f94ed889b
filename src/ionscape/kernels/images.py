"""Ion images from an m/z-sorted peak list (ALGORITHM.md §5).

An ion image is a contiguous slice of the sorted peak list: every peak within ±ppm of a
centroid. The slice's entries (pixel index, float32 intensity) are the sparse image; entries are
never deduplicated, and densifying sums duplicates in entry order in float32.
"""

from __future__ import annotations

import numba
import numpy as np


def centroid_windows(
    peaks_mz: np.ndarray, centroid_mz: np.ndarray, ppm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Peak-list range [lo, hi) of every centroid's ±ppm window.

    Parameters
    ----------
    peaks_mz : (m,) float32 or float64 array, Da
        Peak m/z values sorted ascending. Compared in float64.
    centroid_mz : (n, k) float64 array, Da
        Centroid m/z values; entries ≤ 0 are padding.
    ppm : float
        Window half-width m·ppm·1e-6; both ends are inclusive.

    Returns
    -------
    lo, hi : (n, k) int64 arrays
        ``peaks_mz[lo:hi]`` are the peaks with m − hw ≤ mz ≤ m + hw; lo = hi for padding.
    """
    peaks_mz = np.asarray(peaks_mz)
    centroid_mz = np.asarray(centroid_mz, dtype=np.float64)
    if peaks_mz.ndim != 1 or peaks_mz.dtype not in (np.float32, np.float64):
        raise ValueError("peaks_mz must be a 1-D float32 or float64 array")
    half_width = centroid_mz * ppm * 1e-6
    lo = _search(peaks_mz, (centroid_mz - half_width).ravel(), False).reshape(centroid_mz.shape)
    hi = _search(peaks_mz, (centroid_mz + half_width).ravel(), True).reshape(centroid_mz.shape)
    hi[centroid_mz <= 0] = lo[centroid_mz <= 0]
    return lo, hi


@numba.njit(cache=True, nogil=True)
def _search(sorted_values: np.ndarray, targets: np.ndarray, right: bool) -> np.ndarray:
    """np.searchsorted(sorted_values, targets, side) comparing in float64, without a float64 copy."""
    out = np.empty(targets.shape[0], dtype=np.int64)
    for t in range(targets.shape[0]):
        target = targets[t]
        lo, hi = 0, sorted_values.shape[0]
        while lo < hi:
            mid = (lo + hi) >> 1
            value = np.float64(sorted_values[mid])
            if value < target or (right and value == target):
                lo = mid + 1
            else:
                hi = mid
        out[t] = lo
    return out


def dense_image(pixels: np.ndarray, intensities: np.ndarray, width: int, height: int) -> np.ndarray:
    """Densify a sparse ion image, summing duplicate entries.

    Parameters
    ----------
    pixels : (e,) int array
        Pixel index p = y·width + x of every entry.
    intensities : (e,) float32 array
        Entry intensities; duplicates are summed in float32, in entry order.
    width, height : int
        Image size.

    Returns
    -------
    (height, width) float32 array
    """
    pixels, intensities = _check_entries(pixels, intensities, width * height)
    image = np.zeros(width * height, dtype=np.float32)
    _accumulate(image, pixels, intensities)
    return image.reshape(height, width)


def masked_flat(
    pixels: np.ndarray, intensities: np.ndarray, flat_index_of_pixel: np.ndarray, n_sampled: int
) -> np.ndarray:
    """Densify a sparse ion image over the sampled pixels only ("masked-flat" order).

    Parameters
    ----------
    pixels : (e,) int array
        Pixel index p of every entry.
    intensities : (e,) float32 array
        Entry intensities; duplicates are summed in float32, in entry order.
    flat_index_of_pixel : (h·w,) int array
        Position of pixel p among the sampled pixels, -1 where p has no spectrum (such entries
        are dropped).
    n_sampled : int
        Number of sampled pixels N_px.

    Returns
    -------
    (n_sampled,) float32 array
    """
    pixels, intensities = _check_entries(pixels, intensities, flat_index_of_pixel.shape[0])
    flat = np.asarray(flat_index_of_pixel)[pixels]
    sampled = flat >= 0
    image = np.zeros(n_sampled, dtype=np.float32)
    _accumulate(image, flat[sampled], intensities[sampled])
    return image


def _check_entries(
    pixels: np.ndarray, intensities: np.ndarray, n_pixels: int
) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(pixels)
    intensities = np.asarray(intensities, dtype=np.float32)
    if pixels.shape != intensities.shape or pixels.ndim != 1:
        raise ValueError("pixels and intensities must be 1-D arrays of equal length")
    if pixels.dtype.kind not in "iu":
        raise ValueError(f"pixel indices must be integers, got {pixels.dtype}")
    if len(pixels) and (pixels.min() < 0 or pixels.max() >= n_pixels):
        raise ValueError(f"pixel indices must lie in [0, {n_pixels})")
    return pixels, intensities


@numba.njit(cache=True, nogil=True)
def _accumulate(image: np.ndarray, positions: np.ndarray, values: np.ndarray) -> None:
    for e in range(positions.shape[0]):
        image[positions[e]] += values[e]
