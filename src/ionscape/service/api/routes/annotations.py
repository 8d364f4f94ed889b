"""A dataset's annotations: the filtered table, diagnostics, ion images and downloads."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import FileResponse
from sqlalchemy import func, or_, select

from ionscape.service.api.deps import SessionDep, StorageDep, VisibleDataset
from ionscape.service.api.routes import AnnotationId, PageOffset
from ionscape.service.models import Annotation, Dataset
from ionscape.service.results import ANNOTATIONS_CSV, ION_IMAGES, ion_image_stack
from ionscape.service.schemas import AnnotationDetail, AnnotationOut, IsotopePeak, Page

router = APIRouter(prefix="/datasets/{dataset_id}", tags=["annotations"])

SORTS = {"msm": Annotation.msm, "mz": Annotation.mz, "fdr": Annotation.fdr}
FDR_TOLERANCE = 1e-9
Sort = Literal["msm", "-msm", "mz", "-mz", "fdr", "-fdr"]


def _results_key(dataset: Dataset) -> str:
    if dataset.results_key is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the dataset has no results yet (status: {dataset.status})"
        )
    return dataset.results_key


def _annotation(session: SessionDep, dataset: Dataset, annotation_id: int) -> Annotation:
    _results_key(dataset)
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.dataset_id != dataset.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"annotation {annotation_id} not found")
    return annotation


@router.get("/annotations")
def list_annotations(
    dataset: VisibleDataset,
    session: SessionDep,
    database: str | None = None,
    fdr: Annotated[float | None, Query(gt=0, le=1, description="at most this FDR (e.g. 0.1)")] = None,
    mz_min: float | None = None,
    mz_max: float | None = None,
    q: Annotated[str | None, Query(description="part of the formula or of a molecule name")] = None,
    adduct: str | None = None,
    sort: Sort = "-msm",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: PageOffset = 0,
) -> Page[AnnotationOut]:
    """The annotation table, filtered, sorted (``-`` for descending) and paginated."""
    _results_key(dataset)
    conditions = [Annotation.dataset_id == dataset.id]
    if database:
        conditions.append(Annotation.database == database)
    if fdr is not None:
        conditions.append(or_(Annotation.fdr.is_(None), Annotation.fdr <= fdr + FDR_TOLERANCE))
    if mz_min is not None:
        conditions.append(Annotation.mz >= mz_min)
    if mz_max is not None:
        conditions.append(Annotation.mz <= mz_max)
    if q:
        conditions.append(or_(Annotation.formula.ilike(f"%{q}%"), Annotation.molecule_names.ilike(f"%{q}%")))
    if adduct:
        conditions.append(Annotation.adduct == adduct)
    column = SORTS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    total = session.scalar(select(func.count()).select_from(Annotation).where(*conditions)) or 0
    rows = session.scalars(
        select(Annotation).where(*conditions).order_by(order, Annotation.id).limit(limit).offset(offset)
    )
    items = [AnnotationOut.model_validate(row) for row in rows]
    return Page[AnnotationOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/annotations.csv", response_class=FileResponse)
def download_csv(dataset: VisibleDataset, storage: StorageDep) -> FileResponse:
    """The full annotation table as CSV, with METASPACE's column names."""
    path = storage.local_path(f"{_results_key(dataset)}/{ANNOTATIONS_CSV}")
    return FileResponse(path, media_type="text/csv", filename=f"{dataset.name}_annotations.csv")


@router.get("/annotations/{annotation_id}")
def get_annotation(
    annotation_id: AnnotationId, dataset: VisibleDataset, session: SessionDep
) -> AnnotationDetail:
    """Diagnostics: MSM components, m/z error, theoretical vs observed isotope pattern."""
    annotation = _annotation(session, dataset, annotation_id)
    peaks = annotation.peaks
    theo = np.asarray(peaks["theo_ints"], dtype=float)
    observed = np.asarray(peaks["total_iso_ints"], dtype=float)
    scale = theo.max() / observed.max() if observed.max() > 0 else 0.0
    isotope_peaks = [
        IsotopePeak(
            theo_mz=peaks["theo_mzs"][k],
            theo_int=float(theo[k]),
            observed_mz=peaks["mz_mean"][k] if observed[k] > 0 else None,
            observed_int=float(observed[k] * scale),
        )
        for k in range(len(theo))
    ]
    return AnnotationDetail(
        **AnnotationOut.model_validate(annotation).model_dump(),
        chaos=annotation.chaos,
        spatial=annotation.spatial,
        spectral=annotation.spectral,
        mz_err_abs=annotation.mz_err_abs,
        mz_err_rel=annotation.mz_err_rel,
        peaks=isotope_peaks,
    )


def _peak_image(
    session: SessionDep, storage: StorageDep, dataset: Dataset, annotation_id: int, peak: int
) -> tuple[np.ndarray, np.ndarray]:
    annotation = _annotation(session, dataset, annotation_id)
    stack, mask = ion_image_stack(storage, _results_key(dataset), annotation.ion)
    if not 1 <= peak <= len(stack):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"isotope peak {peak} not found (1 to {len(stack)})")
    return stack[peak - 1], mask


@router.get("/annotations/{annotation_id}/images/{peak}.png", response_class=Response)
def ion_image_png(
    annotation_id: AnnotationId,
    peak: int,
    dataset: VisibleDataset,
    session: SessionDep,
    storage: StorageDep,
    cmap: Annotated[str, Query(max_length=50)] = "viridis",
    scale: Literal["linear", "log"] = "linear",
    hotspot: Annotated[float | None, Query(ge=0, le=100, description="clip at this percentile")] = 99.0,
) -> Response:
    """Ion image of isotope peak ``peak`` (1 = principal) as a coloured PNG."""
    from ionscape.io.png import ion_image_png as render

    image, mask = _peak_image(session, storage, dataset, annotation_id, peak)
    try:
        png = render(image, mask, cmap=cmap, scale=scale, hotspot_percentile=hotspot)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return Response(png, media_type="image/png")


@router.get("/annotations/{annotation_id}/images/{peak}.npy", response_class=Response)
def ion_image_array(
    annotation_id: AnnotationId, peak: int, dataset: VisibleDataset, session: SessionDep, storage: StorageDep
) -> Response:
    """Raw ion image of isotope peak ``peak``: a (height, width) float32 ``.npy`` file."""
    image, _ = _peak_image(session, storage, dataset, annotation_id, peak)
    return _npy_response(image.astype(np.float32))


@router.get("/mask.npy", response_class=Response)
def sample_mask(dataset: VisibleDataset, storage: StorageDep) -> Response:
    """Sample area of the dataset's ion images: a (height, width) bool ``.npy`` file (False: no spectrum)."""
    with np.load(storage.local_path(f"{_results_key(dataset)}/{ION_IMAGES}")) as images:
        return _npy_response(images["mask"].astype(bool))


def _npy_response(array: np.ndarray) -> Response:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return Response(buffer.getvalue(), media_type="application/octet-stream")
