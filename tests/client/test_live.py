"""One full run against a live server (uvicorn on 127.0.0.1 with a worker), over real HTTP:
the bundled example against mol_db5 (uploaded as an untargeted custom database) with the example's
settings, compared with METASPACE's reference output and with the engine run directly.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest

import ionscape
from ionscape.client import Client
from ionscape.results import Results
from tests.client.conftest import new_api_key
from tests.conftest import REFERENCE
from tests.service.conftest import MOL_DB5

REFERENCE_CSV = REFERENCE / "untreated_tiny__mol_db5.csv"


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_CSV, keep_default_na=False)


@pytest.fixture(scope="module")
def engine(lithops_local) -> Results:
    """The same annotation run by the engine in this process."""
    from ionscape.chem.moldb import load_moldb

    moldb = load_moldb(MOL_DB5, name="mol_db5", targeted=False)
    return ionscape.annotate(
        ionscape.example_dataset(), [moldb], ionscape.example_config(), lithops_config=lithops_local
    )


@pytest.fixture(scope="module")
def dataset(live_server):
    with httpx.Client(base_url=live_server.url) as http:
        api_key = new_api_key(http, "alice")
    client = Client(live_server.url, api_key)
    moldb = client.upload_moldb(MOL_DB5, "mol_db5", targeted=False)
    meta = json.loads((ionscape.example_dataset().parent / "meta.json").read_text())
    submitted = client.submit_dataset(
        ionscape.example_dataset(), metadata=meta, config=ionscape.example_config(), databases=[moldb["id"]]
    )
    submitted.wait(timeout=300, poll_seconds=0.2)
    yield submitted
    client.close()


def test_the_job_ran_with_the_examples_settings(dataset):
    assert dataset.status == "finished" and dataset.job["status"] == "done"
    assert dataset.config == ionscape.example_config().to_ds_config()
    assert dataset.databases == ["mol_db5"]
    assert dataset.metadata["organism"] == "Homo_sapiens_(Human)" and dataset.metadata["analyzer"] == "FTICR"


def test_results_have_the_metaspace_client_columns(dataset, reference):
    everything = dataset.results(fdr=None)
    assert len(everything) == 38
    assert everything.index.names == ["formula", "adduct"]
    expected = reference.set_index(["formula", "adduct"])
    assert set(everything.index) == set(expected.index)
    joined = everything.merge(expected, left_index=True, right_index=True, suffixes=("", "_ref"))
    assert np.allclose(joined["msm"], joined["msm_ref"], atol=1e-6)
    assert np.allclose(joined["moc"], joined["chaos"], atol=1e-6)
    assert np.allclose(joined["rhoSpatial"], joined["spatial"], atol=1e-6)
    assert np.allclose(joined["rhoSpectral"], joined["spectral"], atol=1e-6)
    assert np.allclose(joined["mz"], joined["theo_mz"], atol=1e-6)
    assert (joined["fdr"] == joined["fdr_ref"]).all()
    principal_max = [float(v.split(";")[0]) for v in joined["max_iso_ints"]]
    assert np.allclose(joined["intensity"], principal_max, rtol=1e-5)
    assert all(names == [formula] for (formula, _), names in everything["moleculeNames"].items())
    assert len(dataset.results()) == int((reference["fdr"] <= 0.1).sum())
    assert dataset.annotations(fdr=0.1) == list(dataset.results().index)


def test_isotope_images_are_the_engines(dataset, engine):
    images = dataset.isotope_images("C14H8O6", "+H")
    assert len(images) == 4 and images.ion == "C14H8O6+H"
    expected_mzs = engine.annotations.set_index("ion").loc["C14H8O6+H", "theo_mzs"]
    assert np.allclose([images.peak(k) for k in range(4)], expected_mzs, atol=1e-6)
    assert np.array_equal(images.stack, engine.ion_images("C14H8O6", "+H"))
    every = dataset.all_annotation_images(fdr=0.1, only_first_isotope=True)
    assert [len(i) for i in every] == [1] * len(dataset.results())
    for item in every:
        assert np.array_equal(item[0], engine.ion_images(item.formula, item.adduct)[0])


def test_download_to_dir_reads_back_as_the_engines_results(dataset, engine, tmp_path):
    folder = dataset.download_to_dir(tmp_path / "downloaded")
    assert {p.name for p in folder.iterdir()} == {"annotations.csv", "run.json", "ion_images.npz", "images"}
    assert (folder / "images" / "C14H8O6+H_1.png").is_file()
    loaded = Results.load(folder)
    assert loaded.run["source"]["dataset_id"] == dataset.id
    assert loaded.config == engine.config and loaded.databases == ["mol_db5"]
    assert np.array_equal(loaded.images.mask, engine.images.mask)
    ours = loaded.annotations.set_index("ion")
    theirs = engine.annotations.set_index("ion")
    assert set(ours.index) == set(theirs.index)
    assert np.allclose(ours["msm"], theirs.loc[ours.index, "msm"], atol=1e-9)
    for row in engine.annotations.itertuples():
        expected = engine.ion_images(row.formula, row.adduct)
        assert np.array_equal(loaded.ion_images(row.formula, row.adduct), expected)


def test_to_anndata_on_the_example(dataset, engine):
    adata = dataset.to_anndata(fdr=None)
    # the example is 2 pixels wide and 4 high, every pixel sampled: obs in row-major order
    assert adata.shape == (8, 38)
    pixels = [[0, 0], [1, 0], [0, 1], [1, 1], [0, 2], [1, 2], [0, 3], [1, 3]]
    assert adata.obs[["x", "y"]].to_numpy().tolist() == pixels
    assert np.array_equal(adata.obsm["spatial"], adata.obs[["x", "y"]].to_numpy())
    assert adata.X.format == "csr" and adata.X.dtype == np.float32
    top = adata.var.loc["C14H8O6+H"]
    assert (top["database"], top["formula"], top["adduct"], top["fdr"]) == ("mol_db5", "C14H8O6", "+H", 0.05)
    column = adata[:, "C14H8O6+H"].X.toarray().ravel()
    image = engine.ion_images("C14H8O6", "+H")[0]
    assert column.tolist() == [image[y, x] for x, y in adata.obs[["x", "y"]].to_numpy()]
    assert adata.uns["ionscape"]["image_shape"] == [4, 2]
    at_10 = dataset.to_anndata()
    assert at_10.n_vars == len(dataset.results()) and (at_10.var["fdr"] <= 0.1).all()
