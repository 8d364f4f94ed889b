"""Stable argsort of float arrays by LSD radix sort (numba).

Sorting every peak of a dataset by m/z is the dataset stage's largest cost. numpy's stable
argsort of floats is a timsort, O(n log n) comparisons; a least-significant-digit radix sort on
the floats' bit patterns makes 8 linear passes over the data (fewer when a byte is the same in
every value) and is about three times faster on tens of millions of m/z values. Being stable, it
gives exactly the order of ``np.argsort(values, kind="stable")``, NaN last.
"""

from __future__ import annotations

import numba
import numpy as np

DIGIT_BITS = 8
_DIGITS = 1 << DIGIT_BITS


def stable_argsort(values: np.ndarray) -> np.ndarray:
    """Indices that sort a 1-D float32 or float64 array ascending, ties in input order.

    The order equals ``np.argsort(values, kind="stable")`` (-0.0 and 0.0 are equal; every NaN
    sorts last). The sort moves 32-bit indices when it can, and widens them to intp at the end:
    numpy gathers with intp indices much faster.
    """
    values = np.ascontiguousarray(values)
    if values.ndim != 1 or values.dtype not in (np.float32, np.float64):
        raise ValueError("stable_argsort takes a 1-D float32 or float64 array")
    index_dtype = np.uint32 if len(values) < 2**32 else np.intp
    keys = _sortable_keys(values, values.view(np.uint64 if values.dtype == np.float64 else np.uint32))
    return _radix_argsort(keys, np.arange(len(values), dtype=index_dtype)).astype(np.intp)


@numba.njit(cache=True, nogil=True)
def _sortable_keys(values: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Unsigned keys whose order is the numeric order of ``values`` (0.0 == -0.0, NaN last);
    ``bits`` is ``values`` viewed as unsigned integers of the same size."""
    keys = np.empty_like(bits)
    sign = bits.dtype.type(1) << bits.dtype.type(bits.itemsize * 8 - 1)
    for i in range(len(values)):
        v = values[i]
        if v != v:
            keys[i] = ~bits.dtype.type(0)
        elif v == 0.0:
            keys[i] = sign
        elif bits[i] & sign:
            keys[i] = ~bits[i]
        else:
            keys[i] = bits[i] | sign
    return keys


@numba.njit(cache=True, nogil=True)
def _radix_argsort(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Reorder ``order`` (and ``keys``, used as scratch) by ascending key, stably, a byte at a time."""
    n = len(keys)
    keys_out = np.empty_like(keys)
    order_out = np.empty_like(order)
    mask = keys.dtype.type(_DIGITS - 1)
    for shift in range(0, keys.itemsize * 8, DIGIT_BITS):
        digit_shift = keys.dtype.type(shift)
        starts = np.zeros(_DIGITS + 1, dtype=np.int64)
        for i in range(n):
            starts[((keys[i] >> digit_shift) & mask) + 1] += 1
        if starts.max() == n:  # the same digit everywhere: this pass would not move anything
            continue
        for d in range(_DIGITS):
            starts[d + 1] += starts[d]
        for i in range(n):
            d = (keys[i] >> digit_shift) & mask
            j = starts[d]
            starts[d] = j + 1
            keys_out[j] = keys[i]
            order_out[j] = order[i]
        keys, keys_out = keys_out, keys
        order, order_out = order_out, order
    return order
