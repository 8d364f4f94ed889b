"""The known answers of a synthetic dataset, written next to its imzML.

``X.truth.csv``: one row per ion or peak source, ``kind`` being

* ``planted``: in the data and should be annotated; ``pattern``, ``abundance`` (base-peak
  intensity where the pattern is at full strength; the image maximum can be lower),
  ``detected_pixels`` (pixels where the base peak was recorded), ``image`` (its index in
  ``X.truth.npy``);
* ``matrix``: matrix ions, in every spectrum;
* ``background``: recurring background peaks (no formula) in a share ``presence`` of pixels;
* ``isobar`` / ``same_ion``: database ions within a few ppm of the planted ion ``near``
  (``ppm`` apart), *not* in the data: they should not be annotated (``same_ion`` ones share the
  ion formula and cannot be told apart).

``theo_mzs`` / ``theo_ints`` hold the isotope envelope put into the data (``;``-joined, base
peak 100). ``X.truth.npy`` holds the (n_planted, height, width) float32 noiseless base-peak
intensity of every planted ion; ``X.truth.json`` the settings and figures of the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TRUTH_COLUMNS = [
    "kind",
    "name",
    "formula",
    "adduct",
    "ion_formula",
    "mz",
    "theo_mzs",
    "theo_ints",
    "pattern",
    "abundance",
    "presence",
    "detected_pixels",
    "image",
    "near",
    "ppm",
]

_TEXT_COLUMNS = [
    "kind",
    "name",
    "formula",
    "adduct",
    "ion_formula",
    "theo_mzs",
    "theo_ints",
    "pattern",
    "near",
]
_FLOAT_COLUMNS = ["mz", "abundance", "presence", "ppm"]
_COUNT_COLUMNS = ["detected_pixels", "image"]


def truth_paths(imzml_path: str | Path) -> dict[str, Path]:
    """Where the truth files of ``imzml_path`` go: keys ``table``, ``summary``, ``images``."""
    stem = Path(imzml_path).with_suffix("")
    return {
        "table": stem.with_name(stem.name + ".truth.csv"),
        "summary": stem.with_name(stem.name + ".truth.json"),
        "images": stem.with_name(stem.name + ".truth.npy"),
    }


@dataclass(eq=False)
class GroundTruth:
    """What a synthetic dataset contains: the ion table, the run summary and the planted images."""

    imzml_path: Path
    ions: pd.DataFrame
    summary: dict
    images: np.ndarray | None

    @property
    def planted(self) -> pd.DataFrame:
        """The planted ions (rows of ``ions``)."""
        return self.ions[self.ions["kind"] == "planted"]

    def image(self, formula: str, adduct: str) -> np.ndarray:
        """(height, width) noiseless base-peak intensity of a planted ion."""
        if self.images is None:
            raise ValueError(f"no truth images were written for {self.imzml_path}")
        row = self.planted[(self.planted["formula"] == formula) & (self.planted["adduct"] == adduct)]
        if row.empty:
            raise KeyError(f"{formula}{adduct} is not a planted ion")
        return np.asarray(self.images[int(row["image"].iloc[0])])


def envelope_text(values: np.ndarray, digits: int) -> list[str]:
    """Each row of a zero-padded (n, k) array as ``;``-joined non-zero values."""
    return [";".join(f"{v:.{digits}f}" for v in row[row > 0]) for row in values]


def open_images(imzml_path: str | Path, n: int, height: int, width: int) -> np.ndarray:
    """A writable (n, height, width) float32 array backed by ``X.truth.npy`` (filled row by row)."""
    return np.lib.format.open_memmap(
        truth_paths(imzml_path)["images"], mode="w+", dtype=np.float32, shape=(n, height, width)
    )


def tidy_truth_table(ions: pd.DataFrame) -> pd.DataFrame:
    """``ions`` with the truth columns in order, "" for missing text and nullable integer counts."""
    ions = ions.reindex(columns=TRUTH_COLUMNS)
    ions[_TEXT_COLUMNS] = ions[_TEXT_COLUMNS].fillna("").astype(str)
    ions[_FLOAT_COLUMNS] = ions[_FLOAT_COLUMNS].astype(np.float64)
    ions[_COUNT_COLUMNS] = ions[_COUNT_COLUMNS].astype("Int64")
    return ions


def write_truth(imzml_path: str | Path, ions: pd.DataFrame, summary: dict) -> None:
    """Write ``X.truth.csv`` and ``X.truth.json``."""
    paths = truth_paths(imzml_path)
    ions.to_csv(paths["table"], index=False)
    paths["summary"].write_text(json.dumps(summary, indent=2) + "\n")


def load_truth(imzml_path: str | Path) -> GroundTruth:
    """Read the truth files of a synthetic dataset (images memory-mapped, if they were written)."""
    paths = truth_paths(imzml_path)
    ions = pd.read_csv(
        paths["table"], dtype=dict.fromkeys(_TEXT_COLUMNS, str), keep_default_na=False, na_values=[""]
    )
    ions = tidy_truth_table(ions)
    images = np.load(paths["images"], mmap_mode="r") if paths["images"].is_file() else None
    return GroundTruth(
        imzml_path=Path(imzml_path),
        ions=ions,
        summary=json.loads(paths["summary"].read_text()),
        images=images,
    )
