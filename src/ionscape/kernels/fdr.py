"""Target-decoy false discovery rates (ALGORITHM.md §4.4–4.5)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

FDR_LEVELS = (0.05, 0.1, 0.2, 0.5)


def score_to_fdr(
    target_scores: np.ndarray,
    decoy_scores: np.ndarray,
    *,
    decoy_ratio: float = 1.0,
    rule_of_succession: bool = False,
    monotonic: bool = False,
) -> np.ndarray:
    """FDR of every target: decoys / decoy_ratio / targets scoring at least as high.

    Parameters
    ----------
    target_scores : (n,) float array
    decoy_scores : (m,) float array
    decoy_ratio : float
        Number of decoys drawn per target.
    rule_of_succession : bool
        Add 1 to both counts.
    monotonic : bool
        Replace each FDR by the minimum FDR at any lower-or-equal score.

    Returns
    -------
    (n,) float64 array
        Targets and decoys with equal scores are counted together; where no target scores at
        least as high the FDR is 1.
    """
    targets = np.asarray(target_scores, dtype=np.float64)
    decoys = np.asarray(decoy_scores, dtype=np.float64)
    if np.isnan(targets).any() or np.isnan(decoys).any():
        raise ValueError("scores must not be NaN")
    levels = np.unique(np.concatenate([targets, decoys]))[::-1]  # distinct scores, descending
    n_targets = _count_at_least(targets, levels)
    n_decoys = _count_at_least(decoys, levels)
    if rule_of_succession:
        n_targets, n_decoys = n_targets + 1, n_decoys + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        fdr = np.where(n_targets > 0, n_decoys / decoy_ratio / n_targets, 1.0)
    if monotonic:
        fdr = np.minimum.accumulate(fdr[::-1])[::-1]
    # levels are descending: the position of a score is found on the reversed (ascending) array
    position = len(levels) - 1 - np.searchsorted(levels[::-1], targets)
    return fdr[position]


def _count_at_least(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Number of ``scores`` ≥ each threshold."""
    return len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")


def digitise_fdr(
    target_scores: np.ndarray, raw_fdr: np.ndarray, levels: Sequence[float] = FDR_LEVELS
) -> np.ndarray:
    """Snap raw FDRs to ``levels`` (§4.4 step 5); targets above every level get 1.0.

    For each level ℓ in ascending order, s_ℓ is the lowest score among targets whose raw FDR
    is strictly below ℓ; every target not yet assigned whose score is ≥ s_ℓ gets ℓ. A level
    no target's raw FDR is below is skipped.

    Returns
    -------
    (n,) float64 array of values in ``levels`` ∪ {1.0}
    """
    scores = np.asarray(target_scores, dtype=np.float64)
    raw_fdr = np.asarray(raw_fdr, dtype=np.float64)
    fdr = np.ones(len(scores))
    for level in sorted(levels):
        below = raw_fdr < level
        if below.any():
            fdr[(fdr == 1.0) & (scores >= scores[below].min())] = level
    return fdr


def av1_fdr(
    target_scores: np.ndarray, decoy_score_sets: Sequence[np.ndarray], levels: Sequence[float] = FDR_LEVELS
) -> np.ndarray:
    """Quantised FDR of analysis version 1 (§4.4).

    Parameters
    ----------
    target_scores : (n,) float array
        Scores (MSM) of the targets of one target modifier.
    decoy_score_sets : sequence of 1-D float arrays
        Set i holds the scores of the i-th decoy of every target (only decoys with a score).
    levels : sequence of float
        FDR levels to digitise to.

    Returns
    -------
    (n,) float64 array
        Median over the decoy sets of the per-set FDR (ratio 1, plain counts), digitised to
        ``levels`` or 1.0.
    """
    if len(decoy_score_sets) == 0:
        raise ValueError("at least one decoy set is needed")
    per_set = [score_to_fdr(target_scores, decoys) for decoys in decoy_score_sets]
    raw_fdr = np.median(np.reshape(per_set, (len(per_set), -1)), axis=0)
    return digitise_fdr(target_scores, raw_fdr, levels)


def _largest_fdr_rounding_to(level: float) -> float:
    """Largest float whose ``round(x, 2)`` is ≤ level (Python's correctly rounded ``round``)."""
    bound = level + 0.005
    while round(bound, 2) > level:
        bound = math.nextafter(bound, -math.inf)
    while round(math.nextafter(bound, math.inf), 2) <= level:
        bound = math.nextafter(bound, math.inf)
    return bound


_LEVEL_BOUNDS = np.array([_largest_fdr_rounding_to(level) for level in FDR_LEVELS])


def nearest_fdr_level(fdr: float) -> float:
    """Display level of an FDR (§4.5): the first of 0.05, 0.1, 0.2, 0.5 ≥ round(fdr, 2), else 1.0."""
    return float(nearest_fdr_levels(np.array([fdr]))[0])


def nearest_fdr_levels(fdr: np.ndarray) -> np.ndarray:
    """:func:`nearest_fdr_level` of every element; returns a float64 array of the same shape."""
    levels = np.append(FDR_LEVELS, 1.0)
    return levels[np.searchsorted(_LEVEL_BOUNDS, np.asarray(fdr, dtype=np.float64), side="left")]
