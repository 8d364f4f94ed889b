import logging
from pathlib import Path

import pytest

from ionscape.chem.moldb import MolecularDB, bundled_databases, load_moldb
from ionscape.errors import DatabaseError

MOL_DB5 = Path(__file__).parents[1] / "data/moldb/mol_db5.csv"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_core_metabolome():
    db = load_moldb("core_metabolome")
    assert isinstance(db, MolecularDB)
    assert db.name == "core_metabolome_v3"
    assert list(db.molecules.columns) == ["id", "name", "formula"]
    assert len(db.molecules) == 11363
    assert db.molecules.iloc[0].tolist() == ["HMDB0240254", "Creatine riboside", "C9H17N3O6"]
    assert db.molecules.iloc[1].tolist() == ["HMDB0240253", "N-Acetyltaurine", "C4H9NO4S"]
    assert db.formulas[:2] == ["C9H17N3O6", "C4H9NO4S"]
    assert not db.targeted
    assert Path(db.source).name == "core_metabolome_v3.csv"
    assert load_moldb("core_metabolome_v3").molecules.equals(db.molecules)


def test_lipidmaps():
    db = load_moldb("lipidmaps")
    assert db.name == "lipidmaps_2017-12-12"
    assert len(db.molecules) == 42021
    assert db.molecules.iloc[1].tolist() == ["LMFA00000002", "Serratamic acid", "C13H25NO5"]
    assert not db.targeted


def test_bundled_databases_listing_is_true():
    listing = bundled_databases()
    assert [entry["name"] for entry in listing] == ["core_metabolome_v3", "lipidmaps_2017-12-12"]
    for entry in listing:
        db = load_moldb(entry["file"])
        assert entry["molecules"] == len(db.molecules)
        assert entry["formulas"] == len(db.formulas) == db.molecules.formula.nunique()
        assert entry["description"] and entry["licence"]
        assert load_moldb(entry["aliases"][0]).name == entry["name"]


def test_formula_only_list_with_index_column():
    db = load_moldb(MOL_DB5)
    assert db.name == "mol_db5"
    assert len(db.molecules) == len(db.formulas) == 388
    # the unnamed first column is the id; the name is the formula
    assert db.molecules.iloc[0].tolist() == ["0", "C13H8N2O2", "C13H8N2O2"]
    assert db.molecules.iloc[1].tolist() == ["1", "C14H10K2O8", "C14H10K2O8"]
    assert not db.targeted  # FDR-filtered unless asked, as METASPACE's reference run treats it
    assert load_moldb(MOL_DB5, targeted=True).targeted


def test_formula_only_list_without_index(tmp_path):
    db = load_moldb(_write(tmp_path, "list.csv", "formula\nH2O\nCO2\n"))
    assert db.molecules.values.tolist() == [["H2O", "H2O", "H2O"], ["CO2", "CO2", "CO2"]]


def test_id_name_formula_any_order_and_name_override(tmp_path):
    path = _write(tmp_path, "mine.tsv", "formula\tname\tid\nC6H12O6\tglucose\tm1\nH2O\twater\tm2\n")
    db = load_moldb(path, name="custom")
    assert db.name == "custom"
    assert db.molecules.values.tolist() == [["m1", "glucose", "C6H12O6"], ["m2", "water", "H2O"]]
    assert db.source == str(path)


def test_delimiter_sniffed_for_other_extensions(tmp_path):
    tabs = load_moldb(_write(tmp_path, "a.txt", "id\tname\tformula\n1\tx, y\tH2O\n"))
    assert tabs.molecules.values.tolist() == [["1", "x, y", "H2O"]]
    semicolons = load_moldb(_write(tmp_path, "b.txt", "id;name;formula\n1;water;H2O\n2;co2;CO2\n"))
    assert semicolons.formulas == ["H2O", "CO2"]


def test_quoted_fields_and_whitespace(tmp_path):
    path = _write(tmp_path, "q.csv", 'id,name,formula\n1,"water, pure", H2O \n')
    assert load_moldb(path).molecules.values.tolist() == [["1", "water, pure", "H2O"]]


def test_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("id,name,formula\n1,water,H2O\n", encoding="utf-8-sig")
    assert load_moldb(path).molecules.values.tolist() == [["1", "water", "H2O"]]


def test_distinct_formulas_in_first_appearance_order(tmp_path):
    path = _write(tmp_path, "d.csv", "id,name,formula\n1,a,CO2\n2,b,H2O\n3,c,CO2\n4,d,CH4\n")
    db = load_moldb(path)
    assert len(db.molecules) == 4
    assert db.formulas == ["CO2", "H2O", "CH4"]


@pytest.mark.parametrize("n_formulas", [3, 1001])
def test_databases_are_untargeted_unless_asked(tmp_path, n_formulas):
    rows = "".join(f"C{i}H4\n" for i in range(1, n_formulas + 1)) + "C1H4\n"
    path = _write(tmp_path, "t.csv", "formula\n" + rows)
    db = load_moldb(path)
    assert len(db.formulas) == n_formulas
    assert db.targeted is False
    assert load_moldb(path, targeted=True).targeted is True


def test_missing_file(tmp_path):
    with pytest.raises(DatabaseError, match=r"not found: .*nope\.csv.*core_metabolome"):
        load_moldb(tmp_path / "nope.csv")
    with pytest.raises(DatabaseError, match="not found"):
        load_moldb("core_metabolome_v9")


def test_no_formula_column(tmp_path):
    with pytest.raises(DatabaseError, match=r"no 'formula' \(or 'sf'\) column; found columns: 'id', 'name'"):
        load_moldb(_write(tmp_path, "x.csv", "id,name\n1,a\n"))


def test_invalid_formula_names_file_line_and_formula(tmp_path):
    text = "id,name,formula\n1,a,H2O\n2,b,CO2\n3,c,C6H12Xy\n4,d,H2O.NaCl\n5,e,CH4\n"
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(DatabaseError) as error:
        load_moldb(path)
    message = str(error.value)
    assert str(path) in message
    assert "line 4: formula 'C6H12Xy': element 'Xy' is not known" in message
    assert "(and 1 more invalid line)" in message
    assert "skip_invalid=True" in message


def test_skip_invalid_drops_and_lists_rows(tmp_path, caplog):
    text = "id,name,formula\n1,a,H2O\n2,b,C0\n3,,CO2\n4,d,C2H4(OH)2\n5,e,   \n6,f,H2O-H3\n"
    with caplog.at_level(logging.WARNING, logger="ionscape.chem"):
        db = load_moldb(_write(tmp_path, "bad.csv", text), skip_invalid=True)
    assert db.molecules.id.tolist() == ["1", "4"]
    assert db.formulas == ["H2O", "C2H4(OH)2"]
    (record,) = caplog.records
    message = record.getMessage()
    assert "skipped 4 invalid row(s)" in message
    assert "line 3: formula 'C0' has no atoms" in message
    assert "line 4: empty name" in message
    assert "line 6: empty formula" in message
    assert "line 7: formula 'H2O-H3': negative count of H" in message


def test_line_numbers_count_blank_lines(tmp_path):
    path = _write(tmp_path, "blank.csv", "id,name,formula\n1,a,H2O\n\n2,b,Qq\n")
    with pytest.raises(DatabaseError, match="line 4: formula 'Qq'"):
        load_moldb(path)
    assert load_moldb(_write(tmp_path, "ok.csv", "id,name,formula\n\n1,a,H2O\n\n")).formulas == ["H2O"]


@pytest.mark.parametrize(
    ("formula", "valid"),
    [
        ("Ca2", True),
        ("Cx6H12O6", True),
        ("C0H", True),
        ("C10", True),
        ("(CH3)2", True),
        ("C00", False),
        ("CA2", False),
        ("H2O.H2O", False),
        ("c6", False),
    ],
)
def test_formula_validation_edge_cases(tmp_path, formula, valid):
    path = _write(tmp_path, "one.csv", f"id,name,formula\n1,a,{formula}\n")
    if valid:
        assert load_moldb(path).formulas == [formula]
    else:
        with pytest.raises(DatabaseError, match="line 2"):
            load_moldb(path)


def test_empty_database(tmp_path):
    with pytest.raises(DatabaseError, match="holds no molecules"):
        load_moldb(_write(tmp_path, "empty.csv", "id,name,formula\n"))
    with pytest.raises(DatabaseError, match="holds no molecules"):
        load_moldb(_write(tmp_path, "all_bad.csv", "id,name,formula\n1,a,Qq\n"), skip_invalid=True)
    with pytest.raises(DatabaseError, match="cannot read"):
        load_moldb(_write(tmp_path, "nothing.csv", ""))
