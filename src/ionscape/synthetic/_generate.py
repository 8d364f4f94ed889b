"""Generate a synthetic dataset: choose the ions, lay out the scene, stream the spectra row by row."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ionscape.config import instrument_from_analyzer
from ionscape.errors import ConfigError
from ionscape.synthetic._imzml import ImzMLStreamWriter
from ionscape.synthetic._isotopes import engine_envelopes, engine_sigma, isospec_envelopes
from ionscape.synthetic._patterns import spatial_model
from ionscape.synthetic._scene import Scene, scene
from ionscape.synthetic._sources import choose_planted, database_ions, matrix_ions, planted_isobars
from ionscape.synthetic._spec import PlantedIon, SynthSpec
from ionscape.synthetic._spectra import PeakTable, continuous_row, processed_row
from ionscape.synthetic._truth import (
    GroundTruth,
    envelope_text,
    open_images,
    tidy_truth_table,
    truth_paths,
    write_truth,
)

_SETUP_STREAM, _ROW_STREAM = 0, 1


def synthesize(
    imzml_path: str | Path,
    spec: SynthSpec,
    *,
    progress: Callable[[int, int], None] | None = None,
    truth_images: bool = True,
) -> GroundTruth:
    """Write the dataset ``spec`` describes to ``imzml_path`` (+ ``.ibd``) and its ground truth.

    The spectra are generated and written one image row at a time, so memory stays at about one
    row of spectra whatever the dataset size. Every row draws from its own random stream (seeded
    by ``spec.seed`` and the row), and the set-up from another, so the same spec gives the same
    bytes. ``progress(done, total)`` is called after each row with counts of spectra.
    ``truth_images``: also write the planted ions' noiseless images (``X.truth.npy``).

    Returns the :class:`GroundTruth` (also written as ``X.truth.csv`` / ``.json`` / ``.npy``).
    """
    imzml_path = Path(imzml_path)
    if imzml_path.suffix.lower() != ".imzml":
        raise ConfigError(f"the output file must end in .imzML, got {imzml_path.name}")
    started = time.perf_counter()
    setup = np.random.default_rng([spec.seed, _SETUP_STREAM])
    sigma = engine_sigma(spec.resolving_power, spec.at_mz, spec.analyzer, spec.isocalc_sigma)
    db_ions = database_ions(spec, sigma)
    matrix = matrix_ions(spec, sigma)
    planted = choose_planted(spec, db_ions, matrix, sigma, setup)
    env_mz, env_rel = _envelopes(spec, sigma, [*planted["ion_formula"], *matrix["ion_formula"]])
    spatial = spatial_model(len(planted), spec.width, spec.height, spec.patterns, spec.tissue, setup)
    layout = scene(
        spatial,
        len(matrix),
        spec.abundance_range,
        spec.detection_limit,
        spec.peaks_per_spectrum,
        spec.mz_range,
        setup,
    )
    table = _peak_table(spec, env_mz, env_rel, layout)
    if spec.continuous:
        table = table.with_axis(setup.uniform(*spec.mz_range, spec.peaks_per_spectrum))

    images_path = truth_paths(imzml_path)["images"]
    images_path.unlink(missing_ok=True)
    images = open_images(imzml_path, len(planted), spec.height, spec.width) if truth_images else None
    try:
        base_hits, writer = _write_spectra(imzml_path, spec, layout, table, images, progress)
    except BaseException:
        images_path.unlink(missing_ok=True)  # the writer has removed the imzML and ibd
        raise
    if images is not None:
        images.flush()

    seconds = time.perf_counter() - started
    isobars = planted_isobars(planted, db_ions, spec.isobar_ppm)
    ions = _truth_table(planted, matrix, layout, isobars, env_mz, env_rel, base_hits)
    summary = {
        "settings": spec.to_dict(),
        "isocalc_sigma": sigma,
        "uuid": str(writer.uuid),
        "ibd_sha1": writer.sha1.hexdigest().upper(),
        "n_spectra": writer.n_written,
        "n_peaks": writer.n_peaks,
        "ibd_bytes": writer.ibd_bytes,
        "seconds": round(seconds, 3),
        "mb_per_s": round(writer.ibd_bytes / 2**20 / seconds, 1),
    }
    write_truth(imzml_path, ions, summary)
    return GroundTruth(imzml_path=imzml_path, ions=ions, summary=summary, images=images)


def write_planted_dataset(
    path: str | Path,
    planted: Sequence[PlantedIon],
    *,
    width: int = 12,
    height: int = 10,
    noise_peaks: int = 300,
    mz_range: tuple[float, float] = (100.0, 1000.0),
    sigma: float = 0.000619,
    seed: int = 0,
) -> Path:
    """A small dataset of exactly the ``planted`` ions (positive mode, isotope sigma ``sigma``).

    About ``noise_peaks`` peaks per spectrum, no matrix, blobs and gradients over the whole
    image. Returns the imzML path.
    """
    spec = SynthSpec(
        width=width,
        height=height,
        peaks_per_spectrum=noise_peaks,
        mz_range=mz_range,
        database=None,
        planted=tuple(planted),
        n_planted=0,
        isocalc_sigma=sigma,
        patterns=("blob", "gradient"),
        tissue=False,
        matrix=None,
        seed=seed,
    )
    return synthesize(path, spec, truth_images=False).imzml_path


def _envelopes(spec: SynthSpec, sigma: float, ion_formulas: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Isotope envelopes of the ions, peaks outside the m/z range removed."""
    if spec.isotopes == "isospec":
        env_mz, env_rel = isospec_envelopes(
            ion_formulas, spec.charge, spec.resolving_power, spec.at_mz, spec.analyzer, spec.envelope_peaks
        )
    else:
        env_mz, env_rel = engine_envelopes(ion_formulas, spec.charge, sigma, spec.envelope_peaks)
    lo, hi = spec.mz_range
    return env_mz, np.where((env_mz >= lo) & (env_mz <= hi), env_rel, 0.0)


def _peak_table(spec: SynthSpec, env_mz: np.ndarray, env_rel: np.ndarray, layout: Scene) -> PeakTable:
    """Peaks of all sources: the envelopes, then one peak per background source."""
    n_background = len(layout.background_mz)
    width = env_mz.shape[1]
    background_mz = np.zeros((n_background, width))
    background_mz[:, 0] = layout.background_mz
    background_rel = np.zeros((n_background, width))
    background_rel[:, 0] = 1.0
    return PeakTable.from_envelopes(
        np.concatenate([env_mz, background_mz]),
        np.concatenate([env_rel, background_rel]),
        mz_range=spec.mz_range,
        peaks_per_spectrum=spec.peaks_per_spectrum,
        detection_limit=spec.detection_limit,
        pixel_noise=spec.pixel_noise,
        isotope_noise=spec.isotope_noise,
        jitter_ppm=0.0 if spec.continuous else spec.mz_jitter_ppm,
    )


def _write_spectra(
    imzml_path: Path,
    spec: SynthSpec,
    layout: Scene,
    table: PeakTable,
    images: np.ndarray | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, ImzMLStreamWriter]:
    """Generate and write every row; returns base-peak hit counts per source and the closed writer."""
    dataset_uuid = _dataset_uuid(spec)
    make_row = continuous_row if spec.continuous else processed_row
    base_hits = np.zeros(table.n_sources, dtype=np.int64)
    x = np.arange(1, spec.width + 1)
    with ImzMLStreamWriter(
        imzml_path,
        n_spectra=spec.n_spectra,
        width=spec.width,
        height=spec.height,
        polarity=spec.polarity,
        continuous=spec.continuous,
        uuid=dataset_uuid,
        analyzer=instrument_from_analyzer(spec.analyzer),
    ) as writer:
        if table.axis is not None:
            writer.write_axis(table.axis)
        for y in range(spec.height):
            rng = np.random.default_rng([spec.seed, _ROW_STREAM, y])
            levels, planted_levels = layout.levels(y, rng)
            row = make_row(table, levels, rng)
            writer.write_spectra(x, np.full(spec.width, y + 1), row.lengths, row.mz, row.ints)
            base_hits += row.base_hits
            if images is not None:
                images[:, y, :] = planted_levels
            if progress is not None:
                progress((y + 1) * spec.width, spec.n_spectra)
    return base_hits, writer


def _dataset_uuid(spec: SynthSpec) -> uuid.UUID:
    """A UUID derived from the settings, so the same spec writes the same files."""
    digest = hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


def _truth_table(
    planted: pd.DataFrame,
    matrix: pd.DataFrame,
    layout: Scene,
    isobars: pd.DataFrame,
    env_mz: np.ndarray,
    env_rel: np.ndarray,
    base_hits: np.ndarray,
) -> pd.DataFrame:
    """Rows of the truth table (see ``_truth``): planted, matrix, background, isobars."""
    n_planted, n_matrix = len(planted), len(matrix)
    theo = pd.DataFrame({"theo_mzs": envelope_text(env_mz, 6), "theo_ints": envelope_text(env_rel * 100, 3)})
    planted_rows = pd.concat([planted, theo.iloc[:n_planted]], axis=1).assign(
        kind="planted",
        name=planted["formula"] + planted["adduct"],
        pattern=list(layout.spatial.kinds),
        abundance=layout.planted_abundance,
        detected_pixels=base_hits[:n_planted],
        image=np.arange(n_planted),
    )
    matrix_rows = pd.concat([matrix, theo.iloc[n_planted:].reset_index(drop=True)], axis=1).assign(
        kind="matrix",
        abundance=layout.matrix_abundance,
        detected_pixels=base_hits[n_planted : n_planted + n_matrix],
    )
    background_rows = pd.DataFrame(
        {
            "kind": "background",
            "mz": layout.background_mz,
            "abundance": layout.background_abundance,
            "presence": layout.background_presence,
        }
    )
    isobar_rows = isobars.assign(near=(planted["formula"] + planted["adduct"]).to_numpy()[isobars["near"]])
    return tidy_truth_table(
        pd.concat([planted_rows, matrix_rows, background_rows, isobar_rows], ignore_index=True)
    )
