"""End to end on the bundled example against mol_db5: the same answers METASPACE's engine gave.

tests/data/reference/ holds METASPACE's own output for these inputs (see its README).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ionscape import annotate, example_config, load_moldb
from tests.conftest import DATA, REFERENCE

KEY = ["formula", "adduct", "chem_mod", "neutral_loss"]


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in str(text).split(";")])


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    ref = pd.read_csv(REFERENCE / "untreated_tiny__mol_db5.csv", keep_default_na=False)
    return ref.set_index(KEY).sort_index()


@pytest.fixture(scope="module")
def runs(example_imzml, lithops_local):
    """Two runs: the first fills an empty centroid cache, the second reads it."""
    import lithops

    from ionscape.pipeline.centroids import clear_centroid_cache

    storage = lithops.Storage(config=lithops_local)
    clear_centroid_cache(storage, storage.bucket)
    db = load_moldb(DATA / "moldb" / "mol_db5.csv", targeted=False)
    return [annotate(example_imzml, [db], example_config(), lithops_config=lithops_local) for _ in range(2)]


@pytest.fixture(scope="module")
def ours(runs) -> pd.DataFrame:
    return runs[0].annotations.set_index(KEY).sort_index()


def test_same_annotations_and_fdr_levels(ours, reference):
    assert len(reference) == 38
    assert list(ours.index) == list(reference.index)
    np.testing.assert_array_equal(ours["fdr"].to_numpy(), reference["fdr"].to_numpy())


@pytest.mark.parametrize("metric", ["msm", "chaos", "spatial", "spectral", "mz_err_abs", "mz_err_rel"])
def test_metrics_match_to_1e6(ours, reference, metric):
    np.testing.assert_allclose(
        ours[metric].to_numpy(float), reference[metric].to_numpy(float), rtol=0, atol=1e-6
    )


def test_centroids_match(ours, reference):
    for key, row in reference.iterrows():
        mine = ours.loc[key]
        np.testing.assert_allclose(mine["theo_mzs"], _floats(row["theo_mzs"]), rtol=0, atol=1e-6)
        np.testing.assert_allclose(mine["theo_ints"], _floats(row["theo_ints"]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("column", ["total_iso_ints", "max_iso_ints", "min_iso_ints", "mz_mean"])
def test_per_peak_values_match(ours, reference, column):
    for key, row in reference.iterrows():
        np.testing.assert_allclose(
            np.asarray(ours.loc[key, column], float),
            _floats(row[column]),
            rtol=1e-5,
            atol=1e-6,
            err_msg=f"{column} of {key}",
        )


def test_ion_images_match(runs, reference):
    expected = np.load(REFERENCE / "untreated_tiny__mol_db5__ion_images.npz")
    np.testing.assert_array_equal(runs[0].images.mask, expected["mask"])
    for (formula, adduct, chem_mod, neutral_loss), row in reference.iterrows():
        images = runs[0].ion_images(formula, adduct, chem_mod, neutral_loss)
        np.testing.assert_allclose(images, expected[row["ion"]], rtol=1e-6, err_msg=row["ion"])


def test_exported_csv_passes_reference_checker(runs, tmp_path):
    out = runs[0].export(tmp_path / "results")
    checker = subprocess.run(
        [sys.executable, str(REFERENCE / "check_reference.py"), str(out / "annotations.csv")],
        capture_output=True,
        text=True,
    )
    assert checker.returncode == 0, checker.stdout + checker.stderr
    assert {p.name for p in out.iterdir()} >= {"annotations.csv", "run.json", "images", "ion_images.npz"}
    assert len(list((out / "images").glob("*.png"))) >= 38


def test_second_run_uses_centroid_cache_and_is_identical(runs):
    first, second = runs
    assert first.run["ions"]["centroids_from_cache"] < first.run["ions"]["distinct_ion_formulas"]
    assert second.run["ions"]["centroids_from_cache"] == second.run["ions"]["distinct_ion_formulas"]
    pd.testing.assert_frame_equal(first.annotations, second.annotations)
