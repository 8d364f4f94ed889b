"""Memory of the dataset stage's tasks against the budget they were sized for.

    python benchmarks/bench_memory.py [--quick] [--budget-mb 16] [--json out.json]

Writes a synthetic dataset several times larger than the budget, then runs every task of the
dataset stage (the preparing task, each chunk sort, each merge) in a fresh forked process and
records its peak traced allocations (tracemalloc: numpy buffers and Python objects) and the
growth of its resident memory (RSS). Both are compared with what the sizing model says the task
may hold. The one-task path runs too, with a budget large enough for the whole dataset. Prints a
Markdown table; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from multiprocessing import get_context
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
_TMP = tempfile.mkdtemp(prefix="ionscape-bench-memory-")
os.environ["TMPDIR"] = _TMP
tempfile.tempdir = _TMP

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from ionscape.pipeline.dataset import prepare_dataset  # noqa: E402
from ionscape.pipeline.executor import default_lithops_config  # noqa: E402
from ionscape.pipeline.objects import put_arrays  # noqa: E402
from ionscape.pipeline.sort import (  # noqa: E402
    SortBudget,
    chunk_bytes_per_peak,
    group_segments,
    merge_bytes_per_row,
    merge_plans,
    merge_segments,
    sort_chunk,
)
from ionscape.synthetic import SynthSpec, synthesize  # noqa: E402

MIB = 2**20


def _storage() -> Any:
    import lithops

    return lithops.Storage(config=default_lithops_config(1))


def _measured(function: Any, kwargs: dict[str, Any]) -> tuple[Any, int, int]:
    """Run ``function(**kwargs, storage=...)`` here; returns its result, peak traced bytes, RSS growth."""
    storage = _storage()
    start_rss = psutil.Process().memory_info().rss
    tracemalloc.start()
    result = function(**kwargs, storage=storage)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return result, peak, max(0, max_rss - start_rss)


def run_isolated(function: Any, kwargs: dict[str, Any]) -> tuple[Any, int, int]:
    """:func:`_measured` in a fresh forked process."""
    context = get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=lambda: send.send(_measured(function, kwargs)))
    child.start()
    try:
        return receive.recv()
    except EOFError:
        raise RuntimeError(f"{function.__name__} failed in its process") from None
    finally:
        child.join()


def measure(imzml: Path, budget: SortBudget, prefix: str) -> list[dict[str, Any]]:
    """Every task of the dataset stage under ``budget``, with its memory and its model bound."""
    dataset = {"imzml": str(imzml), "ibd": str(imzml.with_suffix(".ibd"))}
    sizing = {"working_bytes": budget.working_bytes, "segment_mb": budget.segment_mb}
    started = time.perf_counter()
    prepared, peak, rss = run_isolated(
        prepare_dataset,
        {"dataset": dataset, "prefix": prefix, "budget": sizing, "min_tasks": 1, "allow_profile": False},
    )
    info = prepared["info"]
    mz_dtype, int_dtype = np.dtype(info["mz_dtype"]), np.dtype(info["int_dtype"])
    if "segments" in prepared:
        bound = info["declared_peaks"] * chunk_bytes_per_peak(mz_dtype, int_dtype) + 2 * budget.segment_bytes
        return [_row("one task", info["declared_peaks"], bound, peak, rss, time.perf_counter() - started)]
    rows = [
        _row(
            "prepare (index, sample)", info["declared_peaks"], None, peak, rss, time.perf_counter() - started
        )
    ]
    chunks = []
    for task in prepared["chunks"]:
        declared = task.pop("declared_peaks")
        started = time.perf_counter()
        chunk, peak, rss = run_isolated(sort_chunk, task)
        bound = declared * chunk_bytes_per_peak(mz_dtype, int_dtype)
        rows.append(_row("chunk sort", declared, bound, peak, rss, time.perf_counter() - started))
        chunks.append(chunk)
    totals = np.sum([c["counts"] for c in chunks], axis=0)
    groups = group_segments(totals, budget.merge_rows(mz_dtype))
    storage = _storage()
    for i, ((first, stop), plan) in enumerate(zip(groups, merge_plans(chunks, groups), strict=True)):
        task = {
            "plan_key": put_arrays(storage, storage.bucket, f"{prefix}/dataset/merge-{i:05d}", **plan),
            "prefix": f"{prefix}/dataset",
            "mz_dtype": info["mz_dtype"],
            "first_segment": first,
            "max_rows": budget.segment_rows(mz_dtype),
        }
        n_rows = int(totals[first:stop].sum())
        started = time.perf_counter()
        _, peak, rss = run_isolated(merge_segments, task)
        bound = n_rows * merge_bytes_per_row(mz_dtype) + 2 * budget.segment_bytes
        rows.append(_row("merge", n_rows, bound, peak, rss, time.perf_counter() - started))
    return rows


def _row(task: str, n: int, bound: int | None, peak: int, rss: int, seconds: float) -> dict[str, Any]:
    return {
        "task": task,
        "peaks": n,
        "model_bytes": bound,
        "traced_bytes": peak,
        "rss_growth": rss,
        "s": seconds,
    }


def summarise(rows: list[dict[str, Any]], budget: SortBudget) -> list[dict[str, Any]]:
    """One line per task kind: count, largest model bound, traced peak and RSS growth, traced/model."""
    out = []
    for kind in dict.fromkeys(r["task"] for r in rows):
        group = [r for r in rows if r["task"] == kind]
        ratios = [r["traced_bytes"] / r["model_bytes"] for r in group if r["model_bytes"]]
        out.append(
            {
                "task": kind,
                "tasks": len(group),
                "peaks (max)": max(r["peaks"] for r in group),
                "model MB (max)": max((r["model_bytes"] or 0) for r in group) / MIB,
                "traced MB (max)": max(r["traced_bytes"] for r in group) / MIB,
                "RSS growth MB (max)": max(r["rss_growth"] for r in group) / MIB,
                "traced/model (max)": max(ratios) if ratios else float("nan"),
                "budget MB": budget.working_bytes / MIB,
                "seconds": sum(r["s"] for r in group),
            }
        )
    return out


def markdown(lines: list[dict[str, Any]]) -> str:
    head = list(lines[0])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for line in lines:
        cells = [
            f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v
            for v in line.values()
        ]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 40x40 px dataset instead of 80x80")
    parser.add_argument("--budget-mb", type=float, default=16.0, help="working set of a task (default 16)")
    parser.add_argument("--json", type=Path, help="also write the per-task figures as JSON")
    args = parser.parse_args()
    side = 40 if args.quick else 80
    imzml = Path(_TMP) / "memory.imzML"
    synthesize(imzml, SynthSpec(width=side, height=side, peaks_per_spectrum=1000, seed=3), truth_images=False)
    small = SortBudget(int(args.budget_mb * MIB), segment_mb=1.0)
    large = SortBudget(4096 * MIB, segment_mb=1.0)
    rows = measure(imzml, small, "bench/external") + measure(imzml, large, "bench/one-task")
    ibd_mb = imzml.with_suffix(".ibd").stat().st_size / MIB
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"dataset: {side}x{side} px, .ibd {ibd_mb:.1f} MB; external sort budget {args.budget_mb} MB")
    print(markdown(summarise(rows[:-1], small) + summarise(rows[-1:], large)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    print(json.dumps({"tasks": len(rows)}), file=sys.stderr)


if __name__ == "__main__":
    main()
