"""The Spark executor: the stage functions as Spark tasks on local[2], storage through Lithops.

One SparkContext serves the whole test session (starting one takes seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ionscape import annotate, example_config, load_moldb
from ionscape.errors import ConfigError, DatasetError, PipelineError
from ionscape.pipeline import executor as executor_module
from ionscape.pipeline.spark import LOCAL_TASK_ATTEMPTS, SparkExecutor, find_java, spark_context
from ionscape.results import Results
from tests.pipeline.backends import S3Server
from tests.pipeline.test_storage_backends import stop_when_written

TEST_DATA = Path(__file__).parents[1] / "data"
MOL_DB5 = TEST_DATA / "moldb" / "mol_db5.csv"
KEY = ["formula", "adduct", "chem_mod", "neutral_loss"]


@pytest.fixture(scope="session")
def spark():
    """The session's SparkContext on local[2]; this module's task functions travel by value."""
    import pyspark.cloudpickle

    try:
        context = spark_context(workers=2)
    except ConfigError as exc:
        pytest.fail(f"Spark cannot start here: {exc}")
    pyspark.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield context
    context.stop()


@pytest.fixture
def executor(spark, lithops_local):
    executor = SparkExecutor(lithops_local)
    yield executor
    executor.close()


# --- task functions ---------------------------------------------------------------------------


def _attempt(x: int, storage) -> dict:
    """Which attempt ran the task; the first attempt of x == 1 fails."""
    from pyspark import TaskContext

    attempt = TaskContext.get().attemptNumber()
    if x == 1 and attempt == 0:
        raise RuntimeError("worker lost")
    return {"x": x, "attempt": attempt}


def _fail(x: int, storage) -> dict:
    """Note the attempt in storage, then fail."""
    from pyspark import TaskContext

    storage.put_object(storage.bucket, f"spark-tests/boom/attempt-{TaskContext.get().attemptNumber()}", b"")
    raise ValueError(f"bad value {x}")


def _bad_input(x: int, storage) -> dict:
    raise DatasetError(f"spectrum {x} is truncated")


def _storage_down(x: int, storage) -> dict:
    raise ConnectionError("connection refused")


def _hold_until_storage_fails(marker: str, storage) -> None:
    """Say it started, then run until the storage stops answering."""
    storage.put_object(storage.bucket, marker, b"")
    while True:
        storage.head_object(storage.bucket, marker)


def _write(x: int, storage) -> str:
    key = f"spark-tests/out-{x}"
    storage.put_object(storage.bucket, key, str(x * x).encode())
    return key


# --- the executor -----------------------------------------------------------------------------


def test_results_in_order_through_lithops_storage(executor):
    seen = []
    executor.progress = lambda stage, done, total: seen.append((stage, done, total))
    keys = executor.map("write", _write, [{"x": i} for i in range(5)])
    assert keys == [f"spark-tests/out-{i}" for i in range(5)]
    assert [executor.storage.get_object(executor.bucket, k) for k in keys] == [b"0", b"1", b"4", b"9", b"16"]
    assert seen[0] == ("write", 0, 5) and seen[-1] == ("write", 5, 5)
    assert [d for _, d, _ in seen] == sorted(d for _, d, _ in seen)
    assert executor.stages[0].tasks == 5


def test_a_failed_attempt_is_retried_by_spark(executor):
    results = executor.map("flaky", _attempt, [{"x": i} for i in range(3)])
    assert [r["x"] for r in results] == [0, 1, 2]
    assert [r["attempt"] for r in results] == [0, 1, 0]
    assert executor.stages[0].tasks == 4  # three tasks, one of them twice


def test_a_task_failing_every_attempt_names_the_stage(executor):
    with pytest.raises(PipelineError, match=r"stage 'boom': a task failed: ValueError: bad value 1$"):
        executor.map("boom", _fail, [{"x": 1}])
    attempts = executor.storage.list_keys(executor.bucket, prefix="spark-tests/boom/")
    assert sorted(attempts) == [f"spark-tests/boom/attempt-{i}" for i in range(LOCAL_TASK_ATTEMPTS)]


def test_bad_input_reaches_the_caller_unchanged_and_is_not_retried(executor):
    with pytest.raises(DatasetError, match="spectrum 7 is truncated"):
        executor.map("dataset", _bad_input, [{"x": 7}])
    assert executor.stages[0].tasks == 1


def test_a_task_that_cannot_reach_storage_names_it(executor):
    with pytest.raises(
        PipelineError, match=r"stage 'annotate': a task could not reach Lithops storage 'localhost'"
    ):
        executor.map("annotate", _storage_down, [{"x": 0}])
    assert executor.stages[0].tasks == 1


def test_storage_outage_while_a_task_runs_ends_the_job_with_an_error(spark, monkeypatch):
    import lithops.storage.backends.minio.minio as minio_backend

    monkeypatch.setattr(minio_backend, "OBJ_REQ_RETRIES", 1)  # the driver's client gives up sooner
    monkeypatch.setattr(executor_module, "STORAGE_CHECK_SECONDS", 0.5)
    server = S3Server()
    server.create_bucket("ionscape-spark")
    executor = SparkExecutor(server.minio_config("ionscape-spark"))
    marker = "outage/started"
    stopper = threading.Thread(target=stop_when_written, args=(server, f"/ionscape-spark/{marker}"))
    stopper.start()
    started = time.monotonic()
    try:
        with pytest.raises(PipelineError, match=r"Lithops storage 'minio' at http://127\.0\.0\.1:\d+"):
            executor.map("hold", _hold_until_storage_fails, [{"marker": marker}])
    finally:
        executor.close()
        stopper.join()
        server.stop()
    assert time.monotonic() - started < 30


def test_master_is_local_2_with_retries(spark):
    assert spark.master == f"local[2,{LOCAL_TASK_ATTEMPTS}]"
    assert spark.defaultParallelism == 2


def test_another_master_than_the_running_one_is_refused(spark):
    with pytest.raises(ConfigError, match=r"'local\[3\]' asked for.*already runs a SparkContext"):
        spark_context("local[3]")


# --- the pipeline -----------------------------------------------------------------------------


def _annotate(executor: str, imzml: Path, lithops_config: dict, progress: list) -> Results:
    db = load_moldb(MOL_DB5, targeted=False)
    return annotate(
        imzml,
        [db],
        example_config(),
        lithops_config=lithops_config,
        executor=executor,
        workers=2,
        use_centroid_cache=False,
        progress=lambda stage, done, total: progress.append((stage, done, total)),
    )


@pytest.fixture(scope="module")
def runs(spark, lithops_local, example_imzml):
    """The example against mol_db5 on Spark and on Lithops, each computing its own centroids."""
    progress: dict[str, list] = {"spark": [], "lithops": []}
    results = {name: _annotate(name, example_imzml, lithops_local, progress[name]) for name in progress}
    return results, progress


def test_spark_gives_the_lithops_table(runs):
    results, _ = runs
    assert results["spark"].run["executor"]["name"] == "spark"
    assert results["lithops"].run["executor"] == {"name": "lithops", "backend": "localhost"}
    pd.testing.assert_frame_equal(results["spark"].annotations, results["lithops"].annotations)
    for formula, adduct, chem_mod, loss in results["lithops"].annotations[KEY].itertuples(index=False):
        np.testing.assert_array_equal(
            results["spark"].ion_images(formula, adduct, chem_mod, loss),
            results["lithops"].ion_images(formula, adduct, chem_mod, loss),
        )


def test_spark_gives_the_metaspace_reference(runs):
    ours = runs[0]["spark"].annotations.set_index(KEY).sort_index()
    reference = pd.read_csv(TEST_DATA / "reference" / "untreated_tiny__mol_db5.csv", keep_default_na=False)
    reference = reference.set_index(KEY).sort_index()
    assert len(reference) == 38
    assert list(ours.index) == list(reference.index)
    np.testing.assert_array_equal(ours["fdr"].to_numpy(), reference["fdr"].to_numpy())
    np.testing.assert_allclose(ours["msm"].to_numpy(float), reference["msm"].to_numpy(float), atol=1e-6)


def test_same_stages_tasks_and_progress_as_lithops(runs):
    results, progress = runs

    def stages(name: str) -> list[tuple[str, int]]:
        return [(s["name"], s["tasks"]) for s in results[name].run["stages"]]

    def first_and_last(name: str) -> dict[str, tuple]:
        events: dict[str, list] = {}
        for stage, done, total in progress[name]:
            events.setdefault(stage, []).append((done, total))
        return {stage: (seen[0], seen[-1]) for stage, seen in events.items()}

    assert stages("spark") == stages("lithops")
    assert first_and_last("spark") == first_and_last("lithops")
    assert results["spark"].run["peak_rss_mb"]["largest_task"] > 0


class _LocalFiles:
    """The service storage's ``local_path`` for files that are already local."""

    def local_path(self, key: str) -> Path:
        return Path(key)


def test_service_worker_runs_jobs_on_spark(runs, tmp_path, lithops_local, example_imzml):
    from ionscape.service.config import Settings
    from ionscape.service.worker import Worker

    env = {
        "IONSCAPE_DATA_DIR": str(tmp_path),
        "IONSCAPE_ANNOTATION_EXECUTOR": "spark",
        "IONSCAPE_SPARK_MASTER": f"local[2,{LOCAL_TASK_ATTEMPTS}]",
    }
    settings = replace(Settings.from_env(env), lithops_config=lithops_local)
    assert (settings.annotation_executor, settings.spark_master) == ("spark", env["IONSCAPE_SPARK_MASTER"])
    results = Worker(settings, sessions=None, storage=_LocalFiles())._annotate(
        [{"key": str(example_imzml)}, {"key": str(example_imzml.with_suffix(".ibd"))}],
        example_config().to_ds_config(),
        [{"source": "upload", "ref": str(MOL_DB5), "name": "mol_db5", "targeted": False}],
        progress=None,
    )
    assert results.run["executor"]["master"] == env["IONSCAPE_SPARK_MASTER"]
    pd.testing.assert_frame_equal(results.annotations, runs[0]["lithops"].annotations)


def test_service_refuses_an_unknown_executor(tmp_path):
    from ionscape.service.config import Settings

    expected = r"IONSCAPE_ANNOTATION_EXECUTOR='dask': expected one of lithops, spark"
    with pytest.raises(ConfigError, match=expected):
        Settings.from_env({"IONSCAPE_DATA_DIR": str(tmp_path), "IONSCAPE_ANNOTATION_EXECUTOR": "dask"})


# --- setup errors -----------------------------------------------------------------------------


def test_missing_pyspark_says_how_to_install_it(monkeypatch, lithops_local):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ConfigError, match=r"needs pyspark: pip install 'ionscape\[spark\]'"):
        SparkExecutor(lithops_local)


def test_java_home_without_java_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=rf"Java 17 or 21.*none found \(JAVA_HOME={tmp_path}\)"):
        find_java()


def test_cli_without_java_exits_2_with_the_reason(tmp_path):
    lithops_yaml = tmp_path / "lithops.yaml"
    lithops_yaml.write_text("lithops:\n  backend: localhost\n  storage: localhost\n")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path)}
    args = ["annotate", "--example", "--executor", "spark", "--lithops-config", str(lithops_yaml)]
    proc = subprocess.run(
        [sys.executable, "-m", "ionscape.cli", *args, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error: Spark needs a Java 17 or 21 runtime" in proc.stderr
    assert "no java on PATH" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_executor_is_named(example_imzml, lithops_local):
    db = load_moldb(MOL_DB5, targeted=False)
    with pytest.raises(ConfigError, match=r"unknown executor 'dask': choose one of lithops, spark"):
        annotate(example_imzml, [db], lithops_config=lithops_local, executor="dask")


def test_spark_master_needs_the_spark_executor(tmp_path, capsys):
    from ionscape.cli import main

    assert main(["annotate", "--example", "--spark-master", "local[2]", "--out", str(tmp_path / "out")]) == 2
    assert (
        "error: a Spark master (spark_master, --spark-master) is for the Spark executor"
        in capsys.readouterr().err
    )
