"""A rerun of an interrupted job resumes from the stages that finished, and cleans up after itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import lithops
import pandas as pd
import pytest

import ionscape
from ionscape.pipeline.checkpoint import JOB_ROOT, REGISTRY, STALE_AFTER_S, JobCheckpoints, remove_stale_jobs
from ionscape.pipeline.executor import resolve_lithops_config

COLUMNS = ["formula", "adduct", "msm", "fdr", "chaos", "spatial", "spectral"]


class Interrupt:
    """A progress callback that presses Ctrl-C when ``stage`` starts."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == self.stage:
            raise KeyboardInterrupt


@pytest.fixture
def storage(lithops_local):
    storage = lithops.Storage(config=resolve_lithops_config(lithops_local))
    for prefix in (JOB_ROOT, REGISTRY):
        keys = storage.list_keys(storage.bucket, prefix=prefix + "/")
        if keys:
            storage.delete_objects(storage.bucket, keys)
    return storage


def _annotate(example_imzml, lithops_local, **kwargs):
    return ionscape.annotate(example_imzml, lithops_config=lithops_local, **kwargs)


def _stages(results) -> dict[str, bool]:
    return {s["name"]: s["resumed"] for s in results.run["stages"] if s["name"] in ("dataset", "annotate")}


def _left(storage) -> list[str]:
    return [k for p in (JOB_ROOT, REGISTRY) for k in storage.list_keys(storage.bucket, prefix=p + "/")]


def test_rerun_after_an_interruption_resumes_from_finished_stages(example_imzml, lithops_local, storage):
    clean = _annotate(example_imzml, lithops_local)
    assert not _left(storage)

    with pytest.raises(KeyboardInterrupt) as interrupted:
        _annotate(example_imzml, lithops_local, progress=Interrupt("annotate"))
    assert any("resumes" in note for note in interrupted.value.__notes__)
    kept = _left(storage)
    assert any(k.endswith("/checkpoints/dataset.json") for k in kept)
    assert any("/dataset/segment-" in k for k in kept)

    resumed = _annotate(example_imzml, lithops_local)
    assert _stages(resumed) == {"dataset": True, "annotate": False}
    assert resumed.run["stages"][1]["tasks"] == 0
    pd.testing.assert_frame_equal(resumed.annotations[COLUMNS], clean.annotations[COLUMNS])
    assert not _left(storage)


def test_interrupted_after_scoring_resumes_both_task_stages(example_imzml, lithops_local, storage):
    with pytest.raises(KeyboardInterrupt):
        _annotate(example_imzml, lithops_local, progress=Interrupt("fdr"))
    resumed = _annotate(example_imzml, lithops_local)
    assert _stages(resumed) == {"dataset": True, "annotate": True}
    assert len(resumed.annotations) > 0
    assert not _left(storage)


def test_a_changed_setting_reruns_the_stages_it_affects(example_imzml, lithops_local, storage):
    with pytest.raises(KeyboardInterrupt):
        _annotate(example_imzml, lithops_local, progress=Interrupt("fdr"), job_key="k1")
    # the dataset stage does not depend on the annotate stage's workers; the annotate stage does
    resumed = _annotate(example_imzml, lithops_local, job_key="k1", stages={"annotate": {"workers": 3}})
    assert _stages(resumed) == {"dataset": True, "annotate": False}
    # another job key is another job: nothing to resume
    with pytest.raises(KeyboardInterrupt):
        _annotate(example_imzml, lithops_local, progress=Interrupt("fdr"), job_key="k2")
    fresh = _annotate(example_imzml, lithops_local, job_key="k3")
    assert _stages(fresh) == {"dataset": False, "annotate": False}
    assert [k for k in _left(storage) if "k2" not in k] == []


def test_bad_input_leaves_nothing_behind(example_imzml, lithops_local, storage, tmp_path):
    imzml = tmp_path / "broken.imzML"
    imzml.write_bytes(example_imzml.read_bytes())
    ibd = example_imzml.with_suffix(".ibd")
    (tmp_path / "broken.ibd").write_bytes(ibd.read_bytes()[: ibd.stat().st_size // 2])
    with pytest.raises(ionscape.errors.DatasetError):
        _annotate(imzml, lithops_local)
    assert not _left(storage)


def test_a_job_key_in_use_by_a_live_process_is_not_shared(storage):
    other = {"host": socket.gethostname(), "pid": os.getppid(), "claimed": time.time()}
    storage.put_object(storage.bucket, f"{REGISTRY}/busy.json", json.dumps(other).encode())
    claimed = JobCheckpoints(storage, storage.bucket, "busy").claim()
    assert claimed.key != "busy" and claimed.key.startswith("busy-")
    # a key whose owner is gone (no such process) is taken over, so its checkpoints are reused
    gone = other | {"pid": 2**22 + 12345}
    storage.put_object(storage.bucket, f"{REGISTRY}/gone.json", json.dumps(gone).encode())
    assert JobCheckpoints(storage, storage.bucket, "gone").claim().key == "gone"


def test_stale_jobs_are_removed_by_a_later_job(storage):
    old = JobCheckpoints(storage, storage.bucket, "old").claim()
    old.save("dataset", "digest", {"segment_keys": []})
    storage.put_object(storage.bucket, f"{old.prefix}/dataset/segment-00000-000", b"x")
    owner = {"host": "elsewhere", "pid": 1, "claimed": time.time() - STALE_AFTER_S - 60}
    storage.put_object(storage.bucket, f"{REGISTRY}/old.json", json.dumps(owner).encode())
    recent = JobCheckpoints(storage, storage.bucket, "recent").claim()
    recent.save("dataset", "digest", {})

    assert remove_stale_jobs(storage, storage.bucket) == ["old"]
    assert not storage.list_keys(storage.bucket, prefix=f"{old.prefix}/")
    assert recent.load("dataset", "digest") == {}
    assert recent.load("dataset", "another digest") is None


def test_a_killed_cli_run_is_resumed_by_the_next_one(lithops_local, storage, tmp_path):
    args = [sys.executable, "-m", "ionscape.cli", "annotate", "--example", "--workers", "2", "--no-cache"]
    killed = subprocess.Popen([*args, "--out", str(tmp_path / "first")], start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while not any(k.endswith("/checkpoints/dataset.json") for k in _left(storage)):
            assert killed.poll() is None and time.monotonic() < deadline, "ended before its dataset stage"
            time.sleep(0.2)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the driver and its Lithops workers, no clean-up
        killed.wait()
    assert any(k.endswith("/checkpoints/dataset.json") for k in _left(storage))

    out = tmp_path / "second"
    rerun = subprocess.run([*args, "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    stages = {s["name"]: s for s in json.loads((out / "run.json").read_text())["stages"]}
    assert stages["dataset"]["resumed"] and stages["dataset"]["tasks"] == 0
    assert not _left(storage)
