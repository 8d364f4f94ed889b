"""``ionscape export RESULTS_DIR --format anndata|csv|png``: convert an ``annotate --out`` folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

FORMATS = ("anndata", "csv", "png")
DEFAULT_NAMES = {"anndata": "annotations.h5ad", "csv": "ion_intensities.csv", "png": "png"}


def add_export_command(subparsers: Any) -> None:
    """Register ``export`` on the ``ionscape`` command's subparsers."""
    export = subparsers.add_parser(
        "export",
        help="convert a results folder to AnnData, CSV or PNG",
        description="Convert the folder written by 'ionscape annotate --out' (annotations.csv, "
        "ion_images.npz, run.json). anndata: pixels x annotations .h5ad for scanpy/squidpy; csv: one "
        "row per sampled pixel (x, y, then the principal-peak intensity of each annotation); png: a "
        "results folder of the chosen annotations with images/<ion>_<peak>.png for every isotope peak.",
    )
    export.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by 'ionscape annotate'")
    export.add_argument("--format", required=True, choices=FORMATS, dest="export_format")
    export.add_argument(
        "--out",
        help="output file (anndata, csv) or new folder (png); default: annotations.h5ad, "
        "ion_intensities.csv or png/ in RESULTS_DIR",
    )
    export.add_argument("--fdr", type=float, help="only annotations at FDR <= this (e.g. 0.1)")
    export.add_argument("--database", help="only the annotations of this database")
    export.add_argument("--cmap", default="viridis", help="matplotlib colormap of the PNGs (default viridis)")
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Write the requested format; prints where it went."""
    from ionscape.errors import ConfigError
    from ionscape.results import Results

    results = Results.load(args.results_dir).select(database=args.database, fdr=args.fdr)
    out = Path(args.out or Path(args.results_dir) / DEFAULT_NAMES[args.export_format])
    if args.export_format == "png":
        if out.resolve() == Path(args.results_dir).resolve():
            raise ConfigError("--out must not be RESULTS_DIR itself: its files would be replaced")
        results.export(out, png=True, arrays=False, cmap=args.cmap)
    elif args.export_format == "anndata":
        out.parent.mkdir(parents=True, exist_ok=True)
        results.to_anndata().write_h5ad(out)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        intensities_table(results.to_anndata()).to_csv(out, index=False, float_format="%.6g")
    print(f"{len(results.annotations)} annotations written to {out}")
    return 0


def intensities_table(adata: Any) -> Any:
    """Pixels × annotations as a plain table: x, y, then one column per annotation."""
    import pandas as pd

    values = pd.DataFrame(adata.X.toarray(), columns=list(adata.var_names))
    return pd.concat([adata.obs[["x", "y"]].reset_index(drop=True), values], axis=1)
