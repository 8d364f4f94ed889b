"""Parsing of canonical ion formula strings for centroid computation (ALGORITHM.md §2.2, §3.2, §3.8)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ionscape.chem._isotope_table import LABEL_MASSES, element_table

_FORMULA = re.compile(r"(?:[A-Z][a-z]*[0-9]*)+")
_TOKEN = re.compile(r"([A-Z][a-z]*)([0-9]*)")
MAX_COUNT = 30_000


@dataclass(frozen=True)
class IonComposition:
    """An ion formula split into ordinary elements and a labelled-isotope mass shift.

    ``counts`` maps element symbols to positive atom counts; ``label_mass`` (Da) is the total mass of
    the labelled pseudo-elements (``Cx``, ``Nx``, ...) that were removed from the formula.
    """

    counts: dict[str, int]
    label_mass: float


def parse_ion_formula(formula: str) -> IonComposition | None:
    """Split an ion formula such as ``H13O6Cx6`` into element counts and a label mass.

    Returns None when the formula cannot get centroids: it is not a sequence of element tokens,
    names an unknown element, has a count of 30,000 or more, or has no ordinary atoms.
    Repeated elements are summed.
    """
    if not _FORMULA.fullmatch(formula):
        return None
    elements = element_table()
    counts: dict[str, int] = {}
    label_mass = 0.0
    for symbol, digits in _TOKEN.findall(formula):
        count = int(digits) if digits else 1
        if count >= MAX_COUNT:
            return None
        if symbol in LABEL_MASSES:
            label_mass += count * LABEL_MASSES[symbol]
        elif symbol in elements:
            counts[symbol] = counts.get(symbol, 0) + count
        else:
            return None
    if 0 in counts.values():
        counts = {symbol: n for symbol, n in counts.items() if n > 0}
    if not counts:
        return None
    return IonComposition(counts, label_mass)
