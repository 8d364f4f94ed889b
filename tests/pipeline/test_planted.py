"""Planted ions in a synthetic dataset are found at FDR ≤ 10 %, and nothing else is."""

from __future__ import annotations

import pandas as pd
import pytest

from ionscape import AnnotationConfig, annotate, load_moldb
from ionscape.chem.moldb import MolecularDB
from ionscape.synthetic import PlantedIon, write_planted_dataset

PLANTED = [
    PlantedIon("C6H12O6", "+H"),
    PlantedIon("C5H9NO4", "+Na"),
    PlantedIon("C10H16N5O13P3", "+H"),
    PlantedIon("C16H32O2", "+K"),
    PlantedIon("C42H82NO8P", "+Na"),
    PlantedIon("C9H17N3O6", "+H"),
]


@pytest.fixture(scope="module")
def planted_results(tmp_path_factory, lithops_local):
    folder = tmp_path_factory.mktemp("planted")
    imzml = write_planted_dataset(folder / "planted.imzML", PLANTED)
    core = load_moldb("core_metabolome")
    formulas = list(dict.fromkeys(core.formulas[:300] + [p.formula for p in PLANTED]))
    molecules = pd.DataFrame({"id": formulas, "name": formulas, "formula": formulas})
    db = MolecularDB(name="core_subset", molecules=molecules, source="test", targeted=False)
    config = AnnotationConfig.for_polarity("+", resolving_power=80000, at_mz=700, analyzer="FTICR")
    return annotate(imzml, [db], config, lithops_config=lithops_local)


def test_planted_ions_found_at_fdr_10(planted_results):
    table = planted_results.annotations
    found = table[table["fdr"] <= 0.1]
    found_keys = set(zip(found["formula"], found["adduct"], strict=True))
    for ion in PLANTED:
        assert (ion.formula, ion.adduct) in found_keys, f"{ion} not found at FDR <= 10%"


def test_no_unplanted_annotations_at_fdr_10(planted_results):
    table = planted_results.annotations
    found = table[table["fdr"] <= 0.1]
    planted = {(p.formula, p.adduct) for p in PLANTED}
    extra = {(f, a) for f, a in zip(found["formula"], found["adduct"], strict=True)} - planted
    # other adducts of a planted molecule cannot be in the data; random noise rarely forms an isotope pattern
    assert len(extra) <= 1, extra
