"""ionscape's own centroid backend: fine structure per (element, count), then one compiled batch call."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ionscape.chem._isotope_fine import ISOSPEC_MIN_LOG_PROB, av1_fft_fails, element_fine_structure
from ionscape.chem._isotope_formula import IonComposition
from ionscape.chem._isotope_kernel import ion_centroids
from ionscape.chem._isotope_table import element_table

# analysis_version >= 2: width of the evaluated Gaussian tails, in sigma (AV1: 12), and
# resolving power specified at m/z 200 that scales with m/z as TOF / Orbitrap / FTICR do.
_AV2_WIDTH = 6.0
_AV2_REFERENCE_MZ = 200.0
_AV2_EXPONENTS = {"TOF": 1.0, "Orbitrap": 1.5, "FTICR": 2.0}
_AV2_MAX_LINES = 100_000
_AV1_WIDTH = 12.0
# Smallest exponent of a Gaussian term that counts: AV1 computes exp exactly, so only terms that
# underflow to subnormals (no effect on any sum that matters) are dropped; AV >= 2 looks exp up in
# a table that is 0 below -18.
_AV1_MIN_EXPONENT = -708.0
_AV2_MIN_EXPONENT = -18.0


def native_centroids(
    compositions: Sequence[IonComposition | None],
    charge: int,
    sigma: float,
    instrument: str,
    analysis_version: int,
    n_wanted: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids of each ion composition, concatenated (same layout as ``cpymspec_centroids``).

    Centroids that cannot be among the ``n_wanted`` most intense of their ion may be left out.
    """
    av1 = analysis_version < 2
    table = _FineStructureTable(av1)
    index = table.index
    ion_dists: list[int] = []
    sizes: list[int] = []
    for composition in compositions:
        ids = [] if composition is None else [index(pair) for pair in composition.counts.items()]
        if ids and min(ids) >= 0:
            ion_dists.extend(ids)
            sizes.append(len(ids))
        else:
            sizes.append(0)
    dist_mass, dist_prob, dist_offsets = table.arrays()
    return ion_centroids(
        dist_mass,
        dist_prob,
        dist_offsets,
        np.array(ion_dists, dtype=np.int64),
        np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
        charge,
        sigma,
        _AV1_WIDTH if av1 else _AV2_WIDTH,
        1.0 if av1 else _AV2_EXPONENTS[instrument],
        0.0 if av1 else _AV2_REFERENCE_MZ,
        _AV1_MIN_EXPONENT if av1 else _AV2_MIN_EXPONENT,
        np.iinfo(np.int64).max if av1 else _AV2_MAX_LINES,
        n_wanted,
    )


class _FineStructureTable:
    """Numbers the (element, atom count) pairs of a batch and collects their fine structures."""

    def __init__(self, av1: bool) -> None:
        self._av1 = av1
        self._min_log_prob = -np.inf if av1 else ISOSPEC_MIN_LOG_PROB
        self._elements = element_table()
        self._index: dict[tuple[str, int], int] = {}
        self._masses: list[np.ndarray] = []
        self._probabilities: list[np.ndarray] = []

    def index(self, pair: tuple[str, int]) -> int:
        """Position of the fine structure of (element, atom count), or -1 when it cannot be computed."""
        found = self._index.get(pair)
        if found is None:
            symbol, n_atoms = pair
            found = -1
            if not (self._av1 and av1_fft_fails(len(self._elements[symbol].masses), n_atoms)):
                masses, probabilities = element_fine_structure(symbol, n_atoms, self._min_log_prob)
                if len(masses):
                    found = len(self._masses)
                    self._masses.append(masses)
                    self._probabilities.append(probabilities)
            self._index[pair] = found
        return found

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Concatenated masses and probabilities of all pairs, and their (n_pairs + 1,) offsets."""
        sizes = [len(m) for m in self._masses]
        offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        if not sizes:
            return np.zeros(0), np.zeros(0), offsets
        return np.concatenate(self._masses), np.concatenate(self._probabilities), offsets
