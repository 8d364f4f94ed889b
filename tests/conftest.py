"""Shared fixtures. Lithops keeps its local state under $TMPDIR, so each test session gets its own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_TMP = tempfile.mkdtemp(prefix="ionscape-tests-")
os.environ["TMPDIR"] = _SESSION_TMP  # before anything imports lithops; workers inherit it
tempfile.tempdir = _SESSION_TMP  # mkdtemp above cached the old default
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.pop("LITHOPS_CONFIG", None)
os.environ.pop("LITHOPS_CONFIG_FILE", None)

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"
REFERENCE = DATA / "reference"


@pytest.fixture(scope="session")
def lithops_local() -> dict:
    """An explicit Lithops localhost config, so a developer's own Lithops config never leaks in."""
    from ionscape.pipeline.executor import default_lithops_config

    return default_lithops_config(worker_processes=2)


@pytest.fixture(scope="session")
def example_imzml() -> Path:
    import ionscape

    return ionscape.example_dataset()
