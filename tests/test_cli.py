"""The command line: the bundled example end to end, db list, and clean errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "ionscape.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def test_annotate_example_writes_results(tmp_path):
    out = tmp_path / "results"
    proc = run_cli(
        "annotate",
        "--example",
        "--db",
        str(DATA / "moldb" / "mol_db5.csv"),
        "--untargeted",
        "--out",
        str(out),
        "--workers",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Annotations" in proc.stdout and "images & metrics" in proc.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["annotations"]["total"] == 38
    assert run["config"]["isotope_generation"]["isocalc_sigma"] == 0.000619
    assert {s["name"] for s in run["stages"]} >= {"ions", "dataset", "centroids", "annotate", "fdr"}
    ibd = run["inputs"]["ibd"]
    assert ibd["sha256"] == hashlib.sha256(Path(ibd["path"]).read_bytes()).hexdigest()


def test_db_list():
    proc = run_cli("db", "list")
    assert proc.returncode == 0, proc.stderr
    assert "core_metabolome" in proc.stdout and "lipidmaps" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["annotate", "--example", "--adducts", "+H,+Xy"], "Xy"),
        (["annotate", "missing.imzML"], "not found"),
        (["annotate", "--example", "--db", "no_such_db.csv"], "no_such_db"),
    ],
)
def test_errors_exit_2_without_traceback(tmp_path, args, message):
    proc = run_cli(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
