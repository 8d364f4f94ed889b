"""How right the annotations of a synthetic dataset are, judged against its ground truth.

Every reported annotation falls in one class, decided by its ion formula:

* ``planted``: the (formula, adduct) of a planted ion;
* ``same_ion``: another molecule or adduct with the ion formula of a planted ion (indistinguishable);
* ``matrix``: the ion formula of a matrix ion (present in every spectrum);
* ``isobar``: the ion formula of a planted ion's isobar, which is *not* in the data;
* ``other``: anything else, explained by no ion in the data.

The first three are true discoveries, the last two false ones.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ionscape.kernels.fdr import FDR_LEVELS
from ionscape.synthetic import GroundTruth

TRUE_CLASSES = ("planted", "same_ion", "matrix")
FALSE_CLASSES = ("isobar", "other")
RECALL_FDR = 0.1


def classify(annotations: pd.DataFrame, truth: GroundTruth) -> pd.Series:
    """The class of every annotation (index aligned with ``annotations``)."""
    planted = truth.planted
    planted_pairs = set(zip(planted["formula"], planted["adduct"], strict=True))
    ions = truth.ions
    classes = pd.Series("other", index=annotations.index, dtype=object)
    ion = annotations["ion_formula"]
    classes[ion.isin(ions.loc[ions["kind"] == "isobar", "ion_formula"])] = "isobar"
    classes[ion.isin(ions.loc[ions["kind"] == "matrix", "ion_formula"])] = "matrix"
    classes[ion.isin(planted["ion_formula"])] = "same_ion"
    pairs = zip(annotations["formula"], annotations["adduct"], strict=True)
    unmodified = (annotations["chem_mod"] == "") & (annotations["neutral_loss"] == "")
    is_planted = np.fromiter((p in planted_pairs for p in pairs), bool, len(annotations)) & unmodified
    classes[is_planted] = "planted"
    return classes


def evaluate(
    annotations: pd.DataFrame, truth: GroundTruth, formulas: Iterable[str], adducts: Iterable[str]
) -> dict:
    """Recall of the planted ions the database can find, and the observed FDP at each FDR level.

    ``formulas`` and ``adducts``: those of the annotation run; a planted ion whose formula is not in
    the database, or whose adduct was not searched, cannot be found and does not count.
    """
    annotations = annotations.assign(
        chem_mod=annotations["chem_mod"].fillna(""), neutral_loss=annotations["neutral_loss"].fillna("")
    )
    classes = classify(annotations, truth)
    planted = truth.planted
    findable = planted[planted["formula"].isin(set(formulas)) & planted["adduct"].isin(set(adducts))]
    found = annotations[(classes == "planted") & (annotations["fdr"] <= RECALL_FDR)]
    found_pairs = set(zip(found["formula"], found["adduct"], strict=True))
    hit = np.array([p in found_pairs for p in zip(findable["formula"], findable["adduct"], strict=True)])
    levels = {}
    for level in FDR_LEVELS:
        counts = classes[annotations["fdr"] <= level].value_counts()
        reported = int(counts.sum())
        false = int(sum(counts.get(c, 0) for c in FALSE_CLASSES))
        levels[f"{level:.2f}"] = {
            "reported": reported,
            **{c: int(counts.get(c, 0)) for c in TRUE_CLASSES + FALSE_CLASSES},
            "fdp": false / reported if reported else 0.0,
        }
    missed = findable[~hit] if len(findable) else findable
    return {
        "planted": len(planted),
        "findable": len(findable),
        "found": int(hit.sum()),
        "recall": float(hit.mean()) if len(findable) else float("nan"),
        "missed_detected_pixels": [int(v) for v in missed["detected_pixels"]],
        "levels": levels,
    }
