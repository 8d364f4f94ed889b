"""Isotope-image metrics: spectral similarity, spatial correlation, intensity and m/z statistics.

ALGORITHM.md §6.2, §6.3 and §6.6. The compiled kernels take the images of one ion as a
(k, U) float32 matrix: one row per isotope slot, one column per pixel where any slot has
signal. The remaining n_px − U sampled pixels are implicit zeros, which keeps the work
proportional to the signal, not to the image size. The public functions take dense masked-flat
images (U = n_px).
"""

from __future__ import annotations

import math

import numba
import numpy as np


def spectral_similarity(flat_images: np.ndarray, theo_ints: np.ndarray) -> float:
    """Isotope-pattern match of the image intensities with the theoretical pattern (§6.2).

    Parameters
    ----------
    flat_images : (k, n_px) float32 array
        Masked-flat images of all isotope slots, zeros for slots without an image.
    theo_ints : (k,) float32 array
        Theoretical intensities (0 for padding slots).

    Returns
    -------
    float
        1 − mean_k |θ_k/‖θ‖ − s_k/‖s‖| with s_k the intensity of slot k summed over the pixels
        where slot 0 is positive; 0 when undefined or exactly 1. Evaluated in float32.
    """
    flat_images, theo_ints = _check_images(flat_images, theo_ints)
    return float(spectral_of_slots(flat_images, theo_ints))


def spatial_correlation(flat_images: np.ndarray, theo_ints: np.ndarray) -> float:
    """θ-weighted mean Pearson correlation of slots 1.. with slot 0, clipped to [0, 1] (§6.3).

    Parameters
    ----------
    flat_images : (k, n_px) float32 array
        Masked-flat images of all isotope slots over all sampled pixels.
    theo_ints : (k,) float32 array
        Theoretical intensities; θ_1.. are the weights.

    Returns
    -------
    float
        0 with fewer than 2 slots, fewer than 2 positive pixels in slot 0 or zero weights.
        Correlations are computed in float64; an undefined one counts as 0.
    """
    flat_images, theo_ints = _check_images(flat_images, theo_ints)
    return float(spatial_of_slots(flat_images, theo_ints, flat_images.shape[1]))


def _check_images(flat_images: np.ndarray, theo_ints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat_images = np.ascontiguousarray(flat_images, dtype=np.float32)
    theo_ints = np.ascontiguousarray(theo_ints, dtype=np.float32)
    if flat_images.ndim != 2 or theo_ints.shape != flat_images.shape[:1]:
        raise ValueError(
            f"need (k, n_px) images and (k,) intensities, got {flat_images.shape} and {theo_ints.shape}"
        )
    return flat_images, theo_ints


@numba.njit(cache=True, nogil=True)
def spectral_of_slots(values: np.ndarray, theo_ints: np.ndarray) -> float:
    """Spectral similarity of a (k, U) float32 slot matrix; see :func:`spectral_similarity`.

    The columns must be in masked-flat pixel order. The arithmetic is float32 in the order
    NumPy uses: pairwise sums over the pixels where slot 0 is positive, norms as float32 dot
    products accumulated in float64 (OpenBLAS ``sdot``).
    """
    n_slots, n_cols = values.shape
    n_masked = 0
    for u in range(n_cols):
        if values[0, u] > 0:
            n_masked += 1
    masked = np.empty(n_masked, dtype=np.float32)
    image_ints = np.empty(n_slots, dtype=np.float32)
    for k in range(n_slots):
        j = 0
        for u in range(n_cols):
            if values[0, u] > 0:
                masked[j] = values[k, u]
                j += 1
        image_ints[k] = pairwise_sum32(masked)
    image_norm = _norm32(image_ints)
    theo_norm = _norm32(theo_ints)
    if image_norm == 0 or theo_norm == 0:
        return 0.0
    differences = np.empty(n_slots, dtype=np.float32)
    for k in range(n_slots):
        differences[k] = abs(theo_ints[k] / theo_norm - image_ints[k] / image_norm)
    similarity = np.float32(1) - pairwise_sum32(differences) / np.float32(n_slots)
    if similarity == 1:
        return 0.0
    return np.float64(similarity)


@numba.njit(cache=True, nogil=True)
def _norm32(x: np.ndarray) -> np.float32:
    """Euclidean norm of a float32 vector: float32 squares summed in float64, float32 sqrt."""
    total = 0.0
    for v in x:
        total += v * v
    return np.float32(math.sqrt(np.float32(total)))


@numba.njit(cache=True, nogil=True)
def pairwise_sum32(x: np.ndarray) -> np.float32:
    """Sum of a float32 vector rounded exactly as ``np.sum`` rounds it (pairwise summation).

    Below 8 values: sequential. Up to 128: eight interleaved partial sums, combined as a
    balanced tree, then the tail. Above: the two halves (split at a multiple of 8) summed
    separately.
    """
    n = x.shape[0]
    if n < 8:
        total = np.float32(0)
        for i in range(n):
            total += x[i]
        return total
    if n <= 128:
        partial = x[:8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                partial[j] += x[i + j]
            i += 8
        total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + (
            (partial[4] + partial[5]) + (partial[6] + partial[7])
        )
        for j in range(i, n):
            total += x[j]
        return total
    half = n // 2
    half -= half % 8
    return pairwise_sum32(x[:half]) + pairwise_sum32(x[half:])


@numba.njit(cache=True, nogil=True)
def spatial_of_slots(values: np.ndarray, theo_ints: np.ndarray, n_pixels: int) -> float:
    """Spatial correlation of a (k, U) float32 slot matrix over n_pixels ≥ U sampled pixels.

    The n_pixels − U pixels missing from the matrix are zeros in every slot. Means, variances
    and covariances are exact two-pass float64 sums over all n_pixels.
    """
    n_slots, n_cols = values.shape
    if n_slots < 2:
        return 0.0
    n_positive = 0
    for u in range(n_cols):
        if values[0, u] > 0:
            n_positive += 1
    weight_sum = 0.0
    for k in range(1, n_slots):
        weight_sum += theo_ints[k]
    if n_positive < 2 or weight_sum == 0:
        return 0.0
    n_zeros = n_pixels - n_cols
    means = np.zeros(n_slots, dtype=np.float64)
    for k in range(n_slots):
        for u in range(n_cols):
            means[k] += values[k, u]
        means[k] /= n_pixels
    var0 = n_zeros * means[0] * means[0]
    for u in range(n_cols):
        d0 = values[0, u] - means[0]
        var0 += d0 * d0
    weighted = 0.0
    for k in range(1, n_slots):
        var_k = n_zeros * means[k] * means[k]
        cov = n_zeros * means[0] * means[k]
        for u in range(n_cols):
            d_k = values[k, u] - means[k]
            var_k += d_k * d_k
            cov += (values[0, u] - means[0]) * d_k
        if var0 > 0 and var_k > 0:
            scale = n_pixels - 1
            r = cov / scale / math.sqrt(var0 / scale) / math.sqrt(var_k / scale)
            weighted += np.float64(theo_ints[k]) * min(max(r, -1.0), 1.0)
    return min(max(weighted / weight_sum, 0.0), 1.0)


@numba.njit(cache=True, nogil=True)
def intensity_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-slot total, minimum and maximum intensity of a (k, U) float32 slot matrix (§6.6).

    The minimum and maximum include the implicit zero pixels (a minimum is never above 0);
    totals are accumulated in float64. All three are float32 and finite.
    """
    n_slots, n_cols = values.shape
    totals = np.zeros(n_slots, dtype=np.float32)
    minima = np.zeros(n_slots, dtype=np.float32)
    maxima = np.zeros(n_slots, dtype=np.float32)
    for k in range(n_slots):
        total = 0.0
        for u in range(n_cols):
            v = values[k, u]
            total += v
            minima[k] = min(minima[k], v)
            maxima[k] = max(maxima[k], v)
        totals[k] = total
    return np.nan_to_num(totals), np.nan_to_num(minima), np.nan_to_num(maxima)


@numba.njit(cache=True, nogil=True)
def weighted_mz_stats(mzs: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted mean and population standard deviation of m/z values (§6.6).

    Parameters
    ----------
    mzs : (e,) float32 or float64 array, Da
        Matched peak m/z values; they are rounded to float32 first, as in an m/z image.
    weights : (e,) float32 array
        Peak intensities, positive, e ≥ 1.

    The products w·m of two float32 numbers are exact in float64 and are summed with
    Neumaier's compensated summation, so the mean is accurate to about one float64 rounding,
    like an extended-precision evaluation; the variance is a two-pass sum around that mean.
    """
    weighted_sum, weighted_err = 0.0, 0.0
    weight_sum, weight_err = 0.0, 0.0
    for e in range(mzs.shape[0]):
        w = np.float64(weights[e])
        weighted_sum, weighted_err = _neumaier_add(weighted_sum, weighted_err, w * np.float32(mzs[e]))
        weight_sum, weight_err = _neumaier_add(weight_sum, weight_err, w)
    mean = (weighted_sum + weighted_err) / (weight_sum + weight_err)
    spread = 0.0
    for e in range(mzs.shape[0]):
        deviation = np.float64(np.float32(mzs[e])) - mean
        spread += np.float64(weights[e]) * deviation * deviation
    return mean, math.sqrt(spread / (weight_sum + weight_err))


@numba.njit(cache=True, nogil=True, inline="always")
def _neumaier_add(total: float, error: float, x: float) -> tuple[float, float]:
    new_total = total + x
    if abs(total) >= abs(x):
        error += (total - new_total) + x
    else:
        error += (x - new_total) + total
    return new_total, error
