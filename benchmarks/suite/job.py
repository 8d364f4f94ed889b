"""One annotation job in its own process: ``python -m suite.job REQUEST.json``.

The request names the dataset, the database, the chemical modifications, the executor (``lithops``
or ``spark``), the number of workers and whether the centroid cache starts empty
(``"cache": "cold"``). The record holds the job's own figures (wall time of ``ionscape.annotate``,
stages, tasks, sizes) and goes to ``request["record"]``; the annotation table goes to
``request["annotations"]`` for the accuracy evaluation. TMPDIR (hence Lithops' local storage and
the centroid cache in it) is chosen by the parent process.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import ionscape
from ionscape.pipeline.centroids import clear_centroid_cache
from ionscape.pipeline.executor import default_lithops_config, resolve_lithops_config
from suite.accuracy import FDR_LEVELS
from suite.workloads import annotation_config

ANNOTATION_COLUMNS = [
    "moldb_id",
    "formula",
    "adduct",
    "chem_mod",
    "neutral_loss",
    "ion_formula",
    "msm",
    "fdr",
]


def clear_cache(lithops_config: dict[str, Any]) -> None:
    """Empty the centroid cache of the Lithops storage ``lithops_config`` points to."""
    import lithops

    storage = lithops.Storage(config=resolve_lithops_config(lithops_config))
    clear_centroid_cache(storage, storage.bucket)


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Run the requested job; returns its figures."""
    lithops_config = default_lithops_config(request["workers"])
    if request["cache"] == "cold":
        clear_cache(lithops_config)
    database = ionscape.load_moldb(request["database"], targeted=False, skip_invalid=True)
    config = annotation_config(tuple(request["chem_mods"]))
    start = time.perf_counter()
    results = ionscape.annotate(
        request["imzml"],
        [database],
        config,
        lithops_config=lithops_config,
        executor=request["executor"],
        workers=request["workers"],
    )
    wall = time.perf_counter() - start
    results.annotations[ANNOTATION_COLUMNS].to_csv(request["annotations"], index=False)
    run = results.run
    fdr = results.annotations["fdr"]
    return {
        "wall_s": wall,
        "stages": {s["name"]: s["seconds"] for s in run["stages"]},
        "tasks": {s["name"]: s["tasks"] for s in run["stages"] if s["tasks"]},
        "ibd_mb": run["dataset"]["ibd_bytes"] / 2**20,
        "n_spectra": run["dataset"]["n_spectra"],
        "n_peaks": run["dataset"]["n_peaks"],
        "formulas": len(database.formulas),
        "ions": run["ions"]["distinct_ion_formulas"],
        "targets": run["ions"]["targets"],
        "centroids_from_cache": run["ions"]["centroids_from_cache"],
        "scored": run["ions"]["scored"],
        "annotations": {f"{level:.2f}": int((fdr <= level).sum()) for level in FDR_LEVELS},
        "rusage_peak_rss_mb": run["peak_rss_mb"],
    }


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text())
    Path(request["record"]).write_text(json.dumps(run(request)))


if __name__ == "__main__":
    main()
