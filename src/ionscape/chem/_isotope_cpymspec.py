"""Centroids from METASPACE's own isotope library, cpyMSpec (the reference backend).

analysis_version 1 uses cpyMSpec 0.3.5 (a TOF model whose resolving power is fixed by the most
probable peak, ALGORITHM.md §3.4); later versions use cpyMSpec 0.4.2 with the configured instrument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SIGMA_TO_FWHM = 2.3548200450309493
RESOLVING_POWER_MZ = 200.0


def cpymspec_centroids(
    formulas: Sequence[str | None], charge: int, sigma: float, instrument: str, analysis_version: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids of each formula, concatenated.

    Returns ``mz`` (float64, m/z), ``ints`` (float64, base peak 1) and ``offsets`` ((n + 1,) int64):
    the centroids of formula i are ``[offsets[i], offsets[i + 1])``. A None formula, or one the
    library rejects, gets no centroids.
    """
    compute = _centroids_v1 if analysis_version < 2 else _centroids_v2
    mzs, ints, sizes = [], [], np.zeros(len(formulas), dtype=np.int64)
    for i, formula in enumerate(formulas):
        if formula is None:
            continue
        try:
            mz, intensity = compute(formula, charge, sigma, instrument)
        except Exception:  # the library raises bare Exception for every kind of bad input
            continue
        mzs.append(mz)
        ints.append(intensity)
        sizes[i] = len(mz)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if not mzs:
        return np.zeros(0), np.zeros(0), offsets
    return np.concatenate(mzs), np.concatenate(ints), offsets


def _centroids_v1(formula: str, charge: int, sigma: float, instrument: str) -> tuple[np.ndarray, np.ndarray]:
    import cpyMSpec_0_3_5

    pattern = cpyMSpec_0_3_5.isotopePattern(formula)
    pattern.addCharge(charge)
    most_probable_mz = pattern.masses[int(np.argmax(pattern.intensities))]
    model = cpyMSpec_0_3_5.InstrumentModel("tof", most_probable_mz / (sigma * SIGMA_TO_FWHM))
    centroids = pattern.centroids(model)
    return np.asarray(centroids.masses, dtype=np.float64), np.asarray(centroids.intensities, dtype=np.float64)


def _centroids_v2(formula: str, charge: int, sigma: float, instrument: str) -> tuple[np.ndarray, np.ndarray]:
    import cpyMSpec

    pattern = cpyMSpec.isotopePattern(formula)
    pattern.addCharge(charge)
    model = cpyMSpec.InstrumentModel(instrument.lower(), RESOLVING_POWER_MZ / (sigma * SIGMA_TO_FWHM))
    centroids = pattern.centroids(model)
    return np.asarray(centroids.masses, dtype=np.float64), np.asarray(centroids.intensities, dtype=np.float64)


def formula_string(counts: dict[str, int]) -> str:
    """The formula string cpyMSpec parses, from element counts (kept in their given order)."""
    return "".join(f"{symbol}{n}" for symbol, n in counts.items())
