"""How much of each source every pixel holds: the expected base-peak intensity per source and pixel.

Planted ions follow their spatial pattern inside the tissue; matrix ions are everywhere, weaker
on the tissue (ion suppression); recurring background peaks show up in a random share of the
pixels, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ionscape.synthetic._patterns import SpatialModel

MATRIX_ABUNDANCE = (5.0, 300.0)  # × detection limit, log-uniform
MATRIX_SUPPRESSION = 0.6  # matrix signal on tissue is this fraction weaker than off tissue
BACKGROUND_SHARE = 0.05  # recurring background peaks, as a share of peaks_per_spectrum
BACKGROUND_ABUNDANCE = (1.5, 30.0)  # × detection limit, log-uniform
BACKGROUND_PRESENCE = (0.3, 0.9)  # share of pixels holding a given background peak


@dataclass(frozen=True)
class Scene:
    """Spatial model and abundances of the planted ions, matrix ions and background peaks."""

    spatial: SpatialModel
    planted_abundance: np.ndarray
    matrix_abundance: np.ndarray
    background_mz: np.ndarray
    background_abundance: np.ndarray
    background_presence: np.ndarray

    def levels(self, y: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Row ``y``: (n_sources, width) levels of planted, matrix and background sources, in that
        order, and the (n_planted, width) planted part alone (the noiseless truth)."""
        planted = self.planted_abundance[:, None] * self.spatial.row(y)
        on_tissue = self.spatial.tissue_row(y)
        matrix = self.matrix_abundance[:, None] * (1 - MATRIX_SUPPRESSION * on_tissue)
        shape = (len(self.background_mz), self.spatial.width)
        background = self.background_abundance[:, None] * (
            rng.random(shape) < self.background_presence[:, None]
        )
        return np.concatenate([planted, matrix, background]), planted


def scene(
    spatial: SpatialModel,
    n_matrix: int,
    abundance_range: tuple[float, float],
    detection_limit: float,
    peaks_per_spectrum: int,
    mz_range: tuple[float, float],
    rng: np.random.Generator,
) -> Scene:
    """Draw abundances (planted: ``abundance_range`` × ``detection_limit``) and background peaks."""
    n_background = round(BACKGROUND_SHARE * peaks_per_spectrum)
    return Scene(
        spatial=spatial,
        planted_abundance=detection_limit * _log_uniform(rng, abundance_range, spatial.n_ions),
        matrix_abundance=detection_limit * _log_uniform(rng, MATRIX_ABUNDANCE, n_matrix),
        background_mz=np.sort(rng.uniform(*mz_range, n_background)),
        background_abundance=detection_limit * _log_uniform(rng, BACKGROUND_ABUNDANCE, n_background),
        background_presence=rng.uniform(*BACKGROUND_PRESENCE, n_background),
    )


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), n))
