import logging
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ionscape.chem.formulas import ion_formula
from ionscape.chem.ions import build_ion_table
from ionscape.chem.modifiers import DECOY_ADDUCTS
from ionscape.chem.moldb import load_moldb
from ionscape.config import AnnotationConfig, FDRSettings, IsotopeGeneration
from ionscape.errors import FormulaError

TESTS = Path(__file__).parents[1]
EXAMPLE_CONFIG = TESTS.parent / "src/ionscape/data/example/untreated_tiny/config.json"


def _config(sample_size=20, parsing="metaspace", **isotope_generation) -> AnnotationConfig:
    return AnnotationConfig(
        isotope_generation=IsotopeGeneration(**isotope_generation),
        fdr=FDRSettings(decoy_sample_size=sample_size),
        formula_parsing=parsing,
    )


def _rows(formula_map: pd.DataFrame) -> list[tuple]:
    return list(formula_map.itertuples(index=False, name=None))


def _legacy_first_decoys(n_draws: int) -> list[str]:
    """First decoy of each draw, by the spec's procedure: seed(42), then copy and shuffle per draw."""
    state = np.random.get_state()
    try:
        np.random.seed(42)
        firsts = []
        for _ in range(n_draws):
            candidates = list(DECOY_ADDUCTS)
            np.random.shuffle(candidates)
            firsts.append(candidates[0])
    finally:
        np.random.set_state(state)
    return firsts


def test_two_formula_table_by_hand():
    table = build_ion_table([("db", ["C6H12O6", "H2O"], False)], _config(sample_size=1))
    # draws 1-3 are the §4.2 reference draws; draws 4-6 continue the same stream
    assert _legacy_first_decoys(6) == ["+Se", "+Pr", "+Sr", "+Cl", "+C", "+Sc"]
    assert table.ion_formulas.tolist() == [
        "C6H12O6K",
        "C6H12O6Na",
        "C6H12O6Pr",
        "C6H12O6Se",
        "C6H12O6Sr",
        "C6H13O6",
        "CH2O",
        "H2OCl",
        "H2OK",
        "H2ONa",
        "H2OSc",
        "H3O",
    ]
    assert table.target.tolist() == [1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1]
    assert not table.targeted.any()
    (db,) = table.databases
    assert (db.name, db.targeted) == ("db", False)
    assert [tm.tm for tm in db.target_modifiers] == ["+H", "+Na", "+K"]
    assert _rows(db.formula_map) == [
        ("C6H12O6", "+H", True, 5),
        ("C6H12O6", "+Na", True, 1),
        ("C6H12O6", "+K", True, 0),
        ("H2O", "+H", True, 11),
        ("H2O", "+Na", True, 9),
        ("H2O", "+K", True, 8),
        ("C6H12O6", "+Se", False, 3),
        ("C6H12O6", "+Pr", False, 2),
        ("C6H12O6", "+Sr", False, 4),
        ("H2O", "+Cl", False, 7),
        ("H2O", "+C", False, 6),
        ("H2O", "+Sc", False, 10),
    ]
    assert db.formula_map.formula_i.dtype == np.int64
    assert db.formula_map.target.dtype == bool
    assert _rows(db.decoy_map) == [
        ("C6H12O6", "+H", "+Se"),
        ("C6H12O6", "+Na", "+Pr"),
        ("C6H12O6", "+K", "+Sr"),
        ("H2O", "+H", "+Cl"),
        ("H2O", "+Na", "+C"),
        ("H2O", "+K", "+Sc"),
    ]


def test_invalid_pairs_are_dropped():
    config = _config(sample_size=2, adducts=("+H", "[M]+"), neutral_losses=("-H2O",))
    table = build_ion_table([("db", ["CH4", "H2O"], False)], config)
    (db,), ions = table.databases, table.ion_formulas
    targets = db.formula_map[db.formula_map.target]
    # CH4 has no O to lose; H2O minus H2O has no atoms, and -H2O+H leaves one H
    assert [(f, m, ions[i]) for f, m, _, i in _rows(targets)] == [
        ("CH4", "+H", "CH5"),
        ("CH4", "", "CH4"),
        ("H2O", "+H", "H3O"),
        ("H2O", "", "H2O"),
        ("H2O", "-H2O+H", "H"),
    ]
    # the decoy map keeps every draw: 2 formulas x 4 tms x 2 decoys
    assert len(db.decoy_map) == 16
    decoys = db.formula_map[~db.formula_map.target]
    drawn = db.decoy_map.drop_duplicates(["formula", "dm"])
    ch4_expected = drawn[(drawn.formula == "CH4") & ~drawn.dm.str.startswith("-H2O")].dm.tolist()
    assert decoys[decoys.formula == "CH4"].modifier.tolist() == ch4_expected
    h2o = decoys[decoys.formula == "H2O"]
    assert h2o.modifier.tolist() == drawn[drawn.formula == "H2O"].dm.tolist()
    for modifier, i in zip(h2o.modifier, h2o.formula_i, strict=True):
        if modifier.startswith("-H2O+"):
            assert ions[i] == modifier[len("-H2O+") :]  # H2O - H2O + X = X


def test_modifier_that_goes_negative_on_the_way():
    table = build_ion_table(
        [("db", ["C2H6O", "C2H12O"], False)], _config(sample_size=1, adducts=("-H10+H10",))
    )
    targets = table.databases[0].formula_map.query("target")
    assert [(f, table.ion_formulas[i]) for f, i in zip(targets.formula, targets.formula_i, strict=True)] == [
        ("C2H12O", "C2H12O")
    ]


def test_labelled_formulas_and_shared_ids():
    config = _config(sample_size=1, adducts=("+H",), chem_mods=("-Cx6+C6",))
    table = build_ion_table([("db", ["Cx6H12O6", "C6H12O6"], False)], config)
    targets = table.databases[0].formula_map.query("target")
    assert [(f, m, table.ion_formulas[i]) for f, m, _, i in _rows(targets)] == [
        ("Cx6H12O6", "+H", "H13O6Cx6"),
        ("Cx6H12O6", "-Cx6+C6+H", "C6H13O6"),
        ("C6H12O6", "+H", "C6H13O6"),
    ]
    assert targets.formula_i.iloc[1] == targets.formula_i.iloc[2]


def _check_against_oracle(table, formulas, config, pairs_to_check=None):
    """Every drawn pair is in the formula map exactly when ion_formula says it is valid, with its ion."""
    mode = config.formula_parsing
    (db,) = table.databases
    tms = list(dict.fromkeys(tm.tm for tm in db.target_modifiers))
    expected = [(f, tm, True) for f in formulas for tm in tms]
    expected += [(f, dm, False) for f, dm in db.decoy_map[["formula", "dm"]].drop_duplicates().to_numpy()]
    if pairs_to_check is not None:
        expected = random.Random(0).sample(expected, pairs_to_check)
    found = {(f, m, t): i for f, m, t, i in _rows(db.formula_map)}
    assert len(found) == len(db.formula_map)
    for formula, modifier, is_target in expected:
        ion = ion_formula(formula, modifier, mode=mode)
        if ion is None:
            assert (formula, modifier, is_target) not in found
        else:
            assert table.ion_formulas[found[formula, modifier, is_target]] == ion
    return expected


@pytest.mark.parametrize("parsing", ["metaspace", "strict"])
def test_all_pairs_match_the_scalar_oracle(parsing):
    mol_db5 = pd.read_csv(TESTS / "data/moldb/mol_db5.csv")["sf"].tolist()
    odd = ["CH3CH2OH", "C2H4(OH)2", "Cx2C4H12O6", "H", "O2", "H2O", "NaCl", "2C21H12O7", "C6H12O6-H2O", "Fe"]
    formulas = mol_db5[:40] + odd
    config = _config(
        sample_size=3,
        parsing=parsing,
        adducts=("+H", "+Na", "[M]+", "-H10+H10"),
        chem_mods=("-H+C",),
        neutral_losses=("-H2O", "-CO2"),
    )
    table = build_ion_table([("db", formulas, False)], config)
    expected = _check_against_oracle(table, formulas, config)
    (db,) = table.databases
    assert len(db.formula_map) == sum(ion_formula(f, m, mode=parsing) is not None for f, m, _ in expected)
    assert len(db.decoy_map) == len(formulas) * 24 * 3
    ions = {ion_formula(f, m, mode=parsing) for f, m, _ in expected} - {None}
    assert table.ion_formulas.tolist() == sorted(ions)
    target_ions = {ion_formula(f, m, mode=parsing) for f, m, t in expected if t} - {None}
    assert set(table.ion_formulas[table.target]) == target_ions


def test_bundled_database_sample_matches_the_scalar_oracle():
    formulas = load_moldb("core_metabolome").formulas
    config = AnnotationConfig()
    table = build_ion_table([("core", formulas, False)], config)
    _check_against_oracle(table, formulas, config, pairs_to_check=3000)
    # several hundred elements' worth of formulas: ids must stay unique and sorted
    assert len(set(table.ion_formulas)) == len(table.ion_formulas)
    assert table.ion_formulas.tolist() == sorted(table.ion_formulas)


def test_formula_ids_match_metaspace_reference():
    """METASPACE's own formula_i for untreated_tiny x mol_db5 (tests/data/reference)."""
    reference = pd.read_csv(TESTS / "data/reference/untreated_tiny__mol_db5.csv")
    formulas = pd.read_csv(TESTS / "data/moldb/mol_db5.csv")["sf"].tolist()
    table = build_ion_table([("mol_db5", formulas, False)], AnnotationConfig.from_json(EXAMPLE_CONFIG))
    merged = reference.merge(
        table.databases[0].formula_map, on=["formula", "modifier"], suffixes=("_ref", "")
    )
    assert len(merged) == len(reference) == 38
    assert merged.target.all()
    assert (merged.formula_i == merged.formula_i_ref).all()
    assert (table.ion_formulas[merged.formula_i] == merged.ion_formula).all()


def test_flags_across_databases():
    """§10.18: CO2 and H2SO4 share ids across DBs; only the targeted DB's ions are targeted."""
    databases = [("a", ["H2O", "CO2"], False), ("b", ["H2SO4", "CO2"], True), ("c", ["H2SO4", "NH4"], False)]
    table = build_ion_table(databases, _config(adducts=("[M]+",)))
    ids = {
        (db.name, formula): i
        for db in table.databases
        for formula, _, _, i in _rows(db.formula_map.query("target"))
    }
    assert ids["a", "CO2"] == ids["b", "CO2"]
    assert ids["b", "H2SO4"] == ids["c", "H2SO4"]
    assert table.targeted[ids["b", "CO2"]] and table.targeted[ids["b", "H2SO4"]]
    assert not table.targeted[ids["a", "H2O"]] and not table.targeted[ids["c", "NH4"]]
    targeted_db = table.databases[1]
    assert targeted_db.targeted
    assert table.targeted[targeted_db.formula_map.formula_i].all()  # decoys of a targeted DB too
    assert table.target[list(ids.values())].all()


def test_decoy_ion_equal_to_a_target_ion_shares_its_id():
    # H2O + the decoy C is CH2O, which is formaldehyde's target ion with [M]+
    table = build_ion_table([("db", ["H2O", "CH2O"], False)], _config(sample_size=80, adducts=("[M]+",)))
    fm = table.databases[0].formula_map
    decoy_id = fm[(fm.formula == "H2O") & (fm.modifier == "+C")].formula_i.item()
    target_id = fm[(fm.formula == "CH2O") & fm.target].formula_i.item()
    assert decoy_id == target_id and table.target[decoy_id]


def test_ion_counts_upstream_bounds():
    """§10.5."""
    formulas = ["C40H78NO8P", "C16H18O9S"]
    table = build_ion_table([("db", formulas, False)], _config(sample_size=5, adducts=("+H", "+Na")))
    assert 2 * 5 + 2 * 2 < len(table.ion_formulas) <= 2 * 2 * 5 + 2 * 2
    config = _config(
        sample_size=5, adducts=("+H", "+Na", "+K"), chem_mods=("-H+C",), neutral_losses=("-H2O", "-O")
    )
    table = build_ion_table([("db", formulas, False)], config)
    assert 2 * 18 < len(table.ion_formulas) <= 2 * 18 * 6
    targets = table.databases[0].formula_map.query("target")
    assert len(targets) == 2 * 18


def test_metaspace_mode_warns_about_tokenisation(caplog):
    odd = [f"CH3C{i}H2OH" for i in range(2, 14)]  # 12 formulas with repeated elements
    with caplog.at_level(logging.WARNING, logger="ionscape.chem"):
        build_ion_table([("odd", ["C6H12O6", *odd], False)], _config(sample_size=1))
    (record,) = caplog.records
    message = record.getMessage()
    assert "'odd'" in message and "12 formula(s)" in message
    assert ", ".join(odd[:10]) + ", ..." in message and odd[10] not in message
    assert "C6H12O6" not in message
    assert 'formula_parsing: "strict"' in message


def test_strict_mode_sums_repeats_without_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="ionscape.chem"):
        table = build_ion_table([("db", ["CH3CH2OH"], False)], _config(sample_size=1, parsing="strict"))
    assert not caplog.records
    target_ids = table.databases[0].formula_map.query("target").formula_i
    assert table.ion_formulas[target_ids].tolist() == ["C2H7O", "C2H6ONa", "C2H6OK"]


def test_no_warning_for_hill_formulas(caplog):
    with caplog.at_level(logging.WARNING, logger="ionscape.chem"):
        build_ion_table([("db", ["C6H12O6", "H2O"], False)], _config(sample_size=1))
    assert not caplog.records


def test_unparsable_formula_names_the_database():
    with pytest.raises(FormulaError, match="database 'mine': formula 'Xy2'"):
        build_ion_table([("mine", ["H2O", "Xy2"], False)], _config())


def test_repeated_formulas_are_drawn_once():
    once = build_ion_table([("db", ["H2O", "CO2"], False)], _config())
    twice = build_ion_table([("db", ["H2O", "CO2", "H2O"], False)], _config())
    assert _rows(once.databases[0].decoy_map) == _rows(twice.databases[0].decoy_map)
    assert _rows(once.databases[0].formula_map) == _rows(twice.databases[0].formula_map)


def test_empty_inputs():
    table = build_ion_table([], _config())
    assert table.ion_formulas.shape == table.target.shape == table.targeted.shape == (0,)
    assert table.databases == []
    table = build_ion_table([("empty", [], False), ("one", ["H2O"], False)], _config(sample_size=1))
    assert table.databases[0].formula_map.empty and table.databases[0].decoy_map.empty
    assert len(table.databases[1].formula_map) == 6
