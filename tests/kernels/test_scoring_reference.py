"""score_ions on the real untreated_tiny dataset against METASPACE's own output (tests/data/reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyimzml.ImzMLParser import ImzMLParser

from ionscape.kernels.images import dense_image
from ionscape.kernels.scoring import ImageGeometry, score_ions

REFERENCE = Path(__file__).parents[1] / "data" / "reference"
DATASET = Path(__file__).parents[2] / "src/ionscape/data/example/untreated_tiny/Untreated_3_434_tiny.imzML"


def _read_dataset() -> tuple[np.ndarray, np.ndarray, np.ndarray, ImageGeometry]:
    """(m/z, intensity, pixel) sorted by m/z, and the grid: ALGORITHM.md §1.1 and §5.1."""
    with pytest.warns(UserWarning):  # pyimzml complains about an ontology term name
        parser = ImzMLParser(str(DATASET))
    xy = np.array([c[:2] for c in parser.coordinates])
    xy -= xy.min(axis=0)
    width, height = xy.max(axis=0) + 1
    pixel_of_spectrum = xy[:, 1] * width + xy[:, 0]
    mzs, ints, pixels = [], [], []
    for i in range(len(parser.coordinates)):
        mz, intensity = parser.getspectrum(i)
        intensity = np.asarray(intensity).astype(np.float32)
        keep = intensity > 0
        mzs.append(np.asarray(mz)[keep])
        ints.append(intensity[keep])
        pixels.append(np.full(keep.sum(), pixel_of_spectrum[i]))
    mz, intensity, pixel = np.concatenate(mzs), np.concatenate(ints), np.concatenate(pixels)
    order = np.argsort(mz, kind="stable")
    geometry = ImageGeometry(int(width), int(height), np.unique(pixel_of_spectrum))
    return mz[order], intensity[order], pixel[order], geometry


def _split(column: pd.Series, dtype: type) -> np.ndarray:
    return np.array([value.split(";") for value in column], dtype=dtype)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "untreated_tiny__mol_db5.csv")


@pytest.fixture(scope="module")
def scored(reference: pd.DataFrame):
    mz, intensity, pixel, geometry = _read_dataset()
    centroid_mz = _split(reference["engine_theo_mzs"], np.float64)
    # the principal peak's float64 m/z is given in full: its float32 copy is the imaged one
    assert np.array_equal(reference["theo_mz"].to_numpy(np.float32), centroid_mz[:, 0].astype(np.float32))
    centroid_mz[:, 0] = reference["theo_mz"]
    centroid_int = _split(reference["engine_theo_ints"], np.float32)
    n = len(reference)
    scores = score_ions(
        mz,
        intensity,
        pixel,
        centroid_mz,
        centroid_int,
        np.ones(n, bool),
        np.zeros(n, bool),
        geometry,
        ppm=3.0,
    )
    return scores, (intensity, pixel, geometry)


def test_all_38_annotations_have_metrics_matching_metaspace(reference, scored):
    scores, _ = scored
    assert len(reference) == 38 and scores.kept.all()
    np.testing.assert_array_equal(scores.chaos, reference["chaos"])  # integer counts: exact
    for metric in ("spatial", "spectral", "msm"):
        np.testing.assert_allclose(getattr(scores, metric), reference[metric], rtol=0, atol=1e-6)


def test_per_peak_statistics_match_metaspace(reference, scored):
    scores, _ = scored
    for column in ("total_iso_ints", "max_iso_ints", "mz_mean"):
        np.testing.assert_allclose(getattr(scores, column), _split(reference[column], np.float64), rtol=1e-5)
    # with an image: the weighted mean (printed with 6 decimals); without: the theoretical m/z,
    # which the reference has in float64 and the test feeds in float32 except for the principal peak
    reference_mz_mean = _split(reference["mz_mean"], np.float64)
    with_image = scores.hi > scores.lo
    np.testing.assert_allclose(scores.mz_mean[with_image], reference_mz_mean[with_image], rtol=0, atol=6e-7)
    float32_half_ulp = np.spacing(reference_mz_mean[~with_image].astype(np.float32)) / 2
    assert np.all(
        np.abs(scores.mz_mean[~with_image] - reference_mz_mean[~with_image]) <= float32_half_ulp + 6e-7
    )
    np.testing.assert_allclose(
        scores.mz_stddev, _split(reference["mz_stddev"], np.float64), rtol=0, atol=6e-7
    )
    assert not scores.min_iso_ints.any() and not _split(reference["min_iso_ints"], np.float64).any()
    # mz_mean of the principal peak minus its exact float64 m/z
    np.testing.assert_allclose(scores.mz_err_abs, reference["mz_err_abs"], rtol=0, atol=1e-12)


def test_ion_images_equal_metaspaces(reference, scored):
    scores, (intensity, pixel, geometry) = scored
    images = np.load(REFERENCE / "untreated_tiny__mol_db5__ion_images.npz")
    mask = np.zeros(geometry.width * geometry.height, dtype=bool)
    mask[geometry.sampled_pixels] = True
    np.testing.assert_array_equal(mask.reshape(geometry.height, geometry.width), images["mask"])
    for i, ion in enumerate(reference["ion"]):
        for k in range(scores.lo.shape[1]):
            rows = slice(scores.lo[i, k], scores.hi[i, k])
            image = dense_image(pixel[rows], intensity[rows], geometry.width, geometry.height)
            np.testing.assert_array_equal(image, images[ion][k], err_msg=f"{ion} peak {k}")
