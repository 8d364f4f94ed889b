import pytest

from ionscape.chem.formulas import (
    ELEMENTS,
    LABEL_ELEMENTS,
    check_db_formula,
    format_formula,
    ion_formula,
    parse_formula,
    parse_modifier,
    parsing_modes_agree,
)
from ionscape.chem.modifiers import DECOY_ADDUCTS
from ionscape.errors import FormulaError


def test_elements_are_the_isotope_table_plus_labels():
    # 106 elements in the isotope table, plus the five labelled pseudo-elements of §3.8
    assert len(ELEMENTS) == 106 + 5
    assert LABEL_ELEMENTS == {"Cx", "Nx", "Hx", "Ox", "Sx"} <= ELEMENTS
    assert {"H", "C", "N", "O", "P", "S", "Na", "K", "Cl", "U"} <= ELEMENTS
    assert {decoy[1:] for decoy in DECOY_ADDUCTS} <= ELEMENTS
    assert "Xy" not in ELEMENTS and "symbol" not in ELEMENTS


@pytest.mark.parametrize(
    ("formula", "counts"),
    [
        ("C6H12O6", {"C": 6, "H": 12, "O": 6}),
        ("H2O", {"H": 2, "O": 1}),
        ("NaCl", {"Na": 1, "Cl": 1}),
        ("Cx6H12O6", {"Cx": 6, "H": 12, "O": 6}),
        # the upstream quirk of §2.2: a repeated element overwrites the earlier count
        ("CH3CH2OH", {"C": 1, "H": 1, "O": 1}),
        ("C2H4(OH)2", {"C": 2, "H": 1, "O": 1}),
        # multipliers, parentheses and signs are ignored; '.' and '=' are deleted
        ("2H2O", {"H": 2, "O": 1}),
        ("C6H12O6-H2O", {"C": 6, "H": 2, "O": 1}),
        ("H2O.NaCl", {"H": 2, "O": 1, "Na": 1, "Cl": 1}),
        ("C2=O", {"C": 2, "O": 1}),
        ("C0H4", {"H": 4}),
    ],
)
def test_parse_metaspace(formula, counts):
    assert parse_formula(formula) == counts
    assert parse_formula(formula, mode="metaspace") == counts


@pytest.mark.parametrize(
    ("formula", "counts"),
    [
        ("C6H12O6", {"C": 6, "H": 12, "O": 6}),
        ("CH3CH2OH", {"C": 2, "H": 6, "O": 1}),
        ("C2H4(OH)2", {"C": 2, "H": 6, "O": 2}),
        ("2H2O", {"H": 4, "O": 2}),
        ("((CH3)2)3N", {"C": 6, "H": 18, "N": 1}),
        ("(OH)", {"O": 1, "H": 1}),
        ("H2O.NaCl", {"H": 2, "O": 1, "Na": 1, "Cl": 1}),
        ("CuSO4.5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("C6H12O6-H2O", {"C": 6, "H": 10, "O": 5}),
        ("H2O+H", {"H": 3, "O": 1}),
        ("Cx2C4H12O6", {"Cx": 2, "C": 4, "H": 12, "O": 6}),
        ("C0H4", {"H": 4}),
    ],
)
def test_parse_strict(formula, counts):
    assert parse_formula(formula, mode="strict") == counts


@pytest.mark.parametrize("mode", ["metaspace", "strict"])
@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("", "''"),
        ("Xy2", "'Xy' is not known"),
        ("C6H12Xy", "'Xy' is not known"),
        ("hello", "'hello'"),
        ("123", "'123'"),
    ],
)
def test_parse_rejects_garbage_in_both_modes(formula, mode, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula, mode=mode)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("C(H", r"'C\(H': missing '\)' at the end"),
        ("C)", r"unexpected '\)' at position 1"),
        ("2", "expected an element or '\\(' at the end"),
        ("c6", "unexpected character 'c' at position 0"),
        ("C6 H12", "unexpected character ' ' at position 2"),
        ("()", "expected an element or '\\(' but found '\\)' at position 1"),
        ("H2O-", "at the end"),
        ("H2O-H3", "negative count of H"),
        ("C6H12O6=", "unexpected character '='"),
    ],
)
def test_parse_strict_grammar_errors(formula, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula, mode="strict")


def test_parse_unknown_mode():
    with pytest.raises(FormulaError, match="mode"):
        parse_formula("H2O", mode="lenient")


@pytest.mark.parametrize("formula", ["C6H12O6", "2C21H12O7", "C2H4(OH)2", "Cx6H12O6", "C6H12O6-H2O", "C0H4"])
def test_check_db_formula_accepts(formula):
    check_db_formula(formula)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("H2O.NaCl", r"'\.'"),
        ("C6H12O6.", r"'\.'"),
        ("Xy", "'Xy' is not known"),
        ("H2O-H3", "negative count"),
        ("C0", "no atoms"),
        ("C0H0", "no atoms"),
        ("", "empty"),
        ("C6H12O6 ", "unexpected character ' '"),
    ],
)
def test_check_db_formula_rejects(formula, message):
    with pytest.raises(FormulaError, match=message):
        check_db_formula(formula)


def test_format_formula_canonical_order():
    counts = {
        "Na": 1,
        "K": 2,
        "Cx": 1,
        "Cl": 3,
        "Ca": 1,
        "Br": 1,
        "S": 1,
        "P": 1,
        "O": 1,
        "N": 1,
        "H": 5,
        "C": 2,
    }
    # C H N O P S first, then the rest in code-point order: Br < Ca < Cl < Cx < K < Na
    assert format_formula(counts) == "C2H5NOPSBrCaCl3CxK2Na"


def test_format_formula_omits_zeros_and_ones():
    assert format_formula({"O": 1, "H": 2, "C": 0}) == "H2O"
    assert format_formula({"H": 13, "O": 6, "Cx": 6}) == "H13O6Cx6"
    assert format_formula({"C": 12}) == "C12"
    assert format_formula({}) == ""
    assert format_formula({"C": 0}) == ""


def test_format_formula_rejects_negative():
    with pytest.raises(FormulaError, match="negative"):
        format_formula({"H": -1})


def test_parse_modifier_steps():
    assert parse_modifier("-H2O+H") == [("H", -2), ("O", -1), ("H", 1)]
    assert parse_modifier("+Na") == [("Na", 1)]
    assert parse_modifier("-H10+H10") == [("H", -10), ("H", 10)]
    assert parse_modifier("+CH3CH2") == [("C", 1), ("H", 3), ("C", 1), ("H", 2)]
    assert parse_modifier("") == parse_modifier("[M]+") == parse_modifier("[M]-") == []


@pytest.mark.parametrize("modifier", ["H", "+h", "+H2O-", "++H", "+(OH)", "+2H", "M+H"])
def test_parse_modifier_rejects_malformed(modifier):
    with pytest.raises(FormulaError, match="signed groups"):
        parse_modifier(modifier)


def test_parse_modifier_rejects_unknown_element():
    with pytest.raises(FormulaError, match="'Xy' is not known"):
        parse_modifier("+H-Xy")


@pytest.mark.parametrize(
    ("formula", "modifier", "ion"),
    [
        # the examples of §2.2
        ("C6H12O6", "+H", "C6H13O6"),
        ("C6H12O6", "-H2O+H", "C6H11O5"),
        ("CH4", "-H+C", "C2H3"),
        ("Cx6H12O6", "+H", "H13O6Cx6"),
        # worked by hand for the §10.7 formulas and adducts
        ("C2H6O", "+H", "C2H7O"),
        ("C2H6O", "+Na", "C2H6ONa"),
        ("C7H6O4", "-H", "C7H5O4"),
        ("C40H78NO8P", "+K", "C40H78NO8PK"),
        ("C16H18O9S", "+Cl", "C16H18O9SCl"),
        ("C46H80NO8P", "-H2O+Na", "C46H78NO7PNa"),
        ("C50H100NO8P", "-H+C+H", "C51H100NO8P"),
        # charge-only adducts and the empty modifier leave the formula alone (but canonical)
        ("C2H6O", "[M]+", "C2H6O"),
        ("C2H6O", "[M]-", "C2H6O"),
        ("OH2", "", "H2O"),
        # an element absent from the formula can be added, and removed again
        ("H2O", "+Fe-Fe", "H2O"),
        ("C2H6O", "-H6+H10", "C2H10O"),
        ("Cx6H12O6", "-Cx6", "H12O6"),
    ],
)
def test_ion_formula(formula, modifier, ion):
    assert ion_formula(formula, modifier) == ion


@pytest.mark.parametrize(
    ("formula", "modifier"),
    [
        ("C2H6O", "-H10+H10"),  # negative on the way, although the net change is zero
        ("Cx6H12O6", "-Cx7"),
        ("H2O", "-Fe+Fe"),
        ("H", "-H"),  # no atom left
        ("C2H6O", "H"),  # malformed modifiers make the pair invalid
        ("C2H6O", "+h"),
        ("C2H6O", "+H2O-"),
    ],
)
def test_ion_formula_invalid_pairs(formula, modifier):
    assert ion_formula(formula, modifier) is None


def test_ion_formula_modes():
    assert ion_formula("CH3CH2OH", "+H") == "CH2O"
    assert ion_formula("CH3CH2OH", "+H", mode="strict") == "C2H7O"
    assert ion_formula("C2H4(OH)2", "-H2O", mode="strict") == "C2H4O"
    assert ion_formula("C2H4(OH)2", "-H2O") is None  # C2HO minus H2 goes negative


def test_ion_formula_errors():
    with pytest.raises(FormulaError, match="'Xy' is not known"):
        ion_formula("C2H6O", "+Xy")
    with pytest.raises(FormulaError, match="'Qq' is not known"):
        ion_formula("Qq", "+H")


@pytest.mark.parametrize(
    ("formula", "agree"),
    [
        ("C6H12O6", True),
        ("C0H4", True),
        ("H2O.NaCl", True),
        ("CH3CH2OH", False),
        ("C2H4(OH)2", False),
        ("2C21H12O7", False),
        ("C6H12O6 ", False),  # the grammar rejects the space that the tokeniser ignores
    ],
)
def test_parsing_modes_agree(formula, agree):
    assert parsing_modes_agree(formula) is agree
