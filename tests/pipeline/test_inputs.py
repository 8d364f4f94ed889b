"""Inputs: a dataset in Lithops storage, and several databases in one run (each with its own FDR)."""

from __future__ import annotations

import pandas as pd
import pytest

from ionscape import annotate, example_config, load_moldb
from tests.conftest import DATA


@pytest.fixture(scope="module")
def mol_db5():
    return load_moldb(DATA / "moldb" / "mol_db5.csv", targeted=False)


@pytest.fixture(scope="module")
def local_run(example_imzml, lithops_local, mol_db5):
    return annotate(example_imzml, [mol_db5], example_config(), lithops_config=lithops_local)


def test_dataset_in_lithops_storage_gives_the_same_table(example_imzml, lithops_local, mol_db5, local_run):
    import lithops

    storage = lithops.Storage(config=lithops_local)
    for path in (example_imzml, example_imzml.with_suffix(".ibd")):
        storage.put_object(storage.bucket, f"inputs/{path.name}", path.read_bytes())
    uri = f"lithops://{storage.bucket}/inputs/{example_imzml.name}"
    remote = annotate(uri, [mol_db5], example_config(), lithops_config=lithops_local)
    pd.testing.assert_frame_equal(remote.annotations, local_run.annotations)


def test_each_database_gets_its_own_fdr(example_imzml, lithops_local, mol_db5, local_run):
    both = annotate(
        example_imzml, [mol_db5, "core_metabolome"], example_config(), lithops_config=lithops_local
    )
    table = both.annotations
    assert set(table["moldb_id"]) <= {"mol_db5", "core_metabolome_v3", "core_metabolome"}
    alone = local_run.annotations.drop(columns=["formula_i"]).reset_index(drop=True)
    together = table[table["moldb_id"] == "mol_db5"].drop(columns=["formula_i"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, alone)
    counts = both.counts_by_fdr()
    assert list(counts["database"]) == both.databases


def test_neutral_losses_and_chem_mods_split_into_their_parts(example_imzml, lithops_local, mol_db5):
    from ionscape.chem.formulas import ion_formula

    config = example_config().with_overrides(neutral_losses=("-H2O",), chem_mods=("-H+C",))
    table = annotate(example_imzml, [mol_db5], config, lithops_config=lithops_local).annotations
    assert set(table["neutral_loss"]) <= {"", "-H2O"} and set(table["chem_mod"]) <= {"", "-H+C"}
    assert set(table["adduct"]) <= {"+H", "+K", "+Na"}
    for row in table.itertuples():
        assert row.modifier == row.chem_mod + row.neutral_loss + row.adduct
        assert row.ion_formula == ion_formula(row.formula, row.modifier)
        assert row.ion == row.formula + row.modifier
    plain = table[(table["chem_mod"] == "") & (table["neutral_loss"] == "")]
    assert len(plain) > 0
