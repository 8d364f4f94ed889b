"""Isotope images of one annotation, as the METASPACE Python client returns them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IsotopeImages:
    """The (h, w) ion image of each isotope peak of an annotated ion, with the peaks' m/z.

    Indexing and iteration give the images (``images[0]`` is the principal peak); ``peak(k)`` is
    the theoretical m/z of peak ``k``; ``stack`` is all of them as one (n_peaks, h, w) array.
    """

    formula: str
    adduct: str
    chem_mod: str
    neutral_loss: str
    mzs: tuple[float, ...]
    images: tuple[np.ndarray, ...]

    def __getitem__(self, index: int) -> np.ndarray:
        return self.images[index]

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.images)

    def __repr__(self) -> str:
        return f"IsotopeImages({self.ion}, {len(self)} peaks)"

    @property
    def ion(self) -> str:
        """The ion, e.g. ``C6H12O6+Na``."""
        return f"{self.formula}{self.chem_mod}{self.neutral_loss}{self.adduct}"

    @property
    def stack(self) -> np.ndarray:
        """(n_peaks, h, w) float32."""
        return np.stack(self.images)

    def peak(self, index: int) -> float:
        """Theoretical m/z of isotope peak ``index``."""
        return self.mzs[index]
