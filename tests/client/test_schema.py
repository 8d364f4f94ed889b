"""The OpenAPI schema fuzzed with schemathesis against the app, on SQLite and PostgreSQL: valid and
invalid input (a bounded number of examples per operation) must never give a 5xx, and every 4xx
must be the JSON error the client maps (``{"detail": "..."}``).

Path ids are replaced by real ones (a finished dataset with annotations, an upload, a project, a
group) so that the routes behind the lookups are reached too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.client.conftest import new_api_key, sqlite_copy
from tests.service.conftest import POSTGRES_URL, PostgresServer, build_service, migrate, submit_example

EXAMPLES_PER_OPERATION = 6


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzzed(request, sqlite_template_db, tmp_path_factory, lithops_local) -> Iterator[dict[str, Any]]:
    """The app with one user (API key), one finished dataset and one of each other item."""
    data = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    server = None
    if request.param == "sqlite":
        url = sqlite_copy(sqlite_template_db, data / "db")
    else:
        server = PostgresServer(POSTGRES_URL)
        url = server.create(f"{server.prefix}_fuzz")
        migrate(url)
    svc = build_service(url, data / "data", request.param, lithops_local)
    with TestClient(svc.app) as http:
        key = new_api_key(http, "fuzzer")
        http.headers["X-API-Key"] = key
        dataset = submit_example(http)
        assert svc.worker().run_once()
        annotation = http.get(f"/api/v1/datasets/{dataset['id']}/annotations").json()["items"][0]
        spec = [{"name": n, "size": 10, "sha256": "0" * 64} for n in ("f.imzML", "f.ibd")]
        ids = {
            "dataset_id": dataset["id"],
            "annotation_id": annotation["id"],
            "upload_id": http.post("/api/v1/uploads", json={"files": spec}).json()["id"],
            "project_id": http.post("/api/v1/projects", json={"name": "p"}).json()["id"],
            "group_id": http.post("/api/v1/groups", json={"name": f"g-{uuid.uuid4().hex[:6]}"}).json()["id"],
        }
    yield {"app": svc.app, "key": key, "ids": ids, "backend": request.param}
    svc.app.state.engine.dispose()
    if server is not None:
        server.close()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed["app"])
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    schema.config.phases.update(phases=["examples", "fuzzing"])
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


def errors_are_json_with_a_detail(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answer is ``{"detail": "<message>", ...}``."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("detail"), str), response.text
    return None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_gives_a_server_error(case, fuzzed):
    if case.method != "DELETE" and case.path_parameters:
        for name, value in fuzzed["ids"].items():
            if name in case.path_parameters:
                case.path_parameters[name] = value
    case.call_and_validate(
        headers={"X-API-Key": fuzzed["key"]}, checks=[not_a_server_error, errors_are_json_with_a_detail]
    )


def _call(fuzzed, path: str, method: str = "GET") -> Any:
    with TestClient(fuzzed["app"], raise_server_exceptions=False) as http:
        return http.request(method, f"/api/v1{path}", headers={"X-API-Key": fuzzed["key"]})


@pytest.mark.parametrize(
    "path",
    [
        "/datasets?offset=100000000000000000000",
        "/projects?offset=100000000000000000000",
        "/datasets/{dataset_id}/annotations?offset=100000000000000000000",
        "/datasets/{dataset_id}/annotations/100000000000000000000",
        "/datasets/{dataset_id}/annotations/100000000000000000000/images/1.npy",
        "/datasets?created_after=0001-01-01T00:00:00%2B14:00",
        "/datasets?created_before=9999-12-31T23:59:59-14:00",
    ],
)
def test_out_of_range_numbers_and_dates_are_422(fuzzed, path):
    """Found by the fuzzer: these were 500s (integer overflow in the database driver, dates that leave
    the years 1-9999 when converted to UTC)."""
    response = _call(fuzzed, path.format(**fuzzed["ids"]))
    assert response.status_code == 422, response.text
    assert "less than or equal to 2147483647" in response.text or "out of range" in response.text


def test_nul_characters_are_refused(fuzzed):
    """A NUL character in an id, a filter or a body field; PostgreSQL text cannot hold one."""
    paths = ["/datasets/a%00b", "/datasets?q=a%00b", "/uploads/a%00b"]
    assert [_call(fuzzed, path).status_code < 500 for path in paths] == [True] * 3
