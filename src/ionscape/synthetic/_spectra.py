"""Centroided spectra of one image row, from how much of each ion every pixel holds.

A *source* is anything that puts peaks into spectra: a planted ion, a matrix ion (their isotope
envelopes), or a recurring background peak (one peak). :class:`PeakTable` lists the peaks of
all sources; given ``levels`` — the expected intensity of each source's base peak at each pixel
of a row — :func:`processed_row` draws the row's spectra:

1. per pixel, a total-ion-count factor; per source and pixel, an intensity factor (log-normal);
2. each isotope peak gets its own factor; peaks below the detection limit are not recorded;
3. m/z jitter: a per-spectrum calibration shift and a per-peak error;
4. random noise peaks fill each spectrum up to about ``peaks_per_spectrum`` peaks;
5. every spectrum is sorted by m/z.

Everything is vectorised over the row; memory is a few times the row's peaks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

TIC_SD = 0.2  # log-normal sd of the per-pixel total-ion-count factor
PEAK_COUNT_SPREAD = 0.1  # each spectrum gets peaks_per_spectrum × U(1 - spread, 1 + spread) peaks
_PRESENT = 0.5  # a source adds no peaks where its level is below this fraction of the detection limit


@dataclass(frozen=True)
class PeakTable:
    """The peaks of every source, ragged: source s owns peaks ``start[s]`` to ``start[s] + count[s]``.

    Per peak: ``mz``, ``source``, ``is_base`` (the source's most intense peak) and ``rel``, its
    intensity relative to the source's base peak. Continuous mode: ``axis`` is the shared m/z axis,
    ``axis_index`` / ``noise_axis_index`` the positions of the peaks / noise positions on it.
    """

    mz: np.ndarray
    rel: np.ndarray
    source: np.ndarray
    is_base: np.ndarray
    start: np.ndarray
    count: np.ndarray
    mz_range: tuple[float, float]
    peaks_per_spectrum: int
    detection_limit: float
    pixel_noise: float
    isotope_noise: float
    jitter_ppm: float
    axis: np.ndarray | None = None
    axis_index: np.ndarray | None = None
    noise_axis_index: np.ndarray | None = None

    @property
    def n_sources(self) -> int:
        return len(self.start)

    @classmethod
    def from_envelopes(cls, env_mz: np.ndarray, env_rel: np.ndarray, **settings: object) -> PeakTable:
        """Build from (n_sources, n) zero-padded envelopes (m/z, relative intensity)."""
        real = env_rel > 0
        count = real.sum(axis=1)
        is_base = np.zeros(env_rel.shape, dtype=bool)
        is_base[np.arange(len(env_rel)), np.argmax(env_rel, axis=1)] = True
        return cls(
            mz=env_mz[real],
            rel=env_rel[real],
            source=np.nonzero(real)[0],
            is_base=is_base[real],
            start=np.cumsum(count) - count,
            count=count,
            **settings,
        )

    def with_axis(self, noise_mz: np.ndarray) -> PeakTable:
        """Continuous mode: one m/z axis holding every peak and the ``noise_mz`` noise positions."""
        axis = np.unique(np.concatenate([self.mz, noise_mz]))
        return replace(
            self,
            axis=axis,
            axis_index=np.searchsorted(axis, self.mz),
            noise_axis_index=np.searchsorted(axis, noise_mz),
        )


@dataclass(frozen=True)
class RowSpectra:
    """The spectra of one image row, concatenated: spectrum i is ``lengths[i]`` peaks long.

    ``mz`` is None in continuous mode (every spectrum uses the table's axis). ``base_hits``
    counts, per source, the pixels where its base peak was recorded.
    """

    lengths: np.ndarray
    mz: np.ndarray | None
    ints: np.ndarray
    base_hits: np.ndarray


def processed_row(table: PeakTable, levels: np.ndarray, rng: np.random.Generator) -> RowSpectra:
    """Spectra of a row with (n_sources, width) base-peak ``levels``, each sorted by m/z."""
    width = levels.shape[1]
    px, peak, intensity, base_hits = _detected(table, levels, rng)
    shift = rng.normal(0.0, table.jitter_ppm / 2, width)
    mz = table.mz[peak] * (1 + 1e-6 * (rng.normal(0.0, table.jitter_ppm, len(peak)) + shift[px]))
    n_signal = np.bincount(px, minlength=width)
    n_noise = np.maximum(_target_counts(table, width, rng) - n_signal, 0)

    # one padded row per spectrum: noise in the first columns, signal after; padding sorts last
    noise_width, signal_width = n_noise.max(initial=0), n_signal.max(initial=0)
    padded_mz = np.full((width, noise_width + signal_width), np.inf)
    padded_ints = np.zeros(padded_mz.shape, dtype=np.float32)
    noise = np.arange(noise_width) < n_noise[:, None]
    padded_mz[:, :noise_width] = np.where(noise, rng.uniform(*table.mz_range, noise.shape), np.inf)
    padded_ints[:, :noise_width] = _noise_intensity(table, rng, noise.shape)
    slot = noise_width + np.arange(len(px)) - np.repeat(np.cumsum(n_signal) - n_signal, n_signal)
    flat = px * padded_mz.shape[1] + slot
    padded_mz.ravel()[flat] = mz
    padded_ints.ravel()[flat] = intensity

    order = np.argsort(padded_mz, axis=1)
    sorted_mz = np.take_along_axis(padded_mz, order, axis=1)
    recorded = np.isfinite(sorted_mz)
    sorted_ints = np.take_along_axis(padded_ints, order, axis=1)
    return RowSpectra(
        lengths=n_signal + n_noise, mz=sorted_mz[recorded], ints=sorted_ints[recorded], base_hits=base_hits
    )


def continuous_row(table: PeakTable, levels: np.ndarray, rng: np.random.Generator) -> RowSpectra:
    """Spectra of a row on the table's shared m/z axis (zero where nothing was recorded)."""
    assert table.axis is not None and table.axis_index is not None and table.noise_axis_index is not None
    width, n_axis = levels.shape[1], len(table.axis)
    px, peak, intensity, base_hits = _detected(table, levels, rng)
    n_noise = np.maximum(_target_counts(table, width, rng) - np.bincount(px, minlength=width), 0)
    noise_px = np.repeat(np.arange(width), n_noise)
    noise_at = table.noise_axis_index[rng.integers(0, len(table.noise_axis_index), len(noise_px))]
    flat = np.concatenate([px * n_axis + table.axis_index[peak], noise_px * n_axis + noise_at])
    weights = np.concatenate([intensity, _noise_intensity(table, rng, len(noise_px))])
    ints = np.bincount(flat, weights=weights, minlength=width * n_axis).astype(np.float32)
    return RowSpectra(lengths=np.full(width, n_axis), mz=None, ints=ints, base_hits=base_hits)


def _detected(
    table: PeakTable, levels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Recorded signal peaks of a row, grouped by pixel: (pixel, peak index, intensity, base hits)."""
    width = levels.shape[1]
    tic = _unit_lognormal(rng, TIC_SD, width)
    by_pixel = (levels * tic * _unit_lognormal(rng, table.pixel_noise, levels.shape)).T
    px, source = np.nonzero(by_pixel >= _PRESENT * table.detection_limit)
    n = table.count[source]
    peak = np.arange(n.sum()) + np.repeat(table.start[source] - (np.cumsum(n) - n), n)
    intensity = np.repeat(by_pixel[px, source], n) * table.rel[peak]
    intensity *= _unit_lognormal(rng, table.isotope_noise, len(peak))
    kept = intensity >= table.detection_limit
    peak = peak[kept]
    base_hits = np.bincount(table.source[peak[table.is_base[peak]]], minlength=table.n_sources)
    return np.repeat(px, n)[kept], peak, intensity[kept].astype(np.float32), base_hits


def _target_counts(table: PeakTable, width: int, rng: np.random.Generator) -> np.ndarray:
    """Wanted number of peaks of each spectrum of a row (at least one)."""
    spread = rng.uniform(1 - PEAK_COUNT_SPREAD, 1 + PEAK_COUNT_SPREAD, width)
    return np.maximum(np.rint(table.peaks_per_spectrum * spread).astype(np.int64), 1)


def _noise_intensity(table: PeakTable, rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
    """Noise peaks: just above the detection limit, with a heavy tail (median 2×, 1 % above 100×)."""
    return (table.detection_limit * np.exp(rng.exponential(1.0, shape))).astype(np.float32)


def _unit_lognormal(rng: np.random.Generator, sd: float, shape: int | tuple[int, ...]) -> np.ndarray:
    """Log-normal factors with mean 1 and log-sd ``sd``."""
    return np.exp(rng.normal(-0.5 * sd**2, sd, shape))
