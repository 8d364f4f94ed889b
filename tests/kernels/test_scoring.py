"""score_ions on a hand-built 3×2 dataset whose images and metrics are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ionscape.kernels.scoring import ImageGeometry, score_ions

# 3 columns × 2 rows; pixel 5 (x=2, y=1) has no spectrum
GEOMETRY = ImageGeometry(width=3, height=2, sampled_pixels=np.array([0, 1, 2, 3, 4]))

# (m/z, intensity, pixel)
PEAKS = [
    (99.9999, 4.0, 0),  # ion A slot 0 ...
    (100.0001, 2.0, 1),
    (100.0, 1.0, 1),  # ... a second entry at pixel 1
    (100.0002, 5.0, 3),
    (100.0004, 9.0, 4),  # 4 ppm away: outside every window
    (101.0, 2.0, 0),  # ion A slot 1
    (101.00005, 1.0, 1),
    (100.99995, 2.5, 3),
    (102.0, 3.0, 2),  # ion F slot 1: only where slot 0 is empty
    (102.0, 1.0, 4),
    (201.0, 7.0, 0),  # ion B slot 1
]
IONS = {  # name: (centroid m/z, θ, target, targeted)
    "A": ([100.0, 101.0, 0, 0], [100, 50, 0, 0], True, False),
    "F": ([100.0, 102.0, 0, 0], [100, 50, 0, 0], False, False),
    "B": ([200.0, 201.0, 0, 0], [100, 30, 0, 0], False, False),
    "C": ([101.0, 150.0, 0, 0], [100, 30, 0, 0], False, False),
    "D": ([300.0, 301.0, 0, 0], [100, 30, 0, 0], True, False),
    "E": ([300.0, 301.0, 0, 0], [100, 30, 0, 0], False, True),
}
ROW = {name: i for i, name in enumerate(IONS)}

F0 = np.array([4, 3, 0, 5, 0], dtype=np.float64)  # masked-flat slot-0 image of ions A and F
F1_A = np.array([2, 1, 0, 2.5, 0], dtype=np.float64)
# dense slot 0 [[4, 3, 0], [5, 0, 0]]: levels L = [[24, 18, 0], [30, 0, 0]], after dilation
# [[30, 24, 18], [30, 30, 0]], after erosion [[24, 0, 0], [24, 0, 0]]: one object for the 24
# levels i < 24, none above; 3 positive pixels
CHAOS_A = 1 - (24 / 30) / 3


def _peak_list() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mz, ints, pixels = (np.array(column) for column in zip(*PEAKS, strict=True))
    order = np.argsort(mz, kind="stable")
    return mz[order], ints[order].astype(np.float32), pixels[order]


def _score(**options):
    mz, ints, pixels = _peak_list()
    centroid_mz = np.array([ion[0] for ion in IONS.values()], dtype=np.float64)
    centroid_int = np.array([ion[1] for ion in IONS.values()], dtype=np.float32)
    is_target = np.array([ion[2] for ion in IONS.values()])
    is_targeted = np.array([ion[3] for ion in IONS.values()])
    return score_ions(
        mz, ints, pixels, centroid_mz, centroid_int, is_target, is_targeted, GEOMETRY, ppm=3.0, **options
    )


def _spectral(sums: list[float], theo: list[float]) -> float:
    s_norm, t_norm = math.hypot(*sums), math.hypot(*theo)
    return 1 - sum(abs(t / t_norm - s / s_norm) for s, t in zip(sums, theo, strict=True)) / len(theo)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    da, db = a - a.mean(), b - b.mean()
    return float((da * db).sum() / math.sqrt((da * da).sum() * (db * db).sum()))


def _weighted_mz(mzs: list[float], weights: list[float]) -> tuple[float, float]:
    m = np.array(mzs, dtype=np.float32).astype(np.longdouble)
    w = np.array(weights, dtype=np.longdouble)
    mean = (m * w).sum() / w.sum()
    return float(mean), float(np.sqrt((w * (m - mean) ** 2).sum() / w.sum()))


def test_complete_target_gets_all_metrics():
    scores = _score()
    a = ROW["A"]
    spectral = _spectral([12, 5.5, 0, 0], [100, 50, 0, 0])
    spatial = _pearson(F0, F1_A)
    assert scores.spectral[a] == pytest.approx(spectral, abs=1e-7)
    assert scores.spatial[a] == pytest.approx(spatial, abs=1e-12)
    assert scores.chaos[a] == pytest.approx(CHAOS_A, abs=1e-15)
    assert scores.msm[a] == pytest.approx(spectral * spatial * CHAOS_A, abs=1e-7)
    assert scores.kept[a]


def test_windows_and_intensity_statistics():
    scores = _score()
    a = ROW["A"]
    mz, _, _ = _peak_list()
    np.testing.assert_array_equal(mz[scores.lo[a, 0] : scores.hi[a, 0]], [99.9999, 100.0, 100.0001, 100.0002])
    np.testing.assert_array_equal(mz[scores.lo[a, 1] : scores.hi[a, 1]], [100.99995, 101.0, 101.00005])
    assert scores.lo[a, 2] == scores.hi[a, 2] and scores.lo[a, 3] == scores.hi[a, 3]
    np.testing.assert_array_equal(scores.total_iso_ints[a], [12, 5.5, 0, 0])
    np.testing.assert_array_equal(scores.max_iso_ints[a], [5, 2.5, 0, 0])
    np.testing.assert_array_equal(scores.min_iso_ints[a], [0, 0, 0, 0])
    assert scores.total_iso_ints.dtype == scores.max_iso_ints.dtype == np.float32


def test_mz_statistics_and_errors():
    scores = _score()
    a = ROW["A"]
    mean0, std0 = _weighted_mz([99.9999, 100.0001, 100.0, 100.0002], [4, 2, 1, 5])
    mean1, std1 = _weighted_mz([101.0, 101.00005, 100.99995], [2, 1, 2.5])
    np.testing.assert_allclose(scores.mz_mean[a], [mean0, mean1, 0, 0], rtol=1e-15)
    np.testing.assert_allclose(scores.mz_stddev[a], [std0, std1, 0, 0], rtol=1e-9)
    assert scores.mz_err_abs[a] == pytest.approx(mean0 - 100.0, abs=1e-13)
    assert scores.mz_err_rel[a] == pytest.approx((mean1 - 101.0) - (mean0 - 100.0), abs=1e-13)
    # slots without an image report the theoretical m/z: errors of an ion without signal are 0
    d = ROW["D"]
    np.testing.assert_array_equal(scores.mz_mean[d], [300.0, 301.0, 0, 0])
    assert scores.mz_err_abs[d] == 0 and scores.mz_err_rel[d] == 0


def test_decoy_with_anticorrelated_isotope_stops_after_spatial():
    scores = _score()
    f = ROW["F"]
    assert scores.spectral[f] == pytest.approx(_spectral([12, 0, 0, 0], [100, 50, 0, 0]), abs=1e-7)
    assert scores.spatial[f] == 0.0
    assert np.isnan(scores.chaos[f])
    assert scores.msm[f] == 0 and not scores.kept[f]


def test_incomplete_decoys_are_rejected_early():
    scores = _score()
    for name in ("B", "C"):  # B: principal image empty; C: only the principal image
        i = ROW[name]
        assert np.isnan([scores.spectral[i], scores.spatial[i], scores.chaos[i]]).all()
        assert scores.msm[i] == 0 and not scores.kept[i]
    np.testing.assert_array_equal(scores.total_iso_ints[ROW["B"]], [0, 7, 0, 0])
    np.testing.assert_array_equal(scores.total_iso_ints[ROW["C"]], [5.5, 0, 0, 0])


def test_targets_and_targeted_ions_without_signal_get_zero_metrics():
    scores = _score()
    for name, kept in (("D", False), ("E", True)):
        i = ROW[name]
        assert (scores.spectral[i], scores.spatial[i], scores.chaos[i], scores.msm[i]) == (0, 0, 0, 0)
        assert scores.kept[i] == kept  # a targeted database keeps zero-MSM rows, a plain target does not


def test_compute_unused_metrics_computes_and_keeps_everything():
    scores = _score(compute_unused_metrics=True)
    assert not np.isnan(scores.chaos).any() and not np.isnan(scores.spatial).any()
    assert scores.chaos[ROW["F"]] == pytest.approx(CHAOS_A, abs=1e-15)  # same principal image as A
    assert scores.kept.all()


def test_only_kept_rows_gives_the_same_kept_rows_with_less_work():
    full, lean = _score(), _score(only_kept_rows=True)
    np.testing.assert_array_equal(lean.kept, full.kept)
    for name in ("chaos", "spatial", "spectral", "msm", "total_iso_ints", "mz_mean", "mz_stddev", "lo", "hi"):
        np.testing.assert_array_equal(getattr(lean, name)[lean.kept], getattr(full, name)[full.kept])
    d = ROW["D"]  # a target without signal: no longer scored, and still not kept
    assert np.isnan([lean.spectral[d], lean.spatial[d], lean.chaos[d]]).all() and lean.msm[d] == 0
    assert (lean.spectral[ROW["E"]], lean.msm[ROW["E"]]) == (0, 0)  # targeted: still scored


def test_min_px_counts_entries_not_pixels():
    scores = _score(min_px=4)
    a, f = ROW["A"], ROW["F"]
    # slot 0: 4 entries on 3 pixels -> kept; slot 1: 3 entries -> dropped
    assert scores.hi[a, 0] - scores.lo[a, 0] == 4
    assert scores.hi[a, 1] == scores.lo[a, 1]
    assert scores.total_iso_ints[a, 1] == 0 and scores.mz_mean[a, 1] == 101.0
    assert scores.spectral[a] == pytest.approx(_spectral([12, 0, 0, 0], [100, 50, 0, 0]), abs=1e-7)
    assert scores.spatial[a] == 0 and scores.chaos[a] == pytest.approx(CHAOS_A, abs=1e-15)
    assert np.isnan(scores.spectral[f])  # the decoy lost its isotope image: incomplete


def test_windows_use_float32_centroids_and_errors_float64_ones():
    m32 = np.float32(300.0)
    m64 = 300.0 + 1.2e-5  # rounds to 300.0 in float32
    assert np.float32(m64) == m32
    lower32 = 300.0 - 300.0 * 3.0 * 1e-6
    assert lower32 < m64 - m64 * 3.0 * 1e-6  # a float64 window would miss the peak
    scores = score_ions(
        np.array([lower32]),
        np.array([2.0], dtype=np.float32),
        np.array([0]),
        np.array([[m64, 0.0]]),
        np.array([[100, 0]], dtype=np.float32),
        np.array([True]),
        np.array([False]),
        GEOMETRY,
        ppm=3.0,
    )
    assert scores.hi[0, 0] - scores.lo[0, 0] == 1
    assert scores.mz_err_abs[0] == pytest.approx(float(np.float32(lower32)) - m64, abs=1e-12)


def test_geometry_lookup_and_validation():
    np.testing.assert_array_equal(GEOMETRY.flat_index, [0, 1, 2, 3, 4, -1])
    assert GEOMETRY.n_sampled == 5
    with pytest.raises(ValueError):
        ImageGeometry(3, 2, np.array([1, 0]))
    with pytest.raises(ValueError):
        ImageGeometry(3, 2, np.array([0, 6]))


def test_invalid_inputs_are_rejected():
    mz, ints, pixels = _peak_list()
    one_ion = (np.array([[100.0, 101.0]]), np.array([[100, 50]], dtype=np.float32), [True], [False])
    with pytest.raises(ValueError):
        score_ions(mz, ints[:-1], pixels, *one_ion, GEOMETRY, ppm=3.0)
    with pytest.raises(ValueError):
        score_ions(mz, ints, pixels + 6, *one_ion, GEOMETRY, ppm=3.0)
    with pytest.raises(ValueError):
        score_ions(mz, ints, pixels, *one_ion, GEOMETRY, ppm=3.0, n_levels=0)


@pytest.mark.parametrize("spread", [1, 5000], ids=["bit-scan", "sort"])
def test_ion_images_columns_are_in_masked_flat_order(spread):
    # entries of two slots, at pixels given out of order and with a repeat; the pixel after the
    # first is missing from the sampled pixels. Spread out, the columns are too sparse for a
    # scan of their bits and come from a sort; close together, from the scan.
    from ionscape.kernels.scoring import _ion_images

    n_sampled = 4 + 4 * spread
    flat_index = np.arange(n_sampled + 1, dtype=np.int32)
    flat_index[1] = -1
    pixels = np.array([3, 0, 3, 1, 2, 0], dtype=np.int64) * spread
    pixels[pixels == spread] = 1  # the unsampled pixel
    ints = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], dtype=np.float32)
    lo, hi = np.array([0, 3]), np.array([3, 6])
    seen = np.zeros((n_sampled + 63) // 64, dtype=np.uint64)
    columns = np.empty(6, dtype=np.int64)
    images = _ion_images(
        ints,
        pixels,
        flat_index,
        lo,
        hi,
        seen,
        np.empty(n_sampled, dtype=np.int64),
        columns,
        np.empty((2, 6), dtype=np.float32),
    )
    assert columns[:3].tolist() == [0, 2 * spread, 3 * spread]
    assert images.tolist() == [[2.0, 0.0, 5.0], [32.0, 16.0, 0.0]]
    assert not seen.any()
