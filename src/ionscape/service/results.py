"""A finished job's results: files in storage, rows in the annotations table, images on request.

Layout under ``datasets/<id>/results/<job>-<attempt>/`` (``Results.export``): ``annotations.csv``
(METASPACE columns), ``run.json`` and ``ion_images.npz`` (raw per-peak images keyed by ion, plus
``mask``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, update
from sqlalchemy.orm import Session

from ionscape.service.models import Annotation, Dataset
from ionscape.service.storage import Storage

ANNOTATIONS_CSV = "annotations.csv"
ION_IMAGES = "ion_images.npz"
PEAK_FIELDS = ("theo_mzs", "theo_ints", "total_iso_ints", "max_iso_ints", "mz_mean")
FDR_FOR_COUNT = 0.1


def results_key(dataset_id: str, job_id: int, attempt: int) -> str:
    """Storage folder of one job attempt's results (attempts never share a folder)."""
    return f"datasets/{dataset_id}/results/{job_id}-{attempt}"


def store_annotations(session: Session, dataset_id: str, results: Any, key: str) -> None:
    """Replace the dataset's annotation rows and counts with ``results`` (in the caller's transaction)."""
    session.execute(delete(Annotation).where(Annotation.dataset_id == dataset_id))
    rows = [_row(dataset_id, record) for record in results.annotations.to_dict(orient="records")]
    if rows:
        session.execute(insert(Annotation), rows)
    counts = results.counts_by_fdr()
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(
            results_key=key,
            annotation_counts=counts.to_dict(orient="records"),
            n_annotations=int(counts[f"{int(FDR_FOR_COUNT * 100)}%"].sum()),
        )
    )


def _row(dataset_id: str, record: dict[str, Any]) -> dict[str, Any]:
    ids = _split(record["molecule_ids"])
    names = _split(record["molecule_names"])
    return {
        "dataset_id": dataset_id,
        "database": record["moldb_id"],
        **{name: str(record[name]) for name in ("formula", "adduct", "chem_mod", "neutral_loss", "ion")},
        "ion_formula": str(record["ion_formula"]),
        **{name: _number(record[name]) for name in ("mz", "msm", "fdr", "chaos", "spatial", "spectral")},
        "mz_err_abs": _number(record["mz_err_abs"]),
        "mz_err_rel": _number(record["mz_err_rel"]),
        "peaks": {name: [float(v) for v in record[name]] for name in PEAK_FIELDS},
        "molecules": [{"id": i, "name": n} for i, n in zip(ids, names, strict=False)],
        "molecule_names": "; ".join(names),
    }


def _split(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [part for part in str(value).split("; ") if part]


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def ion_image_stack(storage: Storage, key: str, ion: str) -> tuple[np.ndarray, np.ndarray]:
    """(n_peaks, h, w) float32 images of ``ion`` and the (h, w) sample mask."""
    with np.load(storage.local_path(f"{key}/{ION_IMAGES}")) as images:
        return images[ion], images["mask"]
