"""Service fixtures: a fresh database per test on SQLite and on PostgreSQL, the app, API users.

PostgreSQL is used for real (``IONSCAPE_TEST_POSTGRES_URL``, default the local server's ``test``
database): each session migrates one template database ``ionscape_test_<random>_tpl`` and every test
gets a copy of it, dropped at the end of the session. If the server does not answer, the tests fail.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from ionscape.service.app import create_app
from ionscape.service.config import Settings
from ionscape.service.db import make_engine, upgrade_schema
from ionscape.service.worker import Worker
from tests.conftest import DATA

POSTGRES_URL = os.environ.get(
    "IONSCAPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")
PASSWORD = "correct horse battery"
MOL_DB5 = DATA / "moldb" / "mol_db5.csv"


class PostgresServer:
    """Creates databases on the test server and drops them all at the end of the session."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = make_url(url).set(drivername="postgresql+psycopg")
        dsn = self.url.render_as_string(hide_password=False).replace("postgresql+psycopg", "postgresql")
        try:
            self.admin = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL at {self.url.host}:{self.url.port} does not answer ({exc}). The service "
                "tests need it: start the server (.ci/run does) or point IONSCAPE_TEST_POSTGRES_URL at one.",
                pytrace=False,
            )
        self.prefix = f"ionscape_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.template = self.create(f"{self.prefix}_tpl")

    def create(self, name: str, template: str | None = None) -> str:
        """CREATE DATABASE ``name`` (a copy of ``template``); returns its URL."""
        copy = f' TEMPLATE "{template}" STRATEGY WAL_LOG' if template else ""
        self.admin.execute(f'CREATE DATABASE "{name}"{copy}')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        for name in reversed(self.created):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(POSTGRES_URL)
    migrate(server.url.set(database=f"{server.prefix}_tpl").render_as_string(hide_password=False))
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


def migrate(url: str) -> None:
    engine = make_engine(url)
    upgrade_schema(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def new_database(request, tmp_path_factory) -> Callable[[str], str]:
    """``new_database(backend)``: the URL of an empty, migrated database of that backend."""

    def create(backend: str) -> str:
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("sqlite") / "ionscape.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.create(f"{server.prefix}_{uuid.uuid4().hex[:8]}", template=f"{server.prefix}_tpl")

    return create


@dataclass
class Service:
    """A running app (no in-process workers) with its settings; ``worker()`` runs jobs on demand."""

    settings: Settings
    app: Any
    backend: str

    def client(self) -> TestClient:
        return TestClient(self.app)

    def sessions(self) -> Any:
        return self.app.state.sessions

    def worker(self, worker_id: str | None = None) -> Worker:
        return Worker(self.settings, self.app.state.sessions, self.app.state.storage, worker_id)

    def signup(self, name: str) -> TestClient:
        """A browser-like client signed in as a new user, sending its CSRF token with every request."""
        client = self.client()
        email = f"{name}-{uuid.uuid4().hex[:6]}@example.org"
        response = client.post(
            "/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        client.user = response.json()["user"]
        return client


def build_service(url: str, data_dir: Path, backend: str, lithops_config: dict, **overrides: Any) -> Service:
    settings = Settings.for_data_dir(
        data_dir,
        database_url=url,
        secret_key="test-secret",
        lithops_config=lithops_config,
        annotation_workers=2,
        heartbeat_seconds=0.2,
        poll_seconds=0.05,
        **overrides,
    )
    return Service(settings, create_app(settings), backend)


@pytest.fixture(params=BACKENDS)
def service(request, new_database, tmp_path, lithops_local) -> Iterator[Service]:
    """The app on a fresh database, once on SQLite and once on PostgreSQL."""
    svc = build_service(new_database(request.param), tmp_path / "data", request.param, lithops_local)
    yield svc
    svc.app.state.engine.dispose()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def example_files() -> dict[str, bytes]:
    """The bundled example dataset's two files, by name."""
    import ionscape

    imzml = ionscape.example_dataset()
    return {
        imzml.name: imzml.read_bytes(),
        imzml.with_suffix(".ibd").name: imzml.with_suffix(".ibd").read_bytes(),
    }


def upload_files(client: TestClient, files: dict[str, bytes], chunk_bytes: int = 40_000) -> str:
    """Upload ``files`` in chunks and commit; returns the upload id."""
    spec = [{"name": name, "size": len(data), "sha256": sha256(data)} for name, data in files.items()]
    response = client.post("/api/v1/uploads", json={"files": spec})
    assert response.status_code == 201, response.text
    upload_id = response.json()["id"]
    for name, data in files.items():
        for offset in range(0, len(data), chunk_bytes):
            put = client.put(
                f"/api/v1/uploads/{upload_id}/files/{name}",
                params={"offset": offset},
                content=data[offset : offset + chunk_bytes],
            )
            assert put.status_code == 200, put.text
    commit = client.post(f"/api/v1/uploads/{upload_id}/commit")
    assert commit.status_code == 200, commit.text
    return upload_id


def submit_example(client: TestClient, **fields: Any) -> dict:
    """Upload the bundled example and submit it; returns the new dataset."""
    body = {"upload_id": upload_files(client, example_files()), "name": "example", **fields}
    response = client.post("/api/v1/datasets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def upload_moldb(client: TestClient, path: Path = MOL_DB5, name: str = "mol_db5", **form: Any) -> dict:
    """Upload a custom molecular database; returns it."""
    with path.open("rb") as f:
        response = client.post(
            "/api/v1/moldbs", data={"name": name, **form}, files={"file": (path.name, f, "text/csv")}
        )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def pg_service(new_database, tmp_path, lithops_local) -> Iterator[Service]:
    """The app on a fresh PostgreSQL database (for what only PostgreSQL does: row locks)."""
    svc = build_service(new_database("postgres"), tmp_path / "data", "postgres", lithops_local)
    yield svc
    svc.app.state.engine.dispose()
