"""The :class:`Results` of an annotation run: the table, the ion images, and their export."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ionscape.config import AnnotationConfig

ANNOTATION_COLUMNS = [
    "moldb_id",
    "formula",
    "adduct",
    "chem_mod",
    "neutral_loss",
    "ion",
    "ion_formula",
    "mz",
    "msm",
    "fdr",
    "chaos",
    "spatial",
    "spectral",
    "theo_mz",
    "theo_mzs",
    "theo_ints",
    "total_iso_ints",
    "min_iso_ints",
    "max_iso_ints",
    "mz_mean",
    "mz_stddev",
    "mz_err_abs",
    "mz_err_rel",
    "molecule_ids",
    "molecule_names",
    "formula_i",
    "modifier",
    "target",
]
ARRAY_COLUMNS = (
    "theo_mzs",
    "theo_ints",
    "total_iso_ints",
    "min_iso_ints",
    "max_iso_ints",
    "mz_mean",
    "mz_stddev",
)
FDR_LEVELS = (0.05, 0.1, 0.2, 0.5)


@dataclass
class IonImages:
    """Sparse ion images of the reported ions: per formula_i, per isotope peak, (pixels, intensities)."""

    width: int
    height: int
    sampled_pixels: np.ndarray
    sparse: dict[int, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """(h, w) bool: pixels that have a spectrum."""
        mask = np.zeros(self.width * self.height, dtype=bool)
        mask[self.sampled_pixels] = True
        return mask.reshape(self.height, self.width)

    def dense(self, formula_i: int) -> np.ndarray:
        """(n_peaks, h, w) float32 images of one ion; duplicate entries summed, zero where no signal."""
        slots = self.sparse[formula_i]
        out = np.zeros((len(slots), self.height * self.width), dtype=np.float32)
        for k, (pixels, ints) in enumerate(slots):
            np.add.at(out[k], pixels.astype(np.int64), ints)
        return out.reshape(len(slots), self.height, self.width)


@dataclass
class Results:
    """What one annotation run produced.

    ``annotations`` has one row per (database, formula, chem_mod, neutral_loss, adduct) with
    METASPACE's column names; ``images`` holds the ion images of every reported ion; ``run``
    records timings, sizes and versions.
    """

    annotations: pd.DataFrame
    images: IonImages
    config: AnnotationConfig
    databases: list[str]
    run: dict[str, Any] = field(default_factory=dict)

    def ion_images(
        self,
        formula: str,
        adduct: str,
        chem_mod: str = "",
        neutral_loss: str = "",
        database: str | None = None,
    ) -> np.ndarray:
        """(n_peaks, h, w) float32 images of an annotated ion, one per isotope peak in m/z order."""
        row = self._row(formula, adduct, chem_mod, neutral_loss, database)
        return self.images.dense(int(row["formula_i"]))

    def _row(
        self, formula: str, adduct: str, chem_mod: str, neutral_loss: str, database: str | None
    ) -> pd.Series:
        t = self.annotations
        hit = (
            (t["formula"] == formula)
            & (t["adduct"] == adduct)
            & (t["chem_mod"] == chem_mod)
            & (t["neutral_loss"] == neutral_loss)
        )
        if database is not None:
            hit &= t["moldb_id"] == database
        if not hit.any():
            raise KeyError(f"{formula}{chem_mod}{neutral_loss}{adduct} is not among the annotations")
        return t[hit].iloc[0]

    def counts_by_fdr(self) -> pd.DataFrame:
        """Number of annotations at FDR ≤ 5, 10, 20, 50 % per database (cumulative)."""
        rows = []
        for db in self.databases:
            fdr = self.annotations.loc[self.annotations["moldb_id"] == db, "fdr"].to_numpy()
            rows.append(
                {
                    "database": db,
                    **{f"{int(level * 100)}%": int((fdr <= level + 1e-9).sum()) for level in FDR_LEVELS},
                }
            )
        return pd.DataFrame(rows)

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the annotation table; per-peak arrays are ``;``-joined."""
        table = self.annotations.copy()
        for name in ARRAY_COLUMNS:
            table[name] = [
                ";".join(f"{v:.6f}" if name == "theo_mzs" else f"{v:.6g}" for v in values)
                for values in table[name]
            ]
        table.to_csv(path, index=False, float_format="%.10g")

    def export(
        self, out_dir: str | os.PathLike, *, png: bool = True, arrays: bool = True, cmap: str = "viridis"
    ) -> Path:
        """Write annotations.csv, run.json, and ion images (PNG and raw npz) to ``out_dir``.

        Files are written to a temporary folder first and moved into place at the end, so a
        failed export leaves no half-written results.
        """
        out_dir = Path(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".ionscape-", dir=out_dir.parent))
        try:
            self.to_csv(staging / "annotations.csv")
            (staging / "run.json").write_text(json.dumps(self.run_record(), indent=2, default=_json_default))
            if png or arrays:
                self._export_images(staging, png=png, arrays=arrays, cmap=cmap)
            if out_dir.exists():
                for item in staging.iterdir():
                    target = out_dir / item.name
                    if target.is_dir():
                        shutil.rmtree(target)
                    os.replace(item, target)
                staging.rmdir()
            else:
                os.replace(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return out_dir

    def _export_images(self, folder: Path, *, png: bool, arrays: bool, cmap: str) -> None:
        from ionscape.io.png import ion_image_png

        mask = self.images.mask
        raw: dict[str, np.ndarray] = {"mask": mask}
        image_dir = folder / "images"
        image_dir.mkdir()
        done: set[int] = set()
        for row in self.annotations.itertuples():
            stack = self.images.dense(int(row.formula_i))
            raw[row.ion] = stack
            if png and row.formula_i not in done:
                for k, image in enumerate(stack):
                    if row.theo_mzs[k] > 0:
                        (image_dir / f"{row.ion}_{k + 1}.png").write_bytes(
                            ion_image_png(image, mask, cmap=cmap)
                        )
            done.add(row.formula_i)
        if arrays:
            np.savez_compressed(folder / "ion_images.npz", **raw)

    def run_record(self) -> dict[str, Any]:
        """Everything needed to reproduce the run: config, databases, versions, timings."""
        from ionscape import __version__

        return {
            "ionscape_version": __version__,
            "config": self.config.to_ds_config(),
            "databases": self.databases,
            "annotations": {
                "total": len(self.annotations),
                "by_fdr": self.counts_by_fdr().to_dict(orient="records"),
            },
            "versions": _library_versions(),
            **self.run,
        }


def _library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "scipy", "pandas", "numba", "lithops", "pyimzml", "cpyMSpec-0-3-5"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
