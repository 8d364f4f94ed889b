"""Theoretical isotope centroids against the reference values of ALGORITHM.md §3.9 and first principles."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ionscape.chem._isotope_fine import av1_fft_fails, element_fine_structure
from ionscape.chem._isotope_kernel import _advance
from ionscape.chem._isotope_table import element_table
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
@pytest.mark.parametrize(("sigma", "has_centroids"), [(0.22, True), (0.25, False)])
def test_no_centroids_when_the_grid_would_start_below_zero(backend, sigma, has_centroids):
    # H3+ (AV1): the most probable line is the lowest, m0 = 3.0229, so sigma(m0) = sigma and the first
    # grid point is m0 - 12 sigma - 7 * sigma * 2.35482 / 25 = 3.0229 - 12.659 sigma: < 0 above 0.2388
    _, intensity = _centroids(["H3"], backend, sigma=sigma)
    assert bool(intensity.max() > 0) == has_centroids


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("sigma", "has_centroids"), [(0.0012, True), (0.0009, False)])
def test_no_centroids_beyond_1e8_grid_points(backend, sigma, has_centroids):
    # H2+ on FTICR (AV3): sigma(m) = sigma * (m / 200)^2 is tiny at m = 2.015, and the 1.006 Da to the
    # HD line are crossed in steps of sigma(2.015) * 2.35482 / 25: 8.8e7 points for sigma 0.0012,
    # 1.17e8 (more than the library's limit of 1e8) for sigma 0.0009
    _, intensity = _centroids(["H2"], backend, av=3, instrument="FTICR", sigma=sigma)
    assert bool(intensity.max() > 0) == has_centroids


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


# --- METASPACE's own engine output (tests/data/reference) ---------------------------------------

REFERENCE_DIR = Path(__file__).parents[1] / "data" / "reference"


@pytest.mark.parametrize("backend", BACKENDS)
def test_metaspace_reference_run(backend):
    # theo_mzs / theo_ints of every annotation METASPACE reported for untreated_tiny x mol_db5
    # (positive, sigma 0.000619, n_peaks 4), written with 6 and 4 decimals
    table = pd.read_csv(REFERENCE_DIR / "untreated_tiny__mol_db5.csv").drop_duplicates("ion_formula")
    mz, intensity = _centroids(table["ion_formula"].tolist(), backend)
    expected_mz = np.array([[float(v) for v in row.split(";")] for row in table["theo_mzs"]])
    expected_int = np.array([[float(v) for v in row.split(";")] for row in table["theo_ints"]])
    np.testing.assert_allclose(mz, expected_mz, rtol=0, atol=5e-7 + 1e-9)
    np.testing.assert_allclose(intensity, expected_int, rtol=0, atol=5e-5 + 1e-6)


# --- native backend against METASPACE's isotope library (the oracle) ----------------------------


def _oracle_ions(step: int) -> list[str]:
    """Target-like (+H) and decoy-like (+Na/+K plus any element of the table) ions of mol_db5."""
    formulas = pd.read_csv(Path(__file__).parents[1] / "data" / "moldb" / "mol_db5.csv")["sf"]
    elements = list(element_table())
    ions = []
    for i, formula in enumerate(formulas[::step]):
        ions.append(f"{formula}H")
        ions.append(f"{formula}{('Na', 'K')[i % 2]}{elements[(7 * i) % len(elements)]}")
    return ions


@pytest.mark.parametrize(
    ("step", "charge", "sigma", "n_peaks", "av", "instrument"),
    [
        (3, 1, SIGMA, 4, 1, "TOF"),
        (6, -1, 0.002476, 6, 1, "TOF"),
        (6, 1, 0.000173, 4, 1, "TOF"),
        (9, 1, SIGMA, 4, 3, "TOF"),
        (9, -1, SIGMA, 4, 3, "Orbitrap"),
        (9, 1, 0.001238, 5, 2, "FTICR"),
    ],
)
def test_native_matches_cpymspec(step, charge, sigma, n_peaks, av, instrument):
    ions = _oracle_ions(step)
    mz, intensity = _centroids(ions, "native", charge, av, instrument, n_peaks, sigma)
    mz_ref, int_ref = _centroids(ions, "cpymspec", charge, av, instrument, n_peaks, sigma)
    np.testing.assert_array_equal(intensity == 0, int_ref == 0)
    np.testing.assert_allclose(mz, mz_ref, rtol=0, atol=1e-7)
    np.testing.assert_allclose(intensity, int_ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("n_peaks", [1, 10])
@pytest.mark.parametrize(
    ("charge", "sigma", "av", "instrument"),
    [(1, SIGMA, 1, "TOF"), (-1, 0.1, 1, "TOF"), (-1, 0.0039, 3, "FTICR"), (1, 0.0043, 3, "TOF")],
)
def test_native_matches_cpymspec_for_any_n_peaks(n_peaks, charge, sigma, av, instrument):
    # Many-isotope elements spread the pattern over many clusters, of which the native backend only
    # evaluates those that can hold one of the n_peaks most intense centroids. With wide peaks the
    # clusters merge, and the pattern can end while many lines are still within reach.
    ions = [
        "C20H30O5KMo", "C20H30O5Sn3", "C42H83NO8PKXe", "C14H10O8Cl2Hg", "C6H13O6Ru", "C2H7Br2Se",
        "C13H55O11Fm7Os2Th2Li2", "ErDyFePd",
    ]  # fmt: skip
    mz, intensity = _centroids(ions, "native", charge, av, instrument, n_peaks, sigma)
    mz_ref, int_ref = _centroids(ions, "cpymspec", charge, av, instrument, n_peaks, sigma)
    np.testing.assert_allclose(mz, mz_ref, rtol=0, atol=1e-7)
    np.testing.assert_allclose(intensity, int_ref, rtol=0, atol=1e-4)


# --- building blocks of the native backend ------------------------------------------------------


def _brute_force_fine_structure(symbol: str, n_atoms: int) -> tuple[np.ndarray, np.ndarray]:
    """Every split of n atoms over the isotopes: masses and multinomial log-probabilities."""
    element = element_table()[symbol]
    k = len(element.masses)
    masses, log_probs = [], []
    for rest in itertools.product(range(n_atoms + 1), repeat=k - 1):
        if sum(rest) <= n_atoms:
            counts = (n_atoms - sum(rest), *rest)
            masses.append(np.dot(counts, element.masses))
            log_probs.append(
                math.lgamma(n_atoms + 1)
                + sum(
                    math.log(p) * c - math.lgamma(c + 1)
                    for c, p in zip(counts, element.probabilities, strict=True)
                )
            )
    return np.array(masses), np.array(log_probs)


FINE_STRUCTURE_CASES = [("C", 1), ("C", 40), ("H", 90), ("O", 12), ("S", 5), ("Fe", 4), ("Sn", 3), ("Mo", 2)]


@pytest.mark.parametrize(("symbol", "n_atoms"), FINE_STRUCTURE_CASES)
def test_element_fine_structure_is_the_thresholded_multinomial(symbol, n_atoms):
    masses, probabilities = element_fine_structure(symbol, n_atoms, -np.inf)
    all_masses, log_probs = _brute_force_fine_structure(symbol, n_atoms)
    relative = np.exp(log_probs - log_probs.max())
    kept = relative >= 1e-4
    assert probabilities[0] == 1.0 and np.all(np.diff(probabilities) <= 0)
    assert len(masses) == kept.sum()
    order, expected_order = np.argsort(masses), np.argsort(all_masses[kept])
    np.testing.assert_allclose(masses[order], all_masses[kept][expected_order], rtol=1e-14)
    np.testing.assert_allclose(probabilities[order], relative[kept][expected_order], rtol=1e-9)


def test_element_fine_structure_absolute_cutoff():
    # min_log_prob drops sub-configurations by absolute log-probability (IsoSpec's e^-20 for AV >= 2)
    masses, _ = element_fine_structure("C", 100, -4.0)
    all_masses, log_probs = _brute_force_fine_structure("C", 100)
    kept = (log_probs >= -4.0) & (log_probs - log_probs.max() >= math.log(1e-4))
    assert 0 < kept.sum() < len(element_fine_structure("C", 100, -np.inf)[0])
    np.testing.assert_allclose(np.sort(masses), np.sort(all_masses[kept]), rtol=1e-14)


@pytest.mark.parametrize(
    ("n_isotopes", "n_atoms", "fails"),
    [
        # edge = 2 * f(floor((n + 2) / 2)), f = next 2-3-5-smooth integer; fails if edge^(k-1) > 1e7
        (10, 3, False),  # Sn3: f(2) = 2, 4^9 = 262,144
        (10, 4, True),  # Sn4: f(3) = 3, 6^9 = 10,077,696
        (4, 199, False),  # S199: f(100) = 100, 200^3 = 8,000,000
        (4, 200, True),  # S200: f(101) = 108, 216^3 = 10,077,696
        (7, 11, False),  # f(6) = 6, 12^6 = 2,985,984
        (7, 12, True),  # f(7) = 8, 16^6 = 16,777,216
        (2, 29_999, False),
        (1, 29_999, False),
    ],
)
def test_av1_fft_limit(n_isotopes, n_atoms, fails):
    assert av1_fft_fails(n_isotopes, n_atoms) is fails


@pytest.mark.parametrize("seed", range(4))
def test_advance_equals_repeated_addition(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        x = rng.uniform(0.5, 2000.0)
        step = x * 10 ** rng.uniform(-8, -3)
        n = int(rng.integers(0, 3000))
        if rng.random() < 0.5:  # start just below a power of two, so that the sum crosses it
            x = 2.0 ** int(rng.integers(1, 11)) - step * rng.uniform(0, n + 2)
        expected = x
        for _ in range(n):
            expected += step
        assert _advance(x, step, n) == expected


@pytest.mark.parametrize(
    ("x", "step", "n"),
    [
        (1.0, 1.5 * 2.0**-52, 1001),  # every addition to a number in [1, 2) is a tie (round to even)
        (1.0 + 2.0**-52, 1.5 * 2.0**-52, 1000),
        (-3e-9, 1e-11, 500),  # starts below zero and crosses it
    ],
)
def test_advance_with_exact_ties_and_negative_start(x, step, n):
    expected = x
    for _ in range(n):
        expected += step
    assert _advance(x, step, n) == expected
