"""numpy's huge-page hint is turned off for workers only where the kernel stalls on it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ionscape.pipeline.hugepages import NUMPY_HUGEPAGE_ENV, avoid_hugepage_stalls, defrag_mode


@pytest.fixture
def unset(monkeypatch):
    """No NUMPY_MADVISE_HUGEPAGE during the test, and none set by it afterwards."""
    monkeypatch.setenv(NUMPY_HUGEPAGE_ENV, "recorded so that teardown restores the original")
    monkeypatch.delenv(NUMPY_HUGEPAGE_ENV)


@pytest.fixture
def defrag(tmp_path, unset):
    path = tmp_path / "defrag"

    def write(text: str):
        path.write_text(text)
        return path

    return write


@pytest.mark.parametrize("mode", ["always", "madvise", "defer+madvise"])
def test_hint_turned_off_where_faults_compact_synchronously(defrag, mode):
    modes = ["always", "defer", "defer+madvise", "madvise", "never"]
    path = defrag(" ".join(f"[{m}]" if m == mode else m for m in modes) + "\n")
    assert defrag_mode(path) == mode
    assert avoid_hugepage_stalls(path)
    assert os.environ[NUMPY_HUGEPAGE_ENV] == "0"


@pytest.mark.parametrize("text", ["always [defer] defer+madvise madvise never\n", "always madvise [never]\n"])
def test_hint_kept_where_compaction_is_deferred_or_off(defrag, text):
    assert not avoid_hugepage_stalls(defrag(text))
    assert NUMPY_HUGEPAGE_ENV not in os.environ


def test_no_thp_file_changes_nothing(tmp_path, unset):
    assert defrag_mode(tmp_path / "missing") is None
    assert not avoid_hugepage_stalls(tmp_path / "missing")


def test_users_own_setting_wins(defrag, monkeypatch):
    monkeypatch.setenv(NUMPY_HUGEPAGE_ENV, "1")
    assert not avoid_hugepage_stalls(defrag("always defer defer+madvise [madvise] never\n"))
    assert os.environ[NUMPY_HUGEPAGE_ENV] == "1"


def test_worker_processes_started_afterwards_run_without_the_hint(defrag):
    avoid_hugepage_stalls(defrag("always defer defer+madvise [madvise] never\n"))
    probe = "import numpy._core.multiarray as m; print(m._get_madvise_hugepage())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
