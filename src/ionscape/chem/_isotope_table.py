"""Isotope masses and abundances for centroid computation (ALGORITHM.md §3.1, §3.8).

The table is ims-cpp's (CIAAW 2009), stored as ``ionscape/data/isotope_table.tsv``; it differs
slightly from the periodic table used elsewhere for display m/z.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

ELECTRON_MASS = 0.00054857990924
# Stable-isotope-labelled pseudo-elements: a single isotope with 100 % abundance (§3.8).
LABEL_MASSES = {
    "Cx": 13.00335484,
    "Nx": 15.00010889,
    "Hx": 2.014101778,
    "Ox": 17.99915961,
    "Sx": 33.96786700,
}


@dataclass(frozen=True)
class Element:
    """One element: isotope masses (Da) and probabilities (abundances normalised to sum 1)."""

    symbol: str
    masses: np.ndarray
    probabilities: np.ndarray


@cache
def element_table() -> dict[str, Element]:
    """All elements of the isotope table, keyed by symbol."""
    text = resources.files("ionscape").joinpath("data/isotope_table.tsv").read_text()
    table = {}
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        symbol, _, masses, abundances = line.split("\t")
        abundance = np.array(abundances.split(","), dtype=np.float64)
        table[symbol] = Element(
            symbol,
            np.array(masses.split(","), dtype=np.float64),
            abundance / abundance.sum(),
        )
    return table
