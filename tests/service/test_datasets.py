"""Submitting datasets, the datasets list, failures shown to the owner, re-runs, edits and deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.service.conftest import example_files, submit_example, upload_files, upload_moldb


def _submit(client, **fields):
    return client.post(
        "/api/v1/datasets", json={"upload_id": upload_files(client, example_files()), "name": "x", **fields}
    )


def test_submission_defaults_follow_the_metadata(service):
    alice = service.signup("alice")
    dataset = submit_example(
        alice,
        metadata={
            "polarity": "negative",
            "analyzer": "Orbitrap",
            "resolving_power": 140000,
            "resolving_power_mz": 200,
        },
    )
    iso = dataset["config"]["isotope_generation"]
    assert (iso["charge"], iso["adducts"], iso["instrument"]) == (-1, ["-H", "+Cl"], "Orbitrap")
    assert iso["isocalc_sigma"] == 0.001238  # 140000 at m/z 200 falls in METASPACE's (120k, 195k] bucket
    assert dataset["databases"] == ["core_metabolome_v3"]
    assert (dataset["status"], dataset["job"]["status"], dataset["can_edit"]) == ("queued", "queued", True)


def test_invalid_settings_are_rejected_before_queueing(service):
    alice = service.signup("alice")
    bad_adduct = _submit(alice, settings={"adducts": ["+H", "+Xy"]})
    assert bad_adduct.status_code == 422 and "Xy" in bad_adduct.json()["detail"]
    bad_ppm = _submit(alice, settings={"ppm": -1})
    assert bad_ppm.status_code == 422 and "ppm" in bad_ppm.json()["detail"]
    unknown_db = _submit(alice, settings={"databases": ["no_such_db"]})
    assert unknown_db.status_code == 422 and "no_such_db" in unknown_db.json()["detail"]
    bob_db = upload_moldb(service.signup("bob"))
    others_db = _submit(alice, settings={"databases": [bob_db["id"]]})
    assert others_db.status_code == 422
    group = _submit(alice, visibility="group")
    assert group.status_code == 422 and "group_id" in group.json()["detail"]
    assert alice.get("/api/v1/datasets").json()["total"] == 0


def test_uncommitted_or_foreign_upload_is_refused(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    files = example_files()
    spec = [{"name": n, "size": len(d), "sha256": "0" * 64} for n, d in files.items()]
    upload_id = alice.post("/api/v1/uploads", json={"files": spec}).json()["id"]
    uncommitted = alice.post("/api/v1/datasets", json={"upload_id": upload_id, "name": "x"})
    assert uncommitted.status_code == 409 and "commit" in uncommitted.json()["detail"]
    committed = upload_files(alice, files)
    assert bob.post("/api/v1/datasets", json={"upload_id": committed, "name": "x"}).status_code == 404


def test_list_filters_and_pagination(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    mouse = submit_example(
        alice, name="mouse brain", metadata={"organism": "Mus musculus", "polarity": "negative"}
    )
    human = submit_example(
        alice, name="human colon", metadata={"organism": "Homo sapiens"}, visibility="public"
    )
    bobs = submit_example(bob, name="bob's", metadata={"organism": "Homo sapiens"}, visibility="public")

    def names(client, **params):
        return [d["name"] for d in client.get("/api/v1/datasets", params=params).json()["items"]]

    assert names(alice) == ["bob's", "human colon", "mouse brain"]  # newest first
    assert names(bob) == ["bob's", "human colon"]
    assert names(alice, polarity="negative") == ["mouse brain"]
    assert names(alice, organism="homo") == ["bob's", "human colon"]
    assert names(alice, submitter=bob.user["id"]) == ["bob's"]
    assert names(alice, q="COLON") == ["human colon"]
    assert names(alice, status="queued") == ["bob's", "human colon", "mouse brain"]
    assert names(alice, status="finished") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert names(alice, created_after=future) == [] and len(names(alice, created_before=future)) == 3
    page = alice.get("/api/v1/datasets", params={"limit": 2, "offset": 2}).json()
    assert (page["total"], [d["id"] for d in page["items"]]) == (3, [mouse["id"]])
    assert alice.get("/api/v1/datasets", params={"limit": 0}).status_code == 422
    assert {human["id"], bobs["id"]} <= {
        d["id"] for d in service.client().get("/api/v1/datasets").json()["items"]
    }


def test_failed_job_shows_its_error_to_the_owner_and_can_rerun(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    moldb = upload_moldb(alice, name="doomed")
    dataset = submit_example(alice, settings={"databases": [moldb["id"]]}, visibility="public")
    assert alice.delete(f"/api/v1/moldbs/{moldb['id']}").status_code == 200
    assert service.worker().run_once()

    mine = alice.get(f"/api/v1/datasets/{dataset['id']}").json()
    assert mine["status"] == "failed" and mine["job"]["status"] == "failed"
    assert "'doomed' has been deleted" in mine["job"]["error"]
    theirs = bob.get(f"/api/v1/datasets/{dataset['id']}").json()
    assert theirs["status"] == "failed" and theirs["job"]["error"] is None

    assert bob.post(f"/api/v1/datasets/{dataset['id']}/rerun").status_code == 403
    rerun = alice.post(f"/api/v1/datasets/{dataset['id']}/rerun")
    assert rerun.status_code == 202
    assert (rerun.json()["status"], rerun.json()["job"]["status"], rerun.json()["job"]["error"]) == (
        "queued",
        "queued",
        None,
    )
    again = alice.post(f"/api/v1/datasets/{dataset['id']}/rerun")
    assert again.status_code == 409 and "still queued" in again.json()["detail"]


def test_edit_and_delete_only_by_the_owner(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    dataset = submit_example(alice, visibility="public")
    url = f"/api/v1/datasets/{dataset['id']}"
    assert bob.patch(url, json={"name": "mine now"}).status_code == 403
    assert bob.delete(url).status_code == 403
    assert service.client().delete(url).status_code == 401
    renamed = alice.patch(url, json={"name": "renamed", "visibility": "private"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed"
    assert bob.get(url).status_code == 404
    assert alice.delete(url).status_code == 200
    assert alice.get(url).status_code == 404
    assert not service.app.state.storage.local_path(f"datasets/{dataset['id']}").exists()
