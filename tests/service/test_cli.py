"""``ionscape serve`` as a real server process and ``ionscape worker --once`` against its database."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from ionscape.service.cli import add_service_commands
from tests.service.conftest import MOL_DB5, PASSWORD, example_files, sha256

RUN_CLI = (
    "import argparse, sys; from ionscape.service.cli import add_service_commands; "
    "p = argparse.ArgumentParser(); add_service_commands(p.add_subparsers()); "
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.run(a))"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = {**os.environ, "IONSCAPE_DATA_DIR": str(tmp_path / "data")}
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.get("/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"ionscape serve did not start:\n{log.read_text()}")
        time.sleep(0.2)
    yield client, env
    process.terminate()
    process.wait(timeout=30)
    client.close()


def test_serve_and_a_separate_worker(server, monkeypatch):
    client, env = server
    signup = client.post(
        "/auth/signup", json={"email": "cli@example.org", "name": "cli", "password": PASSWORD}
    )
    key = client.post(
        "/auth/api-keys", json={"name": "k"}, headers={"X-CSRF-Token": signup.json()["csrf_token"]}
    ).json()["key"]
    api = httpx.Client(base_url=client.base_url, headers={"X-API-Key": key}, timeout=30)
    moldb = api.post(
        "/moldbs", data={"name": "gone"}, files={"file": ("db.csv", MOL_DB5.read_bytes())}
    ).json()
    files = example_files()
    upload = api.post(
        "/uploads",
        json={"files": [{"name": n, "size": len(d), "sha256": sha256(d)} for n, d in files.items()]},
    ).json()
    for name, data in files.items():
        assert (
            api.put(f"/uploads/{upload['id']}/files/{name}", params={"offset": 0}, content=data).status_code
            == 200
        )
    assert api.post(f"/uploads/{upload['id']}/commit").status_code == 200
    dataset = api.post(
        "/datasets", json={"upload_id": upload["id"], "name": "cli", "settings": {"databases": [moldb["id"]]}}
    ).json()
    api.delete(f"/moldbs/{moldb['id']}")  # the job will fail fast, without running the engine

    monkeypatch.setenv("IONSCAPE_DATA_DIR", env["IONSCAPE_DATA_DIR"])
    parser = argparse.ArgumentParser()
    add_service_commands(parser.add_subparsers())
    args = parser.parse_args(["worker", "--once"])
    assert args.run(args) == 0
    job = api.get(f"/datasets/{dataset['id']}").json()["job"]
    assert job["status"] == "failed" and "'gone' has been deleted" in job["error"]
    api.close()
