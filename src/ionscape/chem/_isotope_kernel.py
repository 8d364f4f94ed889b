"""Compiled kernel: centroids of many ions in one call (ALGORITHM.md §3.2–3.5).

Per ion: combine the fine structure of its elements (§3.2), then sample the Gaussian envelope and
detect its centroids (§3.5). The envelope procedure is reproduced step by step, with the same
floating-point operations, so that the grid points and hence the centroids come out as METASPACE's
isotope library computes them. Two shortcuts keep it fast without changing any result:

* The sampler's state (grid position, step, current line, gap flag) never depends on envelope values,
  so a cheap dry run over the grid finds the *clusters* (stretches of the grid separated by at least a
  window's worth of zeros) and the state at which each one starts. Clusters are then evaluated in
  decreasing order of an upper bound of their height (the summed intensity of the lines they can
  reach); once ``n_wanted`` centroids are known, clusters whose bound is below the ``n_wanted``-th
  height cannot contribute and are skipped.
* Runs of grid points in a gap are jumped over with ``_advance``, which reproduces repeated
  floating-point addition exactly.

All compiled functions live in this one module on purpose: numba's on-disk cache is invalidated
only when the file of the cached function changes, not when a function it calls from another file does.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ionscape.chem._isotope_fine import FINE_STRUCTURE_THRESHOLD
from ionscape.chem._isotope_table import ELECTRON_MASS

SIGMA_TO_FWHM = 2.3548200450309493
POINTS_PER_FWHM = 25.0
WINDOW = 15
CENTRE = 7
MIN_ABUNDANCE = 1e-4


@numba.njit(cache=True)
def ion_centroids(
    dist_mass: np.ndarray,
    dist_prob: np.ndarray,
    dist_offsets: np.ndarray,
    ion_dists: np.ndarray,
    ion_offsets: np.ndarray,
    charge: int,
    sigma: float,
    width: float,
    exponent: float,
    reference_mz: float,
    max_lines: int,
    n_wanted: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroids of a batch of ions.

    Parameters
    ----------
    dist_mass, dist_prob : (d,) float64 arrays, fine structure of (element, atom count) pairs: masses
        in Da and probabilities relative to the mode, most probable first; pair t occupies
        ``[dist_offsets[t], dist_offsets[t + 1])``.
    ion_dists, ion_offsets : int64 arrays, the pairs making up ion i are
        ``ion_dists[ion_offsets[i]:ion_offsets[i + 1]]``; an ion with no pairs gets no centroids.
    charge : +1 or -1.
    sigma, width, exponent, reference_mz : peak widths sigma(m) = sigma * (m / reference_mz) ** exponent
        are evaluated over +-width sigma; ``reference_mz`` <= 0 means the m/z of the ion's most probable
        configuration (analysis_version 1).
    max_lines : ions with more fine-structure lines than this get no centroids.
    n_wanted : centroids that cannot be among the ``n_wanted`` most intense of their ion may be left out.

    Returns
    -------
    mz : (c,) float64, centroid m/z; ints : (c,) float64, intensities relative to the ion's largest
    (those below 1e-4 dropped);
    offsets : (n + 1,) int64, centroids of ion i at ``[offsets[i], offsets[i + 1])``.
    """
    n_ions = len(ion_offsets) - 1
    out_mz = np.empty(16 * n_ions + 16)
    out_int = np.empty(16 * n_ions + 16)
    offsets = np.zeros(n_ions + 1, dtype=np.int64)
    lines = (np.empty(1024), np.empty(1024), np.empty(1024), np.empty(1024))
    peaks_mz = np.empty(64)
    peaks_int = np.empty(64)
    n_out = 0
    for ion in range(n_ions):
        first, last = ion_offsets[ion], ion_offsets[ion + 1]
        if first < last:
            lines, n_lines, mode_mass = _fine_structure(
                dist_mass, dist_prob, dist_offsets, ion_dists[first:last], lines
            )
            if n_lines > max_lines:
                offsets[ion + 1] = n_out
                continue
            order = np.argsort(lines[0][:n_lines])
            mz = lines[0][order] - charge * ELECTRON_MASS
            prob = lines[1][order]
            ref = reference_mz if reference_mz > 0 else mode_mass - charge * ELECTRON_MASS
            peaks_mz, peaks_int, n_peaks = _detect_centroids(
                mz, prob, sigma, width, exponent, ref, n_wanted, peaks_mz, peaks_int
            )
            top = peaks_int[:n_peaks].max()
            if n_out + n_peaks > len(out_mz):
                out_mz = _grown(out_mz, n_out + n_peaks)
                out_int = _grown(out_int, n_out + n_peaks)
            for p in range(n_peaks):
                relative = peaks_int[p] / top
                if relative >= MIN_ABUNDANCE:
                    out_mz[n_out] = peaks_mz[p]
                    out_int[n_out] = relative
                    n_out += 1
        offsets[ion + 1] = n_out
    return out_mz[:n_out].copy(), out_int[:n_out].copy(), offsets


@numba.njit(cache=True)
def _fine_structure(dist_mass, dist_prob, dist_offsets, dists, buffers):
    """All configurations of one ion with probability >= 1e-4 x the most probable one (§3.2).

    ``buffers`` is (masses, probabilities, scratch, scratch); returns the (possibly grown) buffers
    with the lines at the start of the first two, the number of lines, and the mode's mass.
    """
    lines_mass, lines_prob, new_mass, new_prob = buffers
    lines_mass[0] = 0.0
    lines_prob[0] = 1.0
    n_lines = 1
    mode_mass = 0.0
    for t in dists:
        lo, hi = dist_offsets[t], dist_offsets[t + 1]
        mode_mass += dist_mass[lo]
        n_new = 0
        for i in range(n_lines):
            for s in range(lo, hi):
                p = lines_prob[i] * dist_prob[s]
                if p < FINE_STRUCTURE_THRESHOLD:
                    break
                if n_new == len(new_mass):
                    new_mass = _grown(new_mass, n_new + 1)
                    new_prob = _grown(new_prob, n_new + 1)
                new_mass[n_new] = lines_mass[i] + dist_mass[s]
                new_prob[n_new] = p
                n_new += 1
        lines_mass, new_mass = new_mass, lines_mass
        lines_prob, new_prob = new_prob, lines_prob
        n_lines = n_new
    return (lines_mass, lines_prob, new_mass, new_prob), n_lines, mode_mass


# Outcomes of a grid step, and why a walk stopped.
_CONTINUE, _CLUSTER_END, _PATTERN_END, _BUFFER_FULL = 0, 1, 2, 3
_FOUND_CAPACITY = 16


@numba.njit(cache=True)
def _detect_centroids(mz, prob, sigma, width, exponent, reference_mz, n_wanted, peaks_mz, peaks_int):
    """Centroids of the envelope of the lines (``mz`` ascending, ``prob``).

    Peak widths are sigma(m) = sigma * (m / reference_mz) ** exponent, evaluated over +-width sigma.
    Returns the (possibly grown) buffers ``peaks_mz``, ``peaks_int`` and the number of centroids
    written to them: at least every centroid that can be among the ``n_wanted`` highest, with
    intensities as envelope heights (not normalised).
    """
    n = len(mz)
    if n <= 1:
        peaks_mz[0] = mz[0]
        peaks_int[0] = 1.0
        return peaks_mz, peaks_int, 1
    params = (sigma, width, exponent, reference_mz)
    xs = np.zeros(2 * WINDOW)
    ys = np.zeros(2 * WINDOW)
    found_mz = np.empty(_FOUND_CAPACITY)
    found_int = np.empty(_FOUND_CAPACITY)
    cumulative = np.zeros(n + 1)
    cumulative[1:] = np.cumsum(prob)

    # Dry run: the grid state at which each cluster starts, and how high the cluster can be.
    entries = []
    bound = np.empty(n)
    state = _initial_window(mz, prob, params, False, xs, ys)
    outcome = _CLUSTER_END
    while outcome != _PATTERN_END:
        entries.append(state)
        state, outcome = _skip_cluster(mz, params, state)
        last_x, step, j, sigma_cur, gap, gap_run = state
        lowest = 0
        if len(entries) > 1:
            reach = width * _sigma_at(mz[j], params)
            lowest = np.searchsorted(mz, entries[-1][0] - reach)
        bound[len(entries) - 1] = cumulative[j + 1] - cumulative[lowest]
        if outcome == _CLUSTER_END:
            skip = math.floor((mz[j + 1] - width * sigma_cur - last_x) / step) - 1
            if skip > 0:
                state = (_advance(last_x, step, skip), step, j, sigma_cur, gap, gap_run)

    # Evaluate clusters, highest bound first, until the rest cannot matter.
    n_peaks = 0
    for cluster in np.argsort(-bound[: len(entries)]):
        if n_peaks >= n_wanted and bound[cluster] < np.sort(peaks_int[:n_peaks])[n_peaks - n_wanted]:
            break
        if cluster == 0:
            state = _initial_window(mz, prob, params, True, xs, ys)
        else:
            xs[:] = 0.0
            ys[:] = 0.0
            state = entries[cluster]
        oldest = 0
        outcome = _BUFFER_FULL
        while outcome == _BUFFER_FULL:
            state, oldest, n_found, outcome = _walk(
                mz, prob, params, state, xs, ys, oldest, found_mz, found_int
            )
            if n_peaks + n_found > len(peaks_mz):
                peaks_mz = _grown(peaks_mz, n_peaks + n_found)
                peaks_int = _grown(peaks_int, n_peaks + n_found)
            peaks_mz[n_peaks : n_peaks + n_found] = found_mz[:n_found]
            peaks_int[n_peaks : n_peaks + n_found] = found_int[:n_found]
            n_peaks += n_found
    return peaks_mz, peaks_int, n_peaks


@numba.njit(cache=True)
def _initial_window(mz, prob, params, evaluate, xs, ys):
    """The first 15 grid points (§3.5 "sampling grid"); fills the window xs, ys when ``evaluate``.

    Returns the grid state after them: (last x, step, current line j, sigma_cur, gap, gap run).
    """
    width = params[1]
    j, gap = 0, False
    sigma_cur = _sigma_at(mz[0], params)
    step = sigma_cur * SIGMA_TO_FWHM / POINTS_PER_FWHM
    start = mz[0] - width * sigma_cur
    x = start
    for i in range(WINDOW):
        x = start + (i - CENTRE) * step
        j, sigma_cur, gap = _move_to(x, mz, j, sigma_cur, gap, params)
        if evaluate:
            xs[i] = xs[i + WINDOW] = x
            ys[i] = ys[i + WINDOW] = _envelope(x, mz, prob, j, sigma_cur, width)
    return x, step, j, sigma_cur, gap, 0


@numba.njit(cache=True)
def _skip_cluster(mz, params, state):
    """Step along the grid without evaluating the envelope until the current cluster ends.

    Returns the grid state and the outcome (_CLUSTER_END or _PATTERN_END).
    """
    width = params[1]
    outcome = _CONTINUE
    while outcome == _CONTINUE:
        last_x, step, j, sigma_cur, gap, _ = state
        if not gap:
            # Until x passes the current line's reach nothing changes but x: jump to just before.
            unchanged = math.floor((mz[j] + width * sigma_cur - last_x) / step) - 2
            if unchanged > 0:
                state = (_advance(last_x, step, unchanged), step, j, sigma_cur, gap, 0)
        _, state, outcome = _step(mz, params, state)
    return state, outcome


@numba.njit(cache=True)
def _walk(mz, prob, params, state, xs, ys, oldest, found_mz, found_int):
    """Evaluate the envelope along the grid from ``state`` until the cluster ends (§3.5 "main loop").

    The window xs/ys is a ring buffer stored twice, so that the window in order is
    ``[oldest, oldest + 15)``. Detected centroids go to found_mz/found_int; the walk also stops
    when those are full. Returns (grid state, oldest, number of centroids found, why it stopped).
    """
    width = params[1]
    n_found = 0
    while n_found < len(found_mz):
        x, state, outcome = _step(mz, params, state)
        if outcome != _CONTINUE:
            return state, oldest, n_found, outcome
        _, _, j, sigma_cur, gap, _ = state
        y = 0.0 if gap else _envelope(x, mz, prob, j, sigma_cur, width)
        xs[oldest] = xs[oldest + WINDOW] = x
        ys[oldest] = ys[oldest + WINDOW] = y
        oldest = oldest + 1 if oldest + 1 < WINDOW else 0
        middle = ys[oldest + CENTRE]
        if ys[oldest + CENTRE - 1] < middle and middle >= ys[oldest + CENTRE + 1] and middle >= MIN_ABUNDANCE:
            found_mz[n_found], found_int[n_found] = _centroid(xs, ys, oldest)
            n_found += 1
    return state, oldest, n_found, _BUFFER_FULL


@numba.njit(cache=True, inline="always")
def _step(mz, params, state):
    """One grid step of the main loop: the new point x, the grid state after it, and the outcome.

    _PATTERN_END when x lies beyond the last line's reach (x is not evaluated, the state is kept);
    _CLUSTER_END when x completes a run of 15 gap points (the window holds only zeros);
    else _CONTINUE.
    """
    width = params[1]
    last_x, step, j, sigma_cur, gap, gap_run = state
    x = last_x + step
    n = len(mz)
    if x > mz[n - 1] + width * sigma_cur:
        return x, state, _PATTERN_END
    line = j
    j, sigma_cur, gap = _move_to(x, mz, j, sigma_cur, gap, params)
    if j != line:
        step = sigma_cur * SIGMA_TO_FWHM / POINTS_PER_FWHM
    gap_run = gap_run + 1 if gap else 0
    outcome = _CONTINUE
    if gap_run == WINDOW:
        outcome = _PATTERN_END if j + 1 >= n else _CLUSTER_END
    return x, (x, step, j, sigma_cur, gap, gap_run), outcome


@numba.njit(cache=True, inline="always")
def _sigma_at(mz, params):
    sigma, _, exponent, reference_mz = params
    return sigma * (mz / reference_mz) ** exponent


@numba.njit(cache=True, inline="always")
def _move_to(x, mz, j, sigma_cur, gap, params):
    """Steps 1–2 of the envelope evaluator: update (current line j, sigma_cur, gap) for x."""
    width = params[1]
    if x > mz[j] + width * sigma_cur:
        gap = True
    if gap and j + 1 < len(mz) and x >= mz[j + 1] - width * sigma_cur:
        gap = False
        j += 1
        sigma_cur = _sigma_at(mz[j], params)
    return j, sigma_cur, gap


@numba.njit(cache=True, inline="always")
def _envelope(x, mz, prob, j, sigma_cur, width):
    """Steps 4–5 of the envelope evaluator (outside a gap): the summed Gaussians at x."""
    reach = width * sigma_cur
    k = j
    while k > 0 and x - mz[k - 1] < reach:
        k -= 1
    value = 0.0
    while k < len(mz) and mz[k] - x <= reach:
        z = (mz[k] - x) / sigma_cur
        value += prob[k] * math.exp(-0.5 * z * z)
        k += 1
    return value


@numba.njit(cache=True)
def _centroid(xs, ys, oldest):
    """Centroid (m/z, height) of the peak at the middle of the ring-buffered window (§3.5 step 5)."""
    first = CENTRE
    while first > 0 and ys[oldest + first - 1] < ys[oldest + first]:
        first -= 1
    weighted, total, height = 0.0, 0.0, 0.0
    for i in range(first, WINDOW):
        y = ys[oldest + i]
        if i > CENTRE and i + 1 < WINDOW and ys[oldest + i + 1] > y:
            break
        weighted += xs[oldest + i] * y
        total += y
        height = max(height, y)
    return weighted / total, height


@numba.njit(cache=True)
def _advance(x, step, n):
    """x after ``n`` floating-point additions of ``step``, bit-identical, without doing them one by one.

    While x stays in one binade (fixed ulp u), every addition rounds x + step to a multiple of u, so
    it adds the same amount: step rounded to the nearest multiple of u. Additions that cross a binade
    boundary, hit an exact tie, or start at x <= 0 are done one by one.
    """
    while n > 0:
        increment = 0.0
        exponent = 0
        if x > 0:
            exponent = math.frexp(x)[1]
            ulp = math.ldexp(1.0, exponent - 53)
            multiples = math.floor(step / ulp)
            remainder = step - multiples * ulp
            if 2 * remainder != ulp:
                increment = (multiples + (1 if 2 * remainder > ulp else 0)) * ulp
        n_same_binade = 0
        if increment > 0:
            n_same_binade = min(n, math.floor((math.ldexp(1.0, exponent) - x) / increment) - 1)
        if n_same_binade > 0:
            x += n_same_binade * increment
            n -= n_same_binade
        else:
            x += step
            n -= 1
    return x


@numba.njit(cache=True)
def _grown(buffer, needed):
    """A copy of a float64 buffer, at least doubled in size and holding at least ``needed`` values."""
    grown = np.empty(max(needed, 2 * len(buffer)))
    grown[: len(buffer)] = buffer
    return grown
