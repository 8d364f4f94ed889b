"""One annotation job, stage by stage.

1. ions       (driver)  ion formulas of every database: targets and decoys (§2, §4.2)
2. dataset    (tasks)   read the imzML, sort peaks by m/z (external sort when large), store segments (§5.1)
3. centroids  (tasks)   isotope centroids of ions not in the centroid cache (§3)
4. annotate   (tasks)   ion images and metrics per m/z batch of ions (§5, §6)
5. fdr        (driver)  target-decoy FDR per database and modifier (§4.4)
6. results    (driver)  annotation table and the ion images of what was reported

The dataset stage runs beside stages 1 and 3 (:mod:`ionscape.pipeline.background`); the others
run one after another.
"""

from __future__ import annotations

import platform
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionscape.chem.ions import IonTable, build_ion_table
from ionscape.chem.isotopes import IsotopeSettings
from ionscape.chem.moldb import MolecularDB
from ionscape.config import AnnotationConfig
from ionscape.errors import DatasetError, IonscapeError, MissingIbdError, PipelineError
from ionscape.io.imzml import find_ibd
from ionscape.pipeline.annotate import METRIC_COLUMNS, PEAK_COLUMNS, score_ions_distributed
from ionscape.pipeline.background import BackgroundStage
from ionscape.pipeline.centroids import centroids_for
from ionscape.pipeline.checkpoint import (
    JobCheckpoints,
    digest,
    file_identity,
    object_identity,
    remove_stale_jobs,
)
from ionscape.pipeline.dataset import STORAGE_SCHEME, DatasetRef, build_dataset
from ionscape.pipeline.executor import (
    BaseExecutor,
    ProgressCallback,
    StageRecord,
    create_executor,
    resolve_lithops_config,
)
from ionscape.pipeline.fdr import database_fdr
from ionscape.pipeline.objects import get_arrays
from ionscape.pipeline.plan import (
    SizedExecutor,
    StageSettings,
    dataset_executor,
    resolve_sizing,
    without_sizing_section,
)
from ionscape.pipeline.sort import SortBudget
from ionscape.results import IonImages, Results

STAGE_ORDER = ("ions", "dataset", "centroids", "annotate", "fdr", "results")
"""The stages in the order of the pipeline (the dataset stage runs beside ions and centroids)."""
RESUME_NOTE = (
    "The stages that finished are kept in Lithops storage: running the same job again resumes from them."
)


@dataclass
class JobOptions:
    """How to run a job (as opposed to what to compute, which is the AnnotationConfig)."""

    lithops_config: dict[str, Any] | None = None
    workers: int | None = None
    memory_mb: int | None = None
    """Memory per task (MB) of every stage; ``stages`` and the Lithops config's ``ionscape`` section
    override it per stage (``pipeline/plan.py``)."""
    stages: dict[str, StageSettings] = field(default_factory=dict)
    executor: str = "lithops"
    spark_master: str | None = None
    use_centroid_cache: bool = True
    allow_profile: bool = False
    segment_mb: float = 64.0
    progress: ProgressCallback | None = None
    keep_intermediate: bool = False
    job_key: str | None = None
    """Names the job's intermediate data; a rerun with the same key resumes from the stages that
    finished. By default it is derived from the dataset, the databases and the settings."""
    extra: dict[str, Any] = field(default_factory=dict)


def run_job(
    dataset: DatasetRef,
    databases: list[MolecularDB],
    config: AnnotationConfig,
    options: JobOptions | None = None,
) -> Results:
    """Annotate ``dataset`` against ``databases``; returns the complete :class:`Results`."""
    options = options or JobOptions()
    started = time.time()
    full_config = resolve_lithops_config(options.lithops_config)
    lithops_config = without_sizing_section(full_config)
    executor = create_executor(lithops_config, options)
    workers = int(executor.parallelism or options.workers or 1)
    sizing = resolve_sizing(
        full_config,
        memory_mb=options.memory_mb,
        workers=options.workers,
        stages=options.stages,
        default_workers=workers,
    )
    sized = SizedExecutor(executor, sizing.memory_mb)
    sorter = executor
    identity = _dataset_identity(dataset, executor.storage)
    remove_stale_jobs(executor.storage, executor.bucket)
    checkpoints = JobCheckpoints(
        executor.storage, executor.bucket, options.job_key or _job_key(identity, databases, config)
    ).claim()
    job_prefix = checkpoints.prefix
    clean_up = False  # after success or bad input; otherwise the objects stay for a rerun
    try:
        sorter = dataset_executor(executor, lithops_config, sizing, options.progress)
        budget = SortBudget.for_task_memory(sizing.memory_mb["dataset"], options.segment_mb)
        dataset_inputs = digest(
            identity,
            budget.working_bytes,
            budget.segment_mb,
            options.allow_profile,
            sizing.workers["dataset"],
        )

        def dataset_stage() -> dict[str, Any]:
            with sorter.stage("dataset") as record:
                return checkpoints.resume_or_run(
                    record,
                    dataset_inputs,
                    lambda: build_dataset(
                        sorter,
                        dataset,
                        job_prefix,
                        budget=budget,
                        memory_mb=sizing.memory_mb["dataset"],
                        allow_profile=options.allow_profile,
                        min_tasks=sizing.workers["dataset"],
                    ),
                )

        with BackgroundStage(dataset_stage, sorter, executor) as dataset_in_background:
            with executor.stage("ions"):
                ion_table = build_ion_table([(db.name, db.formulas, db.targeted) for db in databases], config)
            with executor.stage("centroids"):
                centroid_mz, centroid_ints, from_cache = centroids_for(
                    sized,
                    ion_table.ion_formulas,
                    IsotopeSettings.from_config(config),
                    job_prefix,
                    use_cache=options.use_centroid_cache,
                    workers=sizing.workers["centroids"],
                )
            ds = dataset_in_background.result()
        annotate_inputs = digest(
            dataset_inputs,
            centroid_mz,
            centroid_ints,
            ion_table.target,
            ion_table.targeted,
            config.to_ds_config()["image_generation"],
            sizing.workers["annotate"],
            sizing.memory_mb["annotate"],
        )
        with executor.stage("annotate") as record:
            score_keys = checkpoints.resume_or_run(
                record,
                annotate_inputs,
                lambda: score_ions_distributed(
                    sized,
                    job_prefix=job_prefix,
                    dataset=ds,
                    formula_i=np.arange(len(ion_table.ion_formulas)),
                    centroid_mz=centroid_mz,
                    centroid_ints=centroid_ints,
                    target=ion_table.target,
                    targeted=ion_table.targeted,
                    config=config,
                    workers=sizing.workers["annotate"],
                    memory_mb=sizing.memory_mb["annotate"],
                ),
            )
        with executor.stage("fdr"):
            metrics, images = _gather_scores(executor, score_keys, ion_table)
            tables = [
                database_fdr(db_ions, metrics["msm"], config.fdr.decoy_sample_size).assign(moldb_id=db.name)
                for db, db_ions in zip(databases, ion_table.databases, strict=True)
            ]
        with executor.stage("results"):
            geometry = get_arrays(executor.storage, executor.bucket, ds["geometry_key"])
            annotations = _annotation_table(tables, metrics, ion_table, centroid_mz, centroid_ints, databases)
            reported = set(annotations["formula_i"])
            images = IonImages(
                int(geometry["width"]),
                int(geometry["height"]),
                geometry["sampled_pixels"],
                {fi: slots for fi, slots in images.items() if fi in reported},
            )
        clean_up = True
    except IonscapeError as exc:
        if not isinstance(exc, PipelineError):  # bad input: a rerun cannot do better
            clean_up = True
        else:
            exc.add_note(RESUME_NOTE)
        raise
    except BaseException as exc:
        exc.add_note(RESUME_NOTE)
        raise
    finally:
        if clean_up and not options.keep_intermediate:
            checkpoints.delete()
        if sorter is not executor:
            sorter.close()
        executor.close()
    run = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "wall_seconds": round(time.time() - started, 3),
        "stages": [
            {"name": s.name, "seconds": round(s.seconds, 3), "tasks": s.tasks, "resumed": s.resumed}
            for s in sorted(executor.stages, key=_pipeline_position)
        ],
        "executor": executor.describe(),
        "lithops": {
            "backend": executor.backend,
            "storage": lithops_config["lithops"].get("storage"),
            "workers": workers,
        },
        "dataset": {
            k: ds[k] for k in ("n_spectra", "n_peaks", "width", "height", "mz_min", "mz_max", "ibd_bytes")
        },
        "sizing": {
            "memory_mb": sizing.memory_mb,
            "workers": sizing.workers,
            "backends": sizing.backends,
            "dataset_sort": {
                "one_task": ds["sort"]["one_task"],
                "chunk_tasks": len(ds["sort"]["chunk_peaks"]),
                "merge_tasks": len(ds["sort"]["merge_rows"]),
            },
        },
        "ions": {
            "distinct_ion_formulas": len(ion_table.ion_formulas),
            "targets": int(ion_table.target.sum()),
            "centroids_from_cache": from_cache,
            "scored": len(metrics),
        },
        "peak_rss_mb": _peak_rss_mb(executor, sorter),
        "python": platform.python_version(),
    }
    return Results(
        annotations=annotations,
        images=images,
        config=config,
        databases=[db.name for db in databases],
        run=run,
    )


def _pipeline_position(record: StageRecord) -> int:
    """Where a stage comes in :data:`STAGE_ORDER` (other names after those)."""
    return STAGE_ORDER.index(record.name) if record.name in STAGE_ORDER else len(STAGE_ORDER)


def _dataset_identity(dataset: DatasetRef, storage: Any) -> list[dict[str, Any]]:
    """What identifies the dataset's two files (path or URI, size, modification time)."""
    if dataset.in_storage:
        return [
            object_identity(storage, dataset.imzml, DatasetError),
            object_identity(storage, dataset.ibd, MissingIbdError),
        ]
    return [file_identity(dataset.imzml), file_identity(dataset.ibd)]


def _job_key(identity: list[dict[str, Any]], databases: list[MolecularDB], config: AnnotationConfig) -> str:
    """The key of a job's intermediate data: the same dataset, databases and settings give the
    same key, so a rerun finds what an interrupted run finished."""
    return digest(
        identity,
        [(db.name, db.targeted) for db in databases],
        [db.formulas for db in databases],
        config.to_ds_config(),
    )


def _gather_scores(
    executor: BaseExecutor, keys: list[str], ion_table: IonTable
) -> tuple[pd.DataFrame, dict[int, list[tuple[np.ndarray, np.ndarray]]]]:
    """Metrics of all kept ions (indexed by formula_i) and the sparse images of kept targets."""
    parts, images = [], {}
    for key in keys:
        out = get_arrays(executor.storage, executor.bucket, key)
        frame = pd.DataFrame({name: out[name] for name in METRIC_COLUMNS}, index=out["formula_i"])
        for name in PEAK_COLUMNS:
            frame[name] = list(out[name])
        parts.append(frame)
        images.update(_split_images(out))
    columns = list(METRIC_COLUMNS + PEAK_COLUMNS)
    metrics = pd.concat(parts) if parts else pd.DataFrame(columns=columns)
    metrics.index.name = "formula_i"
    metrics["msm"] = metrics["msm"].fillna(0.0)
    return metrics, images


def _split_images(out: dict[str, np.ndarray]) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    counts = out["image_counts"]
    bounds = np.concatenate(([0], np.cumsum(counts.ravel())))
    n_slots = counts.shape[1] if counts.ndim == 2 else 0
    images = {}
    for row, formula_i in enumerate(out["image_formula_i"]):
        slots = []
        for k in range(n_slots):
            a, b = bounds[row * n_slots + k], bounds[row * n_slots + k + 1]
            slots.append((out["image_pixels"][a:b], out["image_ints"][a:b]))
        images[int(formula_i)] = slots
    return images


def _annotation_table(
    tables: list[pd.DataFrame],
    metrics: pd.DataFrame,
    ion_table: IonTable,
    centroid_mz: np.ndarray,
    centroid_ints: np.ndarray,
    databases: list[MolecularDB],
) -> pd.DataFrame:
    """Join FDR rows with metrics, centroids and molecule names; METASPACE column names."""
    from ionscape.results import ANNOTATION_COLUMNS

    if not tables or all(t.empty for t in tables):
        return pd.DataFrame(columns=ANNOTATION_COLUMNS)
    table = pd.concat([t for t in tables if not t.empty], ignore_index=True)
    fi = table["formula_i"].to_numpy()
    metric_rows = metrics.loc[fi]
    for name in METRIC_COLUMNS + PEAK_COLUMNS:
        if name != "msm":
            table[name] = metric_rows[name].to_numpy()
    table["ion_formula"] = ion_table.ion_formulas[fi]
    table["ion"] = (
        table["formula"]
        + table["chem_mod"]
        + table["neutral_loss"]
        + table["adduct"].str.replace(r"^\[M\][+-]$", "", regex=True)
    )
    mz, ints = centroid_mz[fi], centroid_ints[fi]
    table["mz"] = mz[:, 0]
    table["theo_mz"] = mz[:, 0]
    table["theo_mzs"] = list(mz)
    table["theo_ints"] = list(ints)
    table["target"] = True
    molecules = pd.concat([db.molecules.assign(moldb_id=db.name) for db in databases])
    names = molecules.groupby(["moldb_id", "formula"], sort=False).agg(
        molecule_ids=("id", lambda s: "; ".join(map(str, s))),
        molecule_names=("name", lambda s: "; ".join(map(str, s))),
    )
    table = table.join(names, on=["moldb_id", "formula"])
    table = table.sort_values(
        ["moldb_id", "fdr", "msm", "formula", "adduct"],
        ascending=[True, True, False, True, True],
        kind="stable",
    )
    return table[ANNOTATION_COLUMNS].reset_index(drop=True)


def _peak_rss_mb(executor: BaseExecutor, sorter: BaseExecutor) -> dict[str, float]:
    """Peak resident memory of this process and of the largest process that ran tasks (MB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    largest = max(executor.task_peak_rss_mb(), sorter.task_peak_rss_mb())
    return {"driver": round(own, 1), "largest_task": round(largest, 1)}


def dataset_ref(imzml: str | Path, ibd: str | Path | None = None) -> DatasetRef:
    """A :class:`DatasetRef` for a local imzML path (the .ibd found next to it) or a storage URI."""
    imzml = str(imzml)
    if ibd is None:
        in_storage = imzml.startswith(STORAGE_SCHEME)
        ibd = imzml[: -len(Path(imzml).suffix)] + ".ibd" if in_storage else find_ibd(imzml)
    return DatasetRef(imzml=imzml, ibd=str(ibd))
