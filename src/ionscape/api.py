"""The Python API: ``ionscape.annotate(...)``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ionscape.chem.moldb import MolecularDB, load_moldb
from ionscape.config import AnnotationConfig
from ionscape.errors import DatasetError, MissingIbdError
from ionscape.pipeline.executor import ProgressCallback
from ionscape.results import Results

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
    use_centroid_cache: bool = True,
    allow_profile: bool = False,
    skip_invalid_formulas: bool = False,
    targeted: bool | None = None,
    progress: ProgressCallback | None = None,
) -> Results:
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
    workers : parallel worker processes on localhost.
    targeted : treat the databases named in ``moldbs`` as targeted (all their ions reported, no
        FDR filter) or not; by default a database with at most 1000 formulas is targeted.
    """
    from ionscape.pipeline.job import JobOptions, dataset_ref, run_job

    config = config or AnnotationConfig()
    ref = dataset_ref(imzml_path, ibd_path)
    if not ref.in_storage:
        _check_local_dataset(Path(ref.imzml), Path(ref.ibd))
    databases = [
        db
        if isinstance(db, MolecularDB)
        else load_moldb(db, skip_invalid=skip_invalid_formulas, targeted=targeted)
        for db in moldbs
    ]
    if not databases:
        from ionscape.errors import DatabaseError

        raise DatabaseError("no molecular database given")
    options = JobOptions(
        lithops_config=lithops_config,
        workers=workers,
        use_centroid_cache=use_centroid_cache,
        allow_profile=allow_profile,
        progress=progress,
    )
    results = run_job(ref, databases, config, options)
    if not ref.in_storage:
        from ionscape.io.checksum import file_checksum

        results.run["inputs"] = {
            "imzml": {"path": ref.imzml, "blake2b": file_checksum(ref.imzml)},
            "ibd": {"path": ref.ibd, "blake2b": file_checksum(ref.ibd)},
        }
    return results


def _check_local_dataset(imzml: Path, ibd: Path) -> None:
    if not imzml.is_file():
        raise DatasetError(f"imzML file not found: {imzml}")
    if imzml.suffix.lower() != ".imzml":
        raise DatasetError(f"{imzml} is not an .imzML file")
    if not ibd.is_file():
        raise MissingIbdError(
            f"{imzml.name}: its binary data file {ibd.name} is missing (looked in {ibd.parent})"
        )
