"""What the measured costs predict for METASPACE's scale-out experiment: 21 GB on 39–788 executors.

The model, per executor kind, for a dataset of S GB on N executors::

    T(N) = start-up + Σ_stage [ map overhead + work_stage · S / N + moved_stage · S / (N · B) ]

* ``work_stage`` (CPU seconds per GB of .ibd) comes from the measured jobs: the stage's wall
  time with one worker divided by the dataset's size. A 21 GB dataset does not fit one task:
  its peaks are read, sorted and written twice (chunk tasks, then merge tasks), so a dataset
  stage measured as one task counts twice.
* ``moved_stage`` (GB moved through object storage per GB of .ibd): the dataset stage reads the
  .ibd, writes and reads the sorted chunks and writes the segments (4×); the annotate stage reads
  the segments (1×). ``B`` is one executor's object-storage throughput.
* ``start-up`` and the per-map overhead are what the executor costs before any work: for cloud
  functions the invocation and cold start of each map; for a Spark cluster that is already
  running, the driver's context and the executors' Python workers (measured here, in local mode).

CoreMetabolome against a dataset of the large synthetic kind, three maps (dataset, centroids from
a warm cache, annotate). Not measured: the real cloud; every assumption is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from suite.report import startup_seconds, table

PAPER_GB = 21.0
PAPER_EXECUTORS = (39, 100, 200, 394, 788)
"""METASPACE's experiment: a 21 GB dataset, 39 to 788 executors (serverless: 21 GB in 66 s on 39)."""
MOVED_PER_GB = {"dataset": 4.0, "annotate": 1.0}


@dataclass(frozen=True)
class ExecutorModel:
    """Fixed costs of one executor kind on a cluster or cloud."""

    name: str
    startup_s: float
    map_overhead_s: float
    storage_mb_per_s: float


CLOUD_FUNCTIONS = ExecutorModel("Lithops on cloud functions", 0.0, 4.0, 80.0)
"""4 s of invocation and cold start per map and 80 MB/s per function: the assumptions of ``--plan``."""


SPARK_MAP_OVERHEAD_S = 0.5
"""Scheduling a stage on executors that are already up (Python workers reused)."""


def work_per_gb(records: Sequence[dict[str, Any]], stage: str) -> float:
    """CPU seconds per GB of .ibd of ``stage``: its wall time in the one-worker jobs (the largest
    dataset among them), divided by the dataset's size; doubled for a one-task dataset stage."""
    single = [r for r in records if r["workload"]["workers"] == 1 and stage in r["stages"]]
    if not single:
        raise ValueError(f"no one-worker job with a {stage!r} stage")
    largest = max(single, key=lambda r: r["ibd_mb"])
    passes = 2 if stage == "dataset" and largest["tasks"].get("dataset", 0) == 1 else 1
    return passes * largest["stages"][stage] / (largest["ibd_mb"] / 1024)


def projection_table(workers: Sequence[dict[str, Any]], executors: Sequence[dict[str, Any]]) -> str:
    """The projection from the worker series (one-worker jobs) and the executor comparison."""
    lithops = [r for r in workers if r["workload"].get("executor", "lithops") == "lithops"]
    work = {stage: work_per_gb(lithops, stage) for stage in ("dataset", "annotate")}
    spark_jobs = [r for r in executors if r["workload"].get("executor") == "spark"]
    spark_startup = max((startup_seconds(r) for r in spark_jobs), default=0.0)
    models = [
        CLOUD_FUNCTIONS,
        ExecutorModel("Spark cluster (already running)", spark_startup, SPARK_MAP_OVERHEAD_S, 80.0),
    ]
    head = [
        "executor kind",
        "executors",
        "start-up s",
        "overheads s",
        "CPU s",
        "storage s",
        "total s",
        "MB/s per executor",
    ]
    rows = [
        [
            model.name,
            str(row["executors"]),
            f"{row['startup_s']:.1f}",
            f"{row['overhead_s']:.1f}",
            f"{row['cpu_s']:.1f}",
            f"{row['storage_s']:.1f}",
            f"{row['total_s']:.1f}",
            f"{row['mb_per_s_per_executor']:.1f}",
        ]
        for model in models
        for row in project(work, model)
    ]
    basis = ", ".join(f"{stage} {seconds:.1f} CPU s/GB" for stage, seconds in work.items())
    return f"Work measured here: {basis}.\n\n" + table(head, rows)


def project(
    work: dict[str, float],
    model: ExecutorModel,
    size_gb: float = PAPER_GB,
    executors: Sequence[int] = PAPER_EXECUTORS,
) -> list[dict[str, float]]:
    """Predicted wall time on each number of executors, split into start-up, overheads, CPU and storage."""
    rows = []
    for n in executors:
        cpu = sum(w * size_gb / n for w in work.values())
        moved = sum(MOVED_PER_GB.get(stage, 0.0) for stage in work) * size_gb * 1024
        storage = moved / (n * model.storage_mb_per_s)
        overhead = model.map_overhead_s * 3
        rows.append(
            {
                "executors": n,
                "startup_s": model.startup_s,
                "overhead_s": overhead,
                "cpu_s": cpu,
                "storage_s": storage,
                "total_s": model.startup_s + overhead + cpu + storage,
                "mb_per_s_per_executor": size_gb * 1024 / (model.startup_s + overhead + cpu + storage) / n,
            }
        )
    return rows
