"""Lithops localhost against Spark local[N]: the same jobs on both executors, stage by stage.

    python benchmarks/bench_executors.py [--workers 2] [--side 32] [--peaks 500] [--repeat 2]

Workloads: the bundled example against CoreMetabolome with its own settings, and a synthetic
dataset (``--side`` × ``--side`` pixels, ``--peaks`` peaks per spectrum, 50 planted ions)
against CoreMetabolome. Every job computes its centroids (no cache), alternating executors.
Spark is started once, before the jobs, and that is timed on its own (its Python workers start
during the first Spark job). Prints wall time per stage, task counts, and whether both executors
gave the same table. Lithops' local data and the synthetic dataset go to a temporary folder,
deleted at the end. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_SCRATCH = tempfile.mkdtemp(prefix="ionscape-bench-executors-")
os.environ["TMPDIR"] = _SCRATCH  # Lithops' local storage and workers: before lithops is imported
tempfile.tempdir = _SCRATCH
os.environ.setdefault("OMP_NUM_THREADS", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
from suite.report import STAGES, table  # noqa: E402
from suite.workloads import annotation_config, dataset_spec, ensure_dataset  # noqa: E402

import ionscape  # noqa: E402
from ionscape.pipeline.executor import default_lithops_config  # noqa: E402
from ionscape.pipeline.spark import spark_context  # noqa: E402

EXECUTORS = ("lithops", "spark")


def run_job(imzml: Path, config: Any, executor: str, workers: int) -> tuple[float, ionscape.Results]:
    """One annotation job against CoreMetabolome; its wall time and results."""
    start = time.perf_counter()
    results = ionscape.annotate(
        imzml,
        ["core_metabolome"],
        config,
        lithops_config=default_lithops_config(workers),
        executor=executor,
        workers=workers,
        use_centroid_cache=False,
    )
    return time.perf_counter() - start, results


def row(workload: str, executor: str, attempt: int, wall: float, results: ionscape.Results) -> list[str]:
    stages = {s["name"]: s for s in results.run["stages"]}
    tasks = "/".join(str(stages[name]["tasks"]) for name in ("dataset", "centroids", "annotate"))
    per_stage = [f"{stages[name]['seconds']:.2f}" if name in stages else "-" for name in STAGES]
    rss = results.run["peak_rss_mb"]["largest_task"]
    return [workload, executor, str(attempt), f"{wall:.2f}", *per_stage, tasks, f"{rss:.0f}"]


def identical(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """True when the two tables are equal, values and dtypes (per-peak arrays included)."""
    try:
        pd.testing.assert_frame_equal(left, right)
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--side", type=int, default=32, help="synthetic dataset: pixels per side")
    parser.add_argument("--peaks", type=int, default=500, help="synthetic dataset: peaks per spectrum")
    parser.add_argument("--repeat", type=int, default=2, help="jobs per workload and executor")
    args = parser.parse_args()
    try:
        workloads = {
            "example": (ionscape.example_dataset(), ionscape.example_config()),
            f"synthetic {args.side}x{args.side}x{args.peaks}": (
                ensure_dataset(dataset_spec(args.side, args.side, args.peaks), Path(_SCRATCH) / "data"),
                annotation_config(),
            ),
        }
        start = time.perf_counter()
        context = spark_context(workers=args.workers)
        spark_start = time.perf_counter() - start
        spark = f"Spark {context.version} on {context.master}"
        rows, same = [], {}
        for name, (imzml, config) in workloads.items():
            tables: dict[str, pd.DataFrame] = {}
            for attempt in range(1, args.repeat + 1):
                for executor in EXECUTORS:
                    wall, results = run_job(imzml, config, executor, args.workers)
                    rows.append(row(name, executor, attempt, wall, results))
                    tables.setdefault(executor, results.annotations)
            same[name] = identical(tables["spark"], tables["lithops"])
        context.stop()
    finally:
        shutil.rmtree(_SCRATCH, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{spark}: started in {spark_start:.1f} s\n")
    head = ["workload", "executor", "run", "wall s", *STAGES, "tasks d/c/a", "task RSS MB"]
    print(table(head, rows))
    print()
    for name, equal in same.items():
        print(f"{name}: Spark table {'==' if equal else '!='} Lithops table")


if __name__ == "__main__":
    main()
