"""Chunked uploads that survive dropped connections, and resume across processes by upload id."""

from __future__ import annotations

import shutil

import httpx
import pytest

import ionscape
from ionscape.client import UploadInterrupted, UploadPolicy, ValidationError
from tests.client.conftest import AppTransport

EXAMPLE = ionscape.example_dataset()
TOTAL_BYTES = EXAMPLE.stat().st_size + EXAMPLE.with_suffix(".ibd").stat().st_size  # 23276 + 98404
CHUNK = 40_000


class FlakyTransport(AppTransport):
    """Drops the connection on the PUTs numbered in ``fail``; with ``partial`` the app first got half
    of that chunk (as when a connection breaks mid-body). Counts the chunk bytes the app received.
    """

    def __init__(self, app, fail=(), partial: bool = False) -> None:
        super().__init__(app)
        self.fail, self.partial = set(fail), partial
        self.puts = 0
        self.bytes_received = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "PUT":
            return super().handle_request(request)
        self.puts += 1
        body = request.read()
        if self.puts in self.fail:
            if self.partial:
                half = body[: len(body) // 2]
                headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
                stored = self.app_client.put(str(request.url), headers=headers, content=half)
                assert stored.status_code == 200, stored.text
                self.bytes_received += len(half)
            raise httpx.ReadError("connection reset by peer", request=request)
        self.bytes_received += len(body)
        return super().handle_request(request)


def test_dropped_chunks_resume_from_what_the_service_received(connect, app_service):
    flaky = FlakyTransport(app_service.app, fail={2, 4}, partial=True)
    client = connect("alice", transport=flaky)
    dataset = client.submit_dataset(EXAMPLE, progress=False)
    assert dataset.status == "queued"  # the commit checked both SHA-256 sums
    assert flaky.bytes_received == TOTAL_BYTES  # nothing was sent twice
    # imzML [0, 23276); ibd: [0, 40000) breaks after 20000, [20000, 60000), [60000, 98404) breaks after
    # 19202, [79202, 98404)
    assert flaky.puts == 5


def test_an_interrupted_upload_resumes_with_its_id(connect, app_service):
    broken = FlakyTransport(app_service.app, fail=range(3, 100))
    policy = UploadPolicy(chunk_bytes=CHUNK, retries=2, retry_seconds=0)
    first = connect("alice", transport=broken, upload=policy)
    with pytest.raises(UploadInterrupted, match="resume with upload_id") as caught:
        first.submit_dataset(EXAMPLE, progress=False)
    upload_id = caught.value.upload_id
    received = {f["name"]: f["received"] for f in first.api.get(f"/uploads/{upload_id}")["files"]}
    assert received == {EXAMPLE.name: 23276, EXAMPLE.with_suffix(".ibd").name: CHUNK}

    # a new process, the same user: only the missing bytes travel
    counting = FlakyTransport(app_service.app)
    second = connect(api_key=first.api.http.headers["X-API-Key"], transport=counting)
    dataset = second.submit_dataset(EXAMPLE, upload_id=upload_id, progress=False)
    assert counting.bytes_received == TOTAL_BYTES - 23276 - CHUNK
    assert [d.id for d in second.datasets()] == [dataset.id]


def test_resuming_with_other_files_is_refused(connect, tmp_path):
    client = connect("alice", upload=UploadPolicy(chunk_bytes=CHUNK, retries=0, retry_seconds=0))
    other = [
        {"name": "other.imzML", "size": 10, "sha256": "0" * 64},
        {"name": "other.ibd", "size": 5, "sha256": "1" * 64},
    ]
    upload = client.api.post("/uploads", json={"files": other})
    with pytest.raises(ValidationError, match=r"declared for other files: other\.ibd, other\.imzML"):
        client.submit_dataset(EXAMPLE, upload_id=upload["id"], progress=False)


def test_ibd_given_explicitly_and_progress_bar(connect, tmp_path, capsys):
    imzml = tmp_path / "renamed.imzML"
    ibd = tmp_path / "elsewhere" / "renamed.ibd"
    ibd.parent.mkdir()
    shutil.copy(EXAMPLE, imzml)
    shutil.copy(EXAMPLE.with_suffix(".ibd"), ibd)
    dataset = connect().submit_dataset(imzml, ibd, progress=True)
    assert dataset.name == "renamed"
    assert "uploading" in capsys.readouterr().out
