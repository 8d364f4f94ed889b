"""The client's exceptions; HTTP error responses map onto them by status code.

::

    ClientError                     anything the client raises on purpose (an IonscapeError)
    ├── ApiError                    the service answered with an error: status_code, detail, errors
    │   ├── BadRequestError         400
    │   ├── AuthenticationError     401: no or a wrong API key
    │   ├── PermissionDeniedError   403: not the owner, CSRF
    │   ├── NotFoundError           404: no such item, or not visible to you
    │   ├── ConflictError           409: wrong state (no results yet, upload not complete, ...)
    │   ├── PayloadTooLargeError    413
    │   ├── ValidationError         422: invalid input (the detail says which field and why)
    │   └── ServerError             5xx
    ├── NetworkError                the service could not be reached
    ├── UploadInterrupted           an upload stopped part-way; resume it with its ``upload_id``
    ├── JobFailedError              the dataset's annotation job failed (``error`` says why)
    └── WaitTimeout                 ``Dataset.wait`` gave up (also a ``TimeoutError``)
"""

from __future__ import annotations

from typing import Any

from ionscape.errors import IonscapeError


class ClientError(IonscapeError):
    """Base class of the client's exceptions."""


class ApiError(ClientError):
    """An error response of the service: HTTP ``status_code``, its ``detail`` message and field ``errors``."""

    def __init__(self, status_code: int, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{detail} (HTTP {status_code})")
        self.status_code = status_code
        self.detail = detail
        self.errors = errors or []


class BadRequestError(ApiError):
    """400: the request was malformed."""


class AuthenticationError(ApiError):
    """401: the request needs a valid API key."""


class PermissionDeniedError(ApiError):
    """403: the item is visible to you but you may not change it."""


class NotFoundError(ApiError):
    """404: the item does not exist or is not visible to you."""


class ConflictError(ApiError):
    """409: the item is not in a state that allows this (no results yet, upload incomplete, published)."""


class PayloadTooLargeError(ApiError):
    """413: a file or chunk exceeds the service's limits."""


class ValidationError(ApiError):
    """422: the input was refused; ``detail`` and ``errors`` say which part and why."""


class ServerError(ApiError):
    """5xx: the service failed."""


class NetworkError(ClientError):
    """The service could not be reached, or the connection broke."""


class UploadInterrupted(ClientError):
    """An upload stopped part-way; pass ``upload_id`` to ``Client.submit_dataset`` to resume it."""

    def __init__(self, upload_id: str, reason: str) -> None:
        super().__init__(
            f"upload {upload_id} was interrupted ({reason}); resume with upload_id={upload_id!r}"
        )
        self.upload_id = upload_id


class JobFailedError(ClientError):
    """The annotation job of a dataset failed; ``error`` is the job's message."""

    def __init__(self, dataset_id: str, error: str | None) -> None:
        super().__init__(f"the annotation of dataset {dataset_id} failed: {error or 'no reason given'}")
        self.dataset_id = dataset_id
        self.error = error


class WaitTimeout(ClientError, TimeoutError):
    """A dataset did not finish within the time given to ``Dataset.wait``."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
}


def error_for_status(status_code: int, body: Any) -> ApiError:
    """The exception for an error response with JSON ``body`` (``{"detail": ..., "errors": [...]}``)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(detail, str):
        detail = str(detail) if detail is not None else f"HTTP error {status_code}"
    kind = ServerError if status_code >= 500 else _BY_STATUS.get(status_code, ApiError)
    return kind(status_code, detail, errors if isinstance(errors, list) else None)
