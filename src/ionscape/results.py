"""The :class:`Results` of an annotation run: the table, the ion images, and their export."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ionscape.config import AnnotationConfig
from ionscape.errors import IonscapeError
from ionscape.kernels.fdr import FDR_LEVELS

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

    # --- reading an export folder back, selecting annotations, AnnData for scverse tools ---

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Results:
        """Read a folder written by :meth:`export` (annotations.csv, ion_images.npz, run.json)."""
        folder = Path(folder)
        missing = [name for name in EXPORT_FILES if not (folder / name).is_file()]
        if missing:
            raise ResultsFolderError(f"{folder} is not an ionscape results folder: no {', '.join(missing)}")
        table = read_annotations_csv(folder / "annotations.csv")
        run = json.loads((folder / "run.json").read_text())
        with np.load(folder / "ion_images.npz") as npz:
            stacks = {name: npz[name] for name in npz.files}
        images = ion_images_from_stacks(table, stacks)
        config = AnnotationConfig.from_ds_config(run["config"])
        return cls(table, images, config, list(run["databases"]), run=run)

    def select(self, *, database: str | None = None, fdr: float | None = None) -> Results:
        """The annotations of one database and/or at FDR <= ``fdr`` (targeted ones, without FDR, stay)."""
        table = select_annotations(self.annotations, database=database, fdr=fdr)
        databases = self.databases if database is None else [database]
        return replace(self, annotations=table, databases=databases)

    def to_anndata(self, *, database: str | None = None, fdr: float | None = None) -> Any:
        """Pixels × annotations as an ``anndata.AnnData``, the layout scanpy and squidpy read.

        ``obs``: one row per sampled pixel (row-major), with ``x``, ``y`` (0-based column and row)
        also in ``obsm["spatial"]``; ``var``: one row per annotation (database, formula, adduct, msm,
        fdr, mz, ...), named by its ion (``ion|database`` where several databases report the same
        ion); ``X``: sparse CSR float32 intensities of each ion's principal isotope peak;
        ``uns["ionscape"]``: image shape, databases and settings.
        """
        import anndata

        chosen = self.select(database=database, fdr=fdr)
        table = chosen.annotations
        sampled = np.flatnonzero(self.images.mask.ravel())
        obs = pd.DataFrame(
            {"x": sampled % self.images.width, "y": sampled // self.images.width},
            index=pd.Index([str(p) for p in sampled], dtype=object, name="pixel"),
        )
        adata = anndata.AnnData(
            X=_principal_peak_matrix(self.images, table["formula_i"].to_numpy(), sampled),
            obs=obs,
            var=_anndata_var(table),
        )
        adata.obsm["spatial"] = obs[["x", "y"]].to_numpy(dtype=np.int64)
        adata.uns["ionscape"] = {
            "image_shape": [self.images.height, self.images.width],
            "databases": list(chosen.databases),
            "config": json.dumps(self.config.to_ds_config()),
        }
        return adata


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


# --- helpers of Results.load and Results.to_anndata ---

EXPORT_FILES = ("annotations.csv", "run.json", "ion_images.npz")
_TEXT_COLUMNS = (
    "moldb_id",
    "formula",
    "adduct",
    "chem_mod",
    "neutral_loss",
    "ion",
    "ion_formula",
    "molecule_ids",
    "molecule_names",
    "modifier",
)
_VAR_COLUMNS = {
    "moldb_id": "database",
    "formula": "formula",
    "adduct": "adduct",
    "chem_mod": "chem_mod",
    "neutral_loss": "neutral_loss",
    "ion": "ion",
    "ion_formula": "ion_formula",
    "mz": "mz",
    "msm": "msm",
    "fdr": "fdr",
    "chaos": "chaos",
    "spatial": "spatial",
    "spectral": "spectral",
    "molecule_ids": "molecule_ids",
    "molecule_names": "molecule_names",
}


class ResultsFolderError(IonscapeError):
    """A folder is not a complete ionscape results export."""


def read_annotations_csv(source: str | os.PathLike | IO[str]) -> pd.DataFrame:
    """The annotation table of :meth:`Results.to_csv`, with per-peak columns as float arrays again."""
    text = dict.fromkeys(_TEXT_COLUMNS, object)
    table = pd.read_csv(source, dtype=text, keep_default_na=False, na_values={"fdr": [""]})
    for name in ARRAY_COLUMNS:
        if name in table:
            table[name] = [np.array(v.split(";"), dtype=np.float64) for v in table[name].astype(str)]
    for name in ("mz_err_abs", "mz_err_rel"):
        if name in table:
            table[name] = pd.to_numeric(table[name].replace("", np.nan))
    if "target" in table:
        table["target"] = table["target"].astype(str) == "True"
    return table


def select_annotations(
    table: pd.DataFrame, *, database: str | None = None, fdr: float | None = None
) -> pd.DataFrame:
    """Rows of ``database`` at FDR <= ``fdr``; rows without FDR (targeted databases) stay."""
    keep = np.ones(len(table), dtype=bool)
    if database is not None:
        keep &= (table["moldb_id"] == database).to_numpy()
    if fdr is not None:
        values = table["fdr"].to_numpy(dtype=float)
        keep &= np.isnan(values) | (values <= fdr + 1e-9)
    return table[keep].reset_index(drop=True)


def ion_images_from_stacks(table: pd.DataFrame, stacks: dict[str, np.ndarray]) -> IonImages:
    """:class:`IonImages` of the table's ions from (n_peaks, h, w) stacks keyed by ion, and ``mask``."""
    mask = np.asarray(stacks["mask"], dtype=bool)
    height, width = mask.shape
    images = IonImages(width, height, np.flatnonzero(mask.ravel()))
    for ion, formula_i in zip(table["ion"], table["formula_i"], strict=True):
        if int(formula_i) not in images.sparse:
            flat = np.asarray(stacks[ion], dtype=np.float32).reshape(len(stacks[ion]), -1)
            images.sparse[int(formula_i)] = [(np.flatnonzero(peak), peak[peak != 0]) for peak in flat]
    return images


def _principal_peak_matrix(images: IonImages, formula_is: np.ndarray, sampled: np.ndarray) -> Any:
    """(sampled pixels, annotations) CSR float32 matrix of the principal peak images."""
    import scipy.sparse

    row_of_pixel = np.full(images.width * images.height, -1, dtype=np.int64)
    row_of_pixel[sampled] = np.arange(len(sampled))
    peaks = [images.sparse[int(fi)][0] for fi in formula_is]
    counts = np.array([len(pixels) for pixels, _ in peaks], dtype=np.int64)
    pixels = np.concatenate([p for p, _ in peaks]).astype(np.int64) if peaks else np.zeros(0, np.int64)
    values = np.concatenate([v for _, v in peaks]) if peaks else np.zeros(0, np.float32)
    rows = row_of_pixel[pixels]
    columns = np.repeat(np.arange(len(peaks)), counts)
    inside = rows >= 0
    matrix = scipy.sparse.coo_matrix(
        (values[inside].astype(np.float32), (rows[inside], columns[inside])),
        shape=(len(sampled), len(peaks)),
        dtype=np.float32,
    )
    return matrix.tocsr()


def _anndata_var(table: pd.DataFrame) -> pd.DataFrame:
    """One row per annotation; text as plain object columns so that h5ad writing works on every pandas."""
    var = pd.DataFrame({new: table[old].to_numpy() for old, new in _VAR_COLUMNS.items()})
    names = var["ion"].astype(str)
    repeated = names.duplicated(keep=False).to_numpy()
    names[repeated] = names[repeated] + "|" + var["database"][repeated].astype(str)
    var.index = pd.Index(names.to_list(), dtype=object, name="annotation")
    text = [new for old, new in _VAR_COLUMNS.items() if old in _TEXT_COLUMNS]
    var[text] = var[text].astype(object)
    return var
