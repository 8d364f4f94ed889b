"""Spatial chaos of an ion image: the level-set "measure of chaos" (ALGORITHM.md §6.4).

For each of ``n_levels`` thresholds the image is binarised (strictly above the threshold),
dilated with the 4-connected cross (outside = 0), eroded with the 3×3 square (outside = 1) and
its 4-connected components are counted. chaos = 1 − mean(count) / (number of positive pixels),
or 0 when that is numerically 1 (nothing survives the opening) or the image is empty.

The implementation never loops over levels for the morphology. A pixel's binary value at level
i is ``L > i`` where L is the number of thresholds below its intensity, so dilation becomes a
maximum of L over the cross, erosion a minimum over the square, and the opened level sets are
nested: ``E_i = (M > i)``. Components of all levels are then counted in one union-find sweep
from the highest level down. The image is never materialised: only its positive pixels, their
dilation and what survives the erosion are visited, so the cost is O(entries), not O(area):
0.18 ms for an ion image of ≈ 1,200 entries on a 500×400 grid, against 1.7 ms when the rows
and columns near its signal were densified.
"""

from __future__ import annotations

import numba
import numpy as np

# np.isclose(chaos, 1) with its default tolerances: |chaos - 1| <= atol + rtol * 1
_ONE_TOLERANCE = 1e-8 + 1e-5


def measure_of_chaos(image: np.ndarray, n_levels: int = 30) -> float:
    """Level-set measure of spatial chaos of a dense ion image.

    Parameters
    ----------
    image : (h, w) float32 array
        Ion intensities; pixels without signal are 0. Other float dtypes are cast to float32.
    n_levels : int
        Number of intensity levels (METASPACE uses 30; its C++ implementation allows up to 32).

    Returns
    -------
    float
        chaos in [0, 1]; 0 for an image without positive pixels or whose level sets vanish.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {image.shape}")
    if n_levels < 1:
        raise ValueError(f"n_levels must be positive, got {n_levels}")
    height, width = image.shape
    flat = image.ravel()
    entries = np.flatnonzero(flat)
    return chaos_of_entries(entries, flat[entries], width, height, n_levels)


@numba.njit(cache=True, nogil=True)
def chaos_scratch(n_pixels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel scratch of :func:`chaos_of_sparse` for a grid of ``n_pixels``, reusable across
    images: (value float32 zeros, level int32 zeros, dilated int32 zeros, node int32 -1)."""
    return (
        np.zeros(n_pixels, dtype=np.float32),
        np.zeros(n_pixels, dtype=np.int32),
        np.zeros(n_pixels, dtype=np.int32),
        np.full(n_pixels, -1, dtype=np.int32),
    )


def chaos_of_entries(
    pixels: np.ndarray, intensities: np.ndarray, width: int, height: int, n_levels: int
) -> float:
    """Measure of chaos of the sparse image given by entries (pixel index, float32 intensity).

    Duplicate pixels are summed in entry order in float32, as densifying would.
    """
    return float(
        chaos_of_sparse(
            np.asarray(pixels, dtype=np.int64),
            np.asarray(intensities, dtype=np.float32),
            width,
            height,
            n_levels,
            chaos_scratch(width * height),
        )
    )


@numba.njit(cache=True, nogil=True)
def chaos_of_sparse(
    pixels: np.ndarray,
    intensities: np.ndarray,
    width: int,
    height: int,
    n_levels: int,
    scratch: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> float:
    """:func:`chaos_of_entries` in O(entries): the image is never materialised.

    Only the pixels with signal, their dilation (at most 5 pixels each) and the part of it that
    survives the erosion are visited; the levels of §6.4 are those of the dense computation, so
    the result is the same. ``scratch`` (:func:`chaos_scratch` of the grid) is left as it was
    found.
    """
    value, level, dilated, node = scratch
    touched = np.empty(pixels.shape[0], dtype=np.int64)
    n_touched = 0
    for e in range(pixels.shape[0]):
        p = pixels[e]
        if node[p] < 0:
            node[p] = n_touched
            touched[n_touched] = p
            n_touched += 1
        value[p] += intensities[e]
    positive = np.empty(n_touched, dtype=np.int64)
    n_positive = 0
    peak = np.float32(0)
    for t in range(n_touched):
        p = touched[t]
        node[p] = -1
        if value[p] > 0:
            positive[n_positive] = p
            n_positive += 1
            peak = max(peak, value[p])
    total_components = 0
    if n_positive > 0:
        thresholds = _thresholds(peak, n_levels)
        for j in range(n_positive):
            p = positive[j]
            level[p] = _levels_below(value[p], peak, thresholds, n_levels)
        cross = _dilate(positive[:n_positive], width, height, level, dilated)
        opened, opened_level = _erode(cross, width, height, dilated)
        total_components = _nested_component_counts(opened, opened_level, width, height, n_levels, node)
        for j in range(n_positive):
            level[positive[j]] = 0
        for q in cross:
            dilated[q] = 0
    for t in range(n_touched):
        value[touched[t]] = 0
    if n_positive == 0:
        return 0.0
    chaos = 1.0 - (total_components / n_levels) / n_positive
    if abs(chaos - 1.0) <= _ONE_TOLERANCE:
        return 0.0
    return chaos


@numba.njit(cache=True, nogil=True)
def _thresholds(peak: np.float32, n_levels: int) -> np.ndarray:
    """The level thresholds peak·i/n_levels, i = 0..n_levels-1, in float32."""
    thresholds = np.empty(n_levels, dtype=np.float32)
    for i in range(n_levels):
        thresholds[i] = np.float32(peak * np.float32(i)) / np.float32(n_levels)
    return thresholds


@numba.njit(cache=True, nogil=True, inline="always")
def _levels_below(value: np.float32, peak: np.float32, thresholds: np.ndarray, n_levels: int) -> int:
    """L: the number of thresholds below ``value`` (thresholds are non-decreasing), guessed then
    corrected."""
    n_on = min(int(value / peak * n_levels), n_levels)
    while n_on > 0 and thresholds[n_on - 1] >= value:
        n_on -= 1
    while n_on < n_levels and thresholds[n_on] < value:
        n_on += 1
    return n_on


@numba.njit(cache=True, nogil=True)
def _dilate(
    positive: np.ndarray, width: int, height: int, level: np.ndarray, dilated: np.ndarray
) -> np.ndarray:
    """Dilation with the cross (outside off) at every pixel it can reach: writes ``dilated`` there
    (every such value is at least 1) and returns those pixels."""
    reached = np.empty(5 * positive.shape[0], dtype=np.int64)
    n = 0
    for p in positive:
        row, col = divmod(p, width)
        for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            r, c = row + dr, col + dc
            if 0 <= r < height and 0 <= c < width and dilated[r * width + c] == 0:
                q = r * width + c
                v = level[q]
                if r > 0:
                    v = max(v, level[q - width])
                if r + 1 < height:
                    v = max(v, level[q + width])
                if c > 0:
                    v = max(v, level[q - 1])
                if c + 1 < width:
                    v = max(v, level[q + 1])
                dilated[q] = v
                reached[n] = q
                n += 1
    return reached[:n]


@numba.njit(cache=True, nogil=True)
def _erode(
    reached: np.ndarray, width: int, height: int, dilated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Erosion with the 3×3 square (outside on): the pixels where it is positive, and its value."""
    opened = np.empty(reached.shape[0], dtype=np.int64)
    opened_level = np.empty(reached.shape[0], dtype=np.int32)
    n = 0
    for q in reached:
        row, col = divmod(q, width)
        v = dilated[q]
        for r in range(max(row - 1, 0), min(row + 2, height)):
            for c in range(max(col - 1, 0), min(col + 2, width)):
                v = min(v, dilated[r * width + c])
        if v > 0:
            opened[n] = q
            opened_level[n] = v
            n += 1
    return opened[:n], opened_level[:n]


@numba.njit(cache=True, nogil=True)
def _nested_component_counts(
    pixels: np.ndarray, levels: np.ndarray, width: int, height: int, n_levels: int, node: np.ndarray
) -> int:
    """Sum over i of the number of 4-connected components of ``levels > i``, for the image that
    is ``levels`` at ``pixels`` and 0 elsewhere.

    Pixels are added from the highest level down, merging with already-added 4-neighbours in a
    union-find forest; after adding level i the number of trees is that level's count. ``node``
    (-1 everywhere) is scratch, restored before returning.
    """
    n = pixels.shape[0]
    starts = np.zeros(n_levels + 2, dtype=np.int64)
    for j in range(n):
        starts[levels[j] + 1] += 1
    for lev in range(n_levels + 1):
        starts[lev + 1] += starts[lev]
    order = np.empty(n, dtype=np.int64)
    fill = starts[:-1].copy()
    for j in range(n):
        order[fill[levels[j]]] = j
        fill[levels[j]] += 1
    parent = np.arange(n)
    components = 0
    total = 0
    for lev in range(n_levels, 0, -1):
        for k in range(starts[lev], starts[lev + 1]):
            j = order[k]
            p = pixels[j]
            node[p] = j
            components += 1
            r, c = divmod(p, width)
            if r > 0 and node[p - width] >= 0:
                components -= _union(parent, j, node[p - width])
            if r + 1 < height and node[p + width] >= 0:
                components -= _union(parent, j, node[p + width])
            if c > 0 and node[p - 1] >= 0:
                components -= _union(parent, j, node[p - 1])
            if c + 1 < width and node[p + 1] >= 0:
                components -= _union(parent, j, node[p + 1])
        total += components
    for j in range(n):
        node[pixels[j]] = -1
    return total


@numba.njit(cache=True, nogil=True)
def opening_is_empty(pixels: np.ndarray, width: int, height: int, stamp: np.ndarray, mark: int) -> bool:
    """True when no pixel of the sparse image with entries at ``pixels`` survives the opening at
    the lowest level, so that its measure of chaos is 0 without computing it.

    The lowest level set is every pixel with signal (entries have positive intensities); it
    survives at pixel p when p and each of its in-bounds 8 neighbours lie in the set dilated by
    the cross. The test marks the dilated set, then looks at the 3×3 square of each of its
    pixels, corners first (for noise-like images, almost every ion without a real signal, a
    corner is outside the set at the first look). It costs O(entries) instead of O(image area).
    ``stamp`` (one value per pixel of the grid) is scratch: pixels of the dilated set get
    ``mark``, which must differ from every value already in it.
    """
    for e in range(pixels.shape[0]):
        row, col = divmod(pixels[e], width)
        stamp[pixels[e]] = mark
        if row > 0:
            stamp[pixels[e] - width] = mark
        if row + 1 < height:
            stamp[pixels[e] + width] = mark
        if col > 0:
            stamp[pixels[e] - 1] = mark
        if col + 1 < width:
            stamp[pixels[e] + 1] = mark
    for e in range(pixels.shape[0]):
        row, col = divmod(pixels[e], width)
        # the candidates are the pixels of the dilated set: the entry and its 4 neighbours
        for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            r, c = row + dr, col + dc
            if 0 <= r < height and 0 <= c < width and _square_in_set(r, c, width, height, stamp, mark):
                return False
    return True


@numba.njit(cache=True, nogil=True)
def _square_in_set(row: int, col: int, width: int, height: int, stamp: np.ndarray, mark: int) -> bool:
    """Whether every in-bounds pixel of the 3×3 square at (row, col) is marked, corners first."""
    for dr, dc in ((-1, -1), (-1, 1), (1, -1), (1, 1), (-1, 0), (0, -1), (0, 1), (1, 0), (0, 0)):
        r, c = row + dr, col + dc
        if 0 <= r < height and 0 <= c < width and stamp[r * width + c] != mark:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _find(parent: np.ndarray, p: int) -> int:
    while parent[p] != p:
        parent[p] = parent[parent[p]]
        p = parent[p]
    return p


@numba.njit(cache=True, nogil=True)
def _union(parent: np.ndarray, a: int, b: int) -> int:
    """Join the trees of a and b; 1 if they were separate, else 0."""
    root_a, root_b = _find(parent, a), _find(parent, b)
    if root_a == root_b:
        return 0
    parent[root_a] = root_b
    return 1
