"""Synthetic imzML datasets with planted ions, whose right answers are known.

Used by the end-to-end tests and the benchmarks.

Each planted ion gets its theoretical isotope pattern, a spatial pattern (a blob or a gradient),
per-pixel and per-peak intensity noise (a perfect pattern would score spectral 1.0, which the
algorithm zeroes) and ~0.5 ppm m/z jitter; every spectrum also gets random noise peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyimzml.ImzMLWriter import ImzMLWriter

from ionscape.chem.formulas import ion_formula
from ionscape.chem.isotopes import IsotopeSettings, compute_centroids


@dataclass(frozen=True)
class PlantedIon:
    formula: str
    adduct: str


def spatial_patterns(n: int, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """(n, h, w) patterns in [0, 1]: Gaussian blobs at random places, and some gradients."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = np.empty((n, height, width))
    for i in range(n):
        if i % 3 == 2:
            out[i] = (xx + yy) / (width + height - 2)
        else:
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            sd = rng.uniform(2, 4)
            out[i] = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sd**2))
    return out


def write_planted_dataset(
    path: Path,
    planted: list[PlantedIon],
    *,
    width: int = 12,
    height: int = 10,
    noise_peaks: int = 300,
    mz_range: tuple[float, float] = (100.0, 1000.0),
    sigma: float = 0.000619,
    seed: int = 0,
) -> Path:
    """Write ``path`` (.imzML + .ibd, processed mode) with ``planted`` ions; returns the imzML path.

    Every spectrum has ``noise_peaks`` random peaks in ``mz_range``; planted ions use positive
    charge and isotope peak width ``sigma``. One writer call per spectrum: meant for datasets of
    up to ~10^4 spectra.
    """
    rng = np.random.default_rng(seed)
    ions = [ion_formula(p.formula, p.adduct) for p in planted]
    mz, ints = compute_centroids(ions, IsotopeSettings(charge=1, isocalc_sigma=sigma))
    patterns = spatial_patterns(len(planted), width, height, rng)
    with ImzMLWriter(str(path), mz_dtype=np.float64, intensity_dtype=np.float32, mode="processed") as writer:
        for y in range(height):
            for x in range(width):
                peak_mz = [rng.uniform(*mz_range, noise_peaks)]
                peak_int = [rng.uniform(10, 300, noise_peaks)]
                for i in range(len(planted)):
                    level = patterns[i, y, x] * 1e5 * rng.uniform(0.8, 1.2)
                    if level < 100:
                        continue
                    real = mz[i] > 0
                    peak_mz.append(mz[i][real] * (1 + rng.normal(0, 0.5e-6, real.sum())))
                    peak_int.append(level * ints[i][real] / 100 * rng.uniform(0.9, 1.1, real.sum()))
                all_mz, all_int = np.concatenate(peak_mz), np.concatenate(peak_int)
                order = np.argsort(all_mz)
                writer.addSpectrum(all_mz[order], all_int[order], (x + 1, y + 1, 1))
    return path
