"""Per-segment scoring: ion images and all metrics of a batch of ions (ALGORITHM.md §5–6).

:func:`score_ions` takes one m/z-sorted peak list and the centroids of many ions, and returns
one row of metrics per ion. The work per ion is proportional to the number of peaks in its
windows (plus the image area near its principal-peak signal for chaos), so ions without signal
cost almost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from ionscape.kernels.bits import pop_set_bits
from ionscape.kernels.chaos import chaos_of_sparse, chaos_scratch, opening_is_empty
from ionscape.kernels.images import centroid_windows
from ionscape.kernels.metrics import intensity_stats, spatial_of_slots, spectral_of_slots, weighted_mz_stats


@dataclass
class ImageGeometry:
    """Image grid of a dataset (§1.1).

    Attributes
    ----------
    width, height : int
        Bounding box of the 0-based pixel coordinates.
    sampled_pixels : (N_px,) int64 array
        Sorted pixel indices p = y·width + x that have a spectrum ("masked-flat" order).
    flat_index : (width·height,) int32 array
        Position of every pixel in ``sampled_pixels``, -1 for pixels without a spectrum.
    """

    width: int
    height: int
    sampled_pixels: np.ndarray
    flat_index: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.sampled_pixels = np.asarray(self.sampled_pixels, dtype=np.int64)
        n_pixels = self.width * self.height
        sampled = self.sampled_pixels
        if sampled.ndim != 1 or (len(sampled) and (sampled[0] < 0 or sampled[-1] >= n_pixels)):
            raise ValueError(f"sampled_pixels must be a 1-D array of pixel indices in [0, {n_pixels})")
        if np.any(np.diff(sampled) <= 0):
            raise ValueError("sampled_pixels must be strictly increasing")
        self.flat_index = np.full(n_pixels, -1, dtype=np.int32)
        self.flat_index[sampled] = np.arange(len(sampled), dtype=np.int32)

    @property
    def n_sampled(self) -> int:
        """Number of pixels with a spectrum, N_px."""
        return len(self.sampled_pixels)


@dataclass
class IonScores:
    """Metrics of a batch of ions, one row per ion in input order; k = number of isotope slots.

    A metric skipped by early rejection is NaN; ``msm`` counts NaN as 0. ``lo``/``hi`` give
    each slot's image as the peak-list slice ``[lo, hi)`` (empty when the slot has fewer than
    min_px entries). ``kept`` marks the rows METASPACE stores (§6.7).
    """

    chaos: np.ndarray  # (n,) float64
    spatial: np.ndarray  # (n,) float64
    spectral: np.ndarray  # (n,) float64
    msm: np.ndarray  # (n,) float64
    total_iso_ints: np.ndarray  # (n, k) float32
    min_iso_ints: np.ndarray  # (n, k) float32
    max_iso_ints: np.ndarray  # (n, k) float32
    mz_mean: np.ndarray  # (n, k) float64, Da
    mz_stddev: np.ndarray  # (n, k) float64, Da
    mz_err_abs: np.ndarray  # (n,) float64, Da
    mz_err_rel: np.ndarray  # (n,) float64, Da
    lo: np.ndarray  # (n, k) int64
    hi: np.ndarray  # (n, k) int64
    kept: np.ndarray  # (n,) bool


def score_ions(
    peaks_mz: np.ndarray,
    peaks_int: np.ndarray,
    peaks_pixel: np.ndarray,
    centroid_mz: np.ndarray,
    centroid_int: np.ndarray,
    is_target: np.ndarray,
    is_targeted: np.ndarray,
    geometry: ImageGeometry,
    *,
    ppm: float,
    min_px: int = 1,
    n_levels: int = 30,
    compute_unused_metrics: bool = False,
    only_kept_rows: bool = False,
) -> IonScores:
    """Image every ion in a peak list and compute its metrics.

    Parameters
    ----------
    peaks_mz : (m,) float32 or float64 array, Da
        Peak m/z values, sorted ascending (stable, so equal m/z keep spectrum order).
    peaks_int : (m,) float32 array
        Peak intensities, all positive.
    peaks_pixel : (m,) int array
        Pixel index p = y·width + x of the spectrum of each peak.
    centroid_mz : (n, k) float64 array, Da
        Theoretical isotope peaks of each ion in m/z order; 0 for padding slots. Windows are
        centred on these values rounded to float32 (as in METASPACE); the m/z errors and the
        mz_mean of slots without an image use them unrounded.
    centroid_int : (n, k) float32 array
        Theoretical intensities on the 0–100 scale; 0 for padding slots.
    is_target, is_targeted : (n,) bool arrays
        Target ions and ions of targeted databases always get all metrics (§6.1).
    geometry : ImageGeometry
    ppm : float
        Window half-width m·ppm·1e-6.
    min_px : int
        Slots with fewer image entries than this have no image.
    n_levels : int
        Levels of the chaos metric.
    compute_unused_metrics : bool
        Compute every metric of every ion and keep every row.
    only_kept_rows : bool
        Skip the work whose results only rows that are not kept would hold: targets are then
        rejected early like decoys (§6.1), and ions that cannot score get no images or
        statistics. The kept rows are the same either way; rows not kept may hold NaN or 0.
    """
    peaks_mz = np.asarray(peaks_mz)
    peaks_int = np.asarray(peaks_int, dtype=np.float32)
    peaks_pixel = np.asarray(peaks_pixel)
    centroid_mz = np.asarray(centroid_mz, dtype=np.float64)
    centroid_int = np.ascontiguousarray(centroid_int, dtype=np.float32)
    is_targeted = np.asarray(is_targeted, dtype=bool)
    _check_inputs(
        peaks_mz, peaks_int, peaks_pixel, centroid_mz, centroid_int, is_target, is_targeted, geometry
    )
    if n_levels < 1:
        raise ValueError(f"n_levels must be positive, got {n_levels}")

    # METASPACE images with a float32 copy of the centroid m/z values but reports m/z errors
    # against the float64 ones (both reproduced bit for bit on tests/data/reference)
    lo, hi = centroid_windows(peaks_mz, centroid_mz.astype(np.float32).astype(np.float64), ppm)
    hi = np.where(hi - lo < max(min_px, 1), lo, hi)
    calc_all = is_targeted | compute_unused_metrics
    if not only_kept_rows:
        calc_all = calc_all | np.asarray(is_target, dtype=bool)
    chaos, spatial, spectral, total, minimum, maximum, mz_mean, mz_stddev = _score_all(
        peaks_mz,
        peaks_int,
        peaks_pixel,
        geometry.flat_index,
        geometry.width,
        geometry.height,
        geometry.n_sampled,
        lo,
        hi,
        centroid_mz,
        centroid_int,
        calc_all,
        n_levels,
        only_kept_rows,
    )
    msm = np.nan_to_num(chaos) * np.nan_to_num(spatial) * np.nan_to_num(spectral)
    mz_err_abs, mz_err_rel = _mz_errors(mz_mean, centroid_mz, centroid_int)
    return IonScores(
        chaos=chaos,
        spatial=spatial,
        spectral=spectral,
        msm=msm,
        total_iso_ints=total,
        min_iso_ints=minimum,
        max_iso_ints=maximum,
        mz_mean=mz_mean,
        mz_stddev=mz_stddev,
        mz_err_abs=mz_err_abs,
        mz_err_rel=mz_err_rel,
        lo=lo,
        hi=hi,
        kept=(msm > 0) | is_targeted | compute_unused_metrics,
    )


def _check_inputs(
    peaks_mz: np.ndarray,
    peaks_int: np.ndarray,
    peaks_pixel: np.ndarray,
    centroid_mz: np.ndarray,
    centroid_int: np.ndarray,
    is_target: np.ndarray,
    is_targeted: np.ndarray,
    geometry: ImageGeometry,
) -> None:
    if not (peaks_mz.ndim == 1 and peaks_mz.shape == peaks_int.shape == peaks_pixel.shape):
        raise ValueError("peaks_mz, peaks_int and peaks_pixel must be 1-D arrays of equal length")
    if peaks_pixel.dtype.kind not in "iu":
        raise ValueError(f"peaks_pixel must hold integers, got {peaks_pixel.dtype}")
    n_pixels = geometry.width * geometry.height
    if len(peaks_pixel) and (peaks_pixel.min() < 0 or peaks_pixel.max() >= n_pixels):
        raise ValueError(f"peaks_pixel must lie in [0, {n_pixels})")
    if centroid_mz.ndim != 2 or centroid_int.shape != centroid_mz.shape:
        raise ValueError("centroid_mz and centroid_int must be (n, k) arrays of equal shape")
    if not np.shape(is_target) == np.shape(is_targeted) == centroid_mz.shape[:1]:
        raise ValueError("is_target and is_targeted must have one entry per ion")


def _mz_errors(
    mz_mean: np.ndarray, centroid_mz: np.ndarray, centroid_int: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """mz_err_abs (principal peak) and the θ-weighted mz_err_rel of the other peaks (§6.6)."""
    err_abs = mz_mean[:, 0] - centroid_mz[:, 0]
    weights = centroid_int[:, 1:].astype(np.float64)
    shifts = (mz_mean[:, 1:] - centroid_mz[:, 1:]) - err_abs[:, None]
    weight_sums = weights.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        err_rel = np.where(weight_sums > 0, (weights * shifts).sum(axis=1) / weight_sums, 0.0)
    return err_abs, err_rel


@numba.njit(cache=True, nogil=True)
def _score_all(
    peaks_mz: np.ndarray,
    peaks_int: np.ndarray,
    peaks_pixel: np.ndarray,
    flat_index: np.ndarray,
    width: int,
    height: int,
    n_sampled: int,
    lo: np.ndarray,
    hi: np.ndarray,
    centroid_mz: np.ndarray,
    centroid_int: np.ndarray,
    calc_all: np.ndarray,
    n_levels: int,
    only_kept_rows: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_ions, n_slots = lo.shape
    chaos = np.full(n_ions, np.nan)
    spatial = np.full(n_ions, np.nan)
    spectral = np.full(n_ions, np.nan)
    total = np.zeros((n_ions, n_slots), dtype=np.float32)
    minimum = np.zeros((n_ions, n_slots), dtype=np.float32)
    maximum = np.zeros((n_ions, n_slots), dtype=np.float32)
    mz_mean = centroid_mz.copy()
    mz_stddev = np.zeros((n_ions, n_slots))

    max_entries = 0
    for i in range(n_ions):
        max_entries = max(max_entries, (hi[i] - lo[i]).sum())
    n_columns = min(max_entries, n_sampled)
    # scratch reused across ions (see _ion_images)
    seen = np.zeros((n_sampled + 63) // 64, dtype=np.uint64)
    column_of = np.empty(n_sampled, dtype=np.int64)
    columns = np.empty(n_columns, dtype=np.int64)
    values = np.empty((n_slots, n_columns), dtype=np.float32)
    grid_stamp = np.full(width * height, -1, dtype=np.int32)
    chaos_buffers = chaos_scratch(width * height)

    for i in range(n_ions):
        has_image = hi[i] > lo[i]
        complete = has_image[0] and has_image[1:].any()
        principal = slice(lo[i, 0], hi[i, 0])
        survives_opening = False  # known only once tested
        if only_kept_rows and not calc_all[i]:
            if not complete:
                continue
            # chaos is last in §6.1's order but the cheapest to rule out: a zero ends the row
            if opening_is_empty(peaks_pixel[principal], width, height, grid_stamp, i):
                chaos[i] = 0.0
                continue
            survives_opening = True
        for k in range(n_slots):
            if hi[i, k] > lo[i, k]:
                mz_mean[i, k], mz_stddev[i, k] = weighted_mz_stats(
                    peaks_mz[lo[i, k] : hi[i, k]], peaks_int[lo[i, k] : hi[i, k]]
                )
        images = _ion_images(
            peaks_int, peaks_pixel, flat_index, lo[i], hi[i], seen, column_of, columns, values
        )
        total[i], minimum[i], maximum[i] = intensity_stats(images)
        if not (complete or calc_all[i]):
            continue
        spectral[i] = spectral_of_slots(images, centroid_int[i])
        if not (spectral[i] > 0 or calc_all[i]):
            continue
        spatial[i] = spatial_of_slots(images, centroid_int[i], n_sampled)
        if not (spatial[i] > 0 or calc_all[i]):
            continue
        if not survives_opening and opening_is_empty(peaks_pixel[principal], width, height, grid_stamp, i):
            chaos[i] = 0.0
        else:
            chaos[i] = chaos_of_sparse(
                peaks_pixel[principal],
                peaks_int[principal],
                width,
                height,
                n_levels,
                chaos_buffers,
            )
    return chaos, spatial, spectral, total, minimum, maximum, mz_mean, mz_stddev


@numba.njit(cache=True, nogil=True)
def _ion_images(
    peaks_int: np.ndarray,
    peaks_pixel: np.ndarray,
    flat_index: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seen: np.ndarray,
    column_of: np.ndarray,
    columns: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """The images of one ion as a (k, U) float32 matrix over its U signal pixels.

    Columns are the sampled pixels where any slot has an entry, in masked-flat order; entries
    at one pixel are summed in entry order. ``seen`` (a bit per sampled pixel, all zero between
    calls), ``column_of``, ``columns`` and ``values`` are scratch buffers shared by all ions.
    The columns come in order from a scan of the bits they span, or from a sort when they are
    too sparse for the scan to pay.
    """
    n_cols = 0
    first_word, last_word = seen.shape[0], -1
    for k in range(lo.shape[0]):
        for e in range(lo[k], hi[k]):
            f = flat_index[peaks_pixel[e]]
            if f >= 0:
                word = f >> 6
                bit = np.uint64(1) << np.uint64(f & 63)
                if not seen[word] & bit:
                    seen[word] |= bit
                    columns[n_cols] = f
                    n_cols += 1
                    first_word = min(first_word, word)
                    last_word = max(last_word, word)
    if last_word - first_word < 8 * n_cols:
        n_cols = pop_set_bits(seen, first_word, last_word + 1, columns)
    else:
        for j in range(n_cols):
            seen[columns[j] >> 6] = 0
        columns[:n_cols].sort()
    for j in range(n_cols):
        column_of[columns[j]] = j
    images = values[:, :n_cols]
    images[:] = 0
    for k in range(lo.shape[0]):
        for e in range(lo[k], hi[k]):
            f = flat_index[peaks_pixel[e]]
            if f >= 0:
                images[k, column_of[f]] += peaks_int[e]
    return images
