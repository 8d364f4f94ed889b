"""The annotation table in the column names of METASPACE's Python client (``SMDataset.results``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

# ionscape's annotations.csv column -> the METASPACE client's column
RENAMED = {
    "formula": "formula",
    "adduct": "adduct",
    "chem_mod": "chemMod",
    "neutral_loss": "neutralLoss",
    "ion": "ion",
    "ion_formula": "ionFormula",
    "mz": "mz",
    "msm": "msm",
    "chaos": "moc",
    "spatial": "rhoSpatial",
    "spectral": "rhoSpectral",
    "fdr": "fdr",
    "moldb_id": "database",
}
MOLECULE_SEPARATOR = "; "


def metaspace_results(
    table: pd.DataFrame, *, include_chem_mods: bool = False, include_neutral_losses: bool = False
) -> pd.DataFrame:
    """METASPACE-style results, best MSM first, indexed by (formula, adduct).

    Columns: ion, ionFormula, mz, msm, moc, rhoSpatial, rhoSpectral, fdr, moleculeNames,
    moleculeIds (lists), intensity (maximum of the principal peak's image), totalIntensity,
    database, and chemMod / neutralLoss, which join the index when asked to.
    """
    out = pd.DataFrame({new: table[old].to_numpy() for old, new in RENAMED.items()})
    out["moleculeNames"] = _lists(table["molecule_names"])
    out["moleculeIds"] = _lists(table["molecule_ids"])
    out["intensity"] = _principal(table["max_iso_ints"])
    out["totalIntensity"] = _principal(table["total_iso_ints"])
    index = ["formula", "adduct"]
    if include_chem_mods:
        index.append("chemMod")
    if include_neutral_losses:
        index.append("neutralLoss")
    return out.sort_values("msm", ascending=False, kind="stable").set_index(index)


def _lists(joined: pd.Series) -> list[list[str]]:
    return [[part for part in str(value).split(MOLECULE_SEPARATOR) if part] for value in joined]


def _principal(peaks: pd.Series) -> np.ndarray:
    return np.array([values[0] if len(values) else np.nan for values in peaks], dtype=np.float64)
