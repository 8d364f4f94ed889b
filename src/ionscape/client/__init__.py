"""Python client of the ionscape service (``/api/v1``), for scripts and notebooks.

::

    from ionscape.client import Client

    with Client("https://ionscape.example.org", api_key="...") as client:
        ds = client.submit_dataset("sample.imzML", metadata={"polarity": "positive"})
        ds.wait()
        table = ds.results(fdr=0.1)          # METASPACE client's column names
        adata = ds.to_anndata()              # pixels x annotations for scanpy / squidpy

Errors are ``ClientError`` subclasses (see ``ionscape.client._errors`` for the tree).
"""

from ionscape.client._client import Client
from ionscape.client._dataset import Dataset
from ionscape.client._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ClientError,
    ConflictError,
    JobFailedError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    UploadInterrupted,
    ValidationError,
    WaitTimeout,
)
from ionscape.client._images import IsotopeImages
from ionscape.client._upload import UploadPolicy

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientError",
    "ConflictError",
    "Dataset",
    "IsotopeImages",
    "JobFailedError",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ServerError",
    "UploadInterrupted",
    "UploadPolicy",
    "ValidationError",
    "WaitTimeout",
]
