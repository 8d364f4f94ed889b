"""Checking a dataset submission before it is queued: file names, settings, databases, the imzML."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ionscape.config import AnnotationConfig
from ionscape.errors import ConfigError, DatabaseError, DatasetError
from ionscape.service.models import MolDB
from ionscape.service.schemas import AnnotationSettings, DatasetMetadata, UploadFileSpec
from ionscape.service.storage import Storage

DATASET_SUFFIXES = (".imzml", ".ibd")
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


class SubmissionError(ValueError):
    """A submission is refused; the message says why."""


def check_file_name(name: str) -> str:
    """``name`` if it is a plain file name (no folders, no control characters, not hidden)."""
    if _UNSAFE_NAME.search(name):
        raise SubmissionError(f"file name {name!r} must not contain path separators or control characters")
    if name.startswith(".") or name.strip() != name or not name:
        raise SubmissionError(f"file name {name!r} must not start with a dot or space")
    return name


def check_dataset_files(files: list[UploadFileSpec], max_bytes: int) -> None:
    """The declared files are one ``.imzML`` and one ``.ibd``, each within the size limit."""
    suffixes = []
    for spec in files:
        check_file_name(spec.name)
        if spec.size > max_bytes:
            raise SubmissionError(
                f"{spec.name}: {spec.size} bytes exceed the upload limit of {max_bytes} bytes"
            )
        suffixes.append(spec.name[spec.name.rfind(".") :].lower() if "." in spec.name else "")
    if sorted(suffixes) != sorted(DATASET_SUFFIXES):
        names = ", ".join(spec.name for spec in files)
        raise SubmissionError(f"a dataset is one .imzML file and one .ibd file, got {names}")


def imzml_and_ibd(files: list[dict[str, Any]]) -> tuple[int, int]:
    """Positions of the ``.imzML`` and the ``.ibd`` file in an upload's file list."""
    imzml = next(i for i, f in enumerate(files) if f["name"].lower().endswith(".imzml"))
    return imzml, 1 - imzml


def validate_imzml(storage: Storage, imzml_key: str, name: str, ibd_size: int) -> Any:
    """Parse and check the imzML against the size of its ``.ibd``; raises DatasetError with the reason.

    Messages name the file as the user called it (``name``), never its place in storage.
    """
    from ionscape.io.imzml import read_imzml_index

    raw = io.FileIO(storage.local_path(imzml_key))
    raw.name = name
    with io.BufferedReader(raw) as f:
        try:
            return read_imzml_index(f, ibd_size=ibd_size)
        except DatasetError:
            raise
        except Exception as exc:
            raise DatasetError(f"not a readable imzML file ({type(exc).__name__}: {exc})") from None


def build_config(metadata: DatasetMetadata, settings: AnnotationSettings) -> AnnotationConfig:
    """Defaults from the metadata (polarity, resolving power, analyzer), then the explicit settings."""
    ms: dict[str, Any] = {"Polarity": metadata.polarity.capitalize(), "Analyzer": metadata.analyzer or "TOF"}
    if metadata.resolving_power is not None:
        ms["Detector_Resolving_Power"] = {
            "Resolving_Power": metadata.resolving_power,
            "mz": metadata.resolving_power_mz,
        }
    config = AnnotationConfig.from_metadata({"MS_Analysis": ms})
    overrides: dict[str, Any] = {
        "neutral_losses": tuple(settings.neutral_losses),
        "chem_mods": tuple(settings.chem_mods),
        "n_peaks": settings.n_peaks,
    }
    if settings.adducts is not None:
        overrides["adducts"] = tuple(settings.adducts)
    if settings.isocalc_sigma is not None:
        overrides["isocalc_sigma"] = settings.isocalc_sigma
    if settings.instrument is not None:
        overrides["instrument"] = settings.instrument
    config = config.with_overrides(**overrides)
    return replace(
        config,
        fdr=replace(config.fdr, decoy_sample_size=settings.decoy_sample_size),
        image_generation=replace(config.image_generation, ppm=settings.ppm),
    )


def resolve_databases(session: Session, owner_id: str, names: list[str]) -> list[dict[str, Any]]:
    """Each requested database as ``{name, source, ref, targeted}``: bundled by name, custom by id."""
    from ionscape.chem.moldb import bundled_databases

    bundled = {alias: db for db in bundled_databases() for alias in (db["name"], *db["aliases"])}
    resolved = []
    for name in names:
        if name in bundled:
            db = bundled[name]
            resolved.append({"name": db["name"], "source": "bundled", "ref": db["name"], "targeted": None})
            continue
        moldb = session.scalar(select(MolDB).where(MolDB.id == name, MolDB.owner_id == owner_id))
        if moldb is None:
            raise DatabaseError(
                f"unknown molecular database {name!r}: use a bundled name or your database's id"
            )
        resolved.append(
            {"name": moldb.name, "source": "custom", "ref": moldb.storage_key, "targeted": moldb.targeted}
        )
    seen = [db["name"] for db in resolved]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"databases must have distinct names, got {', '.join(seen)}")
    return resolved
