"""Patterns per second of the two centroid backends, and how far apart their results are (not a test).

The ions mimic one annotation job: CoreMetabolome formulas with the targets +H, +Na, +K and, for each
(formula, adduct), 20 decoys formula + X with X drawn from METASPACE's 80 decoy elements; duplicates
are removed. Times are CPU seconds of this process (both backends run on one core).

    python benchmarks/bench_centroids.py [--formulas 300] [--cpymspec-ions 3000] [--sigma 0.000619]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources

import numpy as np
import pandas as pd

from ionscape.chem.formulas import ion_formula
from ionscape.chem.isotopes import IsotopeSettings, compute_centroids
from ionscape.chem.modifiers import DECOY_ADDUCTS
from ionscape.errors import FormulaError

TARGET_ADDUCTS = ("+H", "+Na", "+K")
N_DECOYS = 20


def job_ions(formulas: list[str], rng: np.random.Generator) -> list[str]:
    """Distinct target and decoy ion formulas of ``formulas``, in a shuffled order."""
    ions = set()
    for formula in formulas:
        for adduct in TARGET_ADDUCTS:
            decoys = rng.choice(DECOY_ADDUCTS, N_DECOYS, replace=False)
            for modifier in (adduct, *decoys):
                try:
                    ion = ion_formula(formula, modifier)
                except FormulaError:
                    continue
                if ion is not None:
                    ions.add(ion)
    return list(rng.permutation(sorted(ions)))


def timed(ions: list[str], settings: IsotopeSettings, backend: str) -> tuple[float, np.ndarray, np.ndarray]:
    """Patterns per CPU second of one backend, and its centroids."""
    compute_centroids(ions[:10], settings, backend=backend)  # compile / load caches first
    start = time.process_time()
    mz, ints = compute_centroids(ions, settings, backend=backend)
    return len(ions) / (time.process_time() - start), mz, ints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formulas", type=int, default=300, help="number of CoreMetabolome formulas")
    parser.add_argument("--cpymspec-ions", type=int, default=3000, help="ions timed with cpyMSpec (slow)")
    parser.add_argument("--sigma", type=float, default=0.000619)
    parser.add_argument("--charge", type=int, default=1)
    parser.add_argument("--analysis-version", type=int, default=1)
    parser.add_argument("--instrument", default="TOF")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    moldb = resources.files("ionscape").joinpath("data/moldb/core_metabolome_v3.csv")
    with moldb.open() as f:
        all_formulas = pd.read_csv(f)["formula"].dropna().unique()
    rng = np.random.default_rng(args.seed)
    formulas = list(rng.choice(all_formulas, min(args.formulas, len(all_formulas)), replace=False))
    ions = job_ions(formulas, rng)
    settings = IsotopeSettings(args.charge, args.sigma, 4, args.instrument, args.analysis_version)
    print(f"{len(ions)} ions from {len(formulas)} formulas; {settings.cache_key()}")

    native_rate, mz, ints = timed(ions, settings, "native")
    print(f"native   : {native_rate:9.0f} patterns/s ({len(ions)} ions)")
    subset = ions[: args.cpymspec_ions]
    oracle_rate, mz_ref, ints_ref = timed(subset, settings, "cpymspec")
    print(f"cpymspec : {oracle_rate:9.0f} patterns/s ({len(subset)} ions)")
    print(f"speed-up : {native_rate / oracle_rate:9.1f}x")

    n = len(subset)
    mz_dev = np.abs(mz[:n] - mz_ref)
    int_dev = np.abs(ints[:n].astype(np.float64) - ints_ref) / 100
    n_empty, n_empty_ref = int((ints[:n] == 0).all(axis=1).sum()), int((ints_ref == 0).all(axis=1).sum())
    n_beyond = int(np.sum((mz_dev > 1e-6).any(axis=1) | (int_dev > 1e-4).any(axis=1)))
    print(f"max |m/z difference|        : {mz_dev.max():.2e} Da")
    print(f"max |intensity difference|  : {int_dev.max():.2e} (relative to the base peak)")
    print(f"ions beyond 1e-6 Da / 1e-4  : {n_beyond}")
    print(f"ions without centroids      : {n_empty} (cpymspec: {n_empty_ref})")


if __name__ == "__main__":
    main()
