"""The ion table: every target and decoy ion formula of every database, deduplicated (ALGORITHM.md §2.3).

Ion formulas are computed with arrays rather than one string at a time: each database's formulas
become one count array per element, and all pairs that share a modifier are handled together. A pair is
valid when, for every element the modifier touches, the formula's count plus the lowest running
sum of the modifier's steps on that element is non-negative (the modifier is applied left to right,
one element token at a time), and when some atom is left. Canonical strings are then written
straight into a byte buffer. The scalar :func:`ionscape.chem.formulas.ion_formula` gives the same
answers and is the reference in the tests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ionscape.chem.decoys import draw_decoys
from ionscape.chem.formulas import FIRST_ELEMENTS, parse_formula, parse_modifier, parsing_modes_agree
from ionscape.chem.modifiers import TargetModifier, decoy_candidates, decoy_prefixes, target_modifiers
from ionscape.errors import FormulaError

if TYPE_CHECKING:
    from ionscape.config import AnnotationConfig

__all__ = ["DatabaseIons", "IonTable", "build_ion_table"]

logger = logging.getLogger("ionscape.chem")

_MAX_LISTED = 10


@dataclass
class DatabaseIons:
    """The ions of one molecular database.

    Attributes
    ----------
    name : str
        Database name.
    targeted : bool
        Whether the database is targeted (all metrics for all ions, no FDR filtering).
    target_modifiers : list of TargetModifier
        Every (chem_mod, neutral_loss, adduct) interpretation, §2.1 order.
    formula_map : pandas.DataFrame
        One row per valid pair: ``formula`` (str), ``modifier`` (str, a tm or a dm), ``target``
        (bool), ``formula_i`` (int64, index into ``IonTable.ion_formulas``). Target pairs come
        first (formula-major, tm order), then the distinct decoy pairs in order of first draw.
        Invalid pairs (§2.2) are left out.
    decoy_map : pandas.DataFrame
        ``formula``, ``tm``, ``dm`` (str) as drawn (§4.2), including draws whose decoy ion is
        invalid; joining it to the formula map drops those.
    """

    name: str
    targeted: bool
    target_modifiers: list[TargetModifier]
    formula_map: pd.DataFrame
    decoy_map: pd.DataFrame


@dataclass
class IonTable:
    """All distinct ion formulas of an annotation run and the databases they come from.

    Attributes
    ----------
    ion_formulas : (n,) object array of str
        Distinct canonical ion formulas, sorted; the position is ``formula_i``.
    target : (n,) bool array
        True where the ion is a target ion in any database.
    targeted : (n,) bool array
        True where the ion (target or decoy) belongs to any targeted database.
    databases : list of DatabaseIons
        Per-database formula and decoy maps, in input order.
    """

    ion_formulas: np.ndarray
    target: np.ndarray
    targeted: np.ndarray
    databases: list[DatabaseIons]


@dataclass
class _DatabasePairs:
    """The valid (formula, modifier) pairs of one database before ion formulas get their ids."""

    name: str
    targeted: bool
    decoy_map: pd.DataFrame
    formulas: np.ndarray  # (n_pairs,) object
    modifiers: np.ndarray  # (n_pairs,) object
    target: np.ndarray  # (n_pairs,) bool
    ions: np.ndarray  # (n_pairs,) bytes, canonical ion formulas


def build_ion_table(
    databases: Sequence[tuple[str, Sequence[str], bool]], config: AnnotationConfig
) -> IonTable:
    """Generate the target and decoy ions of every database and give each distinct ion formula an id.

    Parameters
    ----------
    databases : sequence of (name, formulas, targeted)
        Per database: its name, its distinct formulas in first-appearance order (the order decoys
        are drawn in; repeats are dropped) and its targeted flag.
    config : AnnotationConfig
        Uses ``isotope_generation`` (adducts, chem_mods, neutral_losses),
        ``fdr.decoy_sample_size`` and ``formula_parsing``.

    Returns
    -------
    IonTable

    Raises
    ------
    FormulaError
        A database formula cannot be parsed.
    """
    iso = config.isotope_generation
    modifiers = target_modifiers(iso.adducts, iso.chem_mods, iso.neutral_losses)
    prefixes = decoy_prefixes(modifiers)
    candidates = decoy_candidates(iso.adducts, iso.chem_mods, iso.neutral_losses)
    mode = config.formula_parsing

    pairs = []
    for name, db_formulas, targeted in databases:
        formulas = list(dict.fromkeys(db_formulas))
        if mode == "metaspace":
            _warn_about_tokenisation(name, formulas)
        decoy_map = draw_decoys(
            formulas, list(prefixes), candidates, config.fdr.decoy_sample_size, decoy_prefixes=prefixes
        )
        pairs.append(_database_pairs(name, targeted, formulas, list(prefixes), decoy_map, mode))

    all_ions = np.concatenate([db.ions for db in pairs]) if pairs else np.array([], dtype="S1")
    distinct_ions, formula_i = np.unique(all_ions, return_inverse=True)
    target = np.zeros(len(distinct_ions), dtype=bool)
    targeted = np.zeros(len(distinct_ions), dtype=bool)
    results = []
    start = 0
    for db in pairs:
        ids = formula_i[start : start + len(db.ions)].astype(np.int64, copy=False)
        start += len(db.ions)
        target[ids[db.target]] = True
        if db.targeted:
            targeted[ids] = True
        formula_map = pd.DataFrame(
            {
                "formula": pd.Series(db.formulas, dtype=object, copy=False),
                "modifier": pd.Series(db.modifiers, dtype=object, copy=False),
                "target": db.target,
                "formula_i": ids,
            }
        )
        results.append(DatabaseIons(db.name, db.targeted, modifiers, formula_map, db.decoy_map))
    return IonTable(_as_str_objects(distinct_ions), target, targeted, results)


def _as_str_objects(values: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """A bytes array as an object array of str, converted in chunks to bound the temporary memory."""
    strings = np.empty(len(values), dtype=object)
    for start in range(0, len(values), chunk):
        strings[start : start + chunk] = values[start : start + chunk].astype(str)
    return strings


def _warn_about_tokenisation(name: str, formulas: Sequence[str]) -> None:
    differing = [formula for formula in formulas if not parsing_modes_agree(formula)]
    if differing:
        listed = ", ".join(differing[:_MAX_LISTED]) + (", ..." if len(differing) > _MAX_LISTED else "")
        logger.warning(
            "database %r: %d formula(s) are read differently by METASPACE's tokeniser than by the formula "
            "grammar (repeated elements, parentheses or multipliers): %s. Their ions follow METASPACE, "
            'where a repeated element overwrites the earlier count; set formula_parsing: "strict" to sum '
            "repeats and expand parentheses and multipliers.",
            name,
            len(differing),
            listed,
        )


def _database_pairs(
    name: str,
    targeted: bool,
    formulas: list[str],
    tms: list[str],
    decoy_map: pd.DataFrame,
    mode: str,
) -> _DatabasePairs:
    """Target pairs (every formula x tm) and distinct decoy pairs of one database, with their ions."""
    n_formulas, n_tms = len(formulas), len(tms)
    target_formula = np.repeat(np.arange(n_formulas), n_tms)
    target_modifier = np.tile(np.arange(n_tms), n_formulas)

    # draw_decoys emits each formula's draws consecutively: n_tms * sample_size rows per formula
    dm_codes, dms = pd.factorize(decoy_map["dm"].to_numpy())
    draws_per_formula = len(decoy_map) // n_formulas if n_formulas else 0
    drawn_formula = np.repeat(np.arange(n_formulas), draws_per_formula)
    _, first_draw = np.unique(drawn_formula * max(len(dms), 1) + dm_codes, return_index=True)
    first_draw.sort()

    formula_idx = np.concatenate([target_formula, drawn_formula[first_draw]])
    modifier_idx = np.concatenate([target_modifier, n_tms + dm_codes[first_draw]])
    is_target = np.arange(len(formula_idx)) < len(target_formula)
    modifiers = np.array([*tms, *dms], dtype=object)

    counts = _count_columns(name, formulas, mode)
    valid_pairs, ions = _ion_formulas(counts, n_formulas, modifiers, formula_idx, modifier_idx)
    return _DatabasePairs(
        name=name,
        targeted=targeted,
        decoy_map=decoy_map,
        formulas=np.asarray(formulas, dtype=object)[formula_idx[valid_pairs]],
        modifiers=modifiers[modifier_idx[valid_pairs]],
        target=is_target[valid_pairs],
        ions=ions,
    )


def _count_columns(name: str, formulas: Sequence[str], mode: str) -> dict[str, np.ndarray]:
    """Element symbol -> (n_formulas,) int64 atom counts of a database's formulas."""
    symbol_column: dict[str, int] = {}
    rows, columns, values = [], [], []
    for row, formula in enumerate(formulas):
        try:
            counts = parse_formula(formula, mode=mode)
        except FormulaError as exc:
            raise FormulaError(f"database {name!r}: {exc}") from None
        for symbol, n in counts.items():
            rows.append(row)
            columns.append(symbol_column.setdefault(symbol, len(symbol_column)))
            values.append(n)
    matrix = np.zeros((len(formulas), len(symbol_column)), dtype=np.int64, order="F")
    matrix[rows, columns] = values
    return {symbol: matrix[:, column] for symbol, column in symbol_column.items()}


def _ion_formulas(
    formula_counts: dict[str, np.ndarray],
    n_formulas: int,
    modifiers: np.ndarray,
    formula_idx: np.ndarray,
    modifier_idx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``modifiers[modifier_idx]`` to the formulas ``formula_idx``, one modifier at a time.

    Parameters
    ----------
    formula_counts : dict symbol -> (n_formulas,) int64
        Atom counts of the database's formulas.
    n_formulas : int
    modifiers : (n_modifiers,) object array of str
    formula_idx, modifier_idx : (n_pairs,) int arrays
        The pairs.

    Returns
    -------
    positions : (n_valid,) intp
        Sorted positions of the valid pairs.
    ions : (n_valid,) bytes
        Their canonical ion formulas.
    """
    n_elements = np.zeros(n_formulas, dtype=np.int64)
    for counts in formula_counts.values():
        n_elements += counts > 0
    order = np.argsort(modifier_idx, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(modifier_idx[order])) + 1) if len(order) else []
    positions, ions = [], []
    for pairs in groups:
        rows = formula_idx[pairs]
        changes = _net_and_lowest(parse_modifier(modifiers[modifier_idx[pairs[0]]]))
        valid = np.ones(len(pairs), dtype=bool)
        elements_left = n_elements[rows]
        changed = {}
        for element, (net, lowest) in changes.items():
            before = (
                formula_counts[element][rows] if element in formula_counts else np.zeros(len(rows), np.int64)
            )
            valid &= before + lowest >= 0
            changed[element] = after = before + net
            elements_left += (after > 0).astype(np.int64) - (before > 0)
        valid &= elements_left > 0
        rows = rows[valid]
        ion_counts = {symbol: counts[rows] for symbol, counts in formula_counts.items()}
        ion_counts.update({element: counts[valid] for element, counts in changed.items()})
        positions.append(pairs[valid])
        ions.append(_format_columns(ion_counts, len(rows)))
    if not positions:
        return np.array([], dtype=np.intp), np.array([], dtype="S1")
    positions_all = np.concatenate(positions)
    ions_all = np.concatenate(ions)
    by_position = np.argsort(positions_all)
    return positions_all[by_position], ions_all[by_position]


def _net_and_lowest(steps: list[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """Per element: net change of the steps, and the lowest running change (<= 0) along the way."""
    running: dict[str, int] = {}
    lowest: dict[str, int] = {}
    for element, delta in steps:
        running[element] = running.get(element, 0) + delta
        lowest[element] = min(lowest.get(element, 0), running[element])
    return {element: (running[element], lowest[element]) for element in running}


def _canonical_key(symbol: str) -> tuple[int, str]:
    return (FIRST_ELEMENTS.index(symbol), "") if symbol in FIRST_ELEMENTS else (len(FIRST_ELEMENTS), symbol)


def _format_columns(counts: dict[str, np.ndarray], n_rows: int) -> np.ndarray:
    """Canonical formula strings of ``n_rows`` rows of non-negative counts given per element.

    Parameters
    ----------
    counts : dict symbol -> (n_rows,) int array

    Returns
    -------
    (n_rows,) bytes array
        Each row's segments (symbol, then the count when above 1) in canonical order, written at
        running offsets into a zero-filled (n_rows, width) byte buffer viewed as fixed-width bytes
        (trailing zero bytes are not part of a bytes item).
    """
    symbols = sorted((symbol for symbol, column in counts.items() if column.any()), key=_canonical_key)
    n_digits = {symbol: _n_digits(counts[symbol]) for symbol in symbols}
    lengths = {
        symbol: np.where(
            counts[symbol] > 0, len(symbol) + np.where(counts[symbol] > 1, n_digits[symbol], 0), 0
        )
        for symbol in symbols
    }
    width = max(int(sum(lengths.values(), np.zeros(n_rows, np.int64)).max(initial=0)), 1)
    buffer = np.zeros(n_rows * width, dtype=np.uint8)
    offsets = np.arange(n_rows, dtype=np.int64) * width
    for symbol in symbols:
        column = counts[symbol]
        rows = np.flatnonzero(column)
        at = offsets[rows]
        for shift, char in enumerate(symbol.encode("ascii")):
            buffer[at + shift] = char
        several = column[rows] > 1
        at = at[several] + len(symbol)
        values, digits = column[rows[several]], n_digits[symbol][rows[several]]
        for place in range(int(digits.max(initial=0))):
            has_place = digits > place
            buffer[at[has_place] + digits[has_place] - 1 - place] = (
                ord("0") + values[has_place] // 10**place % 10
            )
        offsets += lengths[symbol]
    return buffer.view(f"S{width}")


def _n_digits(values: np.ndarray) -> np.ndarray:
    """Decimal digits of each non-negative integer (1 for 0)."""
    digits = np.ones(len(values), dtype=np.int64)
    power = 10
    while (longer := values >= power).any():
        digits += longer
        power *= 10
    return digits
