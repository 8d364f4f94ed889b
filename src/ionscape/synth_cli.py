"""``ionscape synth``: write a synthetic imzML dataset with known answers."""

from __future__ import annotations

import argparse
from typing import Any

from ionscape.errors import ConfigError


def add_synth_command(subparsers: Any) -> None:
    """Register the ``synth`` command on the ``ionscape`` sub-command parsers."""
    from ionscape.synthetic._spec import ISOTOPE_MODELS, PATTERN_KINDS, SynthSpec

    defaults = SynthSpec()
    synth = subparsers.add_parser(
        "synth",
        help="write a synthetic imzML dataset with known answers",
        description="Write a synthetic imzML + ibd dataset with planted molecules, matrix ions, background "
        "and noise, and its ground truth (OUT.truth.csv, .json, .npy).",
    )
    synth.add_argument("out", metavar="OUT.imzML", help="the .imzML file to write (the .ibd goes next to it)")
    synth.add_argument(
        "--width", type=int, default=defaults.width, help="pixels per row (default %(default)s)"
    )
    synth.add_argument("--height", type=int, default=defaults.height, help="rows (default %(default)s)")
    synth.add_argument(
        "--peaks-per-spectrum",
        type=int,
        default=defaults.peaks_per_spectrum,
        help="about this many centroids per spectrum (default %(default)s)",
    )
    synth.add_argument(
        "--mz-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=defaults.mz_range,
        help="scan range (default {:g} {:g})".format(*defaults.mz_range),
    )
    synth.add_argument("--polarity", choices=["+", "-"], default=defaults.polarity, help="default +")
    synth.add_argument(
        "--db",
        default=defaults.database,
        metavar="NAME|FILE",
        help="molecular database to draw planted ions and isobars from (default %(default)s)",
    )
    synth.add_argument(
        "--n-planted",
        type=int,
        help="random ions to plant from the database (default 20, or 0 with --planted)",
    )
    synth.add_argument(
        "--planted",
        action="append",
        default=[],
        metavar="FORMULA+ADDUCT",
        help="an ion to plant, e.g. C6H12O6+Na; repeat for several",
    )
    synth.add_argument("--adducts", metavar="LIST", help="adducts of random ions, e.g. +H,+Na,+K")
    synth.add_argument(
        "--isotopes",
        choices=ISOTOPE_MODELS,
        default=defaults.isotopes,
        help="isotope envelopes: the engine's centroids or IsoSpecPy's fine structure (default %(default)s)",
    )
    synth.add_argument(
        "--resolving-power",
        metavar="RP[@MZ]",
        default=f"{defaults.resolving_power:.0f}@{defaults.at_mz:.0f}",
        help="instrument resolving power (default %(default)s)",
    )
    synth.add_argument(
        "--analyzer", default=defaults.analyzer, help="Orbitrap, FTICR or TOF (default %(default)s)"
    )
    synth.add_argument(
        "--matrix",
        default=defaults.matrix,
        help="MALDI matrix (DHB, CHCA, 9AA, DAN, ...) or 'none' (default DHB)",
    )
    synth.add_argument(
        "--patterns",
        default=",".join(PATTERN_KINDS),
        metavar="LIST",
        help="spatial pattern kinds to use (default %(default)s)",
    )
    synth.add_argument("--no-tissue", action="store_true", help="planted ions over the whole image")
    synth.add_argument(
        "--continuous", action="store_true", help="write continuous imzML (one shared m/z axis)"
    )
    synth.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
    synth.add_argument("--no-truth-images", action="store_true", help="do not write OUT.truth.npy")
    synth.set_defaults(run=_synth)


def spec_from_args(args: argparse.Namespace) -> Any:
    """The :class:`SynthSpec` the command-line arguments describe."""
    from ionscape.synthetic._spec import PlantedIon, SynthSpec

    power, _, at_mz = args.resolving_power.partition("@")
    try:
        resolving_power, at = float(power), float(at_mz or 200)
    except ValueError:
        raise ConfigError(
            f"--resolving-power must look like 140000@200, got {args.resolving_power!r}"
        ) from None
    planted = tuple(PlantedIon.parse(text) for text in args.planted)
    n_planted = args.n_planted if args.n_planted is not None else (0 if planted else 20)
    return SynthSpec(
        width=args.width,
        height=args.height,
        peaks_per_spectrum=args.peaks_per_spectrum,
        mz_range=tuple(args.mz_range),
        polarity=args.polarity,
        database=None if args.db.lower() == "none" else args.db,
        planted=planted,
        n_planted=n_planted,
        adducts=_split(args.adducts),
        isotopes=args.isotopes,
        resolving_power=resolving_power,
        at_mz=at,
        analyzer=args.analyzer,
        patterns=_split(args.patterns),
        tissue=not args.no_tissue,
        matrix=None if args.matrix.lower() == "none" else args.matrix,
        continuous=args.continuous,
        seed=args.seed,
    )


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def _synth(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ionscape.progress import StageProgress
    from ionscape.synthetic import synthesize, truth_paths

    spec = spec_from_args(args)
    with StageProgress() as progress:
        truth = synthesize(
            args.out,
            spec,
            progress=lambda done, total: progress.update("spectra", done, total),
            truth_images=not args.no_truth_images,
        )
    summary = truth.summary
    counts = truth.ions["kind"].value_counts()
    console = Console()
    console.print(
        f"{summary['n_spectra']:,} spectra, {summary['n_peaks']:,} peaks, "
        f"{summary['ibd_bytes'] / 2**20:,.1f} MiB in {summary['seconds']:.1f} s ({summary['mb_per_s']} MB/s)"
    )
    console.print(
        "ions: "
        + ", ".join(f"{counts.get(kind, 0)} {kind}" for kind in ("planted", "matrix", "background", "isobar"))
    )
    written = [
        truth.imzml_path,
        truth.imzml_path.with_suffix(".ibd"),
        *truth_paths(truth.imzml_path).values(),
    ]
    console.print("written: " + ", ".join(str(path) for path in written if path.is_file()))
    return 0
