"""The benchmark suite's arithmetic: power-law fits, accuracy classes and the scale-out projection."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from suite.accuracy import evaluate
from suite.projection import ExecutorModel, project, work_per_gb
from suite.scaling import exponent, fit_series, top_exponent

from ionscape.synthetic import GroundTruth


def test_exponent_of_exact_power_laws():
    sizes = np.array([10.0, 20.0, 40.0, 80.0])
    assert exponent(sizes, 3 * sizes**1.5) == pytest.approx(1.5)
    assert exponent(sizes, np.full(4, 7.0)) == pytest.approx(0.0, abs=1e-12)
    # fixed cost plus linear work: the overall fit is below 1, the top pair close to 1
    values = 100 + sizes * 10
    assert exponent(sizes, values) < top_exponent(sizes, values) < 1
    assert top_exponent(sizes, values) == pytest.approx(np.log(900 / 500) / np.log(2))
    assert np.isnan(exponent(np.array([5.0, 5.0]), np.array([1.0, 2.0])))


def _record(pixels: int, wall: float) -> dict:
    stages = {"dataset": wall / 2, "annotate": wall / 4, "centroids": 0.1}
    return {"n_spectra": pixels, "wall_s": wall, "stages": stages, "tree_peak_rss_mb": 100.0, "workload": {}}


def test_fit_series_over_pixels():
    records = [_record(n, 0.01 * n) for n in (100, 400, 1600)]
    fits = fit_series(records, "pixels")
    assert fits["end to end"] == pytest.approx((1.0, 1.0))
    assert fits["dataset stage"] == pytest.approx((1.0, 1.0))
    assert fits["peak RSS"] == pytest.approx((0.0, 0.0), abs=1e-12)
    assert np.isnan(fits["CPU of the process tree"][0])


def test_accuracy_classes_recall_and_fdp():
    ions = pd.DataFrame(
        {
            "kind": ["planted", "planted", "isobar", "matrix"],
            "formula": ["C6H12O6", "C5H5N5", "C7H16O5", "C7H6O4"],
            "adduct": ["+Na", "+H", "+Na", "+H"],
            "ion_formula": ["C6H12NaO6", "C5H6N5", "C7H16NaO5", "C7H7O4"],
            "detected_pixels": [100, 50, 0, 2500],
        }
    )
    truth = GroundTruth(Path("x.imzML"), ions, {}, None)
    annotations = pd.DataFrame(
        {
            "formula": ["C6H12O6", "C6H12O6x", "C7H16O5", "C7H6O4", "C9H9"],
            "adduct": ["+Na", "+Na", "+Na", "+H", "+K"],
            "ion_formula": ["C6H12NaO6", "C6H12NaO6", "C7H16NaO5", "C7H7O4", "C9H9K"],
            "chem_mod": [""] * 5,
            "neutral_loss": [""] * 5,
            "fdr": [0.05, 0.05, 0.1, 0.1, 0.2],
        }
    )
    result = evaluate(annotations, truth, ["C6H12O6", "C5H5N5", "C9H9"], ["+H", "+Na", "+K"])
    assert (result["findable"], result["found"], result["recall"]) == (2, 1, 0.5)
    assert result["missed_detected_pixels"] == [50]
    at_5 = result["levels"]["0.05"]
    assert (at_5["planted"], at_5["same_ion"], at_5["fdp"]) == (1, 1, 0.0)
    at_10 = result["levels"]["0.10"]  # planted, same ion, isobar, matrix: one false of four
    assert (at_10["reported"], at_10["isobar"], at_10["matrix"], at_10["fdp"]) == (4, 1, 1, 0.25)
    assert result["levels"]["0.20"]["other"] == 1 and result["levels"]["0.20"]["fdp"] == 0.4


def test_projection_by_hand():
    # 10 CPU s/GB of dataset work, 20 of annotate work; 21 GB moved 4 + 1 times at 100 MB/s
    model = ExecutorModel("test", startup_s=5.0, map_overhead_s=2.0, storage_mb_per_s=100.0)
    (row,) = project({"dataset": 10.0, "annotate": 20.0}, model, size_gb=21.0, executors=[42])
    assert row["cpu_s"] == pytest.approx(30 * 21 / 42)
    assert row["storage_s"] == pytest.approx(5 * 21 * 1024 / (42 * 100))
    assert row["total_s"] == pytest.approx(5 + 3 * 2 + 15 + 5 * 21 * 1024 / 4200)
    assert row["mb_per_s_per_executor"] == pytest.approx(21 * 1024 / row["total_s"] / 42)


def test_work_per_gb_doubles_a_one_task_dataset_stage():
    one_task = {
        "workload": {"workers": 1},
        "ibd_mb": 512.0,
        "stages": {"dataset": 4.0, "annotate": 3.0},
        "tasks": {"dataset": 1, "annotate": 2},
    }
    two_workers = {**one_task, "workload": {"workers": 2}, "ibd_mb": 4096.0}
    assert work_per_gb([one_task, two_workers], "dataset") == pytest.approx(16.0)
    assert work_per_gb([one_task], "annotate") == pytest.approx(6.0)
    with pytest.raises(ValueError, match="one-worker"):
        work_per_gb([two_workers], "dataset")
