"""Theoretical isotope patterns: the centroids each ion is searched for (ALGORITHM.md §3).

``compute_centroids`` turns canonical ion formulas into the ``n_peaks`` most intense centroids of
their isotope pattern, the way METASPACE's engine does. Two backends give the same numbers (m/z to
~1e-11 Da, intensities to float32 precision): ``"native"`` (the default) is ionscape's own
implementation, 15-20x faster; ``"cpymspec"`` calls METASPACE's isotope library, cpyMSpec 0.3.5 for
analysis_version 1 and 0.4.2 for later versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ionscape.chem._isotope_cpymspec import cpymspec_centroids, formula_string
from ionscape.chem._isotope_formula import parse_ion_formula
from ionscape.chem._isotope_native import native_centroids
from ionscape.errors import ConfigError

if TYPE_CHECKING:
    from ionscape.config import AnnotationConfig

__all__ = ["BACKENDS", "IsotopeSettings", "compute_centroids"]

# Bump whenever a change of the implementation changes any centroid (invalidates cached centroids).
CENTROIDS_VERSION = 1
BACKENDS = ("native", "cpymspec")
_INSTRUMENTS = ("TOF", "Orbitrap", "FTICR")


@dataclass(frozen=True)
class IsotopeSettings:
    """Everything the centroids of an ion formula depend on (ALGORITHM.md §3).

    ``instrument`` (TOF / Orbitrap / FTICR) only matters for ``analysis_version`` >= 2.
    """

    charge: int
    isocalc_sigma: float
    n_peaks: int = 4
    instrument: str = "TOF"
    analysis_version: int = 1

    def __post_init__(self) -> None:
        if self.charge not in (1, -1):
            raise ConfigError(f"charge must be +1 or -1, got {self.charge}")
        if not self.isocalc_sigma > 0:
            raise ConfigError(f"isocalc_sigma must be positive, got {self.isocalc_sigma}")
        if self.n_peaks < 1:
            raise ConfigError(f"n_peaks must be at least 1, got {self.n_peaks}")
        if self.instrument not in _INSTRUMENTS:
            raise ConfigError(f"unknown instrument {self.instrument!r}: use one of {', '.join(_INSTRUMENTS)}")
        if self.analysis_version < 1:
            raise ConfigError(f"analysis_version must be at least 1, got {self.analysis_version}")

    @classmethod
    def from_config(cls, config: AnnotationConfig) -> IsotopeSettings:
        """The isotope settings of an annotation config."""
        iso = config.isotope_generation
        return cls(
            charge=iso.charge,
            isocalc_sigma=iso.isocalc_sigma,
            n_peaks=iso.n_peaks,
            instrument=iso.instrument,
            analysis_version=config.analysis_version,
        )

    def cache_key(self) -> str:
        """A short string that identifies these settings and the centroid implementation version.

        Settings that give the same centroids give the same key (the instrument is left out for
        analysis_version 1, which ignores it).
        """
        key = f"centroids-v{CENTROIDS_VERSION}-av{self.analysis_version}-z{self.charge:+d}"
        key += f"-sigma{self.isocalc_sigma!r}-n{self.n_peaks}"
        if self.analysis_version >= 2:
            key += f"-{self.instrument}"
        return key


def compute_centroids(
    ion_formulas: Sequence[str], settings: IsotopeSettings, *, backend: str = "native"
) -> tuple[np.ndarray, np.ndarray]:
    """Centroids of each ion formula: the ``n_peaks`` most intense, sorted by m/z, zero-padded.

    Parameters
    ----------
    ion_formulas : sequence of n canonical ion formula strings (ALGORITHM.md §2.2), e.g. ``C6H13O6``,
        possibly with labelled pseudo-elements (``H13O6Cx6``).
    settings : charge, sigma, n_peaks, instrument and analysis version.
    backend : ``"native"`` (ionscape's implementation, default) or ``"cpymspec"`` (METASPACE's library).

    Returns
    -------
    mz : (n, n_peaks) float64 array, m/z of the kept centroids in ascending order, 0 for padding.
    ints : (n, n_peaks) float32 array, their intensities with the base peak at 100, 0 for padding.
        An ion that gets no centroids (unparsable formula, unknown element, labelled atoms only,
        too many isotopic combinations under analysis_version 1, more than 1e8 grid points, ...)
        gets an all-zero row.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"unknown centroid backend {backend!r}: use one of {', '.join(BACKENDS)}")
    compositions = [parse_ion_formula(formula) for formula in ion_formulas]
    if backend == "cpymspec":
        formulas = [None if c is None else formula_string(c.counts) for c in compositions]
        mz, ints, offsets = cpymspec_centroids(
            formulas, settings.charge, settings.isocalc_sigma, settings.instrument, settings.analysis_version
        )
    else:
        mz, ints, offsets = native_centroids(
            compositions,
            settings.charge,
            settings.isocalc_sigma,
            settings.instrument,
            settings.analysis_version,
            settings.n_peaks,
        )
    top_mz, top_ints = _select_top_peaks(mz, ints, offsets, settings.n_peaks)
    label_shift = np.array([0.0 if c is None else c.label_mass for c in compositions]) / abs(settings.charge)
    top_mz += np.where(top_ints > 0, label_shift[:, None], 0.0)
    return top_mz, (top_ints * 100).astype(np.float32)


def _select_top_peaks(
    mz: np.ndarray, ints: np.ndarray, offsets: np.ndarray, n_peaks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per ion, the ``n_peaks`` most intense of its centroids, re-sorted by m/z and zero-padded.

    ``mz``/``ints`` hold the centroids of ion i at ``[offsets[i], offsets[i + 1])``; returns two
    (n, n_peaks) float64 arrays.
    """
    n_ions = len(offsets) - 1
    ion = np.repeat(np.arange(n_ions), np.diff(offsets))
    by_intensity = np.lexsort((-ints, ion))
    rank = np.arange(len(ion)) - offsets[ion[by_intensity]]
    kept = by_intensity[rank < n_peaks]
    kept = kept[np.lexsort((mz[kept], ion[kept]))]
    kept_ion = ion[kept]
    slot = np.arange(len(kept)) - np.searchsorted(kept_ion, kept_ion)
    top_mz = np.zeros((n_ions, n_peaks))
    top_ints = np.zeros((n_ions, n_peaks))
    top_mz[kept_ion, slot] = mz[kept]
    top_ints[kept_ion, slot] = ints[kept]
    return top_mz, top_ints
