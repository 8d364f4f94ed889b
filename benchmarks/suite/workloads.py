"""What the benchmarks run on: synthetic datasets of known content, molecular databases, settings.

Datasets are generated once into the data folder (named after their settings) and reused by
later runs. Databases other than the bundled CoreMetabolome come from the shared folder of
METASPACE test databases, ``../shared/data/moldb`` relative to the repository
(``IONSCAPE_BENCH_MOLDB`` overrides it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

import ionscape
from ionscape.synthetic import SynthSpec, synthesize

REPO = Path(__file__).resolve().parents[2]
MOLDB_DIR = Path(os.environ.get("IONSCAPE_BENCH_MOLDB", REPO.parent / "shared" / "data" / "moldb"))
MOL_DB_1_TO_4 = tuple(f"mol_db{i}.csv" for i in (1, 2, 3, 4))
CHEM_MODS = ("+CH2", "+O", "-H2", "+H2O")
"""Four common chemical modifications: methylation, oxidation, desaturation, hydration."""

RESOLVING_POWER, AT_MZ, ANALYZER = 140_000.0, 200.0, "Orbitrap"
SIZES = {
    "small": (50, 50, 1000),
    "medium": (200, 200, 1500),
    "large": (500, 400, 2000),
}
"""Workload name → (width, height, peaks per spectrum)."""


@dataclass(frozen=True)
class Database:
    """A molecular database choice: bundled name or shared files, optional formula cap, chem mods."""

    name: str
    sources: tuple[str, ...]
    max_formulas: int | None = None
    chem_mods: tuple[str, ...] = ()

    def limited(self, max_formulas: int) -> Database:
        """The first ``max_formulas`` distinct formulas of this database (file order)."""
        return replace(self, name=f"{self.name}[:{max_formulas}]", max_formulas=max_formulas)


DATABASES = {
    "core": Database("CoreMetabolome", ("core_metabolome",)),
    "db1-4": Database("mol_db1-4", MOL_DB_1_TO_4),
    "all": Database("all moldb", ("*",)),
    "db1-4+mods": Database("mol_db1-4 + 4 chem mods", MOL_DB_1_TO_4, chem_mods=CHEM_MODS),
}


def dataset_spec(width: int, height: int, peaks: int) -> SynthSpec:
    """Synthetic MALDI-Orbitrap data, positive mode, 50 planted CoreMetabolome ions and their isobars."""
    return SynthSpec(
        width=width,
        height=height,
        peaks_per_spectrum=peaks,
        n_planted=50,
        resolving_power=RESOLVING_POWER,
        at_mz=AT_MZ,
        analyzer=ANALYZER,
    )


def annotation_config(chem_mods: tuple[str, ...] = ()) -> ionscape.AnnotationConfig:
    """Positive mode, +H/+Na/+K, 20 decoys, isotope sigma of the synthetic data's instrument."""
    config = ionscape.AnnotationConfig.for_polarity(
        "+", resolving_power=RESOLVING_POWER, at_mz=AT_MZ, analyzer=ANALYZER
    )
    return config.with_overrides(chem_mods=chem_mods) if chem_mods else config


def ensure_dataset(spec: SynthSpec, data_dir: Path) -> Path:
    """Path of the imzML of ``spec`` in ``data_dir``, generated first if it is not there yet."""
    digest = hashlib.sha1(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
    path = data_dir / f"synth-{spec.width}x{spec.height}-{spec.peaks_per_spectrum}-{digest}.imzML"
    done = path.with_suffix(".done")
    if not done.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", flush=True)
        synthesize(path, spec)
        done.touch()
    return path


def ensure_database(db: Database, data_dir: Path) -> Path | str:
    """What to pass to ``ionscape.annotate`` for ``db``: a bundled name or a formula-list CSV.

    Several source files become one database of their distinct formulas in file order.
    """
    if db.sources == ("core_metabolome",) and db.max_formulas is None:
        return "core_metabolome"
    slug = "".join(c if c.isalnum() else "_" for c in db.name)
    path = data_dir / "moldb" / f"{slug}.csv"
    if not path.exists():
        formulas = pd.unique(pd.Series(_source_formulas(db.sources)))[: db.max_formulas]
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"formula": formulas}).to_csv(path, index=False)
    return path


def _source_formulas(sources: tuple[str, ...]) -> list[str]:
    if sources == ("core_metabolome",):
        return ionscape.load_moldb("core_metabolome").formulas
    if not MOLDB_DIR.is_dir():
        raise SystemExit(
            f"the benchmark databases are not in {MOLDB_DIR}: put METASPACE's mol_db*.csv there "
            "or set IONSCAPE_BENCH_MOLDB to their folder"
        )
    paths = sorted(p for p in MOLDB_DIR.iterdir() if p.suffix in (".csv", ".tsv"))
    if sources != ("*",):
        paths = [MOLDB_DIR / name for name in sources]
    formulas: list[str] = []
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"benchmark database {path} is missing")
        formulas += ionscape.load_moldb(path, skip_invalid=True).formulas
    return formulas
