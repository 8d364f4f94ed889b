"""Isotopic fine structure of n atoms of one element (ALGORITHM.md §3.2).

A sub-configuration says how many of the n atoms are each isotope. Its probability is multinomial,
n!/prod(c_i!) * prod(p_i^c_i), and its mass is sum(c_i * m_i). Only sub-configurations within
``FINE_STRUCTURE_THRESHOLD`` of the modal one can be part of a kept configuration of a whole ion, so
only those are listed.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from ionscape.chem._isotope_table import element_table

FINE_STRUCTURE_THRESHOLD = 1e-4
# IsoSpec (analysis_version >= 2) never produces sub-configurations below this log-probability.
ISOSPEC_MIN_LOG_PROB = -20.0
# AV1 computes each element by FFT and gives up when the transform would exceed this many points.
AV1_FFT_MAX_POINTS = 10**7
# Per-element cut, a hair below the final threshold so that rounding cannot lose a boundary line.
_ELEMENT_LOG_THRESHOLD = math.log(FINE_STRUCTURE_THRESHOLD) - 1e-9


@cache
def element_fine_structure(symbol: str, n_atoms: int, min_log_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Sub-configurations of ``n_atoms`` atoms of element ``symbol``, most probable first.

    Returns ``masses`` ((k,) float64, Da) and ``probabilities`` ((k,) float64, relative to the mode,
    so the first is 1). Only sub-configurations with probability >= 1e-4 x the mode's and
    log-probability >= ``min_log_prob`` are listed (-inf for analysis_version 1, -20 for later ones).
    """
    element = element_table()[symbol]
    log_p = np.log(element.probabilities)

    def log_prob(counts: tuple[int, ...]) -> float:
        return math.lgamma(n_atoms + 1) + sum(
            c * lp - math.lgamma(c + 1) for c, lp in zip(counts, log_p, strict=True)
        )

    mode = _modal_counts(element.probabilities, n_atoms)
    log_mode = log_prob(mode)
    seen, todo, kept = {mode}, [mode], []
    # The kept set is connected under moves of one atom between two isotopes (the multinomial is
    # log-concave), so a search from the mode that stops at rejected configurations finds all of it.
    while todo:
        counts = todo.pop()
        lp = log_prob(counts)
        if lp - log_mode < _ELEMENT_LOG_THRESHOLD or lp < min_log_prob:
            continue
        kept.append((lp, counts))
        for source in np.flatnonzero(counts):
            for target in range(len(counts)):
                if target != source:
                    moved = list(counts)
                    moved[source] -= 1
                    moved[target] += 1
                    neighbour = tuple(moved)
                    if neighbour not in seen:
                        seen.add(neighbour)
                        todo.append(neighbour)
    kept.sort(key=lambda item: -item[0])
    counts_matrix = np.array([counts for _, counts in kept], dtype=np.float64).reshape(len(kept), len(log_p))
    probabilities = np.exp(np.array([lp for lp, _ in kept]) - log_mode)
    return counts_matrix @ element.masses, probabilities


def _modal_counts(probabilities: np.ndarray, n_atoms: int) -> tuple[int, ...]:
    """The most probable split of ``n_atoms`` over the isotopes (hill-climbing from n * p)."""
    counts = np.floor(n_atoms * probabilities).astype(np.int64)
    missing = n_atoms - int(counts.sum())
    counts[np.argsort(counts - n_atoms * probabilities)[:missing]] += 1
    while True:
        # probability ratio of moving one atom from isotope a to isotope b
        ratio = (counts[:, None] / (counts[None, :] + 1)) * (probabilities[None, :] / probabilities[:, None])
        np.fill_diagonal(ratio, 0)
        source, target = np.unravel_index(np.argmax(ratio), ratio.shape)
        if ratio[source, target] <= 1:
            return tuple(int(c) for c in counts)
        counts[source] -= 1
        counts[target] += 1


def av1_fft_fails(n_isotopes: int, n_atoms: int) -> bool:
    """Whether analysis_version 1's FFT refuses ``n_atoms`` atoms of an element ("too many combinations").

    The transform has edge 2 * f(floor((n + 2) / 2)) along each of n_isotopes - 1 axes, f(x) being
    the smallest integer >= x with no prime factors other than 2, 3 and 5.
    """
    edge = 2 * _next_5_smooth((n_atoms + 2) // 2)
    return edge ** (n_isotopes - 1) > AV1_FFT_MAX_POINTS


def _next_5_smooth(x: int) -> int:
    while True:
        rest = x
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return x
        x += 1
