"""Results.load (reading an export folder back), Results.select, Results.to_anndata and `ionscape export`,
on a hand-made 3 x 2 result whose pixel (x=0, y=1) has no spectrum.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from ionscape.config import AnnotationConfig
from ionscape.errors import ConfigError
from ionscape.export_cli import add_export_command
from ionscape.results import ANNOTATION_COLUMNS, IonImages, Results, ResultsFolderError

F32 = np.float32


def _row(database: str, formula: str, adduct: str, formula_i: int, msm: float, fdr: float) -> dict:
    peaks = np.array([100.0, 50.0])
    return {
        "moldb_id": database,
        "formula": formula,
        "adduct": adduct,
        "chem_mod": "",
        "neutral_loss": "",
        "ion": formula + adduct,
        "ion_formula": formula + adduct[1:],
        "mz": 200.5 + formula_i,
        "msm": msm,
        "fdr": fdr,
        "chaos": 0.9,
        "spatial": msm / 0.9 / 0.8,
        "spectral": 0.8,
        "theo_mz": 200.5 + formula_i,
        "theo_mzs": np.array([200.5 + formula_i, 201.5 + formula_i]),
        "theo_ints": peaks,
        "total_iso_ints": peaks * 3,
        "min_iso_ints": np.zeros(2),
        "max_iso_ints": peaks,
        "mz_mean": np.array([200.5 + formula_i, 201.5 + formula_i]),
        "mz_stddev": np.zeros(2),
        "mz_err_abs": 1e-4,
        "mz_err_rel": np.nan,
        "molecule_ids": f"ID{formula_i}; ID{formula_i}b",
        "molecule_names": f"{formula} one; {formula} two",
        "formula_i": formula_i,
        "modifier": adduct,
        "target": True,
    }


@pytest.fixture
def results() -> Results:
    images = IonImages(width=3, height=2, sampled_pixels=np.array([0, 1, 2, 4, 5]))
    images.sparse[7] = [
        (np.array([0, 4, 4]), np.array([1.0, 2.0, 0.5], dtype=F32)),  # pixel 4 twice: 2.5
        (np.array([1]), np.array([3.0], dtype=F32)),
    ]
    images.sparse[9] = [
        (np.array([2, 5]), np.array([4.0, 6.0], dtype=F32)),
        (np.array([], dtype=np.int64), np.array([], dtype=F32)),
    ]
    table = pd.DataFrame(
        [
            _row("a", "C6H12O6", "+Na", 7, 0.9, 0.05),
            _row("a", "C5H5N5", "+H", 9, 0.4, 0.5),
            _row("b", "C6H12O6", "+Na", 7, 0.9, np.nan),  # a targeted database: no FDR
        ],
        columns=ANNOTATION_COLUMNS,
    )
    return Results(table, images, AnnotationConfig.for_polarity("+"), ["a", "b"], run={"wall_seconds": 1.5})


# X by hand: obs = sampled pixels 0, 1, 2, 4, 5 (row-major), var = the three rows above
EXPECTED_X = [[1.0, 0, 1.0], [0, 0, 0], [0, 4.0, 0], [2.5, 0, 2.5], [0, 6.0, 0]]
EXPECTED_VAR_NAMES = ["C6H12O6+Na|a", "C5H5N5+H", "C6H12O6+Na|b"]


def test_load_reads_back_what_export_wrote(results, tmp_path):
    loaded = Results.load(results.export(tmp_path / "out", png=False))
    assert loaded.config == results.config and loaded.databases == ["a", "b"]
    assert loaded.run["wall_seconds"] == 1.5 and loaded.run["config"] == results.config.to_ds_config()
    assert np.array_equal(loaded.images.mask, [[True, True, True], [False, True, True]])
    for row in results.annotations.itertuples():
        assert np.array_equal(loaded.ion_images(row.formula, row.adduct), results.images.dense(row.formula_i))
    mine, theirs = loaded.annotations, results.annotations
    assert list(mine.columns) == ANNOTATION_COLUMNS
    for name in ("moldb_id", "formula", "adduct", "chem_mod", "ion", "molecule_names", "formula_i", "target"):
        assert mine[name].tolist() == theirs[name].tolist()
    for name in ("mz", "msm", "fdr", "spatial", "mz_err_abs", "mz_err_rel"):
        assert np.allclose(mine[name], theirs[name], equal_nan=True)
    for name in ("theo_mzs", "total_iso_ints", "max_iso_ints"):
        assert all(np.allclose(a, b) for a, b in zip(mine[name], theirs[name], strict=True))
    assert loaded.counts_by_fdr().equals(results.counts_by_fdr())


def test_load_names_missing_files(tmp_path):
    (tmp_path / "annotations.csv").write_text("formula\n")
    with pytest.raises(ResultsFolderError, match=r"no run\.json, ion_images\.npz"):
        Results.load(tmp_path)


def test_select(results):
    assert results.select(fdr=0.1).annotations["moldb_id"].tolist() == ["a", "b"]  # b has no FDR: kept
    only_b = results.select(database="b")
    assert only_b.databases == ["b"] and only_b.annotations["ion"].tolist() == ["C6H12O6+Na"]
    assert len(results.select(database="a", fdr=0.1).annotations) == 1


def test_to_anndata_by_hand(results, tmp_path):
    import anndata

    adata = results.to_anndata()
    assert adata.obs_names.tolist() == ["0", "1", "2", "4", "5"]
    assert adata.obs["x"].tolist() == [0, 1, 2, 1, 2] and adata.obs["y"].tolist() == [0, 0, 0, 1, 1]
    assert adata.obsm["spatial"].tolist() == [[0, 0], [1, 0], [2, 0], [1, 1], [2, 1]]
    assert adata.var_names.tolist() == EXPECTED_VAR_NAMES
    assert adata.var["msm"].tolist() == [0.9, 0.4, 0.9]
    assert adata.var["database"].tolist() == ["a", "a", "b"]
    assert adata.X.format == "csr" and adata.X.dtype == np.float32
    assert adata.X.toarray().tolist() == EXPECTED_X
    assert adata.uns["ionscape"]["image_shape"] == [2, 3]

    adata.write_h5ad(tmp_path / "a.h5ad")
    back = anndata.read_h5ad(tmp_path / "a.h5ad")
    assert back.X.toarray().tolist() == EXPECTED_X
    assert back.var["formula"].tolist() == ["C6H12O6", "C5H5N5", "C6H12O6"]

    chosen = results.to_anndata(database="a", fdr=0.1)
    assert chosen.var_names.tolist() == ["C6H12O6+Na"]
    assert chosen.X.toarray().ravel().tolist() == [1, 0, 0, 2.5, 0]


def _export(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_export_command(parser.add_subparsers())
    args = parser.parse_args(["export", *argv])
    return args.run(args)


def test_export_command(results, tmp_path):
    import anndata

    folder = results.export(tmp_path / "res", png=False)
    assert _export(str(folder), "--format", "anndata") == 0
    assert anndata.read_h5ad(folder / "annotations.h5ad").X.toarray().tolist() == EXPECTED_X

    assert _export(str(folder), "--format", "csv", "--fdr", "0.1", "--out", str(tmp_path / "i.csv")) == 0
    table = pd.read_csv(tmp_path / "i.csv")
    assert table.columns.tolist() == ["x", "y", "C6H12O6+Na|a", "C6H12O6+Na|b"]
    expected = [[0, 0, 1, 1], [1, 0, 0, 0], [2, 0, 0, 0], [1, 1, 2.5, 2.5], [2, 1, 0, 0]]
    assert table.to_numpy().tolist() == expected

    assert _export(str(folder), "--format", "png", "--database", "a") == 0
    pngs = sorted(p.name for p in (folder / "png" / "images").iterdir())
    assert pngs == ["C5H5N5+H_1.png", "C5H5N5+H_2.png", "C6H12O6+Na_1.png", "C6H12O6+Na_2.png"]
    assert len(pd.read_csv(folder / "annotations.csv")) == 3  # the source folder is left as it was
    with pytest.raises(ConfigError, match="must not be RESULTS_DIR"):
        _export(str(folder), "--format", "png", "--out", str(folder))
