"""Bit sets in uint64 words: the positions of set bits in increasing order, without sorting."""

from __future__ import annotations

import numba
import numpy as np

_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
"""A de Bruijn sequence B(2, 6): the top 6 bits of ``(1 << i) * _DE_BRUIJN`` differ for every i < 64."""


def _bit_of_hash() -> np.ndarray:
    table = np.zeros(64, dtype=np.int64)
    for i in range(64):
        table[((1 << i) * int(_DE_BRUIJN) % 2**64) >> 58] = i
    return table


_BIT_OF_HASH = _bit_of_hash()


@numba.njit(cache=True, nogil=True)
def pop_set_bits(words: np.ndarray, start: int, stop: int, out: np.ndarray) -> int:
    """Write the positions (64·word + bit) of the set bits of ``words[start:stop]`` to ``out`` in
    increasing order and clear those words; returns how many were written."""
    n = 0
    for w in range(start, stop):
        word = words[w]
        while word:
            lowest = word & (~word + np.uint64(1))
            out[n] = 64 * w + _BIT_OF_HASH[(lowest * _DE_BRUIJN) >> np.uint64(58)]
            n += 1
            word ^= lowest
        words[w] = 0
    return n
