"""The ``ionscape`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ionscape.errors import ConfigError, IonscapeError
from ionscape.pipeline.executor import EXECUTORS
from ionscape.synth_cli import add_synth_command


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ionscape`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except IonscapeError as exc:
        print(f"error: {exc}", *getattr(exc, "__notes__", []), sep="\n", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("interrupted", *getattr(exc, "__notes__", []), sep="\n", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionscape", description="Spatial metabolomics annotation on Lithops."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser(
        "annotate",
        help="annotate an imzML dataset",
        description="Annotate an imzML dataset against molecular databases.",
    )
    run.add_argument("imzml", nargs="?", help="the .imzML file (its .ibd next to it)")
    run.add_argument(
        "--example", action="store_true", help="annotate the bundled example dataset with its own settings"
    )
    run.add_argument(
        "--db",
        action="append",
        dest="databases",
        metavar="NAME|FILE",
        help="molecular database: a bundled name (see 'ionscape db list') or a CSV/TSV "
        "file; repeat for several (default: core_metabolome)",
    )
    targeting = run.add_mutually_exclusive_group()
    targeting.add_argument(
        "--targeted",
        action="store_const",
        const=True,
        dest="targeted",
        help="report every ion of the databases, without FDR filtering",
    )
    targeting.add_argument(
        "--untargeted",
        action="store_const",
        const=False,
        dest="targeted",
        help="FDR-filter the databases (the default)",
    )
    run.add_argument("--config", metavar="JSON", help="METASPACE-style ds_config JSON with the settings")
    run.add_argument("--polarity", choices=["+", "-"], help="ion polarity (default +)")
    run.add_argument("--adducts", metavar="LIST", help="comma-separated adducts, e.g. +H,+Na,+K")
    run.add_argument("--neutral-losses", metavar="LIST", help="comma-separated neutral losses, e.g. -H2O")
    run.add_argument("--chem-mods", metavar="LIST", help="comma-separated chemical modifications, e.g. -H+C")
    run.add_argument("--ppm", type=float, help="m/z tolerance in ppm (default 3)")
    run.add_argument("--n-peaks", type=int, help="isotope peaks per ion (default 4)")
    run.add_argument("--decoys", type=int, dest="decoy_sample_size", help="decoy sample size (default 20)")
    run.add_argument(
        "--sigma", type=float, dest="isocalc_sigma", help="isotope peak width sigma (Da at m/z 200)"
    )
    run.add_argument(
        "--resolving-power",
        metavar="RP[@MZ]",
        help="instrument resolving power, e.g. 80000@700; sets sigma as METASPACE does",
    )
    run.add_argument("--analyzer", help="analyzer name for --resolving-power: FTICR, Orbitrap, TOF...")
    run.add_argument("--out", default="results", help="output folder (default ./results)")
    run.add_argument(
        "--workers", type=int, help="parallel tasks on this machine (Lithops localhost, Spark local[N])"
    )
    run.add_argument(
        "--executor",
        choices=list(EXECUTORS),
        default="lithops",
        help="what runs the tasks: Lithops (default) or Apache Spark (pip install 'ionscape[spark]')",
    )
    run.add_argument(
        "--spark-master",
        metavar="URL",
        help="Spark master for --executor spark: local[N], spark://host:7077, yarn, k8s://... "
        "(default: spark-submit's settings, else local[N])",
    )
    run.add_argument("--lithops-config", metavar="YAML", help="Lithops config file to run with")
    run.add_argument(
        "--memory",
        action="append",
        metavar="[STAGE=]MB",
        help="memory per task in MB, of every stage or of one (dataset, centroids, annotate); repeatable",
    )
    run.add_argument(
        "--stage-workers",
        action="append",
        metavar="STAGE=N",
        help="parallel tasks of one stage (dataset: least number of sort tasks); repeatable",
    )
    run.add_argument(
        "--plan",
        action="store_true",
        help="print the job's plan (tasks and memory per stage, estimated time and cloud cost) and exit",
    )
    run.add_argument("--no-cache", action="store_true", help="do not use the cross-job centroid cache")
    run.add_argument("--no-png", action="store_true", help="do not write PNG ion images")
    run.add_argument("--allow-profile", action="store_true", help="annotate profile-mode spectra anyway")
    run.add_argument(
        "--skip-invalid-formulas",
        action="store_true",
        help="skip database lines with unparsable formulas (listed as a warning)",
    )
    run.set_defaults(run=_annotate)

    add_synth_command(commands)

    db = commands.add_parser("db", help="molecular databases")
    db_commands = db.add_subparsers(title="db commands")
    db_list = db_commands.add_parser("list", help="list the bundled molecular databases")
    db_list.set_defaults(run=_db_list)

    from ionscape.service.cli import add_service_commands

    add_service_commands(commands)
    from ionscape.export_cli import add_export_command

    add_export_command(commands)
    return parser


def _annotate(args: argparse.Namespace) -> int:
    import ionscape
    from ionscape.progress import StageProgress, print_summary

    if args.example == bool(args.imzml):
        raise ConfigError("give an .imzML file or --example (not both)")
    imzml = ionscape.example_dataset() if args.example else Path(args.imzml)
    config = _config_from_args(args)
    lithops_config = _load_lithops_config(args.lithops_config) if args.lithops_config else None
    memory_mb, stages = _sizing_from_args(args)
    settings = {
        "moldbs": args.databases or ["core_metabolome"],
        "config": config,
        "lithops_config": lithops_config,
        "workers": args.workers,
        "executor": args.executor,
        "spark_master": args.spark_master,
        "use_centroid_cache": not args.no_cache,
        "allow_profile": args.allow_profile,
        "skip_invalid_formulas": args.skip_invalid_formulas,
        "targeted": args.targeted,
        "memory_mb": memory_mb,
        "stages": stages,
    }
    if args.plan:
        print(ionscape.annotate(imzml, plan=True, **settings).format())
        return 0
    with StageProgress() as progress:
        results = ionscape.annotate(imzml, progress=progress.update, **settings)
    out = results.export(args.out, png=not args.no_png)
    print_summary(results, out)
    return 0


def _sizing_from_args(args: argparse.Namespace) -> tuple[int | None, dict[str, dict[str, int]]]:
    """``--memory [STAGE=]MB`` and ``--stage-workers STAGE=N``: (memory of all stages, per-stage settings)."""
    memory_mb = None
    stages: dict[str, dict[str, int]] = {}
    for value in args.memory or []:
        stage, _, number = value.rpartition("=")
        if stage:
            stages.setdefault(stage, {})["memory_mb"] = _positive(number, "--memory", value)
        else:
            memory_mb = _positive(number, "--memory", value)
    for value in args.stage_workers or []:
        stage, _, number = value.rpartition("=")
        if not stage:
            raise ConfigError(f"--stage-workers must look like annotate=100, got {value!r}")
        stages.setdefault(stage, {})["workers"] = _positive(number, "--stage-workers", value)
    return memory_mb, stages


def _positive(number: str, flag: str, value: str) -> int:
    if not number.isdigit() or int(number) < 1:
        raise ConfigError(f"{flag} needs a positive whole number, got {value!r}")
    return int(number)


def _config_from_args(args: argparse.Namespace) -> Any:
    from ionscape.api import example_config
    from ionscape.config import AnnotationConfig

    if args.config:
        config = AnnotationConfig.from_json(args.config)
    elif args.example:
        config = example_config()
    else:
        config = AnnotationConfig.for_polarity(args.polarity or "+")
    overrides: dict[str, Any] = {}
    if args.polarity:
        charge = 1 if args.polarity == "+" else -1
        if charge != config.isotope_generation.charge:
            defaults = AnnotationConfig.for_polarity(args.polarity).isotope_generation
            overrides.update(charge=charge, adducts=defaults.adducts)
    for name in ("adducts", "neutral_losses", "chem_mods"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = tuple(v.strip() for v in value.split(",") if v.strip())
    if args.n_peaks is not None:
        overrides["n_peaks"] = args.n_peaks
    if args.isocalc_sigma is not None:
        overrides["isocalc_sigma"] = args.isocalc_sigma
    if args.resolving_power:
        overrides.update(_sigma_from_arg(args.resolving_power, args.analyzer))
    if overrides:
        config = config.with_overrides(**overrides)
    if args.ppm is not None:
        config = _replace_section(config, "image_generation", ppm=args.ppm)
    if args.decoy_sample_size is not None:
        config = _replace_section(config, "fdr", decoy_sample_size=args.decoy_sample_size)
    return config


def _sigma_from_arg(value: str, analyzer: str | None) -> dict[str, Any]:
    from ionscape.config import instrument_from_analyzer, sigma_from_resolving_power

    power, _, at_mz = value.partition("@")
    try:
        rp, mz = float(power), float(at_mz or 200)
    except ValueError:
        raise ConfigError(f"--resolving-power must look like 80000@700, got {value!r}") from None
    instrument = instrument_from_analyzer(analyzer or "TOF")
    return {"isocalc_sigma": sigma_from_resolving_power(rp, mz, instrument), "instrument": instrument}


def _replace_section(config: Any, section: str, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(config, **{section: replace(getattr(config, section), **changes)})


def _load_lithops_config(path: str) -> dict[str, Any]:
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"Lithops config file not found: {path}") from None


def _db_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ionscape.chem.moldb import bundled_databases

    table = Table(title="Bundled molecular databases")
    for column in ("name", "molecules", "formulas", "description"):
        table.add_column(column)
    for db in bundled_databases():
        table.add_row(db["name"], str(db["molecules"]), str(db["formulas"]), db["description"])
    Console().print(table)
    print("Any CSV/TSV file with id, name, formula columns (or a formula-only list) works too: --db FILE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
