"""Theoretical isotope centroids against the reference values of ALGORITHM.md §3.9 and first principles."""

from __future__ import annotations

import numpy as np
import pytest

from ionscape.chem.isotopes import BACKENDS, IsotopeSettings, compute_centroids
from ionscape.config import AnnotationConfig
from ionscape.errors import ConfigError

SIGMA = 0.000619
C13_SHIFT = 13.00335484 - 12.0

# (ion formula, charge, analysis_version, instrument, m/z, intensities or None): ALGORITHM.md §3.9
REFERENCE = [
    ("H3O", 1, 1, "TOF", [19.017822, 20.022090, 20.024114, 21.022082], [100, 0.0383, 0.0348, 0.2056]),
    ("H3O", 1, 3, "TOF", [19.017843, 20.022056, 20.024116, 21.022088], [100, 0.0381, 0.0345, 0.2055]),
    ("C6H13O6", 1, 1, "TOF", [181.070645, 182.074055, 183.074904, 183.077380], [100, 6.5764, 1.2338, 0.1819]),
    ("C6H13O6", 1, 3, "TOF", [181.070678, 182.074022, 183.074919, 183.077379], [100, 6.5631, 1.2333, 0.1803]),
    ("C6H13O6", 1, 3, "Orbitrap", [181.070677, 182.074035, 183.074927, 183.077384], None),
    ("C6H13O6", 1, 3, "FTICR", [181.070677, 182.074032, 183.074896, 183.077387], None),
    ("C6H11O6", -1, 1, "TOF", [179.056092, 180.059502, 181.060355, 181.062832], None),
    ("C6H11O6", -1, 3, "TOF", [179.056125, 180.059475, 181.060374, 181.062856], None),
    (
        "C42H83NO8PK", 1, 1, "TOF",
        [799.548769, 800.552157, 801.546887, 801.555480], [100, 45.5635, 7.2164, 10.1232],
    ),
    (
        "C42H83NO8PK", 1, 3, "TOF",
        [799.548848, 800.552115, 801.547044, 801.555222], [100, 46.2118, 7.4428, 11.4758],
    ),
    (
        "C42H83NO8PK", 1, 3, "Orbitrap",
        [799.548907, 800.552364, 801.553530, 802.552410], [100, 46.6751, 14.4159, 4.3240],
    ),
    (
        "C42H83NO8PK", 1, 3, "FTICR",
        [799.549025, 800.551928, 801.552519, 802.552981], [100, 46.9541, 18.0810, 5.3323],
    ),
]  # fmt: skip


def _centroids(formulas, backend, charge=1, av=1, instrument="TOF", n_peaks=4, sigma=SIGMA):
    settings = IsotopeSettings(charge, sigma, n_peaks, instrument, av)
    return compute_centroids(formulas, settings, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("formula", "charge", "av", "instrument", "mzs", "ints"), REFERENCE)
def test_reference_values(backend, formula, charge, av, instrument, mzs, ints):
    mz, intensity = _centroids([formula], backend, charge, av, instrument)
    assert mz.shape == (1, 4) and mz.dtype == np.float64
    assert intensity.shape == (1, 4) and intensity.dtype == np.float32
    # the reference values are rounded to 6 decimals (m/z) and 4 decimals (intensity)
    np.testing.assert_allclose(mz[0], mzs, rtol=0, atol=5e-7 + 1e-9)
    if ints is not None:
        np.testing.assert_allclose(intensity[0], ints, rtol=0, atol=5e-5 + 1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_rows_match_single_ions(backend):
    formulas = ["H3O", "C6H13O6", "C42H83NO8PK"]
    mz, intensity = _centroids(formulas, backend)
    for i, formula in enumerate(formulas):
        mz1, int1 = _centroids([formula], backend)
        np.testing.assert_array_equal(mz[i], mz1[0])
        np.testing.assert_array_equal(intensity[i], int1[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_isotope_ion_is_one_padded_peak(backend):
    # Na and P have one isotope each: a single line, so one centroid at its m/z (§3.5 K <= 1)
    mz, intensity = _centroids(["NaP"], backend, n_peaks=3)
    expected = 22.98976966 + 30.97376149 - 0.00054857990924
    np.testing.assert_allclose(mz[0], [expected, 0, 0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(intensity[0], [100, 0, 0])


# An isolated line is sampled every FWHM/25 = 0.094 sigma, so its centroid lies within half a step
# of the line (m/z) and its sampled height within exp(-0.047**2 / 2) of the line's (intensity).
GRID_MZ_TOL = 0.047 * SIGMA
GRID_INT_RTOL = 2.3e-3


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_well_separated_lines(backend):
    # H2 (positive): lines H2 and HD, 1.006 Da apart, intensity ratio 2 * p(D) / p(H)
    mz, intensity = _centroids(["H2"], backend, n_peaks=4)
    h, d, e = 1.007825032, 2.014101778, 0.00054857990924
    p_d = 0.000115 / (0.999885 + 0.000115)
    # AV1 widths scale with m/z: sigma at the HD line is 3.02 / 2.02 times the configured one
    np.testing.assert_allclose(mz[0, :2], [2 * h - e, h + d - e], rtol=0, atol=1.5 * GRID_MZ_TOL)
    np.testing.assert_allclose(intensity[0, :2], [100, 100 * 2 * p_d / (1 - p_d)], rtol=GRID_INT_RTOL)
    np.testing.assert_array_equal(mz[0, 2:], 0)
    np.testing.assert_array_equal(intensity[0, 2:], 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_charge_adds_an_electron_mass(backend):
    e = 0.00054857990924
    mz_pos, int_pos = _centroids(["Cl"], backend, charge=1)
    mz_neg, int_neg = _centroids(["Cl"], backend, charge=-1)
    np.testing.assert_allclose(
        mz_pos[0, :2], [34.96885271 - e, 36.9659026 - e], rtol=0, atol=1.1 * GRID_MZ_TOL
    )
    np.testing.assert_allclose(
        mz_neg[0, :2], [34.96885271 + e, 36.9659026 + e], rtol=0, atol=1.1 * GRID_MZ_TOL
    )
    np.testing.assert_allclose(int_neg[0, :2], [100, 100 * 0.2424 / 0.7576], rtol=GRID_INT_RTOL)
    # the electron mass moves both lines by the same tiny amount: same widths and sampling
    np.testing.assert_allclose(mz_neg - mz_pos, [[2 * e, 2 * e, 0, 0]], rtol=0, atol=1e-6)
    np.testing.assert_allclose(int_pos, int_neg, rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_and_n_peaks(backend):
    mz4, int4 = _centroids(["C6H13O6"], backend, n_peaks=4)
    mz2, int2 = _centroids(["C6H13O6"], backend, n_peaks=2)
    mz9, int9 = _centroids(["C6H13O6"], backend, n_peaks=9)
    assert mz2.shape == (1, 2) and mz9.shape == (1, 9)
    # the two most intense of the four, in m/z order
    np.testing.assert_array_equal(mz2[0], mz4[0, :2])
    np.testing.assert_array_equal(int2[0], int4[0, :2])
    n_real = int(np.count_nonzero(int9[0]))
    assert 4 <= n_real < 9
    assert np.all(np.diff(mz9[0, :n_real]) > 0)
    np.testing.assert_array_equal(mz9[0, n_real:], 0)
    np.testing.assert_array_equal(int9[0, n_real:], 0)
    assert np.all(int9[0, :n_real] >= 100 * 1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "formula",
    ["", "C4-H", "Xx2", "C30000", "c6", "C6H12O6+H", "Cx6", "Cx6Hx2", "H0", "Sn4K", "4Sn"],
)
def test_ions_without_centroids_get_zero_rows(backend, formula):
    mz, intensity = _centroids(["C6H13O6", formula, "H3O"], backend)
    np.testing.assert_array_equal(mz[1], 0)
    np.testing.assert_array_equal(intensity[1], 0)
    assert mz[0, 0] == pytest.approx(181.070645, abs=1e-6)
    assert mz[2, 0] == pytest.approx(19.017822, abs=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_av1_fft_limit_but_not_later_versions(backend):
    # 3 Sn atoms still fit AV1's FFT, 4 do not (ALGORITHM.md §3.2); AV >= 2 has no such limit
    _, ints3 = _centroids(["Sn3K"], backend)
    _, ints4 = _centroids(["Sn4K"], backend)
    _, ints4_v3 = _centroids(["Sn4K"], backend, av=3)
    assert ints3[0, 0] > 0 and ints4_v3.max() == 100
    np.testing.assert_array_equal(ints4, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_labelled_formula_is_shifted_by_the_label_mass(backend):
    mz, intensity = _centroids(["H13O6Cx6", "H13O6", "C2H13O6Cx4", "C2H13O6"], backend)
    np.testing.assert_allclose(mz[0], mz[1] + 6 * 13.00335484, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(intensity[0], intensity[1])
    np.testing.assert_allclose(mz[2], mz[3] + 4 * 13.00335484, rtol=0, atol=1e-9)
    # the most intense centroid of H13O6Cx6 lies 6 * (13.00335484 - 12) above that of C6H13O6
    mz_glucose, int_glucose = _centroids(["C6H13O6"], backend)
    top = mz[0, np.argmax(intensity[0])] - mz_glucose[0, np.argmax(int_glucose[0])]
    assert top == pytest.approx(6 * C13_SHIFT, abs=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_label_pseudo_elements(backend):
    labels = {"Cx": 13.00335484, "Nx": 15.00010889, "Hx": 2.014101778, "Ox": 17.99915961, "Sx": 33.96786700}
    formulas = ["C6H13O6", *(f"C6H13O6{symbol}2" for symbol in labels)]
    mz, _ = _centroids(formulas, backend, charge=-1)
    for i, mass in enumerate(labels.values(), start=1):
        np.testing.assert_allclose(mz[i], mz[0] + 2 * mass, rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_elements_are_summed(backend):
    mz_a, int_a = _centroids(["CHCH"], backend)
    mz_b, int_b = _centroids(["C2H2"], backend)
    np.testing.assert_allclose(mz_a, mz_b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(int_a, int_b, rtol=1e-6)


def test_unknown_backend_is_rejected():
    with pytest.raises(ConfigError, match="backend"):
        compute_centroids(["H3O"], IsotopeSettings(1, SIGMA), backend="fast")


def test_empty_input():
    mz, intensity = compute_centroids([], IsotopeSettings(1, SIGMA, n_peaks=3))
    assert mz.shape == (0, 3) and intensity.shape == (0, 3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(charge=2, isocalc_sigma=SIGMA),
        dict(charge=0, isocalc_sigma=SIGMA),
        dict(charge=1, isocalc_sigma=0.0),
        dict(charge=1, isocalc_sigma=SIGMA, n_peaks=0),
        dict(charge=1, isocalc_sigma=SIGMA, instrument="tof"),
        dict(charge=1, isocalc_sigma=SIGMA, analysis_version=0),
    ],
)
def test_invalid_settings(kwargs):
    with pytest.raises(ConfigError):
        IsotopeSettings(**kwargs)


def test_settings_from_config():
    config = AnnotationConfig.for_polarity("-", isocalc_sigma=0.000347, n_peaks=3, instrument="FTICR")
    assert IsotopeSettings.from_config(config) == IsotopeSettings(-1, 0.000347, 3, "FTICR", 1)


def test_cache_key():
    base = IsotopeSettings(1, SIGMA)
    assert base.cache_key() == IsotopeSettings(1, SIGMA).cache_key()
    # analysis_version 1 ignores the instrument, later versions do not
    assert base.cache_key() == IsotopeSettings(1, SIGMA, instrument="FTICR").cache_key()
    assert (
        IsotopeSettings(1, SIGMA, analysis_version=3).cache_key()
        != IsotopeSettings(1, SIGMA, instrument="FTICR", analysis_version=3).cache_key()
    )
    others = [
        IsotopeSettings(-1, SIGMA),
        IsotopeSettings(1, 0.000618),
        IsotopeSettings(1, SIGMA, n_peaks=3),
        IsotopeSettings(1, SIGMA, analysis_version=3),
    ]
    keys = {base.cache_key(), *(s.cache_key() for s in others)}
    assert len(keys) == 5
    assert all(len(key) < 80 for key in keys)
