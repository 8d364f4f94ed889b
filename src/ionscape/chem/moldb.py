"""Molecular databases: loading, validation and the bundled databases (ALGORITHM.md §1.2).

A database is a CSV or TSV table of molecules. Accepted column layouts:

* ``id``, ``name``, ``formula`` (METASPACE's upload format, any column order);
* ``mol_id``, ``mol_name``, ``formula`` (the bundled CoreMetabolome export);
* a formula-only list with a ``formula`` or ``sf`` column. An unnamed first column (a pandas index,
  as in METASPACE's test databases ``mol_db*.csv``) becomes the id, otherwise the formula does;
  the name is the formula.

Every formula is validated as METASPACE does at import (:func:`ionscape.chem.formulas.check_db_formula`).
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import pandas as pd

from ionscape.chem.formulas import ELEMENTS, check_db_formula
from ionscape.errors import DatabaseError, FormulaError

__all__ = ["MolecularDB", "bundled_databases", "load_moldb"]

logger = logging.getLogger("ionscape.chem")

_MAX_LISTED = 10
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_COLUMN_NAMES = {"id": ("id", "mol_id"), "name": ("name", "mol_name"), "formula": ("formula", "sf")}


@dataclass(frozen=True)
class _BundledDB:
    name: str
    aliases: tuple[str, ...]
    file: str
    description: str
    licence: str
    n_molecules: int
    n_formulas: int


_BUNDLED = (
    _BundledDB(
        name="core_metabolome_v3",
        aliases=("core_metabolome",),
        file="core_metabolome_v3.csv",
        description="CoreMetabolome v3: curated core metabolites of living organisms, selected from HMDB",
        licence="derived from HMDB; HMDB's terms of use restrict commercial use (see data/moldb/README.md)",
        n_molecules=11363,
        n_formulas=2386,
    ),
    _BundledDB(
        name="lipidmaps_2017-12-12",
        aliases=("lipidmaps",),
        file="lipidmaps_2017-12-12.tsv",
        description="LIPID MAPS structure database (LMSD), export of 2017-12-12",
        licence="LIPID MAPS LMSD export; see data/moldb/README.md for the terms",
        n_molecules=42021,
        n_formulas=7354,
    ),
)


@dataclass(frozen=True, eq=False)
class MolecularDB:
    """A molecular database.

    Attributes
    ----------
    name : str
        Database name (the file stem unless given).
    molecules : pandas.DataFrame
        Columns ``id``, ``name``, ``formula`` (str), one row per molecule, in file order.
    source : str
        The file it was read from.
    targeted : bool
        Targeted databases get all metrics for all ions and no FDR filtering.
    """

    name: str
    molecules: pd.DataFrame
    source: str
    targeted: bool

    @cached_property
    def formulas(self) -> list[str]:
        """Distinct formulas in order of first appearance (the order decoys are drawn in)."""
        return list(pd.unique(self.molecules["formula"].to_numpy()))


def bundled_databases() -> list[dict]:
    """The databases shipped with ionscape.

    Returns
    -------
    list of dict
        Keys ``name``, ``aliases`` (tuple of str), ``file`` (path), ``description``,
        ``molecules`` (int, number of rows), ``formulas`` (int, number of distinct formulas) and
        ``licence``.
    """
    return [
        {
            "name": db.name,
            "aliases": db.aliases,
            "file": str(_bundled_path(db)),
            "description": db.description,
            "molecules": db.n_molecules,
            "formulas": db.n_formulas,
            "licence": db.licence,
        }
        for db in _BUNDLED
    ]


def _bundled_path(db: _BundledDB) -> Path:
    return Path(str(resources.files("ionscape") / "data" / "moldb" / db.file))


def _find_bundled(spec: str) -> _BundledDB | None:
    return next((db for db in _BUNDLED if spec == db.name or spec in db.aliases), None)


def load_moldb(
    spec: str | os.PathLike,
    *,
    name: str | None = None,
    skip_invalid: bool = False,
    targeted: bool = False,
) -> MolecularDB:
    """Read and validate a molecular database.

    Parameters
    ----------
    spec : str or path
        A bundled database name (``core_metabolome``, ``lipidmaps`` or their full names, see
        :func:`bundled_databases`) or the path of a CSV/TSV file. The delimiter follows the
        extension (``.csv``, ``.tsv``, ``.tab``) or is sniffed from the content.
    name : str, optional
        Database name; default: the bundled name or the file stem.
    skip_invalid : bool
        Drop rows with an empty value or an invalid formula (logging a warning that lists them)
        instead of failing.
    targeted : bool
        Report every ion of the database without FDR filtering. Default False: FDR-filtered, as
        METASPACE's file-based runs treat a database.

    Raises
    ------
    DatabaseError
        The file is missing or unreadable, has no formula column, has an invalid row (the message
        names the file, the 1-based line number with the header as line 1, and the formula), or
        holds no molecules.
    """
    bundled = _find_bundled(spec) if isinstance(spec, str) else None
    path = _bundled_path(bundled) if bundled else Path(spec)
    if not path.is_file():
        known = ", ".join(alias for db in _BUNDLED for alias in (*db.aliases, db.name))
        raise DatabaseError(f"molecular database not found: {path} (bundled databases: {known})")

    table = _read_table(path)
    molecules = _molecule_columns(table, path)
    molecules = _drop_invalid(molecules, path, skip_invalid)
    if molecules.empty:
        raise DatabaseError(f"{path}: the database holds no molecules")
    return MolecularDB(
        name=name or (bundled.name if bundled else path.stem),
        molecules=molecules.reset_index(drop=True),
        source=str(path),
        targeted=targeted,
    )


def _read_table(path: Path) -> pd.DataFrame:
    """All cells as stripped strings; blank lines kept as rows of "" so that row i is line i + 2."""
    try:
        table = pd.read_csv(
            path,
            sep=_DELIMITERS.get(path.suffix.lower()) or _sniff_delimiter(path),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatabaseError(f"{path}: cannot read the table ({exc})") from None
    table.columns = [str(column).strip() for column in table.columns]
    return table.apply(lambda column: column.str.strip())


def _sniff_delimiter(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as file:
        sample = file.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        raise DatabaseError(
            f"{path}: cannot tell the column delimiter; use a .csv or .tsv file name"
        ) from None


def _molecule_columns(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The id, name and formula columns of a table, following the layouts in the module docstring."""
    by_lower = {column.lower(): column for column in table.columns}
    found = {
        role: next((by_lower[c] for c in candidates if c in by_lower), None)
        for role, candidates in _COLUMN_NAMES.items()
    }
    if found["formula"] is None:
        raise DatabaseError(
            f"{path}: no 'formula' (or 'sf') column; found columns: {', '.join(map(repr, table.columns))}"
        )
    if found["id"] is None and table.columns[0].startswith("Unnamed: "):
        found["id"] = table.columns[0]
    formula = table[found["formula"]]
    molecules = pd.DataFrame(
        {role: formula if column is None else table[column] for role, column in found.items()}
    )
    return molecules[(table != "").any(axis=1)]


def _drop_invalid(molecules: pd.DataFrame, path: Path, skip_invalid: bool) -> pd.DataFrame:
    """Check every row; raise on the first invalid one, or drop them all when ``skip_invalid``."""
    problems = _row_problems(molecules)
    if problems.empty:
        return molecules
    lines = (problems.index + 2).tolist()
    if not skip_invalid:
        n_others = len(lines) - 1
        others = f" (and {n_others} more invalid line{'s' * (n_others > 1)})" if n_others else ""
        raise DatabaseError(
            f"{path}, line {lines[0]}: {problems.iloc[0]}{others}; "
            "fix the file or pass skip_invalid=True to drop invalid rows"
        )
    listed = "; ".join(
        f"line {line}: {problem}"
        for line, problem in zip(lines[:_MAX_LISTED], problems[:_MAX_LISTED], strict=True)
    )
    if len(lines) > _MAX_LISTED:
        listed += "; ..."
    logger.warning("%s: skipped %d invalid row(s): %s", path, len(lines), listed)
    return molecules.drop(index=problems.index)


def _row_problems(molecules: pd.DataFrame) -> pd.Series:
    """What is wrong with each invalid row (str), indexed like ``molecules``; valid rows are absent."""
    problems = {}
    for role in ("id", "name", "formula"):
        for index in molecules.index[molecules[role] == ""]:
            problems.setdefault(index, f"empty {role}")
    formulas = molecules["formula"]
    plain = formulas.str.fullmatch(_PLAIN_FORMULA) & formulas.str.contains(_SOME_ATOM)
    for index, formula in formulas[~plain & (formulas != "")].items():
        try:
            check_db_formula(formula)
        except FormulaError as exc:
            problems.setdefault(index, str(exc))
    return pd.Series(problems, dtype=object).sort_index()


# A formula that is only known element symbols with optional counts always follows the grammar; it
# has atoms when some count has a non-zero digit or some symbol has no count (count 1).
_PLAIN_FORMULA = re.compile(
    rf"(?:(?:{'|'.join(sorted(ELEMENTS, key=lambda symbol: (-len(symbol), symbol)))})[0-9]*)+"
)
_SOME_ATOM = re.compile(r"[1-9]|[A-Za-z](?![0-9a-z])")
