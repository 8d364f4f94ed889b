"""Custom molecular databases: upload, line-by-line validation, ownership."""

from __future__ import annotations

from tests.service.conftest import upload_moldb


def _upload(client, name: str, content: bytes, filename: str = "db.csv"):
    return client.post("/api/v1/moldbs", data={"name": name}, files={"file": (filename, content, "text/csv")})


def test_upload_list_delete(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    moldb = upload_moldb(alice, targeted="false")
    assert (moldb["n_molecules"], moldb["n_formulas"], moldb["targeted"], moldb["bundled"]) == (
        388,
        388,
        False,
        False,
    )
    listed = alice.get("/api/v1/moldbs").json()
    assert {"core_metabolome_v3", "lipidmaps_2017-12-12", "mol_db5"} == {db["name"] for db in listed}
    assert "mol_db5" not in {db["name"] for db in bob.get("/api/v1/moldbs").json()}
    assert bob.get(f"/api/v1/moldbs/{moldb['id']}").status_code == 404
    assert bob.delete(f"/api/v1/moldbs/{moldb['id']}").status_code == 404
    duplicate = _upload(alice, "mol_db5", b"id,name,formula\n1,water,H2O\n")
    assert duplicate.status_code == 409
    assert alice.delete(f"/api/v1/moldbs/{moldb['id']}").status_code == 200
    assert alice.get(f"/api/v1/moldbs/{moldb['id']}").status_code == 404


def test_bad_line_is_reported_with_its_number(service):
    alice = service.signup("alice")
    content = b"id,name,formula\n1,water,H2O\n2,glucose,C6H12O6\n3,nonsense,C6H1@2\n"
    response = _upload(alice, "broken", content, filename="my_lipids.csv")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "my_lipids.csv" in detail and "line 4" in detail and "C6H1@2" in detail
    assert str(service.settings.storage_dir) not in detail
    assert [db["name"] for db in alice.get("/api/v1/moldbs").json() if not db["bundled"]] == []


def test_bad_names_and_types(service):
    alice = service.signup("alice")
    assert _upload(alice, "../evil", b"formula\nH2O\n").status_code == 422
    assert _upload(alice, "ok", b"formula\nH2O\n", filename="db.xlsx").status_code == 422
    assert _upload(alice, "empty", b"").status_code == 422
    assert (
        service.client()
        .post("/api/v1/moldbs", data={"name": "x"}, files={"file": ("a.csv", b"formula\nH2O\n")})
        .status_code
        == 401
    )
