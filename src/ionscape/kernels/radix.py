"""Stable sort of peak columns by a float column, by LSD radix sort (numba, parallel).

Sorting every peak of a dataset by m/z is the dataset stage's largest cost. numpy's stable
argsort of floats is a timsort, O(n log n) comparisons; a least-significant-digit radix sort on
the floats' bit patterns makes 6 linear passes over 64-bit values, 3 over 32-bit ones (fewer
when a digit is the same in every value), and is several times faster on tens of millions of
m/z values. Digits are 11 bits: the counts of a block (16 KiB) stay in the L1 cache, and on
60M m/z values of a synthetic dataset 11-bit passes took 2.4–2.7 s on 2 threads against
3.2–3.5 s for 8-bit ones. Being stable, it gives exactly the order of
``np.argsort(values, kind="stable")``, NaN last.

The sort carries the keys along, so the sorted values come back from the sorted keys instead
of a gather, and it works in the buffer of the values it sorts; the other columns are gathered
into the scratch buffers the sort no longer needs. Fresh memory is what a one-off task pays
for most (the kernel's page faults), so this matters as much as the passes.

Each pass splits the data into blocks: the blocks' digit counts are taken in parallel, and each
block then scatters its values to its own slots (all of a digit's slots of earlier blocks come
first), so the order does not depend on the number of blocks. numba's thread count (set with
:func:`kernel_threads`) decides how many threads run them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np

DIGIT_BITS = 11
_DIGITS = 1 << DIGIT_BITS


@contextmanager
def kernel_threads(threads: int) -> Iterator[None]:
    """Run the parallel kernels called inside the block on at most ``threads`` threads."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def sort_by_key(
    values: np.ndarray, *columns: np.ndarray, blocks: int | None = None
) -> tuple[np.ndarray, ...]:
    """Sort the 1-D float32 or float64 ``values`` stably and reorder ``columns`` (1-D arrays of
    the same length, strided ones too) the same way; returns (sorted values, *columns).

    The order is that of ``np.argsort(values, kind="stable")`` (-0.0 and 0.0 are equal; every
    NaN sorts last) for any number of ``blocks`` (default: numba's thread count). A contiguous,
    writeable ``values`` is consumed: its buffer holds the sorted values on return, where -0.0
    has become 0.0 and every NaN the same NaN; other arrays are copied first. The columns must
    not share memory with ``values``.
    """
    if values.ndim != 1 or values.dtype not in (np.float32, np.float64):
        raise ValueError("sort_by_key takes a 1-D float32 or float64 array of values")
    if any(column.shape != values.shape for column in columns):
        raise ValueError("every column must have one entry per value")
    if not (values.flags.c_contiguous and values.flags.writeable):
        values = values.copy()
    keys = values.view(np.uint64 if values.dtype == np.float64 else np.uint32)
    _to_keys(keys, np.array(np.inf, dtype=values.dtype).view(keys.dtype)[()])
    keys_scratch = np.empty_like(keys)
    index_dtype = np.uint32 if len(values) < 2**32 else np.int64
    order, order_scratch = np.arange(len(values), dtype=index_dtype), np.empty(len(values), dtype=index_dtype)
    blocks = numba.get_num_threads() if blocks is None else blocks
    if _radix_sort(keys, order, keys_scratch, order_scratch, max(1, blocks)) % 2:
        keys, keys_scratch = keys_scratch, keys
        order, order_scratch = order_scratch, order
    _from_keys(keys)
    outputs = _carve(columns, [keys_scratch, order_scratch])
    for column, out in zip(columns, outputs, strict=True):
        _gather(column, order, out)
    return (keys.view(values.dtype), *outputs)


def _carve(columns: tuple[np.ndarray, ...], spare: list[np.ndarray]) -> list[np.ndarray]:
    """An output array for each column, laid out in the ``spare`` buffers while they have room."""
    pools = [[buffer.view(np.uint8), 0] for buffer in spare]
    outputs = []
    for column in columns:
        itemsize, size = column.dtype.itemsize, column.nbytes
        for pool in pools:
            start = -(-pool[1] // itemsize) * itemsize
            if start + size <= len(pool[0]):
                outputs.append(pool[0][start : start + size].view(column.dtype))
                pool[1] = start + size
                break
        else:
            outputs.append(np.empty(len(column), dtype=column.dtype))
    return outputs


@numba.njit(cache=True, nogil=True, parallel=True)
def _gather(values: np.ndarray, order: np.ndarray, out: np.ndarray) -> None:
    for i in numba.prange(len(order)):
        out[i] = values[order[i]]


@numba.njit(cache=True, nogil=True, parallel=True)
def _to_keys(bits: np.ndarray, infinity: np.unsignedinteger) -> None:
    """Turn float bit patterns (as unsigned integers; ``infinity`` is the pattern of +inf) into
    keys whose unsigned order is the numeric order (0.0 == -0.0, NaN last), in place."""
    sign = bits.dtype.type(1) << bits.dtype.type(bits.itemsize * 8 - 1)
    for i in numba.prange(len(bits)):
        b = bits[i]
        magnitude = b & ~sign
        if magnitude > infinity:  # NaN
            bits[i] = ~bits.dtype.type(0)
        elif magnitude == 0:  # 0.0 or -0.0
            bits[i] = sign
        elif b & sign:
            bits[i] = ~b
        else:
            bits[i] = b | sign


@numba.njit(cache=True, nogil=True, parallel=True)
def _from_keys(keys: np.ndarray) -> None:
    """Inverse of :func:`_to_keys` (-0.0 comes back as 0.0, NaN as the NaN of all ones)."""
    sign = keys.dtype.type(1) << keys.dtype.type(keys.itemsize * 8 - 1)
    for i in numba.prange(len(keys)):
        k = keys[i]
        keys[i] = k & ~sign if k & sign else ~k


@numba.njit(cache=True, nogil=True, parallel=True)
def _radix_sort(
    keys: np.ndarray, order: np.ndarray, keys_out: np.ndarray, order_out: np.ndarray, blocks: int
) -> int:
    """Reorder ``keys`` and ``order`` by ascending key, stably, a digit at a time; each pass
    counts and scatters ``blocks`` consecutive parts of the data in parallel. The ``_out``
    arrays are scratch of the same size; returns the number of passes that moved the data: when
    odd, the result is in the ``_out`` arrays."""
    n = len(keys)
    moves = 0
    mask = keys.dtype.type(_DIGITS - 1)
    size = max(1, -(-n // blocks))
    counts = np.zeros((blocks, _DIGITS), dtype=np.int64)
    for shift in range(0, keys.itemsize * 8, DIGIT_BITS):
        digit_shift = keys.dtype.type(shift)
        for b in numba.prange(blocks):
            counts[b, :] = 0
            for i in range(b * size, min(n, (b + 1) * size)):
                counts[b, (keys[i] >> digit_shift) & mask] += 1
        if counts.sum(axis=0).max() == n:  # the same digit everywhere: this pass would not move anything
            continue
        next_slot = np.empty_like(counts)  # first slot of (block, digit): digits in order, blocks in order
        filled = 0
        for d in range(_DIGITS):
            for b in range(blocks):
                next_slot[b, d] = filled
                filled += counts[b, d]
        for b in numba.prange(blocks):
            for i in range(b * size, min(n, (b + 1) * size)):
                d = (keys[i] >> digit_shift) & mask
                j = next_slot[b, d]
                next_slot[b, d] = j + 1
                keys_out[j] = keys[i]
                order_out[j] = order[i]
        keys, keys_out = keys_out, keys
        order, order_out = order_out, order
        moves += 1
    return moves
