"""The ``synth`` command: arguments to settings, files written, errors."""

from __future__ import annotations

import argparse

import pytest

from ionscape.errors import ConfigError
from ionscape.io.imzml import read_imzml_index
from ionscape.synth_cli import add_synth_command, spec_from_args
from ionscape.synthetic import PlantedIon, load_truth


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ionscape")
    add_synth_command(parser.add_subparsers())
    return parser.parse_args(["synth", *argv])


def test_arguments_become_settings():
    spec = spec_from_args(
        parse(
            "out.imzML",
            "--width", "30",
            "--height", "20",
            "--peaks-per-spectrum", "800",
            "--mz-range", "150", "900",
            "--polarity", "-",
            "--planted", "C6H12O6-H",
            "--planted", "C5H9NO4+Cl",
            "--adducts", "-H, +Cl",
            "--isotopes", "isospec",
            "--resolving-power", "70000@400",
            "--analyzer", "FTICR",
            "--matrix", "9AA",
            "--patterns", "blob,cells",
            "--no-tissue",
            "--continuous",
            "--seed", "7",
        )
    )  # fmt: skip
    assert (spec.width, spec.height, spec.peaks_per_spectrum, spec.mz_range) == (30, 20, 800, (150.0, 900.0))
    assert spec.polarity == "-" and spec.adducts == ("-H", "+Cl")
    assert spec.planted == (PlantedIon("C6H12O6", "-H"), PlantedIon("C5H9NO4", "+Cl"))
    assert spec.n_planted == 0  # chosen ions only, unless --n-planted says otherwise
    assert (spec.isotopes, spec.analyzer) == ("isospec", "FTICR")
    assert (spec.resolving_power, spec.at_mz) == (70000, 400)
    assert spec.matrix == "9AA" and spec.patterns == ("blob", "cells")
    assert not spec.tissue and spec.continuous and spec.seed == 7


def test_defaults_and_none_values():
    spec = spec_from_args(parse("out.imzML", "--matrix", "none", "--db", "none", "--n-planted", "0"))
    assert spec.matrix is None and spec.database is None and spec.n_planted == 0
    assert spec_from_args(parse("out.imzML")).n_planted == 20


def test_bad_resolving_power_is_a_config_error():
    with pytest.raises(ConfigError, match="140000@200"):
        spec_from_args(parse("out.imzML", "--resolving-power", "high"))


def test_run_writes_dataset_and_truth(tmp_path, capsys):
    out = tmp_path / "cli.imzML"
    args = parse(str(out), "--width", "8", "--height", "5", "--peaks-per-spectrum", "100", "--n-planted", "3")
    assert args.run(args) == 0
    assert read_imzml_index(out).n_spectra == 40
    truth = load_truth(out)
    assert len(truth.planted) == 3 and truth.images.shape == (3, 5, 8)
    printed = capsys.readouterr().out
    assert "40 spectra" in printed and "3 planted" in printed and "cli.truth.csv" in printed
