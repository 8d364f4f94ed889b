"""HTTP calls to the service's ``/api/v1``: the API key, timeouts, paging, and errors as exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from ionscape import __version__
from ionscape.client._errors import NetworkError, error_for_status

API_PREFIX = "/api/v1"
API_KEY_HEADER = "X-API-Key"
PAGE_SIZE = 500


class Api:
    """An ``httpx.Client`` bound to ``<url>/api/v1``; every error response raises an ``ApiError``.

    ``transport`` replaces the network (e.g. a transport that calls the app in the same process).
    """

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        base = url.rstrip("/")
        if not base.endswith(API_PREFIX):
            base += API_PREFIX
        headers = {"User-Agent": f"ionscape-client/{__version__}"}
        if api_key:
            headers[API_KEY_HEADER] = api_key
        self.url = base
        self.http = httpx.Client(
            base_url=base, headers=headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request; 4xx/5xx raise the matching ``ApiError``, a failed connection ``NetworkError``."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise NetworkError(f"{method} {self.url}{path}: {type(exc).__name__}: {exc}") from exc
        if response.is_error:
            raise error_for_status(response.status_code, _json_or_none(response))
        return response

    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON document; ``None`` parameters are left out."""
        return self.request("GET", path, params=_present(params)).json()

    def post(self, path: str, **kwargs: Any) -> Any:
        """POST and return the JSON answer."""
        return self.request("POST", path, **kwargs).json()

    def items(self, path: str, page_size: int = PAGE_SIZE, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list (``{"items", "total", "limit", "offset"}``), page by page."""
        offset = 0
        while True:
            page = self.get(path, **params, limit=page_size, offset=offset)
            yield from page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return

    def close(self) -> None:
        """Close the connections."""
        self.http.close()


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text.strip() or response.reason_phrase}
