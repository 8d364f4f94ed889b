"""Run the ionscape benchmark suite: speed, scale and accuracy on synthetic data with known answers.

    python benchmarks/run.py --suite small|medium|large|all [--only matrix,workers,...]

Every job runs in its own process with Lithops localhost (2 workers unless the series varies
them); the suite's figures go to ``benchmarks/results/<suite>.json`` (after every job), its
tables to ``<suite>.md`` and its plots to ``<suite>-*.png``. ``--report`` redoes the tables and
plots from the JSON without running anything. Synthetic datasets are generated on first use
into ``--data-dir`` (several GB for the large suite). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite import projection, report
from suite.accuracy import evaluate
from suite.measure import Runner
from suite.plan import SUITES, plan
from suite.scaling import fit_series, plot_series, plot_workers
from suite.workloads import DATABASES, REPO, SIZES, annotation_config

import ionscape
from ionscape.synthetic import load_truth

SERIES = ("matrix", "executors", "workers", "pixels", "peaks", "database")
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    import psutil

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
        "ionscape": ionscape.__version__,
        "source": source_digest(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "reference_s": reference_speed(),
    }


def reference_speed() -> dict[str, float]:
    """Seconds one core takes for two fixed tasks (best of 3), to compare hosts of the same type:
    numpy sorting 10M float64 values, and the interpreter summing 10M integers in a Python loop."""

    def best(task: Callable[[], object]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            task()
            times.append(time.perf_counter() - started)
        return round(min(times), 3)

    values = np.random.default_rng(0).random(10_000_000)

    def python_loop() -> int:
        total = 0
        for i in range(10_000_000):
            total += i
        return total

    return {"numpy_sort": best(lambda: np.sort(values)), "python_loop": best(python_loop)}


def cpu_model() -> str:
    """The processor's model name (Linux), else the machine type."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def source_digest() -> str:
    """Git commit of the repository and a digest of the imported ionscape package's Python files.

    The digest tells apart runs of the same commit with different uncommitted changes.
    """
    package = Path(ionscape.__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    return f"{commit or 'unknown commit'} + ionscape files {digest.hexdigest()} ({package})"


def with_accuracy(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the evaluation of its annotations against the dataset's ground truth."""
    annotations = pd.read_csv(record["annotations_csv"], keep_default_na=False, na_values={"fdr": [""]})
    formulas = ionscape.load_moldb(record["database_path"], skip_invalid=True).formulas
    adducts = annotation_config().isotope_generation.adducts
    return {**record, "accuracy": evaluate(annotations, load_truth(record["imzml"]), formulas, adducts)}


def write_report(suite: str, data: dict[str, Any], out: Path) -> None:
    """Tables (``<suite>.md``) and plots (``<suite>-*.png``) of a suite's records."""
    records = data["records"]
    by_series = {s: [r for r in records if r["workload"]["series"] == s] for s in SERIES}
    parts = [f"# Suite {suite}", "", f"Machine: {json.dumps(data['machine'])}", ""]
    for series in SERIES:
        if by_series[series]:
            parts += [f"## {series}", "", report.timing_table(by_series[series]), ""]
        if series == "executors" and by_series[series]:
            parts += ["Lithops against Spark:", "", report.executor_table(by_series[series]), ""]
    fits = {}
    for series in ("pixels", "peaks", "database"):
        chosen = [r for r in by_series[series] if r["workload"]["cache"] == "warm"]
        if len({r["label"] for r in chosen}) >= 2:
            fits[f"{series} (warm)"] = fit_series(chosen, series)
            plot_series(
                chosen, series, f"{suite}: time and memory against {series}", out / f"{suite}-{series}.png"
            )
    cold_db = [r for r in by_series["database"] if r["workload"]["cache"] == "cold"]
    if len(cold_db) >= 2:
        fits["database (cold)"] = fit_series(cold_db, "database")
        plot_series(
            cold_db,
            "database",
            f"{suite}: cold cache, against database size",
            out / f"{suite}-database-cold.png",
        )
    if fits:
        title = "## Exponents b of time or memory ∝ size^b: fit over all sizes / between the two largest"
        parts += [title, "", report.exponents_table(fits), ""]
    if by_series["workers"]:
        groups: dict[str, list] = {}
        for r in by_series["workers"]:
            executor = r["workload"].get("executor", "lithops")
            groups.setdefault(f"{r['label']}, {executor}, {r['workload']['cache']}", []).append(r)
        plot_workers(groups, out / f"{suite}-workers.png")
    if any(r["workload"]["workers"] == 1 for r in by_series["workers"]):
        parts += [
            f"## Projection: {projection.PAPER_GB:.0f} GB on {projection.PAPER_EXECUTORS[0]}–"
            f"{projection.PAPER_EXECUTORS[-1]} executors",
            "",
            projection.projection_table(by_series["workers"], by_series["executors"]),
            "",
        ]
    evaluated = list({r["label"]: r for r in records if r["workload"]["series"] == "matrix"}.values())
    if evaluated:
        parts += [
            "## Accuracy",
            "",
            report.accuracy_table(evaluated),
            "",
            "Annotations at FDR ≤ 10 % by class:",
            "",
        ]
        parts += [report.class_table(evaluated), ""]
    (out / f"{suite}.md").write_text("\n".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, choices=[*SUITES, "all"])
    parser.add_argument(
        "--only", default=",".join(SERIES), help=f"comma-separated subset of {', '.join(SERIES)}"
    )
    parser.add_argument(
        "--databases", help=f"run only the jobs with these databases: comma-separated {', '.join(DATABASES)}"
    )
    parser.add_argument(
        "--sizes", help=f"run only the jobs on these datasets: comma-separated {', '.join(SIZES)}"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "ionscape-bench")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", action="store_true", help="only redo tables and plots from the JSON")
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    name = args.suite if wanted >= set(SERIES) else "-".join([args.suite, *sorted(wanted)])
    databases = {DATABASES[key].name for key in args.databases.split(",")} if args.databases else None
    sizes = {SIZES[key] for key in args.sizes.split(",")} if args.sizes else None
    if databases or sizes:
        name += "-" + "-".join(filter(None, [args.sizes, args.databases])).replace(",", "-")
    json_path = args.out / f"{name}.json"
    if not args.report:
        unknown = wanted - set(SERIES)
        if unknown:
            parser.error(f"unknown series {', '.join(sorted(unknown))}")
        runner = Runner(args.data_dir, args.data_dir / f"work-{args.suite}-{time.strftime('%Y%m%d-%H%M%S')}")
        data = {"machine": machine(), "records": [], "failures": runner.failures}
        args.out.mkdir(parents=True, exist_ok=True)
        runner.warm_up()
        for workload in plan(args.suite):
            if workload.series not in wanted:
                continue
            if databases and workload.database.name not in databases:
                continue
            if sizes and (workload.width, workload.height, workload.peaks) not in sizes:
                continue
            runner.measure(workload)
            data["records"] += [with_accuracy(r) for r in runner.records[len(data["records"]) :]]
            json_path.write_text(json.dumps(data, indent=1, default=str))
    data = json.loads(json_path.read_text())
    write_report(name, data, args.out)
    print(f"wrote {args.out / (name + '.md')}")


if __name__ == "__main__":
    main()
