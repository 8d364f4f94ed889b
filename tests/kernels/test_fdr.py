"""FDR kernels against hand-worked rankings (ALGORITHM.md §4.4–4.5, §10.2–10.4, §10.17)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from ionscape.kernels.fdr import (
    FDR_LEVELS,
    av1_fdr,
    digitise_fdr,
    nearest_fdr_level,
    nearest_fdr_levels,
    score_to_fdr,
)

RANKING_TARGETS = np.linspace(1.0, 0.0, 11)
RANKING_DECOYS = np.array([0.8, 0.55, 0.2, 0.1])


def test_plain_fdr_counts_decoys_at_or_above_each_target():
    decoys_above = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4])
    expected = decoys_above / np.arange(1, 12)
    np.testing.assert_allclose(score_to_fdr(RANKING_TARGETS, RANKING_DECOYS), expected, rtol=1e-15)


def test_rule_of_succession_adds_one_to_both_counts():
    decoys_above = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4])
    expected = (decoys_above + 1) / (np.arange(1, 12) + 1)
    fdr = score_to_fdr(RANKING_TARGETS, RANKING_DECOYS, rule_of_succession=True)
    np.testing.assert_allclose(fdr, expected, rtol=1e-15)


def test_monotonic_fdr_is_running_minimum_from_the_bottom():
    expected = [0, 0, 1 / 5, 1 / 5, 1 / 5, 2 / 8, 2 / 8, 2 / 8, 3 / 9, 4 / 11, 4 / 11]
    fdr = score_to_fdr(RANKING_TARGETS, RANKING_DECOYS, monotonic=True)
    np.testing.assert_allclose(fdr, expected, rtol=1e-15)


def test_targets_and_decoys_with_equal_scores_count_together():
    # at 0.5: one target and two decoys; at 0.3: two targets, two decoys
    fdr = score_to_fdr(np.array([0.5, 0.3]), np.array([0.5, 0.5]))
    np.testing.assert_array_equal(fdr, [2.0, 1.0])


def test_no_decoys_gives_zero_fdr():
    np.testing.assert_array_equal(score_to_fdr(np.array([3.0, 1.0, 2.0]), np.array([])), [0, 0, 0])


def test_all_decoys_above_targets():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the decoy-only levels (no target yet) must not divide by 0
        fdr = score_to_fdr(np.array([0.1, 0.2]), np.array([0.5, 0.6, 0.7]))
    np.testing.assert_array_equal(fdr, [3 / 2, 3 / 1])


def test_decoy_ratio_with_monotonic_ranking():
    # ALGORITHM §10.17: scores linspace(1, 0, 11), targets at 0, 3, 5, 8; index 10 left out
    scores = np.linspace(1, 0, 11)[:10]
    is_target = np.isin(np.arange(10), [0, 3, 5, 8])
    targets, decoys = scores[is_target], scores[~is_target]
    fdr_targets = score_to_fdr(targets, decoys, decoy_ratio=2, monotonic=True)
    np.testing.assert_allclose(fdr_targets, [0 / 2 / 1, 3 / 2 / 3, 3 / 2 / 3, 5 / 2 / 4], rtol=1e-15)


def test_av3_style_fdr_of_the_acceptance_case():
    # ALGORITHM §10.2 under AV3: all four decoys, ratio 2, rule of succession, monotonic
    fdr = score_to_fdr(
        np.array([0.85, 0.5]),
        np.array([0.5, 0.5, 0.75, 0.0]),
        decoy_ratio=2,
        rule_of_succession=True,
        monotonic=True,
    )
    np.testing.assert_allclose(fdr, [0.25, 2 / 3], rtol=1e-15)


def test_empty_targets():
    assert score_to_fdr(np.array([]), np.array([1.0])).shape == (0,)
    assert av1_fdr(np.array([]), [np.array([1.0])]).shape == (0,)


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError):
        score_to_fdr(np.array([np.nan]), np.array([1.0]))


def test_digitisation_acceptance_case():
    # ALGORITHM §10.3: raw FDRs are 0, 1/2, 1/3, 3/4
    targets = np.array([1.0, 0.75, 0.5, 0.25])
    raw = score_to_fdr(targets, np.array([0.75, 0.3, 0.25, 0.1]))
    np.testing.assert_allclose(raw, [0, 1 / 2, 1 / 3, 3 / 4])
    np.testing.assert_array_equal(digitise_fdr(targets, raw, levels=[0.4, 0.8]), [0.4, 0.4, 0.4, 0.8])


def test_digitisation_skips_levels_no_target_is_below():
    fdr = digitise_fdr(np.array([2.0, 1.0]), np.array([0.3, 0.6]))
    np.testing.assert_array_equal(fdr, [0.5, 1.0])


def test_digitisation_gives_every_higher_scoring_target_the_level():
    # the best target has a raw FDR of 0.3, but a lower-scoring one is below 0.05
    fdr = digitise_fdr(np.array([3.0, 2.0, 1.0]), np.array([0.3, 0.04, 0.6]))
    np.testing.assert_array_equal(fdr, [0.05, 0.05, 1.0])


def test_av1_acceptance_case():
    # ALGORITHM §10.2: decoy sets are the i-th decoy of every target
    targets = np.array([0.85, 0.5])  # H2O, C2H2
    sets = [np.array([0.5, 0.75]), np.array([0.5, 0.0])]  # (+Cu, +Ag), (+Co, +Ar)
    np.testing.assert_array_equal(av1_fdr(targets, sets, levels=[0.2, 0.8]), [0.2, 0.8])
    # raw medians are 0 and (1 + 1/2) / 2 = 0.75: above every default level
    np.testing.assert_array_equal(av1_fdr(targets, sets), [0.05, 1.0])


def test_av1_takes_the_median_over_decoy_sets():
    target = np.array([1.0])
    # per-set FDRs 1, 0, 0 -> median 0; with only the first two sets -> median 0.5, not < 0.5
    assert av1_fdr(target, [np.array([2.0]), np.array([0.5]), np.array([0.0])])[0] == 0.05
    assert av1_fdr(target, [np.array([2.0]), np.array([0.5])])[0] == 1.0


def test_av1_with_empty_decoy_sets():
    np.testing.assert_array_equal(av1_fdr(np.array([3.0, 1.0]), [np.array([]), np.array([])]), [0.05, 0.05])


def test_av1_needs_a_decoy_set():
    with pytest.raises(ValueError):
        av1_fdr(np.array([1.0]), [])


def _nearest_level_by_definition(fdr: float) -> float:
    return next((level for level in FDR_LEVELS if round(fdr, 2) <= level), 1.0)


def test_nearest_fdr_level_examples():
    cases = {
        0.0: 0.05,
        0.05: 0.05,
        0.054: 0.05,
        0.0551: 0.1,
        0.1: 0.1,
        0.2: 0.2,
        0.5: 0.5,
        0.51: 1.0,
        1.0: 1.0,
    }
    for fdr, level in cases.items():
        assert nearest_fdr_level(fdr) == level
    assert nearest_fdr_level(math.nan) == 1.0


def test_nearest_fdr_levels_match_pythons_rounding_at_the_boundaries():
    values = []
    for boundary in (0.055, 0.105, 0.205, 0.505, 0.5049999999999999):
        x = boundary
        for _ in range(5):
            x = math.nextafter(x, -math.inf)
        for _ in range(10):
            values.append(x)
            x = math.nextafter(x, math.inf)
    expected = [_nearest_level_by_definition(x) for x in values]
    np.testing.assert_array_equal(nearest_fdr_levels(np.array(values)), expected)
    assert nearest_fdr_levels(np.array([[0.01, 0.7]])).shape == (1, 2)
