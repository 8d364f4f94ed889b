"""Decoy sampling for the target-decoy FDR, analysis_version 1 (ALGORITHM.md §4.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["draw_decoys"]


def draw_decoys(
    formulas: Sequence[str],
    tms: Sequence[str],
    candidates: Sequence[str],
    sample_size: int,
    seed: int = 42,
    *,
    decoy_prefixes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Draw decoy modifiers for every (formula, target modifier) pair, as METASPACE does.

    One RNG, ``numpy.random.RandomState(seed)`` (the stream of the legacy global ``seed(42)``), is
    used for the whole call. For each formula in the given order, then each distinct tm in the given
    order, a copy of ``candidates`` is shuffled and its first ``min(sample_size, len(candidates))``
    entries are that pair's decoys.

    Parameters
    ----------
    formulas : sequence of str
        Distinct DB formulas, in the order decoys are drawn (first appearance in the DB file).
    tms : sequence of str
        Target modifier strings; repeats are drawn once, at their first position.
    candidates : sequence of str
        Decoy adducts to choose from, e.g. ``decoy_candidates(...)``.
    sample_size : int
        Decoys per (formula, tm) pair, capped at ``len(candidates)``.
    seed : int
        RNG seed, 42 upstream.
    decoy_prefixes : mapping tm -> str, optional
        The chem_mod + neutral_loss part each tm's decoy modifiers start with
        (``modifiers.decoy_prefixes(target_modifiers(...))``); a missing tm or None means ``""``.

    Returns
    -------
    pandas.DataFrame
        Columns ``formula``, ``tm``, ``dm`` (object dtype holding str), one row per drawn decoy in draw order:
        ``len(formulas) * n_distinct_tms * sample`` rows, the decoys of each pair consecutive.
    """
    distinct_tms = list(dict.fromkeys(tms))
    prefixes = decoy_prefixes or {}
    n_picked = min(sample_size, len(candidates))
    picks = _shuffled_prefixes(len(formulas) * len(distinct_tms), len(candidates), n_picked, seed)

    decoy_modifiers = np.array(
        [[prefixes.get(tm, "") + candidate for candidate in candidates] for tm in distinct_tms], dtype=object
    ).reshape(len(distinct_tms), len(candidates))
    tm_of_draw = np.tile(np.arange(len(distinct_tms)), len(formulas))
    columns = {
        "formula": np.repeat(np.asarray(formulas, dtype=object), len(distinct_tms) * n_picked),
        "tm": np.repeat(np.asarray(distinct_tms, dtype=object)[tm_of_draw], n_picked),
        "dm": decoy_modifiers[tm_of_draw[:, None], picks].ravel(),
    }
    # object columns share the Python strings above; inferring pandas' str dtype would copy them all
    return pd.DataFrame(
        {name: pd.Series(column, dtype=object, copy=False) for name, column in columns.items()}
    )


def _shuffled_prefixes(n_draws: int, n_candidates: int, n_picked: int, seed: int) -> np.ndarray:
    """(n_draws, n_picked) intp: the first ``n_picked`` positions of one legacy shuffle per draw."""
    rng = np.random.RandomState(seed)
    picks = np.empty((n_draws, n_picked), dtype=np.intp)
    order = np.empty(n_candidates, dtype=np.intp)
    positions = np.arange(n_candidates, dtype=np.intp)
    for draw in range(n_draws):
        order[:] = positions
        rng.shuffle(order)
        picks[draw] = order[:n_picked]
    return picks
