"""Stage: target-decoy FDR per database and target modifier (ALGORITHM.md §4.4–4.5).

Runs in the driver: its inputs (one score per ion) are small next to the dataset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ionscape.chem.ions import DatabaseIons
from ionscape.kernels.fdr import av1_fdr


def database_fdr(db: DatabaseIons, msm: pd.Series, decoy_sample_size: int) -> pd.DataFrame:
    """FDR of every target ion of ``db`` that has a metrics row.

    ``msm`` maps formula_i → score for the ions whose metrics were kept. Returns one row per
    (formula, target modifier interpretation) with columns formula, modifier, chem_mod,
    neutral_loss, adduct, formula_i, msm, fdr.
    """
    fmap = db.formula_map
    targets = fmap[fmap["target"] & fmap["formula_i"].isin(msm.index)].copy()
    targets["msm"] = msm.reindex(targets["formula_i"]).to_numpy()
    decoy_index = fmap.loc[~fmap["target"], ["formula", "modifier", "formula_i"]]
    decoys = db.decoy_map.merge(
        decoy_index, left_on=["formula", "dm"], right_on=["formula", "modifier"], how="left"
    )
    decoys["msm"] = msm.reindex(decoys["formula_i"].fillna(-1).astype(np.int64)).to_numpy()
    sample_size = min(decoy_sample_size, _draws_per_target(db.decoy_map))

    ranked = []
    for tm, tm_targets in targets.groupby("modifier", sort=False):
        tm_decoys = decoys.loc[decoys["tm"] == tm, "msm"].to_numpy()
        decoy_sets = [s[~np.isnan(s)] for s in (tm_decoys[i::sample_size] for i in range(sample_size))]
        tm_targets = tm_targets.assign(fdr=av1_fdr(tm_targets["msm"].to_numpy(), decoy_sets))
        ranked.append(tm_targets)
    columns = ["formula", "modifier", "formula_i", "msm", "fdr"]
    table = pd.concat(ranked, ignore_index=True)[columns] if ranked else pd.DataFrame(columns=columns)
    modifiers = pd.DataFrame([vars(tm) for tm in db.target_modifiers]).rename(columns={"tm": "modifier"})
    table = table.merge(modifiers[["modifier", "chem_mod", "neutral_loss", "adduct"]], on="modifier")
    if not db.targeted:
        table = table[(table["msm"] > 0) & (table["fdr"] < 1)]
    return table.reset_index(drop=True)


def _draws_per_target(decoy_map: pd.DataFrame) -> int:
    """Number of decoys drawn per (formula, target modifier)."""
    if decoy_map.empty:
        return 1
    return int(decoy_map.groupby(["formula", "tm"], sort=False).size().iloc[0])
