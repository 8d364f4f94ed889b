"""Molecular formulas: parsing, validation, canonical formatting and ion formulas (ALGORITHM.md §1.2, §2.2).

Two ways to read a formula exist. ``"metaspace"`` reproduces METASPACE's tokeniser, which ignores
every character that is not part of an ``Element[count]`` token and lets a repeated element
overwrite the earlier count (``CH3CH2OH`` is read as C1 H1 O1). ``"strict"`` parses the grammar that
METASPACE uses to validate database formulas: an optional multiplier, ``Element[count]`` and
``(fragment...)count`` fragments, ``.``-separated complexes and trailing signed complexes such as
``-H2O``; repeated elements are summed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

from ionscape.errors import FormulaError

__all__ = [
    "CHARGE_ONLY_ADDUCTS",
    "ELEMENTS",
    "FIRST_ELEMENTS",
    "FORMULA_MODES",
    "LABEL_ELEMENTS",
    "check_db_formula",
    "format_formula",
    "ion_formula",
    "is_modifier",
    "parse_formula",
    "parse_modifier",
    "parsing_modes_agree",
    "unknown_elements",
]

LABEL_ELEMENTS = frozenset({"Cx", "Nx", "Hx", "Ox", "Sx"})
FORMULA_MODES = ("metaspace", "strict")
CHARGE_ONLY_ADDUCTS = ("[M]+", "[M]-")
FIRST_ELEMENTS = ("C", "H", "N", "O", "P", "S")


def _read_element_symbols() -> frozenset[str]:
    table = resources.files("ionscape") / "data" / "isotope_table.tsv"
    lines = table.read_text().splitlines()[1:]
    return frozenset(line.split("\t", 1)[0] for line in lines if line.strip())


ELEMENTS: frozenset[str] = _read_element_symbols() | LABEL_ELEMENTS

_TOKEN = re.compile(r"([A-Z][a-z]*)([0-9]*)")
_PLAIN = re.compile(r"(?:[A-Z][a-z]*[0-9]*)+")
_MODIFIER = re.compile(r"(?:[+-](?:[A-Z][a-z]*[0-9]*)+)+")
_MODIFIER_GROUP = re.compile(r"([+-])((?:[A-Z][a-z]*[0-9]*)+)")
_STRICT_LEXEME = re.compile(r"[A-Z][a-z]*|[0-9]+|[().+-]")


def parse_formula(formula: str, *, mode: str = "metaspace") -> dict[str, int]:
    """Element counts of a formula.

    Parameters
    ----------
    formula : str
        A molecular formula such as ``C6H12O6``.
    mode : {"metaspace", "strict"}
        ``"metaspace"``: METASPACE's tokeniser (ALGORITHM.md §2.2): ``.`` and ``=`` are deleted,
        ``Element[count]`` tokens are read, everything else is ignored, and a repeated element
        overwrites the earlier count. ``"strict"``: the grammar of §1.2, repeated elements summed.

    Returns
    -------
    dict[str, int]
        Atom count (> 0) per element symbol, in order of first appearance; zero counts are left out.

    Raises
    ------
    FormulaError
        The formula is empty, does not follow the grammar (strict mode), has no element tokens,
        names an element that is not known, or (strict mode) a signed complex removes more atoms
        than there are.
    """
    if mode == "metaspace":
        counts = _parse_metaspace(formula)
    elif mode == "strict":
        counts = _StrictParser(formula).parse()
    else:
        raise FormulaError(f"unknown formula parsing mode {mode!r}: use one of {FORMULA_MODES}")
    negative = sorted(element for element, n in counts.items() if n < 0)
    if negative:
        raise FormulaError(f"formula {formula!r}: negative count of {', '.join(negative)}")
    return {element: n for element, n in counts.items() if n > 0}


def _parse_metaspace(formula: str) -> dict[str, int]:
    tokens = _TOKEN.findall(formula.replace(".", "").replace("=", ""))
    if not tokens:
        raise FormulaError(f"formula {formula!r} has no element symbols")
    counts: dict[str, int] = {}
    for element, digits in tokens:
        _check_element(element, formula)
        counts[element] = int(digits) if digits else 1
    return counts


def _check_element(element: str, formula: str) -> None:
    if element not in ELEMENTS:
        raise FormulaError(f"formula {formula!r}: element {element!r} is not known")


class _StrictParser:
    """Recursive-descent parser of the database formula grammar (ALGORITHM.md §1.2)."""

    def __init__(self, formula: str) -> None:
        self.formula = formula
        self.lexemes: list[tuple[int, str]] = []
        position = 0
        while position < len(formula):
            match = _STRICT_LEXEME.match(formula, position)
            if match is None:
                self._fail(f"unexpected character {formula[position]!r}", position)
            self.lexemes.append((position, match.group()))
            position = match.end()
        self.index = 0

    def parse(self) -> dict[str, int]:
        if not self.lexemes:
            raise FormulaError(f"formula {self.formula!r} is empty")
        counts = self._complex()
        while self._peek() == ".":
            self.index += 1
            _add(counts, self._complex())
        while self._peek() in ("+", "-"):
            sign = 1 if self._take() == "+" else -1
            _add(counts, self._complex(), sign)
        if self._peek() is not None:
            self._fail(f"unexpected {self._peek()!r}")
        return counts

    def _complex(self) -> dict[str, int]:
        multiplier = self._count()
        counts = self._fragments()
        return {element: n * multiplier for element, n in counts.items()}

    def _fragments(self) -> dict[str, int]:
        """One or more fragments: ``Element[count]`` or ``(fragments)[count]``."""
        counts: dict[str, int] = {}
        n_fragments = 0
        while (lexeme := self._peek()) is not None and (lexeme == "(" or lexeme[0].isupper()):
            self.index += 1
            if lexeme == "(":
                inner = self._fragments()
                if self._peek() != ")":
                    self._fail("missing ')'")
                self.index += 1
                _add(counts, inner, self._count())
            else:
                _check_element(lexeme, self.formula)
                _add(counts, {lexeme: self._count()})
            n_fragments += 1
        if n_fragments == 0:
            found = "" if lexeme is None else f" but found {lexeme!r}"
            self._fail(f"expected an element or '('{found}")
        return counts

    def _count(self) -> int:
        lexeme = self._peek()
        if lexeme is not None and lexeme.isdigit():
            self.index += 1
            return int(lexeme)
        return 1

    def _peek(self) -> str | None:
        return self.lexemes[self.index][1] if self.index < len(self.lexemes) else None

    def _take(self) -> str | None:
        lexeme = self._peek()
        self.index += 1
        return lexeme

    def _fail(self, what: str, position: int | None = None) -> None:
        if position is None and self.index < len(self.lexemes):
            position = self.lexemes[self.index][0]
        where = "at the end" if position is None else f"at position {position}"
        raise FormulaError(f"formula {self.formula!r}: {what} {where}")


def _add(counts: dict[str, int], other: Mapping[str, int], factor: int = 1) -> None:
    for element, n in other.items():
        counts[element] = counts.get(element, 0) + factor * n


def parsing_modes_agree(formula: str) -> bool:
    """Whether ``formula`` has the same counts under ``"metaspace"`` and ``"strict"`` parsing.

    Plain formulas without repeated elements (Hill notation) always agree. Otherwise both parses
    are compared, and a formula that one of the two modes rejects counts as disagreeing.
    """
    if _PLAIN.fullmatch(formula):
        symbols = [element for element, _ in _TOKEN.findall(formula)]
        if len(set(symbols)) == len(symbols):
            return True
    try:
        return parse_formula(formula, mode="metaspace") == parse_formula(formula, mode="strict")
    except FormulaError:
        return False


def check_db_formula(formula: str) -> None:
    """Validate a molecular-database formula as METASPACE does at import (ALGORITHM.md §1.2).

    Raises
    ------
    FormulaError
        The formula contains ``.``, does not follow the grammar, names an unknown element, ends up
        with a negative count, or has no atoms at all.
    """
    if "." in formula:
        raise FormulaError(f"formula {formula!r}: '.' (complexes) is not allowed in a database formula")
    if not parse_formula(formula, mode="strict"):
        raise FormulaError(f"formula {formula!r} has no atoms (all counts are zero)")


def format_formula(counts: Mapping[str, int]) -> str:
    """Canonical formula string: C, H, N, O, P, S first, then the other symbols in code-point order.

    Zero counts are omitted and a count of 1 is written without a digit; an empty or all-zero
    mapping gives ``""``. Raises FormulaError for a negative count.
    """
    negative = sorted(element for element, n in counts.items() if n < 0)
    if negative:
        raise FormulaError(f"cannot format negative counts of {', '.join(negative)}")
    first = [element for element in FIRST_ELEMENTS if counts.get(element, 0) > 0]
    rest = sorted(element for element, n in counts.items() if n > 0 and element not in FIRST_ELEMENTS)
    return "".join(
        element if counts[element] == 1 else f"{element}{counts[element]}" for element in first + rest
    )


def is_modifier(text: str) -> bool:
    """Whether ``text`` is one or more signed groups of element tokens, such as ``-H2O+H``."""
    return _MODIFIER.fullmatch(text) is not None


def unknown_elements(text: str) -> list[str]:
    """The element-like tokens (capital letter + lower-case letters) of ``text`` that are not known."""
    return [element for element, _ in _TOKEN.findall(text) if element not in ELEMENTS]


def parse_modifier(modifier: str) -> list[tuple[str, int]]:
    """The steps of a modifier (adduct, chem_mod, neutral loss or their concatenation).

    Parameters
    ----------
    modifier : str
        Signed groups such as ``-H2O+H``; ``""``, ``"[M]+"`` and ``"[M]-"`` mean "no change".

    Returns
    -------
    list of (element, signed count)
        One step per element token, left to right: ``-H2O+H`` gives
        ``[("H", -2), ("O", -1), ("H", 1)]``.

    Raises
    ------
    FormulaError
        The modifier does not match ``^([+-]([A-Z][a-z]*[0-9]*)+)+$`` or names an unknown element.
    """
    if modifier in ("", *CHARGE_ONLY_ADDUCTS):
        return []
    if not is_modifier(modifier):
        raise FormulaError(f"modifier {modifier!r} is not a sequence of signed groups like '+H' or '-H2O'")
    steps = []
    for sign, group in _MODIFIER_GROUP.findall(modifier):
        factor = 1 if sign == "+" else -1
        for element, digits in _TOKEN.findall(group):
            if element not in ELEMENTS:
                raise FormulaError(f"modifier {modifier!r}: element {element!r} is not known")
            steps.append((element, factor * (int(digits) if digits else 1)))
    return steps


def ion_formula(formula: str, modifier: str, *, mode: str = "metaspace") -> str | None:
    """The canonical ion formula of ``formula`` changed by ``modifier`` (ALGORITHM.md §2.2).

    The modifier's element steps are applied left to right. Returns None when the pair is invalid:
    the modifier is malformed, a count becomes negative at any step, or no atom is left.

    Examples: ``ion_formula("C6H12O6", "-H2O+H") == "C6H11O5"``;
    ``ion_formula("C2H6O", "-H10+H10") is None``.

    Raises
    ------
    FormulaError
        The formula cannot be parsed in ``mode``, or the modifier names an unknown element.
    """
    counts = parse_formula(formula, mode=mode)
    if modifier not in ("", *CHARGE_ONLY_ADDUCTS) and not is_modifier(modifier):
        return None
    for element, delta in parse_modifier(modifier):
        counts[element] = counts.get(element, 0) + delta
        if counts[element] < 0:
            return None
    if not any(n > 0 for n in counts.values()):
        return None
    return format_formula(counts)
