"""Error responses of the API become the documented exceptions."""

from __future__ import annotations

import httpx
import pytest

import ionscape
from ionscape.client import (
    ApiError,
    AuthenticationError,
    Client,
    ClientError,
    ConflictError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ValidationError,
)
from ionscape.client._errors import error_for_status
from ionscape.errors import IonscapeError


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, ValidationError),
        (500, ServerError),
        (503, ServerError),
        (418, ApiError),
    ],
)
def test_status_codes_map_to_exceptions(status, kind):
    error = error_for_status(status, {"detail": "what went wrong", "errors": [{"loc": ["body"]}]})
    assert type(error) is kind
    assert isinstance(error, ClientError) and isinstance(error, IonscapeError)
    assert (error.status_code, error.detail, error.errors) == (status, "what went wrong", [{"loc": ["body"]}])
    assert str(error) == f"what went wrong (HTTP {status})"


def test_a_body_that_is_not_the_apis_json_still_maps():
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway from a proxy")

    client = Client("http://service", "key", transport=httpx.MockTransport(reply))
    with client, pytest.raises(ServerError) as caught:
        client.me()
    assert caught.value.status_code == 502 and caught.value.detail == "Bad Gateway from a proxy"


def test_wrong_or_missing_api_key_is_401(connect):
    with pytest.raises(AuthenticationError, match="invalid API key"):
        connect(api_key="not-a-key").me()
    with pytest.raises(AuthenticationError, match="sign in or send an API key"):
        connect(api_key=None).me()
    assert connect("alice").me()["name"] == "alice"


def test_unknown_dataset_is_404(connect):
    with pytest.raises(NotFoundError, match="dataset nope not found"):
        connect().dataset("nope")


def test_changing_someone_elses_dataset_is_403(connect):
    alice, bob = connect("alice"), connect("bob")
    shared = submit_example(alice, visibility="public")
    seen_by_bob = bob.dataset(shared.id)
    assert seen_by_bob.name == shared.name
    with pytest.raises(PermissionDeniedError, match="only the owner"):
        seen_by_bob.delete()


def test_invalid_submission_is_422_with_the_reason(connect):
    with pytest.raises(ValidationError, match="unknown molecular database 'no_such_db'") as caught:
        submit_example(connect(), databases=["no_such_db"])
    assert caught.value.status_code == 422


def test_field_errors_are_kept(connect):
    with pytest.raises(ValidationError) as caught:
        submit_example(connect(), config={"ppm": "three"})
    assert caught.value.errors and caught.value.errors[0]["loc"][-1] == "ppm"


def test_results_before_the_job_ran_are_409(connect):
    dataset = submit_example(connect())
    with pytest.raises(ConflictError, match="no results yet"):
        dataset.results()


def test_unreachable_service_is_a_network_error():
    with socket_free_port() as port:
        client = Client(f"http://127.0.0.1:{port}", "key", timeout=5)
        with client, pytest.raises(NetworkError, match="ConnectError"):
            client.me()


def submit_example(client: Client, **options) -> ionscape.client.Dataset:
    """Submit the bundled example (small chunks, no progress bar)."""
    return client.submit_dataset(ionscape.example_dataset(), progress=False, **options)


class socket_free_port:
    """A local port nobody listens on (held bound, not listening, while in use)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
