"""Time every stage of an annotation job, cold and warm centroid cache.

    python benchmarks/bench_pipeline.py [--quick] [--json out.json]

Workloads: the bundled example × mol_db5 (as in the fidelity test), and a synthetic dataset
(50×50 px, ~1000 peaks per spectrum, 12 planted ions) × CoreMetabolome. Each runs twice: with an
empty centroid cache (cold) and again with the cache filled (warm). Prints a Markdown table of
wall time per stage, throughput and peak memory; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
_TMP = tempfile.mkdtemp(prefix="ionscape-bench-")
os.environ["TMPDIR"] = _TMP  # fresh Lithops storage, hence an empty centroid cache
tempfile.tempdir = _TMP

import ionscape  # noqa: E402
from ionscape.pipeline.executor import default_lithops_config  # noqa: E402
from ionscape.synthetic import PlantedIon, write_planted_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PLANTED = [
    PlantedIon(f, a)
    for f, a in [
        ("C6H12O6", "+H"),
        ("C5H9NO4", "+Na"),
        ("C10H16N5O13P3", "+H"),
        ("C16H32O2", "+K"),
        ("C42H82NO8P", "+Na"),
        ("C9H17N3O6", "+H"),
        ("C18H34O2", "+H"),
        ("C4H9NO4S", "+Na"),
        ("C21H30O2", "+K"),
        ("C10H12N5O6P", "+H"),
        ("C5H5N5", "+H"),
        ("C27H46O", "+Na"),
    ]
]


def workloads(quick: bool) -> list[tuple[str, Path, list, ionscape.AnnotationConfig]]:
    """(name, imzML, databases, config) of each benchmark workload."""
    mol_db5 = ionscape.load_moldb(ROOT / "tests" / "data" / "moldb" / "mol_db5.csv", targeted=False)
    out = [("example × mol_db5", ionscape.example_dataset(), [mol_db5], ionscape.example_config())]
    if not quick:
        path = write_planted_dataset(
            Path(_TMP) / "synthetic.imzML", PLANTED, width=50, height=50, noise_peaks=1000
        )
        config = ionscape.AnnotationConfig.for_polarity(
            "+", resolving_power=80000, at_mz=700, analyzer="FTICR"
        )
        out.append(("synthetic 50×50 × CoreMetabolome", path, ["core_metabolome"], config))
    return out


def run(name: str, imzml: Path, databases: list, config: ionscape.AnnotationConfig, cache: str) -> dict:
    """One job; returns its figures."""
    start = time.perf_counter()
    results = ionscape.annotate(imzml, databases, config, lithops_config=default_lithops_config(2))
    wall = time.perf_counter() - start
    run = results.run
    ibd_mb = run["dataset"]["ibd_bytes"] / 2**20
    return {
        "workload": name,
        "cache": cache,
        "wall_s": round(wall, 2),
        "stages": {s["name"]: s["seconds"] for s in run["stages"]},
        "tasks": {s["name"]: s["tasks"] for s in run["stages"] if s["tasks"]},
        "ibd_mb": round(ibd_mb, 2),
        "mb_per_s": round(ibd_mb / wall, 2),
        "ions": run["ions"]["distinct_ion_formulas"],
        "ions_per_s": round(run["ions"]["distinct_ion_formulas"] / wall),
        "annotations_fdr10": int((results.annotations["fdr"] <= 0.1).sum()),
        "peak_rss_mb": run["peak_rss_mb"],
    }


def markdown(rows: list[dict]) -> str:
    """The figures as a Markdown table."""
    stages = ["ions", "dataset", "centroids", "annotate", "fdr", "results"]
    head = [
        "workload",
        "cache",
        "wall s",
        *stages,
        "ibd MB/s",
        "ions/s",
        "FDR≤10%",
        "peak RSS MB (driver/task)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["workload"],
            r["cache"],
            f"{r['wall_s']:.1f}",
            *(f"{r['stages'].get(s, 0):.2f}" for s in stages),
            f"{r['mb_per_s']:.2f}",
            f"{r['ions_per_s']:,}",
            str(r["annotations_fdr10"]),
            f"{r['peak_rss_mb']['driver']:.0f}/{r['peak_rss_mb']['largest_task']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the bundled example")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    rows = []
    for name, imzml, databases, config in workloads(args.quick):
        for cache in ("cold", "warm"):
            rows.append(run(name, imzml, databases, config, cache))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
