"""Compiled kernel: centroids of many ions in one call (ALGORITHM.md §3.2–3.5).

Per ion: combine the fine structure of its elements (§3.2), then sample the Gaussian envelope and
detect its centroids (§3.5). The sampling grid is reproduced exactly as specified, down to the
rounding of each step, so the centroids agree with METASPACE's isotope library to ~1e-11 Da.
Three shortcuts keep it fast without changing any result:

* The sampler's state (grid position, step, current line, gap flag) never depends on envelope values,
  so a cheap dry run over the grid finds the *clusters* (stretches of the grid separated by at least a
  window's worth of zeros) and the state at which each one starts. Clusters are then evaluated in
  decreasing order of an upper bound of their height (the summed intensity of the lines they can
  reach); once ``n_wanted`` centroids are known, clusters whose bound is below the ``n_wanted``-th
  height cannot contribute and are skipped.
* Within a cluster the envelope is monotonic before its lowest and after its highest line, so only
  the grid points from a few steps before the one to a few steps after the other are evaluated
  (``_enter_cluster``).
* Runs of grid points whose values are known (0 in a gap) or not needed are jumped over with
  ``_advance``, which reproduces repeated floating-point addition exactly.

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
MAX_GRID_POINTS = 100_000_000


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
    min_exponent: float,
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
    min_exponent : Gaussian terms exp(e) with e below this count as 0.
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
            params = (sigma, width, exponent, ref, min_exponent)
            peaks_mz, peaks_int, n_peaks = _detect_centroids(mz, prob, params, n_wanted, peaks_mz, peaks_int)
            top = peaks_int[:n_peaks].max() if n_peaks else 1.0
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
def _detect_centroids(mz, prob, params, n_wanted, peaks_mz, peaks_int):
    """Centroids of the envelope of the lines (``mz`` ascending, ``prob``).

    ``params`` is (sigma, width, exponent, reference_mz, min_exponent): peak widths are
    sigma(m) = sigma * (m / reference_mz) ** exponent, evaluated over +-width sigma, and Gaussian terms
    exp(e) with e < min_exponent count as 0.
    Returns the (possibly grown) buffers ``peaks_mz``, ``peaks_int`` and the number of centroids
    written to them: at least every centroid that can be among the ``n_wanted`` highest, with
    intensities as envelope heights (not normalised). Like METASPACE's isotope library, gives no
    centroids when the grid would start below m/z 0 or have more than ``MAX_GRID_POINTS`` points.
    """
    n = len(mz)
    if n <= 1:
        peaks_mz[0] = mz[0]
        peaks_int[0] = 1.0
        return peaks_mz, peaks_int, 1
    width = params[1]
    cumulative = np.zeros(n + 1)
    cumulative[1:] = np.cumsum(prob)

    # Dry run: per cluster, the grid state at which it starts, the lines it can reach and their sum.
    entries = []
    lowest = np.empty(n, dtype=np.int64)
    highest = np.empty(n, dtype=np.int64)
    bound = np.empty(n)
    state, first_x = _initial_window(mz, params)
    if first_x < 0:
        return peaks_mz, peaks_int, 0  # the library refuses grids that start below 0
    n_points = WINDOW
    outcome = _CLUSTER_END
    while outcome != _PATTERN_END:
        c = len(entries)
        entries.append(state)
        state, outcome, n_cluster_points = _skip_cluster(mz, params, state)
        n_points += n_cluster_points
        last_x, step, j, sigma_cur, gap, gap_run = state
        # A cluster that ends in a gap reaches up to its current line; the last one reaches the last
        # line, even if the pattern ends before the current line gets there.
        highest[c] = j if outcome == _CLUSTER_END else n - 1
        reach = width * _sigma_at(mz[highest[c]], params)
        lowest[c] = 0 if c == 0 else np.searchsorted(mz, entries[c][0] - reach)
        bound[c] = cumulative[highest[c] + 1] - cumulative[lowest[c]]
        if outcome == _CLUSTER_END:
            skip = math.floor((mz[j + 1] - width * sigma_cur - last_x) / step) - 1
            if skip > 0:
                state = (_advance(last_x, step, skip), step, j, sigma_cur, gap, gap_run)
                n_points += skip
    if n_points > MAX_GRID_POINTS:
        return peaks_mz, peaks_int, 0  # the library gives up on such fine grids

    # Evaluate clusters, highest bound first, until the rest cannot matter.
    xs = np.zeros(2 * WINDOW)
    ys = np.zeros(2 * WINDOW)
    found_mz = np.empty(_FOUND_CAPACITY)
    found_int = np.empty(_FOUND_CAPACITY)
    n_peaks = 0
    for c in np.argsort(-bound[: len(entries)]):
        if n_peaks >= n_wanted and bound[c] < np.sort(peaks_int[:n_peaks])[n_peaks - n_wanted]:
            break
        state, stop_above = _enter_cluster(mz, params, entries[c], lowest[c], highest[c])
        xs[:] = 0.0
        ys[:] = 0.0
        oldest = 0
        outcome = _BUFFER_FULL
        while outcome == _BUFFER_FULL:
            state, oldest, n_found, outcome = _walk(
                mz, prob, params, state, stop_above, xs, ys, oldest, found_mz, found_int
            )
            if n_peaks + n_found > len(peaks_mz):
                peaks_mz = _grown(peaks_mz, n_peaks + n_found)
                peaks_int = _grown(peaks_int, n_peaks + n_found)
            peaks_mz[n_peaks : n_peaks + n_found] = found_mz[:n_found]
            peaks_int[n_peaks : n_peaks + n_found] = found_int[:n_found]
            n_peaks += n_found
    return peaks_mz, peaks_int, n_peaks


@numba.njit(cache=True)
def _initial_window(mz, params):
    """Grid state after the first 15 grid points (§3.5 "sampling grid"), and the first point.

    A grid state is (last x, step, current line j, sigma_cur, gap, length of the current gap run).
    """
    width = params[1]
    j, gap = 0, False
    sigma_cur = _sigma_at(mz[0], params)
    step = sigma_cur * SIGMA_TO_FWHM / POINTS_PER_FWHM
    start = mz[0] - width * sigma_cur
    x = first_x = start - CENTRE * step
    for i in range(WINDOW):
        x = start + (i - CENTRE) * step
        j, sigma_cur, gap = _move_to(x, mz, j, sigma_cur, gap, params)
    return (x, step, j, sigma_cur, gap, 0), first_x


@numba.njit(cache=True)
def _enter_cluster(mz, params, state, lowest, highest):
    """Where the evaluation of a cluster can start and stop without missing any of its centroids.

    ``state`` is the grid state before the cluster, whose lines are ``mz[lowest:highest + 1]``.
    The envelope is 0 in a gap and rises strictly (sigma fixed, every line to the right) until x
    reaches the lowest line, so no centroid is detected there: the walk may skip ahead to 10 steps
    before it with a window of zeros. Past the highest line the envelope falls strictly, provided
    that sigma grows by less than 1 + eps between neighbouring lines, with eps (1 + eps) < step /
    (width sigma) (each Gaussian then falls at every step even where sigma_cur changes), so the
    walk may stop 10 steps after it. Returns the grid state and that stopping point.
    """
    width = params[1]
    while state[4]:
        _, state, _ = _step(mz, params, state)
    last_x, step, j, sigma_cur, gap, gap_run = state
    skip = math.floor((mz[lowest] - 10 * step - last_x) / step) - 1
    if skip > 0:
        state = (_advance(last_x, step, skip), step, j, sigma_cur, gap, gap_run)
    largest_growth = SIGMA_TO_FWHM / POINTS_PER_FWHM / width
    stop_above = mz[highest] + 10 * _sigma_at(mz[highest], params) * SIGMA_TO_FWHM / POINTS_PER_FWHM
    for k in range(lowest, highest):
        growth = _sigma_at(mz[k + 1], params) / _sigma_at(mz[k], params) - 1
        if growth * (1 + growth) >= largest_growth:
            stop_above = np.inf
    return state, stop_above


@numba.njit(cache=True)
def _skip_cluster(mz, params, state):
    """Step along the grid without evaluating the envelope until the current cluster ends.

    Returns the grid state, the outcome (_CLUSTER_END or _PATTERN_END) and the number of grid
    points passed.
    """
    width = params[1]
    outcome = _CONTINUE
    n_points = 0
    while outcome == _CONTINUE:
        last_x, step, j, sigma_cur, gap, _ = state
        if not gap:
            # Until x passes the current line's reach nothing changes but x: jump to just before.
            unchanged = math.floor((mz[j] + width * sigma_cur - last_x) / step) - 2
            if unchanged > 0:
                state = (_advance(last_x, step, unchanged), step, j, sigma_cur, gap, 0)
                n_points += unchanged
        _, state, outcome = _step(mz, params, state)
        n_points += 1
    return state, outcome, n_points - (outcome == _PATTERN_END)  # the point past the end is not used


@numba.njit(cache=True)
def _walk(mz, prob, params, state, stop_above, xs, ys, oldest, found_mz, found_int):
    """Evaluate the envelope along the grid from ``state`` (§3.5 "main loop").

    Stops when the cluster ends, when x passes ``stop_above``, or when found_mz/found_int are full.
    The window xs/ys is a ring buffer stored twice, so that the window in order is
    ``[oldest, oldest + 15)``. Returns (grid state, oldest, number of centroids found, why it stopped).
    """
    n_found = 0
    while n_found < len(found_mz):
        x, state, outcome = _step(mz, params, state)
        if outcome != _CONTINUE:
            return state, oldest, n_found, outcome
        _, _, j, sigma_cur, gap, _ = state
        y = 0.0 if gap else _envelope(x, mz, prob, j, sigma_cur, params)
        xs[oldest] = xs[oldest + WINDOW] = x
        ys[oldest] = ys[oldest + WINDOW] = y
        oldest = oldest + 1 if oldest + 1 < WINDOW else 0
        middle = ys[oldest + CENTRE]
        if ys[oldest + CENTRE - 1] < middle and middle >= ys[oldest + CENTRE + 1] and middle >= MIN_ABUNDANCE:
            found_mz[n_found], found_int[n_found] = _centroid(xs, ys, oldest)
            n_found += 1
        if x > stop_above:
            return state, oldest, n_found, _CLUSTER_END
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
    sigma, _, exponent, reference_mz, _ = params
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
def _envelope(x, mz, prob, j, sigma_cur, params):
    """Steps 4–5 of the envelope evaluator (outside a gap): the summed Gaussians at x.

    Lines between the current one and x are summed even when farther than the reach (this happens
    when lines are denser than grid points), but their negligible terms are not computed.
    """
    _, width, _, _, min_exponent = params
    reach = width * sigma_cur
    k = j
    while k > 0 and x - mz[k - 1] < reach:
        k -= 1
    value = 0.0
    while k < len(mz) and mz[k] - x <= reach:
        z = (mz[k] - x) / sigma_cur
        exponent = -0.5 * z * z
        if exponent >= min_exponent:
            value += prob[k] * math.exp(exponent)
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
