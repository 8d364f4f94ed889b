"""Job sizing: memory, workers and backend per stage, and the plan ``ionscape annotate --plan`` prints.

Sizing comes, strongest first, from per-stage settings passed by the caller, the ``ionscape``
section of the Lithops config, the caller's all-stage ``memory_mb`` / ``workers``, then the
defaults below. In the Lithops config::

    ionscape:
      memory_mb: 2048            # every stage
      dataset:                   # one stage: memory_mb, workers, backend (dataset only)
        backend: aws_ec2
        memory_mb: 16384

:func:`plan_job` works out, without running anything, the tasks and memory of every stage, an
estimated wall time and the cost of one run on three cloud providers' functions.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ionscape.errors import ConfigError
from ionscape.pipeline.sort import (
    RUNTIME_RESERVE_MB,
    SEGMENT_FILL,
    SortBudget,
    group_segments,
    plan_chunks,
    row_dtype,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ionscape.chem.moldb import MolecularDB
    from ionscape.config import AnnotationConfig
    from ionscape.pipeline.dataset import DatasetRef
    from ionscape.pipeline.executor import BaseExecutor, ProgressCallback
    from ionscape.pipeline.job import JobOptions

STAGES = ("dataset", "centroids", "annotate")
BESIDE_DATASET = ("ions", "centroids")
"""Stages that run while the dataset stage does (``pipeline/background.py``)."""
DEFAULT_MEMORY_MB = {"dataset": 4096, "centroids": 1024, "annotate": 2048}
CONFIG_SECTION = "ionscape"
MIN_DATASET_MEMORY_MB = RUNTIME_RESERVE_MB + 64

# Throughput on one core (2-core x86 VM, Python 3.11, measured in-process on synthetic data):
DATASET_SECONDS_PER_MPEAK = 0.2
"""Reading, sorting and writing one million peaks in one task; the external sort does it twice."""
CENTROID_SECONDS_PER_ION = 75e-6
ANNOTATE_SECONDS_PER_ION = 3.5e-6
ANNOTATE_SECONDS_PER_ION_PER_PEAK_DENSITY = 6e-10
"""Annotate cost grows with the peaks per Da of the dataset, i.e. the peaks in each ion's windows."""
TASK_START_SECONDS = 0.5
"""CPU a task spends before its work: imports (numpy, numba, ionscape) in a fresh worker process."""
MAP_OVERHEAD_SECONDS = {"localhost": 0.5, "spark": 0.3}
SPARK_STARTUP_SECONDS = 4.5
"""Starting Spark's JVM and context before the first stage (local mode: 4.3 s measured here)."""
CLOUD_MAP_OVERHEAD_SECONDS = 4.0
"""Invocation and cold start of one map on cloud functions (an assumption, not measured here)."""
CLOUD_STORAGE_MB_PER_SECOND = 80.0
"""Object storage throughput of one cloud function (an assumption, not measured here)."""
INDEX_BYTES_PER_SPECTRUM = 1300
"""Memory of the parsed imzML index (pyimzML) per spectrum, in the dataset stage's first task."""
DEFAULT_MAX_WORKERS = {"aws_lambda": 1000, "code_engine": 1000, "gcp_cloudrun": 100, "k8s": 100}


@dataclass(frozen=True)
class Price:
    """List price of a provider's functions (USD, no free tier, no savings plans)."""

    provider: str
    backend: str
    gb_second: float
    vcpu_second: float
    per_million_requests: float
    default_vcpu: float | None
    """vCPU of a task when the Lithops config does not say; None: CPU grows with memory (Lambda)."""
    source: str


PRICES = (
    Price(
        "AWS Lambda (x86, us-east-1)",
        "aws_lambda",
        gb_second=0.0000166667,
        vcpu_second=0.0,
        per_million_requests=0.20,
        default_vcpu=None,
        source="aws.amazon.com/lambda/pricing (first 6 billion GB-s a month), 2024",
    ),
    Price(
        "IBM Code Engine (job runs)",
        "code_engine",
        gb_second=0.00000356,
        vcpu_second=0.00003431,
        per_million_requests=0.0,
        default_vcpu=0.125,
        source="cloud.ibm.com/docs/codeengine?topic=codeengine-pricing, October 2024",
    ),
    Price(
        "Google Cloud Run (tier 1, request-based)",
        "gcp_cloudrun",
        gb_second=0.0000025,
        vcpu_second=0.000024,
        per_million_requests=0.40,
        default_vcpu=0.25,
        source="cloud.google.com/run/pricing (tier 1 regions, CPU allocated during requests), 2024",
    ),
)
LAMBDA_MB_PER_VCPU = 1769
"""Lambda gives a function one full vCPU at 1,769 MB, proportionally less below."""


# --- sizing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSettings:
    """User settings for one stage: memory per task (MB), workers, and (dataset only) a backend."""

    memory_mb: int | None = None
    workers: int | None = None
    backend: str | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str) -> StageSettings:
        """Read ``{"memory_mb": ..., "workers": ..., "backend": ...}``; ``where`` names it in errors."""
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(
                f"{where}: unknown setting(s) {', '.join(unknown)} (memory_mb, workers, backend)"
            )
        for name in ("memory_mb", "workers"):
            value = values.get(name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{where}: {name} must be a positive whole number, got {value!r}")
        return cls(**values)


@dataclass(frozen=True)
class Sizing:
    """Resolved memory (MB per task) and workers of every stage, and stages run on another backend."""

    memory_mb: dict[str, int]
    workers: dict[str, int]
    backends: dict[str, str]


def resolve_sizing(
    lithops_config: dict[str, Any],
    *,
    memory_mb: int | None = None,
    workers: int | None = None,
    stages: dict[str, StageSettings] | None = None,
    default_workers: int = 1,
) -> Sizing:
    """Memory, workers and backend of every stage (see the module docstring for the precedence).

    ``workers`` of the dataset stage is the least number of its sort tasks (1 unless set for it);
    of the other stages, the parallelism their task counts aim at (``default_workers`` when unset).
    """
    section = dict(lithops_config.get(CONFIG_SECTION) or {})
    config_stages = {name: section.pop(name) for name in STAGES if name in section}
    overall = StageSettings.from_dict(section, f"Lithops config section {CONFIG_SECTION!r}")
    if overall.backend is not None:
        raise ConfigError(f"{CONFIG_SECTION}.backend: a backend can only be set for the dataset stage")
    unknown = sorted(set(stages or {}) - set(STAGES))
    if unknown:
        raise ConfigError(f"unknown stage(s) {', '.join(unknown)}; stages are {', '.join(STAGES)}")
    memory, parallel, backends = {}, {}, {}
    for stage in STAGES:
        chosen = StageSettings.from_dict(config_stages.get(stage) or {}, f"{CONFIG_SECTION}.{stage}")
        given = (stages or {}).get(stage) or StageSettings()
        memory[stage] = _first(
            given.memory_mb, chosen.memory_mb, memory_mb, overall.memory_mb, DEFAULT_MEMORY_MB[stage]
        )
        if stage == "dataset":
            parallel[stage] = _first(given.workers, chosen.workers, 1)
        else:
            parallel[stage] = _first(given.workers, chosen.workers, workers, overall.workers, default_workers)
        backend = given.backend or chosen.backend
        if backend and stage != "dataset":
            raise ConfigError(f"stage {stage!r}: only the dataset stage can run on another backend")
        if backend:
            backends[stage] = backend
    if memory["dataset"] < MIN_DATASET_MEMORY_MB:
        raise ConfigError(f"the dataset stage needs at least {MIN_DATASET_MEMORY_MB} MB per task")
    return Sizing(memory, parallel, backends)


def _first(*values: int | None) -> int:
    return next(int(v) for v in values if v is not None)


def without_sizing_section(lithops_config: dict[str, Any]) -> dict[str, Any]:
    """The Lithops config without ionscape's own section (Lithops does not know it)."""
    return {name: value for name, value in lithops_config.items() if name != CONFIG_SECTION}


def stage_lithops_config(lithops_config: dict[str, Any], backend: str) -> dict[str, Any]:
    """The same config (so the same storage) with another compute backend, for one stage."""
    from ionscape.pipeline.executor import resolve_lithops_config

    if backend != "localhost" and backend not in lithops_config:
        raise ConfigError(
            f"the dataset stage runs on {backend!r}, but the Lithops config has no {backend!r} section"
        )
    config = without_sizing_section(lithops_config)
    config["lithops"] = {**config["lithops"], "backend": backend}
    return resolve_lithops_config(config)


class SizedExecutor:
    """A job's executor whose maps ask for the memory the sizing gives their stage."""

    def __init__(self, executor: BaseExecutor, memory_mb: dict[str, int]) -> None:
        self._executor = executor
        self._memory_mb = memory_mb

    def map(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        *,
        memory_mb: int = 1024,
    ) -> list[Any]:
        """:meth:`BaseExecutor.map` with the stage's memory (``memory_mb`` for stages not sized)."""
        return self._executor.map(stage, function, iterdata, memory_mb=self._memory_mb.get(stage, memory_mb))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._executor, name)


def dataset_executor(
    executor: BaseExecutor, lithops_config: dict[str, Any], sizing: Sizing, progress: ProgressCallback | None
) -> BaseExecutor:
    """The executor of the dataset stage, which runs beside other stages: a sibling of the job's,
    or a Lithops one on the backend set for it (hybrid mode), sharing the job's storage and stage
    records."""
    from ionscape.pipeline.executor import Executor

    backend = sizing.backends.get("dataset")
    if backend is None:
        return executor.sibling()
    config = stage_lithops_config(lithops_config, backend)
    return Executor(config, progress=progress, stages=executor.stages)


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StagePlan:
    """One stage of the plan: where it runs, tasks (per map), memory per task, CPU and wall time."""

    name: str
    where: str
    tasks: int
    maps: tuple[int, ...]
    memory_mb: int | None
    cpu_seconds: float
    data_mb: float
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class Cost:
    """Estimated cost of one run on one provider's functions."""

    provider: str
    backend: str
    gb_seconds: float
    vcpu_seconds: float
    requests: int
    dollars: float
    source: str


@dataclass
class JobPlan:
    """What a job would do: dataset and ion counts, the stages, time and cost estimates."""

    dataset: dict[str, Any]
    ion_formulas: int
    backend: str
    storage: str
    concurrency: int
    stages: list[StagePlan]
    costs: list[Cost]

    @property
    def seconds(self) -> float:
        """Estimated wall time of the whole job: the dataset stage runs beside ions and centroids,
        so the shorter of the two sides is hidden."""
        beside = sum(s.seconds for s in self.stages if s.name in BESIDE_DATASET)
        dataset = sum(s.seconds for s in self.stages if s.name == "dataset")
        return sum(s.seconds for s in self.stages) - min(beside, dataset)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-compatible values."""
        return asdict(self) | {"seconds": self.seconds}

    def format(self) -> str:
        """The plan as a text report."""
        ds = self.dataset
        lines = [
            f"Plan for {ds['name']}: {ds['n_spectra']:,} spectra, {ds['width']} x {ds['height']} px, "
            f"{ds['declared_peaks']:,} peaks, .ibd {ds['ibd_bytes'] / 2**20:,.1f} MB",
            f"{self.ion_formulas:,} ion formulas (targets and decoys); backend {self.backend}, "
            f"storage {self.storage}, {self.concurrency} task(s) at a time",
            "",
            f"{'stage':<10} {'runs on':<12} {'tasks':>6} {'MB/task':>8} {'est. time':>10}  notes",
        ]
        for s in self.stages:
            memory = f"{s.memory_mb:,}" if s.memory_mb else "-"
            tasks = str(s.tasks) if s.tasks else "-"
            row = f"{s.name:<10} {s.where:<12} {tasks:>6} {memory:>8} {_duration(s.seconds):>10}  {s.note}"
            lines.append(row.rstrip())
        lines.append(
            f"{'total':<10} {'':<12} {'':>6} {'':>8} {_duration(self.seconds):>10}  "
            "the dataset stage runs beside ions and centroids"
        )
        lines += ["", "Estimated cost of one run on cloud functions (list prices in USD, no free tier):"]
        if self.backend == "spark":
            lines[-1] = "The same stages on cloud functions instead (list prices in USD, no free tier):"
        lines.append(f"{'provider':<42} {'GB-s':>10} {'vCPU-s':>10} {'requests':>9} {'USD':>9}")
        for c in self.costs:
            mark = " <- configured" if c.backend == self.backend else ""
            vcpu = f"{c.vcpu_seconds:,.0f}" if c.vcpu_seconds else "-"
            lines.append(
                f"{c.provider:<42} {c.gb_seconds:>10,.0f} {vcpu:>10} {c.requests:>9,} {c.dollars:>9.4f}{mark}"
            )
        lines += ["Prices:"] + [f"  {c.backend}: {c.source}" for c in self.costs]
        lines.append("Times are estimates from throughput measured on one x86 core; real runs vary.")
        return "\n".join(lines)


def plan_job(
    dataset: DatasetRef, databases: list[MolecularDB], config: AnnotationConfig, options: JobOptions
) -> JobPlan:
    """The plan of a job: reads the imzML index and builds the ion table, runs no task."""
    import lithops

    from ionscape.chem.ions import build_ion_table
    from ionscape.pipeline.dataset import read_index
    from ionscape.pipeline.executor import resolve_lithops_config

    full_config = resolve_lithops_config(options.lithops_config)
    sizing = resolve_sizing(
        full_config,
        memory_mb=options.memory_mb,
        workers=options.workers,
        stages=options.stages,
        default_workers=int(full_config.get("localhost", {}).get("worker_processes") or 1),
    )
    lithops_config = without_sizing_section(full_config)
    if options.workers and lithops_config["lithops"].get("backend") == "localhost":
        lithops_config.setdefault("localhost", {})["worker_processes"] = options.workers
    backend = lithops_config["lithops"].get("backend", "localhost")
    if options.executor == "spark":
        backend = "spark"
        lithops_config["spark"] = {"worker_processes": _spark_slots(options.spark_master, options.workers)}
    storage = lithops.Storage(config=lithops_config) if dataset.in_storage else None
    index, source = read_index(dataset, storage, options.allow_profile, spectrum_metadata=True)
    started = time.process_time()
    ion_table = build_ion_table([(db.name, db.formulas, db.targeted) for db in databases], config)
    ion_seconds = time.process_time() - started
    n_ions = len(ion_table.ion_formulas)

    ibd_mb = source.size() / 2**20
    peaks_mb = index.n_peaks * row_dtype(index.mz_dtype).itemsize / 2**20
    density = index.n_peaks / _mz_span(index, source)
    budget = SortBudget.for_task_memory(sizing.memory_mb["dataset"], options.segment_mb)
    dataset_backend = sizing.backends.get("dataset", backend)
    startup = [StagePlan("start-up", "driver", 0, (), None, 0.0, 0.0, SPARK_STARTUP_SECONDS)]
    stages = [
        *(startup if backend == "spark" else []),
        StagePlan("ions", "driver", 0, (), None, ion_seconds, 0.0, ion_seconds),
        _dataset_stage(index, budget, sizing, dataset_backend, ibd_mb, lithops_config),
        _centroid_stage(n_ions, sizing, backend, lithops_config),
        _annotate_stage(n_ions, index.n_peaks, peaks_mb, density, sizing, backend, lithops_config),
    ]
    return JobPlan(
        dataset={
            "name": dataset.imzml,
            "n_spectra": int(index.n_spectra),
            "width": int(index.width),
            "height": int(index.height),
            "declared_peaks": index.n_peaks,
            "ibd_bytes": int(source.size()),
        },
        ion_formulas=n_ions,
        backend=backend,
        storage=lithops_config["lithops"].get("storage", "localhost"),
        concurrency=_concurrency(lithops_config, backend),
        stages=stages,
        costs=[estimate_cost(price, stages, lithops_config) for price in PRICES],
    )


def _dataset_stage(
    index: Any, budget: SortBudget, sizing: Sizing, where: str, ibd_mb: float, lithops_config: dict[str, Any]
) -> StagePlan:
    ranges = plan_chunks(index, budget, sizing.workers["dataset"])
    peaks_mb = index.n_peaks * row_dtype(index.mz_dtype).itemsize / 2**20
    segments = math.ceil(peaks_mb * 2**20 / (SEGMENT_FILL * budget.segment_bytes))
    cpu = index.n_peaks / 1e6 * DATASET_SECONDS_PER_MPEAK
    memory = sizing.memory_mb["dataset"]
    index_mb = index.n_spectra * INDEX_BYTES_PER_SPECTRUM / 2**20
    note = f"about {segments} segment(s)"
    if index_mb > memory - RUNTIME_RESERVE_MB:
        note += f"; the imzML index alone needs about {index_mb:,.0f} MB"
    if ranges is None:
        return _stage(
            "dataset", where, memory, [(1, cpu, ibd_mb + peaks_mb)], "one task, " + note, lithops_config
        )
    segment_rows = np.full(segments, math.ceil(index.n_peaks / segments))
    merges = len(group_segments(segment_rows, budget.merge_rows(index.mz_dtype), sizing.workers["dataset"]))
    maps = [(1, cpu / 4, ibd_mb / 4), (len(ranges), cpu, ibd_mb + peaks_mb), (merges, cpu, 2 * peaks_mb)]
    note = f"external sort: 1 + {len(ranges)} chunk + {merges} merge tasks, " + note
    return _stage("dataset", where, memory, maps, note, lithops_config)


def _centroid_stage(n_ions: int, sizing: Sizing, backend: str, lithops_config: dict[str, Any]) -> StagePlan:
    from ionscape.pipeline.centroids import centroid_task_count

    tasks = centroid_task_count(n_ions, sizing.workers["centroids"])
    maps = [(tasks, n_ions * CENTROID_SECONDS_PER_ION, 0.0)]
    note = "at most: cached ions are not computed again"
    return _stage("centroids", backend, sizing.memory_mb["centroids"], maps, note, lithops_config)


def _annotate_stage(
    n_ions: int,
    n_peaks: int,
    peaks_mb: float,
    density: float,
    sizing: Sizing,
    backend: str,
    lithops_config: dict[str, Any],
) -> StagePlan:
    from ionscape.pipeline.annotate import ions_per_task, max_peaks_per_task

    per_task = ions_per_task(n_ions, sizing.workers["annotate"])
    memory = sizing.memory_mb["annotate"]
    tasks = max(1, math.ceil(n_ions / per_task), math.ceil(n_peaks / max_peaks_per_task(memory)))
    cpu = n_ions * (ANNOTATE_SECONDS_PER_ION + ANNOTATE_SECONDS_PER_ION_PER_PEAK_DENSITY * density)
    note = f"at least; each task loads ≈ {peaks_mb / tasks:,.0f} MB of peaks, at most what its memory holds"
    return _stage("annotate", backend, memory, [(tasks, cpu, peaks_mb)], note, lithops_config)


def _stage(
    name: str,
    where: str,
    memory_mb: int,
    maps: list[tuple[int, float, float]],
    note: str,
    lithops_config: dict[str, Any],
) -> StagePlan:
    """A stage of one or more maps, each (tasks, CPU seconds, MB through storage) in total.

    Wall time per map: the map's overhead plus rounds of parallel tasks; on cloud functions a
    task's time also counts its storage transfers.
    """
    concurrency = _concurrency(lithops_config, where)
    speed = _speed(where, memory_mb, lithops_config)
    local = where in ("localhost", "spark")
    seconds = 0.0
    maps = [(tasks, cpu + tasks * TASK_START_SECONDS, data_mb) for tasks, cpu, data_mb in maps]
    for tasks, cpu, data_mb in maps:
        per_task = cpu / tasks / speed + (0.0 if local else data_mb / tasks / CLOUD_STORAGE_MB_PER_SECOND)
        overhead = MAP_OVERHEAD_SECONDS.get(where, CLOUD_MAP_OVERHEAD_SECONDS)
        seconds += overhead + math.ceil(tasks / concurrency) * per_task
    return StagePlan(
        name,
        where,
        sum(m[0] for m in maps),
        tuple(m[0] for m in maps),
        memory_mb,
        sum(m[1] for m in maps),
        sum(m[2] for m in maps),
        seconds,
        note,
    )


def estimate_cost(price: Price, stages: list[StagePlan], lithops_config: dict[str, Any]) -> Cost:
    """What the task stages would cost on ``price``'s functions (a stage on a VM is left out)."""
    from lithops.constants import STANDALONE_BACKENDS

    gb_seconds = vcpu_seconds = 0.0
    requests = 0
    for stage in stages:
        if not stage.tasks or stage.memory_mb is None or stage.where in STANDALONE_BACKENDS:
            continue
        vcpu = _vcpu(price.backend, stage.memory_mb, lithops_config, price.default_vcpu)
        busy = stage.cpu_seconds / min(vcpu, 1.0) + stage.data_mb / CLOUD_STORAGE_MB_PER_SECOND
        gb_seconds += busy * stage.memory_mb / 1024
        vcpu_seconds += busy * vcpu if price.vcpu_second else 0.0
        requests += stage.tasks
    dollars = (
        gb_seconds * price.gb_second
        + vcpu_seconds * price.vcpu_second
        + requests * price.per_million_requests / 1e6
    )
    return Cost(price.provider, price.backend, gb_seconds, vcpu_seconds, requests, dollars, price.source)


def _vcpu(backend: str, memory_mb: int, lithops_config: dict[str, Any], default: float | None) -> float:
    configured = lithops_config.get(backend, {}).get("runtime_cpu", default)
    if configured is None:
        return memory_mb / LAMBDA_MB_PER_VCPU
    return float(configured)


def _speed(backend: str, memory_mb: int, lithops_config: dict[str, Any]) -> float:
    """Share of one core a task gets: 1 locally, the configured vCPU on cloud functions."""
    defaults = {p.backend: p.default_vcpu for p in PRICES}
    if backend not in defaults:
        return 1.0
    return min(1.0, _vcpu(backend, memory_mb, lithops_config, defaults[backend]))


def _concurrency(lithops_config: dict[str, Any], backend: str) -> int:
    section = lithops_config.get(backend, {})
    if backend in ("localhost", "spark"):
        return int(section.get("worker_processes") or 1)
    return int(section.get("max_workers") or DEFAULT_MAX_WORKERS.get(backend, 1))


def _spark_slots(master: str | None, workers: int | None) -> int:
    """Tasks Spark runs at once: N of a ``local[N]`` master, else ``workers`` (a cluster's size is
    not known before it runs), else this machine's cores."""
    if master and master.startswith("local["):
        count = master.removeprefix("local[").split(",")[0].rstrip("]")
        if count.isdigit():
            return int(count)
    return workers or os.cpu_count() or 1


def _mz_span(index: Any, source: Any) -> float:
    """Width of the dataset's m/z range in Da: as declared, or from its first spectrum's peaks."""
    if index.mz_range is not None:
        low, high = index.mz_range
    else:
        from ionscape.io.imzml import read_peaks

        first = read_peaks(index, source, 0, min(index.n_spectra, 16))[0]
        low, high = (float(first.min()), float(first.max())) if len(first) else (0.0, 1.0)
    return max(high - low, 1.0)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
