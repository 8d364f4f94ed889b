"""The Python API: ``ionscape.annotate(...)``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ionscape.chem.moldb import MolecularDB, load_moldb
from ionscape.config import AnnotationConfig
from ionscape.errors import ConfigError, DatasetError, MissingIbdError
from ionscape.pipeline.executor import ProgressCallback
from ionscape.results import Results

if TYPE_CHECKING:
    from ionscape.pipeline.plan import JobPlan

DEFAULT_DATABASE = "core_metabolome"


def example_dataset() -> Path:
    """Path of the bundled example imzML (untreated_tiny: 2×4 px MALDI-FTICR, positive mode)."""
    folder = resources.files("ionscape") / "data" / "example" / "untreated_tiny"
    return Path(str(folder / "Untreated_3_434_tiny.imzML"))


def example_config() -> AnnotationConfig:
    """The annotation settings METASPACE used for the bundled example."""
    return AnnotationConfig.from_json(example_dataset().parent / "config.json")


def annotate(
    imzml_path: str | os.PathLike,
    moldbs: Sequence[str | os.PathLike | MolecularDB] = (DEFAULT_DATABASE,),
    config: AnnotationConfig | None = None,
    *,
    ibd_path: str | os.PathLike | None = None,
    lithops_config: dict[str, Any] | None = None,
    workers: int | None = None,
    executor: str = "lithops",
    spark_master: str | None = None,
    use_centroid_cache: bool = True,
    allow_profile: bool = False,
    skip_invalid_formulas: bool = False,
    targeted: bool | None = None,
    progress: ProgressCallback | None = None,
    memory_mb: int | None = None,
    stages: dict[str, dict[str, Any]] | None = None,
    plan: bool = False,
    job_key: str | None = None,
) -> Results | JobPlan:
    """Annotate an imzML dataset against molecular databases.

    Parameters
    ----------
    imzml_path : local path of the .imzML file, or ``lithops://bucket/key`` of an object in the
        configured Lithops storage (the .ibd is then expected next to it).
    moldbs : bundled database names (``ionscape db list``), CSV/TSV paths, or loaded
        :class:`MolecularDB` objects. Each database gets its own FDR.
    config : annotation settings; METASPACE's positive-mode defaults when omitted.
    lithops_config : a Lithops config dict; otherwise the user's Lithops config (env or file)
        or, when there is none, Lithops localhost.
    workers : parallel tasks on this machine (Lithops localhost worker processes, or N of
        Spark's ``local[N]``).
    executor : ``"lithops"`` (default) or ``"spark"`` (needs ``pip install 'ionscape[spark]'``
        and Java 17+); both run the same stage functions and give the same table. Intermediate
        data goes through the Lithops storage of ``lithops_config`` either way.
    spark_master : Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``...); by default
        the one ``spark-submit`` settings give, else ``local[N]``.
    targeted : treat the databases named in ``moldbs`` as targeted (all their ions reported, no
        FDR filter); by default they are FDR-filtered (untargeted).
    memory_mb : memory per task (MB, Lithops ``runtime_memory``) of every stage; by default 4096
        for the dataset stage, 1024 for centroids, 2048 for annotate. A dataset larger than the
        dataset stage's memory is sorted by several bounded tasks.
    stages : per-stage settings, e.g. ``{"annotate": {"memory_mb": 4096, "workers": 100},
        "dataset": {"backend": "aws_ec2"}}`` (see ``docs/cloud.md``).
    plan : return the job's :class:`~ionscape.pipeline.plan.JobPlan` (tasks and memory per
        stage, time and cost estimates) instead of running it.
    job_key : names the job's intermediate data in Lithops storage. A job that was interrupted
        (or failed on the infrastructure, not on its input) keeps the stages it finished there,
        and a rerun with the same key resumes from them. By default the key is derived from the
        dataset files, the databases and the settings, so simply running the same job again
        resumes it.
    """
    from ionscape.pipeline.dataset import STORAGE_SCHEME
    from ionscape.pipeline.job import JobOptions, dataset_ref, run_job
    from ionscape.pipeline.plan import StageSettings, plan_job

    if spark_master and executor != "spark":
        raise ConfigError("a Spark master (spark_master, --spark-master) is for the Spark executor only")
    config = config or AnnotationConfig()
    if not str(imzml_path).startswith(STORAGE_SCHEME):
        _check_local_imzml(Path(imzml_path))
    ref = dataset_ref(imzml_path, ibd_path)
    if not ref.in_storage and not Path(ref.ibd).is_file():
        raise MissingIbdError(f"{Path(ref.imzml).name}: its binary data file {ref.ibd} is missing")
    databases = [
        db
        if isinstance(db, MolecularDB)
        else load_moldb(db, skip_invalid=skip_invalid_formulas, targeted=bool(targeted))
        for db in moldbs
    ]
    if not databases:
        from ionscape.errors import DatabaseError

        raise DatabaseError("no molecular database given")
    options = JobOptions(
        lithops_config=lithops_config,
        workers=workers,
        executor=executor,
        spark_master=spark_master,
        use_centroid_cache=use_centroid_cache,
        allow_profile=allow_profile,
        progress=progress,
        memory_mb=memory_mb,
        job_key=job_key,
        stages={
            name: StageSettings.from_dict(values, f"stage {name!r}")
            for name, values in (stages or {}).items()
        },
    )
    if plan:
        return plan_job(ref, databases, config, options)
    if ref.in_storage:
        return run_job(ref, databases, config, options)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from ionscape.io.checksum import file_checksum

    stop = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="checksum") as pool:  # hashing overlaps the job
        checksums = [pool.submit(file_checksum, path, stop) for path in (ref.imzml, ref.ibd)]
        try:
            results = run_job(ref, databases, config, options)
        except BaseException:
            stop.set()
            raise
        results.run["inputs"] = {
            name: {"path": path, "sha256": checksum.result()}
            for name, path, checksum in zip(("imzml", "ibd"), (ref.imzml, ref.ibd), checksums, strict=True)
        }
    return results


def _check_local_imzml(imzml: Path) -> None:
    if not imzml.is_file():
        raise DatasetError(f"imzML file not found: {imzml}")
    if imzml.suffix.lower() != ".imzml":
        raise DatasetError(f"{imzml} is not an .imzML file")
