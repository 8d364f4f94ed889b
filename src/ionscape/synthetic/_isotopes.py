"""Isotope envelopes of the ions planted into synthetic spectra.

Two independent models: the annotation engine's own centroids (what ionscape searches for), and
IsoSpecPy's isotopic fine structure, blurred into a profile at the instrument's resolving power
and centroided again, so that tests do not only check the engine against itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ionscape.chem.isotopes import IsotopeSettings, compute_centroids
from ionscape.config import SIGMA_TO_FWHM, instrument_from_analyzer, sigma_from_resolving_power
from ionscape.errors import ConfigError

ELECTRON_MASS = 0.000548579909
_COVERED_PROBABILITY = 0.9999
_MIN_LINE = 1e-6  # fine-structure lines weaker than this fraction of the strongest are ignored
_GRID_STEPS_PER_SIGMA = 8
_CLUSTER_GAP_SIGMAS = 10
_TAIL_SIGMAS = 5
_MIN_PEAK = 1e-4  # profile maxima below this fraction of the highest are not centroids


def engine_sigma(resolving_power: float, at_mz: float, analyzer: str, isocalc_sigma: float | None) -> float:
    """The engine's isotope peak width for these instrument settings (``isocalc_sigma`` wins if given)."""
    if isocalc_sigma is not None:
        return isocalc_sigma
    return sigma_from_resolving_power(resolving_power, at_mz, instrument_from_analyzer(analyzer))


def engine_envelopes(
    ion_formulas: Sequence[str], charge: int, sigma: float, n_peaks: int
) -> tuple[np.ndarray, np.ndarray]:
    """The engine's ``n_peaks`` centroids of each ion.

    Returns (n, n_peaks) m/z and relative intensities (base peak 1.0), zero-padded.
    """
    mz, ints = compute_centroids(
        ion_formulas, IsotopeSettings(charge=charge, isocalc_sigma=sigma, n_peaks=n_peaks)
    )
    return mz, ints.astype(np.float64) / 100.0


def resolving_power_at(mz: np.ndarray, resolving_power: float, at_mz: float, analyzer: str) -> np.ndarray:
    """Resolving power (m/Δm at half height) at each ``mz``: ∝ 1/m on FTICR, 1/√m on Orbitrap, flat on TOF."""
    instrument = instrument_from_analyzer(analyzer)
    if instrument == "FTICR":
        return resolving_power * at_mz / mz
    if instrument == "Orbitrap":
        return resolving_power * np.sqrt(at_mz / mz)
    return np.full_like(mz, resolving_power, dtype=np.float64)


def isospec_envelopes(
    ion_formulas: Sequence[str],
    charge: int,
    resolving_power: float,
    at_mz: float,
    analyzer: str,
    n_peaks: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of each ion's fine structure (IsoSpecPy) seen at the given resolving power.

    Returns (n, n_peaks) m/z and relative intensities (base peak 1.0) of the ``n_peaks`` highest
    profile maxima, sorted by m/z and zero-padded.
    """
    try:
        import IsoSpecPy
    except ImportError:
        raise ConfigError("isotopes='isospec' needs IsoSpecPy: pip install IsoSpecPy") from None
    out_mz = np.zeros((len(ion_formulas), n_peaks))
    out_rel = np.zeros((len(ion_formulas), n_peaks))
    for i, formula in enumerate(ion_formulas):
        fine = IsoSpecPy.IsoTotalProb(_COVERED_PROBABILITY, formula=formula)
        line_mz = (fine.np_masses() - charge * ELECTRON_MASS) / abs(charge)
        line_p = fine.np_probs()
        strong = line_p >= _MIN_LINE * line_p.max()
        sigma = line_mz[strong] / (
            resolving_power_at(line_mz[strong], resolving_power, at_mz, analyzer) * SIGMA_TO_FWHM
        )
        mz, height = _profile_centroids(line_mz[strong], line_p[strong], sigma)
        top = np.sort(np.argsort(-height, kind="stable")[:n_peaks])
        out_mz[i, : len(top)] = mz[top]
        out_rel[i, : len(top)] = height[top] / height.max()
    return out_mz, out_rel


def _profile_centroids(
    line_mz: np.ndarray, line_p: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Blur lines into Gaussians of width ``sigma``, and return the profile's maxima (m/z, height).

    The profile is sampled only around clusters of lines; each maximum is refined by fitting a
    parabola to the logarithm of its three samples (exact for an isolated Gaussian).
    """
    order = np.argsort(line_mz)
    line_mz, line_p, sigma = line_mz[order], line_p[order], sigma[order]
    step = sigma.min() / _GRID_STEPS_PER_SIGMA
    new_cluster = np.ones(len(line_mz), dtype=bool)
    new_cluster[1:] = np.diff(line_mz) > _CLUSTER_GAP_SIGMAS * sigma[1:]
    first = np.flatnonzero(new_cluster)
    lo = line_mz[first] - _TAIL_SIGMAS * sigma[first]
    last = np.append(first[1:], len(line_mz)) - 1
    hi = line_mz[last] + _TAIL_SIGMAS * sigma[last]
    counts = np.ceil((hi - lo) / step).astype(np.int64) + 1
    starts = np.repeat(lo, counts)
    grid = starts + step * (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    profile = (line_p * np.exp(-0.5 * ((grid[:, None] - line_mz) / sigma) ** 2)).sum(axis=1)

    inner = np.arange(1, len(grid) - 1)
    is_max = (profile[inner] > profile[inner - 1]) & (profile[inner] >= profile[inner + 1])
    is_max &= profile[inner] >= _MIN_PEAK * profile.max()
    centre = inner[is_max]
    left, mid, right = (np.log(profile[centre + d]) for d in (-1, 0, 1))
    curvature = left - 2 * mid + right
    shift = 0.5 * (left - right) / curvature
    return grid[centre] + shift * step, np.exp(mid - 0.25 * (left - right) * shift)
