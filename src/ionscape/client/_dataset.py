"""A dataset on the service: its status, waiting for its job, and its results in notebook-ready shapes."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ionscape.client._errors import JobFailedError, NotFoundError, WaitTimeout
from ionscape.client._images import IsotopeImages

if TYPE_CHECKING:
    import pandas as pd

    from ionscape.client._client import Client
    from ionscape.results import Results

ANNOTATION_PAGE = 1000
ACTIVE = ("queued", "running")


class Dataset:
    """A dataset as the service reports it (``info``); methods fetch its job state and results."""

    def __init__(self, client: Client, info: dict[str, Any]) -> None:
        self._client = client
        self._api = client.api
        self.info = info

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, id={self.id}, status={self.status})"

    @property
    def id(self) -> str:
        return self.info["id"]

    @property
    def name(self) -> str:
        return self.info["name"]

    @property
    def status(self) -> str:
        """``queued``, ``running``, ``finished`` or ``failed``."""
        return self.info["status"]

    @property
    def config(self) -> dict[str, Any]:
        """The annotation settings as a METASPACE ds_config."""
        return self.info["config"]

    @property
    def databases(self) -> list[str]:
        return self.info["databases"]

    @property
    def metadata(self) -> dict[str, Any]:
        return self.info["metadata"]

    @property
    def job(self) -> dict[str, Any] | None:
        """The latest annotation job: status, attempts, progress per stage, error."""
        return self.info["job"]

    def refresh(self) -> Dataset:
        """Fetch the current state from the service."""
        self.info = self._api.get(f"/datasets/{self.id}")
        return self

    def wait(
        self, *, timeout: float | None = None, poll_seconds: float = 2.0, progress: bool = True
    ) -> Dataset:
        """Poll until the job has finished; raises ``JobFailedError`` (with the job's error) if it failed."""
        from ionscape.progress import StageProgress

        deadline = None if timeout is None else time.monotonic() + timeout
        with StageProgress() if progress else _NoProgress() as bars:
            while True:
                self.refresh()
                for stage, counts in ((self.job or {}).get("progress") or {}).items():
                    bars.update(stage, counts["done"], counts["total"])
                if self.status not in ACTIVE:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise WaitTimeout(f"dataset {self.id} is still {self.status} after {timeout} s")
                time.sleep(poll_seconds)
        if self.status == "failed":
            raise JobFailedError(self.id, (self.job or {}).get("error"))
        return self

    # --- annotations ---

    def annotation_table(self) -> pd.DataFrame:
        """Every annotation with ionscape's (METASPACE engine) column names, per-peak values as arrays."""
        from ionscape.results import read_annotations_csv

        response = self._api.request("GET", f"/datasets/{self.id}/annotations.csv")
        return read_annotations_csv(io.StringIO(response.text))

    def results(
        self,
        database: str | None = None,
        fdr: float | None = 0.1,
        *,
        include_chem_mods: bool = False,
        include_neutral_losses: bool = False,
    ) -> pd.DataFrame:
        """The annotations of ``database`` (default: the dataset's first) at FDR <= ``fdr``, as
        METASPACE's Python client gives them: indexed by (formula, adduct), columns ion, mz, msm, moc,
        rhoSpatial, rhoSpectral, fdr, moleculeNames, moleculeIds, intensity, ...
        """
        from ionscape.client._tables import metaspace_results
        from ionscape.results import select_annotations

        table = select_annotations(self.annotation_table(), database=database or self.databases[0], fdr=fdr)
        return metaspace_results(
            table, include_chem_mods=include_chem_mods, include_neutral_losses=include_neutral_losses
        )

    def annotations(self, fdr: float | None = 0.1, database: str | None = None) -> list[tuple[str, str]]:
        """(formula, adduct) of the annotations at FDR <= ``fdr``, best MSM first."""
        return [(row["formula"], row["adduct"]) for row in self._annotation_rows(database=database, fdr=fdr)]

    def _annotation_rows(self, **filters: Any) -> list[dict[str, Any]]:
        path = f"/datasets/{self.id}/annotations"
        return list(self._api.items(path, page_size=ANNOTATION_PAGE, **filters))

    # --- ion images ---

    def isotope_images(
        self,
        formula: str,
        adduct: str,
        *,
        chem_mod: str = "",
        neutral_loss: str = "",
        database: str | None = None,
        only_first_isotope: bool = False,
    ) -> IsotopeImages:
        """The ion images of every isotope peak of one annotation, with their m/z."""
        rows = self._annotation_rows(q=formula, adduct=adduct, database=database)
        for row in rows:
            if (row["formula"], row["chem_mod"], row["neutral_loss"]) == (formula, chem_mod, neutral_loss):
                return self._isotope_images(row, only_first_isotope)
        raise NotFoundError(404, f"{formula}{chem_mod}{neutral_loss}{adduct} is not among the annotations")

    def all_annotation_images(
        self, fdr: float | None = 0.1, database: str | None = None, *, only_first_isotope: bool = False
    ) -> list[IsotopeImages]:
        """:meth:`isotope_images` of every annotation at FDR <= ``fdr``, best MSM first."""
        rows = self._annotation_rows(database=database, fdr=fdr)
        return [self._isotope_images(row, only_first_isotope) for row in rows]

    def _isotope_images(self, row: dict[str, Any], only_first_isotope: bool) -> IsotopeImages:
        base = f"/datasets/{self.id}/annotations/{row['id']}"
        peaks = self._api.get(base)["peaks"][: 1 if only_first_isotope else None]
        images = tuple(
            np.load(io.BytesIO(self._api.request("GET", f"{base}/images/{k}.npy").content))
            for k in range(1, len(peaks) + 1)
        )
        mzs = tuple(float(peak["theo_mz"]) for peak in peaks)
        return IsotopeImages(row["formula"], row["adduct"], row["chem_mod"], row["neutral_loss"], mzs, images)

    def _sample_mask(self, annotation_id: int) -> np.ndarray:
        """The sampled pixels: where the service's PNG of an ion image is not transparent."""
        from PIL import Image

        png = self._api.request("GET", f"/datasets/{self.id}/annotations/{annotation_id}/images/1.png")
        return np.asarray(Image.open(io.BytesIO(png.content)).convert("RGBA"))[..., 3] > 0

    # --- everything at once ---

    def to_results(
        self, *, database: str | None = None, fdr: float | None = None, only_first_isotope: bool = False
    ) -> Results:
        """An ``ionscape.Results`` (table and ion images) of the annotations at FDR <= ``fdr``;
        ``only_first_isotope`` fetches the principal peak's image only.
        """
        from ionscape.config import AnnotationConfig
        from ionscape.results import Results, ion_images_from_stacks, select_annotations

        table = select_annotations(self.annotation_table(), database=database, fdr=fdr)
        ids = {_key(row): row["id"] for row in self._annotation_rows(database=database, fdr=fdr)}
        stacks: dict[str, np.ndarray] = {}
        by_formula: dict[int, np.ndarray] = {}
        first_id = None
        for record in table.to_dict(orient="records"):
            annotation_id = ids[_key(record)]
            first_id = annotation_id if first_id is None else first_id
            if record["formula_i"] not in by_formula:
                by_formula[record["formula_i"]] = self._isotope_images(
                    {**record, "id": annotation_id}, only_first_isotope
                ).stack
            stacks[record["ion"]] = by_formula[record["formula_i"]]
        stacks["mask"] = self._sample_mask(first_id) if first_id is not None else np.zeros((0, 0), dtype=bool)
        source = {"service": self._api.url, "dataset_id": self.id, "dataset_name": self.name}
        return Results(
            table,
            ion_images_from_stacks(table, stacks),
            AnnotationConfig.from_ds_config(self.config),
            [database] if database else list(self.databases),
            run={"source": source},
        )

    def to_anndata(self, *, database: str | None = None, fdr: float | None = 0.1) -> Any:
        """Pixels × annotations ``anndata.AnnData`` (see ``ionscape.Results.to_anndata``)."""
        return self.to_results(database=database, fdr=fdr, only_first_isotope=True).to_anndata()

    def download_to_dir(self, path: str | os.PathLike, *, png: bool = True) -> Path:
        """Write the results as ``ionscape annotate --out`` does: annotations.csv, ion_images.npz,
        run.json and (``png``) images/; ``ionscape.Results.load`` and ``ionscape export`` read it.
        """
        return self.to_results().export(path, png=png)

    # --- changes ---

    def rerun(self) -> Dataset:
        """Queue the annotation again."""
        self.info = self._api.post(f"/datasets/{self.id}/rerun")
        return self

    def delete(self) -> None:
        """Delete the dataset and its results."""
        self._api.request("DELETE", f"/datasets/{self.id}")


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    database = row.get("database", row.get("moldb_id"))
    return (database, row["formula"], row["chem_mod"], row["neutral_loss"], row["adduct"])


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, stage: str, done: int, total: int) -> None:
        return None
