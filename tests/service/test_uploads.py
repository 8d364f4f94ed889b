"""Resumable chunked uploads with checksums, and the rejection of bad uploads."""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from tests.service.conftest import example_files, sha256, upload_files


def _declare(client, files: dict[str, bytes]):
    spec = [{"name": name, "size": len(data), "sha256": sha256(data)} for name, data in files.items()]
    return client.post("/api/v1/uploads", json={"files": spec})


def _put(client, upload_id, name, offset, data):
    return client.put(f"/api/v1/uploads/{upload_id}/files/{name}", params={"offset": offset}, content=data)


def test_resumable_upload_of_the_example(service):
    alice = service.signup("alice")
    files = example_files()
    imzml_name, ibd_name = files
    ibd = files[ibd_name]
    upload = _declare(alice, files).json()
    upload_id = upload["id"]
    assert [f["received"] for f in upload["files"]] == [0, 0]

    assert _put(alice, upload_id, imzml_name, 0, files[imzml_name]).json()["received"] == len(
        files[imzml_name]
    )
    assert _put(alice, upload_id, ibd_name, 0, ibd[:30_000]).status_code == 200
    # the connection dropped; the client asks where to resume
    status = alice.get(f"/api/v1/uploads/{upload_id}").json()
    received = {f["name"]: f["received"] for f in status["files"]}
    assert received == {imzml_name: len(files[imzml_name]), ibd_name: 30_000}

    early = alice.post(f"/api/v1/uploads/{upload_id}/commit")
    assert early.status_code == 409 and "30000 of 98404 bytes" in early.json()["detail"]
    stale = _put(alice, upload_id, ibd_name, 0, ibd[:10])
    assert stale.status_code == 409 and "resume at offset 30000" in stale.json()["detail"]

    for offset in range(30_000, len(ibd), 25_000):
        assert _put(alice, upload_id, ibd_name, offset, ibd[offset : offset + 25_000]).status_code == 200
    committed = alice.post(f"/api/v1/uploads/{upload_id}/commit")
    assert committed.status_code == 200 and committed.json()["committed"]
    assert _put(alice, upload_id, ibd_name, len(ibd), b"x").status_code == 409

    stored = service.app.state.storage
    assert [stored.sha256(f["key"]) for f in _upload_row(service, upload_id).files] == [
        sha256(files[imzml_name]),
        sha256(ibd),
    ]


def _upload_row(service, upload_id):
    from ionscape.service.models import Upload

    with service.sessions()() as session:
        return session.get(Upload, upload_id)


def test_checksum_mismatch_discards_the_file(service):
    alice = service.signup("alice")
    files = example_files()
    imzml_name, ibd_name = files
    upload_id = _declare(alice, files).json()["id"]
    _put(alice, upload_id, imzml_name, 0, files[imzml_name])
    corrupted = bytearray(files[ibd_name])
    corrupted[500] ^= 0xFF
    _put(alice, upload_id, ibd_name, 0, bytes(corrupted))
    commit = alice.post(f"/api/v1/uploads/{upload_id}/commit")
    assert commit.status_code == 422 and "checksum" in commit.json()["detail"]
    assert {f["name"]: f["received"] for f in alice.get(f"/api/v1/uploads/{upload_id}").json()["files"]}[
        ibd_name
    ] == 0


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["../../etc/x.imzML", "x.ibd"], "path separators"),
        (["a\\b.imzML", "a.ibd"], "path separators"),
        ([".hidden.imzML", "x.ibd"], "dot"),
        (["data.imzML", "data.txt"], "one .imzML file and one .ibd"),
        (["data.zip", "data.ibd"], "one .imzML file and one .ibd"),
    ],
)
def test_bad_file_names_are_refused(service, names, message):
    alice = service.signup("alice")
    response = _declare(alice, {name: b"x" for name in names})
    assert response.status_code == 422 and message in response.json()["detail"]


def test_size_limits(service):
    alice = service.signup("alice")
    limit = service.settings.max_upload_bytes
    huge = [
        {"name": "big.imzML", "size": 10, "sha256": "0" * 64},
        {"name": "big.ibd", "size": limit + 1, "sha256": "0" * 64},
    ]
    response = alice.post("/api/v1/uploads", json={"files": huge})
    assert response.status_code == 422 and "upload limit" in response.json()["detail"]

    files = {"a.imzML": b"12345", "a.ibd": b"123"}
    upload_id = _declare(alice, files).json()["id"]
    too_long = _put(alice, upload_id, "a.ibd", 0, b"12345")
    assert too_long.status_code == 413 and "declared 3 bytes" in too_long.json()["detail"]
    assert _put(alice, upload_id, "other.ibd", 0, b"1").status_code == 404


def test_chunk_size_limit(service, new_database, tmp_path, lithops_local):
    from tests.service.conftest import build_service

    small = build_service(
        new_database(service.backend), tmp_path / "d", service.backend, lithops_local, max_chunk_bytes=1000
    )
    alice = small.signup("alice")
    files = example_files()
    upload_id = _declare(alice, files).json()["id"]
    name = next(iter(files))
    response = _put(alice, upload_id, name, 0, files[name][:1001])
    assert response.status_code == 413 and "limited to 1000 bytes" in response.json()["detail"]
    assert _put(alice, upload_id, name, 0, files[name][:1000]).status_code == 200
    small.app.state.engine.dispose()


def test_uploads_are_private(service):
    alice, bob = service.signup("alice"), service.signup("bob")
    upload_id = _declare(alice, {"a.imzML": b"1", "a.ibd": b"2"}).json()["id"]
    assert bob.get(f"/api/v1/uploads/{upload_id}").status_code == 404
    assert _put(bob, upload_id, "a.ibd", 0, b"2").status_code == 404
    assert service.client().get(f"/api/v1/uploads/{upload_id}").status_code == 401
    assert alice.delete(f"/api/v1/uploads/{upload_id}").status_code == 200
    assert alice.get(f"/api/v1/uploads/{upload_id}").status_code == 404


def _submit(client, files):
    upload_id = upload_files(client, files)
    return client.post("/api/v1/datasets", json={"upload_id": upload_id, "name": "bad"})


def test_invalid_imzml_content_is_rejected_before_queueing(service):
    alice = service.signup("alice")
    not_xml = _submit(alice, {"fake.imzML": b"this is not XML at all", "fake.ibd": b"\0" * 64})
    assert not_xml.status_code == 422 and "fake.imzML" in not_xml.json()["detail"]

    files = example_files()
    imzml_name, ibd_name = files
    truncated = _submit(alice, {imzml_name: files[imzml_name], ibd_name: files[ibd_name][:50_000]})
    assert truncated.status_code == 422 and "ibd" in truncated.json()["detail"]

    profile = DATA / "imzml" / "example_continuous" / "Example_Continuous"
    profile_files = {
        p.name: p.read_bytes() for p in (profile.with_suffix(".imzML"), profile.with_suffix(".ibd"))
    }
    refused = _submit(alice, profile_files)
    assert refused.status_code == 422 and "centroid" in refused.json()["detail"]
    assert alice.get("/api/v1/datasets").json()["total"] == 0
