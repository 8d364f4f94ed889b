"""pop_set_bits: positions of set bits in increasing order, checked on hand-written words."""

from __future__ import annotations

import numpy as np

from ionscape.kernels.bits import pop_set_bits


def test_positions_in_order_and_words_cleared():
    words = np.array([0b1011, 0, 1 << 63, (1 << 5) | (1 << 40)], dtype=np.uint64)
    out = np.full(10, -1, dtype=np.int64)
    n = pop_set_bits(words, 0, 4, out)
    assert out[:n].tolist() == [0, 1, 3, 191, 197, 232]
    assert not words.any()


def test_only_the_given_range_is_read_and_cleared():
    words = np.array([1, 2, 4, 8], dtype=np.uint64)
    out = np.zeros(4, dtype=np.int64)
    n = pop_set_bits(words, 1, 3, out)
    assert out[:n].tolist() == [65, 130]
    assert words.tolist() == [1, 0, 0, 8]


def test_every_single_bit_position():
    for position in range(128):
        words = np.zeros(2, dtype=np.uint64)
        words[position // 64] = np.uint64(1) << np.uint64(position % 64)
        out = np.zeros(1, dtype=np.int64)
        assert pop_set_bits(words, 0, 2, out) == 1 and out[0] == position


def test_random_words_match_numpy_unpackbits():
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, 50, dtype=np.int64).astype(np.uint64)
    words[::7] |= np.uint64(1) << np.uint64(63)  # the top bit too
    expected = np.flatnonzero(np.unpackbits(words.view(np.uint8), bitorder="little"))
    out = np.zeros(len(expected), dtype=np.int64)
    assert pop_set_bits(words, 0, 50, out) == len(expected)
    assert (out == expected).all()
