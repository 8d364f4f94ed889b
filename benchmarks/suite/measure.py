"""Run one benchmark job in a child process and measure it from outside.

Each job runs in a fresh interpreter (as a user's ``ionscape annotate`` would), so its memory is
its own; this process samples the RSS of the child and all its descendants (Lithops workers).
All jobs of one suite share a Lithops storage folder, so the centroid cache persists between them:
a ``cold`` job empties it first, a ``warm`` job finds it filled by an earlier job with the same
database and settings (a cold job is run first when there was none).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ionscape
from suite.monitor import TreeMonitor
from suite.workloads import Database, dataset_spec, ensure_database, ensure_dataset

BENCH_DIR = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Workload:
    """One measured job: dataset size, database, workers and centroid cache state."""

    series: str
    width: int
    height: int
    peaks: int
    database: Database
    workers: int = 2
    cache: str = "cold"
    executor: str = "lithops"

    @property
    def label(self) -> str:
        """Short human-readable name."""
        return f"{self.width}×{self.height} px × {self.peaks} peaks × {self.database.name}"


class Runner:
    """Runs workloads one after the other and keeps their records."""

    def __init__(self, data_dir: Path, work_dir: Path) -> None:
        self.data_dir = data_dir
        self.work_dir = work_dir
        self.lithops_tmp = work_dir / "lithops-tmp"
        self.lithops_tmp.mkdir(parents=True, exist_ok=True)
        self.records: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self._cache_filled: set[tuple] = set()
        self._jobs = 0

    def warm_up(self) -> None:
        """An untimed job on the bundled example, so that compiled-code caches exist before timing."""
        self._child(self._request(ionscape.example_dataset(), "core_metabolome", (), 2, "warm"))

    def measure(self, workload: Workload) -> dict[str, Any] | None:
        """Run ``workload`` (after a cache-filling cold run if it is warm and needs one).

        Returns its record, or None (and notes it in ``failures``) when the job failed.
        """
        key = (workload.database.name, workload.database.chem_mods)
        if workload.cache == "warm" and key not in self._cache_filled:
            self.measure(Workload(**{**_fields(workload), "series": "cache fill", "cache": "cold"}))
        imzml = ensure_dataset(dataset_spec(workload.width, workload.height, workload.peaks), self.data_dir)
        database = ensure_database(workload.database, self.data_dir)
        request = self._request(
            imzml, database, workload.database.chem_mods, workload.workers, workload.cache, workload.executor
        )
        print(
            f"running {workload.label} on {workload.executor}, {workload.workers} workers, "
            f"{workload.cache} cache ...",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        outcome = self._child(request)
        if outcome is None:
            self.failures.append(asdict(workload))
            return None
        record, sampler, seconds = outcome
        record.update(
            workload=asdict(workload),
            label=workload.label,
            imzml=str(imzml),
            database_path=str(database),
            annotations_csv=request["annotations"],
            process_s=seconds,
            tree_peak_rss_mb=sampler.peak_mb,
            tree_peak_processes=sampler.peak_processes,
            load_before=load_before,
            load_after=os.getloadavg()[0],
        )
        print(
            f"  {record['wall_s']:.1f} s, tree peak RSS {record['tree_peak_rss_mb']:.0f} MiB, "
            f"load {load_before:.1f}→{record['load_after']:.1f}",
            flush=True,
        )
        self._cache_filled.add(key)
        self.records.append(record)
        return record

    def _request(
        self,
        imzml: Path,
        database: Path | str,
        chem_mods: tuple[str, ...],
        workers: int,
        cache: str,
        executor: str = "lithops",
    ) -> dict[str, Any]:
        self._jobs += 1
        return {
            "imzml": str(imzml),
            "database": str(database),
            "chem_mods": list(chem_mods),
            "workers": workers,
            "cache": cache,
            "executor": executor,
            "annotations": str(self.work_dir / f"annotations-{self._jobs:03d}.csv"),
            "record": str(self.work_dir / f"record-{self._jobs:03d}.json"),
        }

    def _child(self, request: dict[str, Any]) -> tuple[dict[str, Any], TreeMonitor, float] | None:
        """Run the job of ``request`` in a child process: its record, memory sampler and seconds."""
        request_path = Path(request["record"]).with_name(f"request-{self._jobs:03d}.json")
        request_path.write_text(json.dumps(request))
        env = {
            **os.environ,
            "TMPDIR": str(self.lithops_tmp),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(BENCH_DIR), os.environ.get("PYTHONPATH")])),
        }
        cpu_before = _children_cpu_seconds()
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "suite.job", str(request_path)], env=env)
        with TreeMonitor(child.pid) as sampler:
            status = child.wait()
        seconds = time.perf_counter() - start
        if status != 0:
            print(f"  job failed (exit status {status}): {request_path}", flush=True)
            return None
        record = json.loads(Path(request["record"]).read_text())
        record["tree_cpu_s"] = _children_cpu_seconds() - cpu_before
        record["tree_cpu_sampled_s"] = sampler.cpu_seconds
        return record, sampler, seconds


def _children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children and their waited-for descendants.

    Unlike wall time, this hardly changes when other programs share the machine.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fields(workload: Workload) -> dict[str, Any]:
    fields = asdict(workload)
    fields["database"] = workload.database
    return fields
