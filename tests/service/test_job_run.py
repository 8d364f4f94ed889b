"""One real annotation job per database backend, run by the worker after its first worker died:
the bundled example against mol_db5 (uploaded as a custom database), with the example's settings.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import ionscape
from ionscape.service import queue
from tests.conftest import REFERENCE
from tests.service.conftest import BACKENDS, build_service, submit_example, upload_moldb

STAGES = {"ions", "dataset", "centroids", "annotate", "fdr", "results"}


@pytest.fixture(scope="module", params=BACKENDS)
def run(request, new_database, tmp_path_factory, lithops_local):
    backend = request.param
    svc = build_service(
        new_database(backend), tmp_path_factory.mktemp("data"), backend, lithops_local, lease_seconds=2.0
    )
    alice = svc.signup("alice")
    moldb = upload_moldb(alice, targeted="false")
    meta = json.loads((ionscape.example_dataset().parent / "meta.json").read_text())
    iso = ionscape.example_config().isotope_generation
    dataset = submit_example(
        alice,
        metadata={
            "organism": meta["Sample_Information"]["Organism"],
            "organism_part": meta["Sample_Information"]["Organism_Part"],
            "polarity": "positive",
            "ionisation_source": "MALDI",
            "analyzer": "FTICR",
            "resolving_power": 80000,
            "resolving_power_mz": 700,
            "matrix": meta["Sample_Preparation"]["MALDI_Matrix"],
        },
        settings={
            "databases": [moldb["id"]],
            "adducts": list(iso.adducts),
            "isocalc_sigma": iso.isocalc_sigma,
            "instrument": iso.instrument,
        },
    )
    # a worker claims the job and dies without a trace
    with svc.sessions()() as session:
        dead = queue.claim(session, "dead-worker", lease_seconds=1.0, max_attempts=3)
    assert dead.dataset_id == dataset["id"]
    before = alice.get(f"/api/v1/datasets/{dataset['id']}/annotations")
    time.sleep(1.1)
    assert svc.worker("survivor").run_once()
    yield {"svc": svc, "alice": alice, "dataset": dataset, "before": before, "moldb": moldb}
    svc.app.state.engine.dispose()


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "untreated_tiny__mol_db5.csv", keep_default_na=False)


def _url(run, path: str = "") -> str:
    return f"/api/v1/datasets/{run['dataset']['id']}{path}"


def _all(run, **params) -> list[dict]:
    response = run["alice"].get(_url(run, "/annotations"), params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_settings_are_the_examples(run):
    assert run["dataset"]["config"] == ionscape.example_config().to_ds_config()
    assert run["dataset"]["databases"] == ["mol_db5"]


def test_no_results_while_the_dead_workers_job_was_pending(run):
    assert run["before"].status_code == 409 and "no results yet" in run["before"].json()["detail"]


def test_job_finished_on_second_attempt_with_progress(run):
    dataset = run["alice"].get(_url(run)).json()
    assert dataset["status"] == "finished"
    job = dataset["job"]
    assert (job["status"], job["attempts"], job["error"]) == ("done", 2, None)
    assert set(job["progress"]) == STAGES
    assert all(p["done"] == p["total"] for p in job["progress"].values())


def test_the_38_annotations_of_the_reference(run, reference):
    rows = _all(run)
    assert len(rows) == 38
    assert {(r["formula"], r["adduct"]) for r in rows} == set(
        zip(reference["formula"], reference["adduct"], strict=True)
    )
    dataset = run["alice"].get(_url(run)).json()
    assert dataset["n_annotations"] == int((reference["fdr"] <= 0.1).sum())
    assert dataset["annotation_counts"][0]["database"] == "mol_db5"


def test_filters(run, reference):
    assert len(_all(run, fdr=0.1)) == int((reference["fdr"] <= 0.1).sum())
    assert len(_all(run, fdr=0.05)) == int((reference["fdr"] <= 0.05).sum())
    in_range = _all(run, mz_min=300, mz_max=400)
    assert len(in_range) == int(reference["theo_mz"].between(300, 400).sum()) > 0
    assert {r["adduct"] for r in _all(run, adduct="+K")} == {"+K"}
    assert len(_all(run, adduct="+K")) == int((reference["adduct"] == "+K").sum())
    assert {r["formula"] for r in _all(run, q="c14h8")} == {f for f in reference["formula"] if "C14H8" in f}
    assert len(_all(run, database="mol_db5")) == 38 and _all(run, database="other") == []


@pytest.mark.parametrize("key", ["msm", "mz", "fdr"])
def test_sorting(run, key):
    ascending = [r[key] for r in _all(run, sort=key)]
    descending = [r[key] for r in _all(run, sort=f"-{key}")]
    assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True)


def test_pagination(run):
    full = [r["id"] for r in _all(run, sort="mz")]
    pages = []
    for offset in range(0, 40, 15):
        page = (
            run["alice"]
            .get(_url(run, "/annotations"), params={"sort": "mz", "limit": 15, "offset": offset})
            .json()
        )
        assert page["total"] == 38 and page["limit"] == 15 and page["offset"] == offset
        pages += [r["id"] for r in page["items"]]
    assert pages == full


def test_molecules_and_diagnostics(run, reference):
    top = _all(run)[0]
    assert top["molecules"] and top["molecules"][0]["name"] == top["formula"]  # a formula-only database
    detail = run["alice"].get(_url(run, f"/annotations/{top['id']}")).json()
    assert detail["msm"] == pytest.approx(detail["chaos"] * detail["spatial"] * detail["spectral"], rel=1e-6)
    ref = reference[(reference["formula"] == top["formula"]) & (reference["adduct"] == top["adduct"])].iloc[0]
    theo = [float(v) for v in ref["theo_ints"].split(";")]
    assert [p["theo_int"] for p in detail["peaks"]] == pytest.approx(theo, abs=1e-3)
    assert max(p["observed_int"] for p in detail["peaks"]) == pytest.approx(100.0)
    assert detail["mz_err_abs"] == pytest.approx(float(ref["mz_err_abs"]), abs=1e-6)
    assert run["alice"].get(_url(run, "/annotations/999999")).status_code == 404


def test_ion_images(run, reference):
    top = _all(run)[0]
    png = run["alice"].get(_url(run, f"/annotations/{top['id']}/images/1.png"), params={"scale": "log"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (2, 4)
    raw = run["alice"].get(_url(run, f"/annotations/{top['id']}/images/1.npy"))
    image = np.load(io.BytesIO(raw.content))
    assert image.shape == (4, 2) and image.dtype == np.float32
    detail = run["alice"].get(_url(run, f"/annotations/{top['id']}")).json()
    ref = reference[(reference["formula"] == top["formula"]) & (reference["adduct"] == top["adduct"])].iloc[0]
    total = float(ref["total_iso_ints"].split(";")[0])
    assert image.sum() == pytest.approx(total, rel=1e-5)
    assert detail["peaks"][0]["theo_mz"] == pytest.approx(float(ref["theo_mz"]), abs=1e-6)
    assert run["alice"].get(_url(run, f"/annotations/{top['id']}/images/9.png")).status_code == 404
    bad_cmap = run["alice"].get(_url(run, f"/annotations/{top['id']}/images/1.png"), params={"cmap": "nope"})
    assert bad_cmap.status_code == 422 and "colormap" in bad_cmap.json()["detail"]


def test_sample_mask(run):
    response = run["alice"].get(_url(run, "/mask.npy"))
    assert response.status_code == 200
    mask = np.load(io.BytesIO(response.content))
    assert mask.dtype == bool and mask.shape == (4, 2) and mask.all()  # all 2 x 4 pixels have spectra


def test_csv_download(run):
    response = run["alice"].get(_url(run, "/annotations.csv"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(response.text))
    assert len(table) == 38
    assert {"moldb_id", "formula", "adduct", "msm", "fdr", "theo_mzs", "molecule_names"} <= set(table.columns)


def test_results_are_private_to_the_owner(run):
    svc = run["svc"]
    bob, anonymous = svc.signup("bob"), svc.client()
    top = _all(run)[0]
    paths = [
        "",
        "/annotations",
        "/annotations.csv",
        "/mask.npy",
        f"/annotations/{top['id']}",
        f"/annotations/{top['id']}/images/1.png",
        f"/annotations/{top['id']}/images/1.npy",
    ]
    for client in (bob, anonymous):
        assert [client.get(_url(run, path)).status_code for path in paths] == [404] * len(paths)
