"""Client fixtures: the app called in-process through an httpx transport, and a live uvicorn server.

Both run on SQLite copies of one migrated template database; the live server has an annotation
worker thread, the in-process app none (tests run the worker or the queue by hand).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ionscape.client import Client, UploadPolicy
from ionscape.service.app import create_app
from ionscape.service.config import Settings
from tests.service.conftest import PASSWORD, Service, build_service, migrate

TEST_POLICY = UploadPolicy(chunk_bytes=40_000, retries=3, retry_seconds=0.0)


class AppTransport(httpx.BaseTransport):
    """Sends each request to the ASGI app in this process (no sockets), through Starlette's TestClient."""

    def __init__(self, app: Any) -> None:
        self.app_client = TestClient(app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.app_client.request(
            request.method, str(request.url), headers=dict(request.headers), content=request.read()
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def close(self) -> None:
        self.app_client.close()


def new_api_key(http: httpx.Client, name: str) -> str:
    """Sign up a new user through ``http`` and return an API key of theirs."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
    signup = http.post("/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD})
    assert signup.status_code == 201, signup.text
    csrf = {"X-CSRF-Token": signup.json()["csrf_token"]}
    created = http.post("/api/v1/auth/api-keys", json={"name": "scripts"}, headers=csrf)
    assert created.status_code == 201, created.text
    http.post("/api/v1/auth/logout", headers=csrf)
    return created.json()["key"]


@pytest.fixture(scope="session")
def sqlite_template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("client-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, folder / "ionscape.db")
    return f"sqlite:///{folder / 'ionscape.db'}"


@pytest.fixture
def app_service(sqlite_template_db, tmp_path, lithops_local) -> Iterator[Service]:
    """The app (no worker threads) on a fresh SQLite database."""
    url = sqlite_copy(sqlite_template_db, tmp_path / "db")
    svc = build_service(url, tmp_path / "data", "sqlite", lithops_local)
    yield svc
    svc.app.state.engine.dispose()


@pytest.fixture
def connect(app_service) -> Iterator[Any]:
    """``connect(name)``: a Client of a new user of the in-process app (``api_key=`` to override the key)."""
    clients: list[Client] = []

    def make(name: str = "alice", transport: httpx.BaseTransport | None = None, **options: Any) -> Client:
        if "api_key" not in options:
            with TestClient(app_service.app) as http:
                options["api_key"] = new_api_key(http, name)
        client = Client(
            "http://testserver",
            transport=transport or AppTransport(app_service.app),
            upload=options.pop("upload", TEST_POLICY),
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@dataclass
class LiveServer:
    """uvicorn serving the app with one annotation worker on 127.0.0.1:``port``."""

    url: str
    app: Any
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.app.state.engine.dispose()


def start_live_server(settings: Settings, worker_threads: int = 1) -> LiveServer:
    import uvicorn

    app = create_app(settings, worker_threads=worker_threads)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{sock.getsockname()[1]}", app, server, thread)


@pytest.fixture(scope="module")
def live_server(sqlite_template_db, tmp_path_factory, lithops_local) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live")
    settings = Settings.for_data_dir(
        data / "data",
        database_url=sqlite_copy(sqlite_template_db, data / "db"),
        secret_key="test-secret",
        lithops_config=lithops_local,
        annotation_workers=2,
        heartbeat_seconds=0.2,
        poll_seconds=0.05,
    )
    live = start_live_server(settings)
    yield live
    live.stop()
