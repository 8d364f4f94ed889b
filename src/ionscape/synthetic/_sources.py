"""Which ions a synthetic dataset contains, and which database ions look like them.

* planted ions: chosen ones plus random database ions (some picked because they have an isobar);
* matrix ions: a MALDI matrix's ion list (``ionscape/data/matrix/``), present everywhere;
* isobars: database ions within a few ppm of a planted ion that are *not* in the data, so an
  annotator should not report them (``same_ion`` when the ion formula is identical, which no
  annotator can tell apart).

Every table has columns ``formula``, ``adduct``, ``ion_formula`` and ``mz`` (the engine's first
centroid, as in ``annotations.csv``).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from ionscape.chem.formulas import ion_formula
from ionscape.chem.isotopes import IsotopeSettings, compute_centroids
from ionscape.chem.moldb import load_moldb
from ionscape.errors import ConfigError
from ionscape.synthetic._spec import SynthSpec

ENVELOPE_ROOM = 4.0  # Da kept free above a random planted ion's first peak, for its isotopes
PLANTED_SEPARATION_PPM = 10.0  # random planted ions keep this far from each other and from matrix ions


def ion_table(pairs: pd.DataFrame, charge: int, sigma: float) -> pd.DataFrame:
    """``pairs`` (columns ``formula``, ``adduct``, any others) with ``ion_formula`` and ``mz`` added.

    Pairs that form no ion, or whose ion has no isotope pattern, are dropped.
    """
    ions = [ion_formula(f, a) for f, a in zip(pairs["formula"], pairs["adduct"], strict=True)]
    table = pairs.assign(ion_formula=ions)
    table = table[table["ion_formula"].notna()].reset_index(drop=True)
    mz = np.empty(0)
    if len(table):
        centroids, _ = compute_centroids(
            table["ion_formula"].tolist(), IsotopeSettings(charge=charge, isocalc_sigma=sigma)
        )
        mz = centroids[:, 0]
    table["mz"] = mz
    return table[table["mz"] > 0].reset_index(drop=True)


def database_ions(spec: SynthSpec, sigma: float) -> pd.DataFrame:
    """Every (formula, adduct) of the spec's database and adducts, with m/z (empty without a database)."""
    formulas = [] if spec.database is None else load_moldb(spec.database).formulas
    adducts = spec.adducts_used
    pairs = pd.DataFrame({"formula": np.repeat(formulas, len(adducts)), "adduct": adducts * len(formulas)})
    return ion_table(pairs.astype(str), spec.charge, sigma)


def matrix_ions(spec: SynthSpec, sigma: float) -> pd.DataFrame:
    """The ions of the spec's matrix inside its m/z range (columns as above plus ``name``)."""
    if spec.matrix is None:
        return ion_table(pd.DataFrame({"name": [], "formula": [], "adduct": []}), spec.charge, sigma)
    suffix = "pos" if spec.charge > 0 else "neg"
    folder = resources.files("ionscape") / "data" / "matrix"
    path = folder / f"matrix_{spec.matrix.lower()}_{suffix}.csv"
    if not path.is_file():
        known = sorted(
            p.name.split("_")[1].upper() for p in folder.iterdir() if p.name.endswith(f"_{suffix}.csv")
        )
        raise ConfigError(
            f"no {spec.polarity} ion list for matrix {spec.matrix!r}; known: {', '.join(known)}"
        )
    listed = pd.read_csv(path, dtype=str, keep_default_na=False)
    charge_only = "[M]+" if spec.charge > 0 else "[M]-"
    pairs = pd.DataFrame(
        {
            "name": listed["mol_name"],
            "formula": listed["formula"],
            "adduct": listed["adduct"].replace("", charge_only),
        }
    )
    table = ion_table(pairs, spec.charge, sigma)
    lo, hi = spec.mz_range
    table = table[(table["mz"] >= lo) & (table["mz"] <= hi)]
    return table.drop_duplicates("ion_formula").reset_index(drop=True)


def choose_planted(
    spec: SynthSpec, db_ions: pd.DataFrame, matrix: pd.DataFrame, sigma: float, rng: np.random.Generator
) -> pd.DataFrame:
    """The chosen planted ions, then ``spec.n_planted`` random database ions.

    Random ions have a single (formula, adduct) per ion formula in the database, distinct
    formulas, room for their envelope in the m/z range, and keep ``PLANTED_SEPARATION_PPM`` away
    from each other and from the matrix; ``spec.isobar_fraction`` of them have an isobar.
    """
    pairs = pd.DataFrame(
        {"formula": [p.formula for p in spec.planted], "adduct": [p.adduct for p in spec.planted]}
    )
    chosen = ion_table(pairs, spec.charge, sigma)
    if len(chosen) < len(spec.planted):
        formed = set(chosen["formula"] + chosen["adduct"])
        missing = [str(p) for p in spec.planted if str(p) not in formed]
        raise ConfigError(f"planted ions {', '.join(missing)} do not form ions with an isotope pattern")
    if spec.n_planted == 0:
        return chosen
    lo, hi = spec.mz_range
    candidates = db_ions[
        (db_ions["mz"] >= lo)
        & (db_ions["mz"] <= hi - ENVELOPE_ROOM)
        & ~db_ions["ion_formula"].duplicated(keep=False)
        & ~db_ions["formula"].isin(chosen["formula"])
    ].reset_index(drop=True)
    with_isobar = _has_isobar(candidates, db_ions, spec.isobar_ppm)
    n_isobar = round(spec.isobar_fraction * spec.n_planted)
    # candidates with an isobar first (enough of them to fill the quota), then everything shuffled
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(with_isobar)), rng.permutation(np.flatnonzero(~with_isobar))]
    )
    preferred = np.concatenate([order[:n_isobar], rng.permutation(order[n_isobar:])])
    taken_mz = np.concatenate([chosen["mz"].to_numpy(), matrix["mz"].to_numpy()])
    picked = _pick_separated(candidates, preferred, taken_mz, spec.n_planted, with_isobar, n_isobar)
    if len(picked) < spec.n_planted:
        raise ConfigError(
            f"the database has only {len(picked)} suitable ions in m/z {lo}-{hi} "
            f"to plant, not {spec.n_planted}"
        )
    return pd.concat([chosen, candidates.iloc[picked]], ignore_index=True)


def _has_isobar(ions: pd.DataFrame, db_ions: pd.DataFrame, ppm: float) -> np.ndarray:
    """Whether each ion has a database ion with another ion formula within ``ppm``."""
    isobars = find_isobars(ions, db_ions, ppm)
    return np.isin(np.arange(len(ions)), isobars["near"][isobars["kind"] == "isobar"])


def _pick_separated(
    candidates: pd.DataFrame,
    order: np.ndarray,
    taken_mz: np.ndarray,
    n: int,
    with_isobar: np.ndarray,
    n_isobar: int,
) -> list[int]:
    """Walk ``order``, keeping candidates with a new formula and no taken m/z within the separation.

    The first ``n_isobar`` kept ones must have an isobar (the order lists those first).
    """
    mz = candidates["mz"].to_numpy()
    formulas = candidates["formula"].to_numpy()
    taken = np.append(taken_mz, np.full(n, np.inf))
    n_taken = len(taken_mz)
    seen: set[str] = set()
    picked: list[int] = []
    for i in order.tolist():
        if len(picked) == n:
            break
        too_close = (
            np.abs(taken[:n_taken] - mz[i]).min(initial=np.inf) <= PLANTED_SEPARATION_PPM * 1e-6 * mz[i]
        )
        if too_close or formulas[i] in seen or (len(picked) < n_isobar and not with_isobar[i]):
            continue
        picked.append(i)
        seen.add(formulas[i])
        taken[n_taken] = mz[i]
        n_taken += 1
    return picked


def find_isobars(ions: pd.DataFrame, db_ions: pd.DataFrame, ppm: float) -> pd.DataFrame:
    """Database ions within ``ppm`` of each ion's m/z, other than the ion itself.

    Columns: ``kind`` (``isobar``, or ``same_ion`` for an identical ion formula), ``formula``,
    ``adduct``, ``ion_formula``, ``mz``, ``near`` (row of ``ions``), ``ppm`` (m/z difference
    relative to that ion).
    """
    by_mz = db_ions.sort_values("mz", kind="stable").reset_index(drop=True)
    sorted_mz = by_mz["mz"].to_numpy()
    target = ions["mz"].to_numpy()
    lo = np.searchsorted(sorted_mz, target * (1 - ppm * 1e-6), side="left")
    n = np.searchsorted(sorted_mz, target * (1 + ppm * 1e-6), side="right") - lo
    near = np.repeat(np.arange(len(ions)), n)
    found = by_mz.iloc[np.arange(n.sum()) + np.repeat(lo - (np.cumsum(n) - n), n)].reset_index(drop=True)
    found["near"] = near
    found["ppm"] = (found["mz"].to_numpy() - target[near]) / target[near] * 1e6
    own = ions.iloc[near]
    itself = (found["formula"].to_numpy() == own["formula"].to_numpy()) & (
        found["adduct"].to_numpy() == own["adduct"].to_numpy()
    )
    same = found["ion_formula"].to_numpy() == own["ion_formula"].to_numpy()
    found.insert(0, "kind", np.where(same, "same_ion", "isobar"))
    return found[~itself].reset_index(drop=True)


def planted_isobars(planted: pd.DataFrame, db_ions: pd.DataFrame, ppm: float) -> pd.DataFrame:
    """:func:`find_isobars` of the planted ions, leaving out the planted ions themselves."""
    isobars = find_isobars(planted, db_ions, ppm)
    is_planted = (isobars["formula"] + isobars["adduct"]).isin(planted["formula"] + planted["adduct"])
    return isobars[~is_planted].reset_index(drop=True)
