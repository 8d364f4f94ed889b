"""Markdown tables of benchmark records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STAGES = ("ions", "dataset", "centroids", "annotate", "fdr", "results")


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_seconds(record: dict[str, Any]) -> float:
    """CPU seconds of the job's process tree. Spark's JVM outlives the job process and is never
    waited for by it, so the resource usage of children misses it; Spark jobs use the sampled
    CPU times of the tree's processes instead (within 3 % of the former on Lithops jobs)."""
    if record["workload"].get("executor") == "spark":
        return record.get("tree_cpu_sampled_s", float("nan"))
    return record.get("tree_cpu_s", float("nan"))


def _cpu(record: dict[str, Any]) -> str:
    seconds = cpu_seconds(record)
    return "–" if seconds != seconds else f"{seconds:.0f}"


def _tasks(record: dict[str, Any]) -> str:
    tasks = record["tasks"]
    per_stage = "/".join(str(tasks.get(stage, 0)) for stage in ("dataset", "centroids", "annotate"))
    return f"{sum(tasks.values())} ({per_stage})"


def timing_table(records: Sequence[dict[str, Any]]) -> str:
    """Wall time per stage, throughput, tasks, memory and machine load of each job."""
    head = [
        "workload",
        "executor",
        "workers",
        "cache",
        "ion formulas",
        "wall s",
        *STAGES,
        "process s",
        "CPU s",
        "ibd MB/s",
        "ions/s",
        "tasks (ds/cen/ann)",
        "tree peak RSS MiB",
        "load",
    ]
    rows = []
    for r in records:
        rows.append(
            [
                r["label"],
                r["workload"].get("executor", "lithops"),
                str(r["workload"]["workers"]),
                r["workload"]["cache"],
                f"{r['ions']:,}",
                f"{r['wall_s']:.1f}",
                *(f"{r['stages'].get(s, 0):.1f}" for s in STAGES),
                f"{r['process_s']:.1f}",
                _cpu(r),
                f"{r['ibd_mb'] / r['wall_s']:.1f}",
                f"{r['ions'] / r['wall_s']:,.0f}",
                _tasks(r),
                f"{r['tree_peak_rss_mb']:,.0f}",
                f"{r['load_before']:.1f}",
            ]
        )
    return table(head, rows)


PAPER_RATIOS = {"small": "≈ 2", "medium": "1.2 – 1.5", "large": "≈ 1"}
"""METASPACE's published Spark / serverless time ratios by dataset size."""


def executor_table(records: Sequence[dict[str, Any]]) -> str:
    """Lithops against Spark on the same jobs: wall time per stage, start-up, and Spark / Lithops."""
    by_size: dict[str, dict[str, dict[str, Any]]] = {}
    for r in records:
        by_size.setdefault(r["label"], {})[r["workload"].get("executor", "lithops")] = r
    head = [
        "workload",
        "executor",
        "wall s",
        "start-up s",
        *STAGES[1:4],
        "process s",
        "CPU s",
        "Spark / Lithops",
    ]
    rows = []
    for label, pair in by_size.items():
        for executor in ("lithops", "spark"):
            r = pair.get(executor)
            if r is None:
                continue
            ratio = ""
            if executor == "spark" and "lithops" in pair:
                lithops = pair["lithops"]
                wall, process = r["wall_s"] / lithops["wall_s"], r["process_s"] / lithops["process_s"]
                ratio = f"{wall:.2f} (process {process:.2f})"
            rows.append(
                [
                    label,
                    executor,
                    f"{r['wall_s']:.1f}",
                    f"{startup_seconds(r):.1f}",
                    *(f"{r['stages'].get(s, 0):.1f}" for s in STAGES[1:4]),
                    f"{r['process_s']:.1f}",
                    _cpu(r),
                    ratio,
                ]
            )
    return table(head, rows)


def startup_seconds(record: dict[str, Any]) -> float:
    """Wall time of the annotate call outside its stages: the executor's start-up (Spark's JVM and
    context, Lithops' storage check) and the job's own bookkeeping."""
    return record["wall_s"] - sum(record["stages"].values())


def exponents_table(fits: dict[str, dict[str, tuple[float, float]]]) -> str:
    """Power-law exponents, one row per series: fit over all sizes / between the two largest."""
    measures = list(next(iter(fits.values())))
    rows = [
        [series, *(f"{all_sizes:.2f} / {top:.2f}" for all_sizes, top in values.values())]
        for series, values in fits.items()
    ]
    return table(["series", *measures], rows)


def accuracy_table(records: Sequence[dict[str, Any]]) -> str:
    """Recall at FDR ≤ 10 % and, per FDR level, reported annotations and observed FDP."""
    levels = list(records[0]["accuracy"]["levels"])
    head = [
        "workload",
        "recall @10%",
        *(f"FDR≤{float(lv):.0%}: n / FDP / FDP w/o isobars" for lv in levels),
    ]
    rows = []
    for r in records:
        acc = r["accuracy"]
        cells = [r["label"], f"{acc['found']}/{acc['findable']} = {acc['recall']:.0%}"]
        for level in levels:
            counts = acc["levels"][level]
            non_isobar = counts["reported"] - counts["isobar"]
            without = counts["other"] / non_isobar if non_isobar else 0.0
            cells.append(f"{counts['reported']} / {counts['fdp']:.0%} / {without:.0%}")
        rows.append(cells)
    return table(head, rows)


def class_table(records: Sequence[dict[str, Any]], level: str = "0.10") -> str:
    """What the annotations at one FDR level are, by ground-truth class."""
    classes = ("planted", "same_ion", "matrix", "isobar", "other")
    rows = [[r["label"], *(str(r["accuracy"]["levels"][level][c]) for c in classes)] for r in records]
    return table(["workload", *classes], rows)
