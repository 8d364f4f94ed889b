"""Spatial chaos of an ion image: the level-set "measure of chaos" (ALGORITHM.md §6.4).

For each of ``n_levels`` thresholds the image is binarised (strictly above the threshold),
dilated with the 4-connected cross (outside = 0), eroded with the 3×3 square (outside = 1) and
its 4-connected components are counted. chaos = 1 − mean(count) / (number of positive pixels),
or 0 when that is numerically 1 (nothing survives the opening) or the image is empty.

The implementation never loops over levels for the morphology. A pixel's binary value at level
i is ``L > i`` where L is the number of thresholds below its intensity, so dilation becomes a
maximum of L over the cross, erosion a minimum over the square, and the opened level sets are
nested: ``E_i = (M > i)``. Components of all levels are then counted in one union-find sweep
from the highest level down. Rows and columns more than two pixels away from any positive pixel
cannot change the result and are dropped first, so sparse images on a huge grid stay cheap.
"""

from __future__ import annotations

import numba
import numpy as np

# np.isclose(chaos, 1) with its default tolerances: |chaos - 1| <= atol + rtol * 1
_ONE_TOLERANCE = 1e-8 + 1e-5
_MARGIN = 2  # dilate-then-erode reaches two pixels


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
    positive = image > 0
    rows = np.flatnonzero(_compact_lines(positive.any(axis=1)) >= 0)
    cols = np.flatnonzero(_compact_lines(positive.any(axis=0)) >= 0)
    return float(_chaos_of_grid(np.ascontiguousarray(image[np.ix_(rows, cols)]), n_levels))


@numba.njit(cache=True, nogil=True)
def chaos_of_entries(
    pixels: np.ndarray, intensities: np.ndarray, width: int, height: int, n_levels: int
) -> float:
    """Measure of chaos of the sparse image given by entries (pixel index, float32 intensity).

    Duplicate pixels are summed in entry order in float32, as densifying would; the image is
    only materialised on the rows and columns near its positive pixels.
    """
    row_has_signal = np.zeros(height, dtype=np.bool_)
    col_has_signal = np.zeros(width, dtype=np.bool_)
    for e in range(pixels.shape[0]):
        if intensities[e] > 0:
            row_has_signal[pixels[e] // width] = True
            col_has_signal[pixels[e] % width] = True
    row_of = _compact_lines(row_has_signal)
    col_of = _compact_lines(col_has_signal)
    grid = np.zeros((max(row_of.max() + 1, 0), max(col_of.max() + 1, 0)), dtype=np.float32)
    for e in range(pixels.shape[0]):
        r = row_of[pixels[e] // width]
        c = col_of[pixels[e] % width]
        if r >= 0 and c >= 0:
            grid[r, c] += intensities[e]
    return _chaos_of_grid(grid, n_levels)


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
def _compact_lines(has_signal: np.ndarray) -> np.ndarray:
    """New index of every row (or column) within ``_MARGIN`` of one with signal, -1 for the others."""
    n = has_signal.shape[0]
    near = np.zeros(n, dtype=np.bool_)
    for j in range(n):
        if has_signal[j]:
            near[max(j - _MARGIN, 0) : min(j + _MARGIN + 1, n)] = True
    new_index = np.full(n, -1, dtype=np.int64)
    kept = 0
    for j in range(n):
        if near[j]:
            new_index[j] = kept
            kept += 1
    return new_index


@numba.njit(cache=True, nogil=True)
def _chaos_of_grid(grid: np.ndarray, n_levels: int) -> float:
    """Measure of chaos of a dense float32 grid (see module docstring)."""
    height, width = grid.shape
    peak = np.float32(0)
    n_positive = 0
    for r in range(height):
        for c in range(width):
            if grid[r, c] > 0:
                n_positive += 1
                peak = max(peak, grid[r, c])
    if n_positive == 0:
        return 0.0
    thresholds = np.empty(n_levels, dtype=np.float32)
    for i in range(n_levels):
        thresholds[i] = np.float32(peak * np.float32(i)) / np.float32(n_levels)

    # L: number of thresholds below the pixel (thresholds are non-decreasing), guessed then corrected
    on_levels = np.zeros((height, width), dtype=np.int32)
    for r in range(height):
        for c in range(width):
            value = grid[r, c]
            if value > 0:
                n_on = min(int(value / peak * n_levels), n_levels)
                while n_on > 0 and thresholds[n_on - 1] >= value:
                    n_on -= 1
                while n_on < n_levels and thresholds[n_on] < value:
                    n_on += 1
                on_levels[r, c] = n_on
    # dilation with the cross, outside pixels are off
    dilated = np.empty_like(on_levels)
    for r in range(height):
        for c in range(width):
            v = on_levels[r, c]
            if r > 0:
                v = max(v, on_levels[r - 1, c])
            if r + 1 < height:
                v = max(v, on_levels[r + 1, c])
            if c > 0:
                v = max(v, on_levels[r, c - 1])
            if c + 1 < width:
                v = max(v, on_levels[r, c + 1])
            dilated[r, c] = v
    # erosion with the 3x3 square, outside pixels are on: separable minimum over in-bounds neighbours
    row_min = on_levels  # reuse the buffer, L is no longer needed
    for r in range(height):
        for c in range(width):
            v = dilated[r, c]
            if c > 0:
                v = min(v, dilated[r, c - 1])
            if c + 1 < width:
                v = min(v, dilated[r, c + 1])
            row_min[r, c] = v
    opened = dilated  # reuse the buffer, the dilation is no longer needed
    for r in range(height):
        for c in range(width):
            v = row_min[r, c]
            if r > 0:
                v = min(v, row_min[r - 1, c])
            if r + 1 < height:
                v = min(v, row_min[r + 1, c])
            opened[r, c] = v
    total_components = _nested_component_counts(opened, n_levels)
    chaos = 1.0 - (total_components / n_levels) / n_positive
    if abs(chaos - 1.0) <= _ONE_TOLERANCE:
        return 0.0
    return chaos


@numba.njit(cache=True, nogil=True)
def _nested_component_counts(levels: np.ndarray, n_levels: int) -> int:
    """Sum over i of the number of 4-connected components of ``levels > i``.

    Pixels are added from the highest level down, merging with already-added 4-neighbours in
    a union-find forest; after adding level i the number of trees is that level's count.
    """
    height, width = levels.shape
    flat = levels.ravel()
    n = flat.shape[0]
    # counting sort of the pixels by level, highest first
    starts = np.zeros(n_levels + 2, dtype=np.int64)
    for p in range(n):
        starts[flat[p] + 1] += 1
    for lev in range(n_levels + 1):
        starts[lev + 1] += starts[lev]
    order = np.empty(n, dtype=np.int64)
    fill = starts[:-1].copy()
    for p in range(n):
        order[fill[flat[p]]] = p
        fill[flat[p]] += 1

    parent = np.arange(n)
    added = np.zeros(n, dtype=np.bool_)
    components = 0
    total = 0
    for lev in range(n_levels, 0, -1):
        for j in range(starts[lev], starts[lev + 1]):
            p = order[j]
            added[p] = True
            components += 1
            r, c = divmod(p, width)
            if r > 0 and added[p - width]:
                components -= _union(parent, p, p - width)
            if r + 1 < height and added[p + width]:
                components -= _union(parent, p, p + width)
            if c > 0 and added[p - 1]:
                components -= _union(parent, p, p - 1)
            if c + 1 < width and added[p + 1]:
                components -= _union(parent, p, p + 1)
        total += components
    return total


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
