"""``Client``: submit datasets to an ionscape service and find them again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from ionscape.client._dataset import Dataset
from ionscape.client._errors import ValidationError
from ionscape.client._http import Api
from ionscape.client._settings import annotation_settings, service_metadata
from ionscape.client._upload import UploadPolicy, upload_dataset_files
from ionscape.config import AnnotationConfig

PathLike = str | os.PathLike


class Client:
    """A connection to an ionscape service as one user.

    ``Client("https://ionscape.example.org", api_key="...")``; create an API key in the web app or
    with ``POST /api/v1/auth/api-keys``. ``transport`` replaces the network (tests pass one that
    calls the app in-process). Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        upload: UploadPolicy | None = None,
    ) -> None:
        self.api = Api(url, api_key, transport=transport, timeout=timeout)
        self.upload_policy = upload or UploadPolicy()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.api.close()

    def me(self) -> dict[str, Any]:
        """The user the API key belongs to."""
        return self.api.get("/auth/me")

    # --- datasets ---

    def submit_dataset(
        self,
        imzml: PathLike,
        ibd: PathLike | None = None,
        metadata: dict[str, Any] | str | None = None,
        config: AnnotationConfig | dict[str, Any] | None = None,
        *,
        databases: list[str] | None = None,
        name: str | None = None,
        visibility: str = "private",
        group_id: str | None = None,
        upload_id: str | None = None,
        progress: bool = True,
    ) -> Dataset:
        """Upload an imzML dataset in resumable chunks and queue its annotation.

        Parameters
        ----------
        imzml, ibd : the two files (``ibd`` defaults to the .ibd next to the .imzML).
        metadata : sample and instrument description: the service's fields (``polarity``,
            ``analyzer``, ``resolving_power``, ``organism``, ...) or METASPACE metadata JSON.
        config : annotation settings: an ``AnnotationConfig``, a METASPACE ds_config dict, or the
            service's fields (``adducts``, ``ppm``, ``n_peaks``, ...). Left out: the defaults for
            the metadata.
        databases : bundled database names and ids of your custom databases (default
            ``core_metabolome``).
        upload_id : resume the upload that ``UploadInterrupted`` named.
        """
        imzml = Path(imzml)
        ibd = Path(ibd) if ibd is not None else imzml.with_suffix(".ibd")
        settings, polarity = annotation_settings(config, databases)
        sample = service_metadata(metadata)
        if polarity is not None and sample.setdefault("polarity", polarity) != polarity:
            raise ValidationError(
                422, f"the metadata say {sample['polarity']} polarity but the config is for {polarity}"
            )
        upload_id = upload_dataset_files(
            self.api, [imzml, ibd], self.upload_policy, upload_id=upload_id, progress=progress
        )
        body = {
            "upload_id": upload_id,
            "name": name or imzml.stem,
            "metadata": sample,
            "settings": settings,
            "visibility": visibility,
            "group_id": group_id,
        }
        return Dataset(self, self.api.post("/datasets", json=body))

    def dataset(self, id: str) -> Dataset:
        """A dataset by id."""
        return Dataset(self, self.api.get(f"/datasets/{id}"))

    def datasets(self, **filters: Any) -> list[Dataset]:
        """The datasets you can see, newest first.

        Filters: ``q`` (part of the name), ``status``, ``polarity``, ``organism``, ``submitter``,
        ``group_id``, ``project_id``, ``created_after``, ``created_before``.
        """
        return [Dataset(self, info) for info in self.api.items("/datasets", **filters)]

    # --- molecular databases ---

    def moldbs(self) -> list[dict[str, Any]]:
        """The bundled molecular databases and your own."""
        return self.api.get("/moldbs")

    def upload_moldb(self, path: PathLike, name: str | None = None, *, targeted: bool | None = None) -> dict:
        """Upload a CSV/TSV database (``id``, ``name``, ``formula`` columns); submit with its ``id``."""
        path = Path(path)
        form = {"name": name or path.stem}
        if targeted is not None:
            form["targeted"] = "true" if targeted else "false"
        with path.open("rb") as f:
            return self.api.post("/moldbs", data=form, files={"file": (path.name, f, "text/csv")})
