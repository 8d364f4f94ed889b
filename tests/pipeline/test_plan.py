"""Job sizing (memory, workers, backend per stage), the plan and its cost estimate, hybrid mode."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ionscape import annotate, example_config, example_dataset, load_moldb
from ionscape.errors import ConfigError
from ionscape.pipeline.plan import (
    DEFAULT_MEMORY_MB,
    PRICES,
    SPARK_STARTUP_SECONDS,
    JobPlan,
    SizedExecutor,
    StagePlan,
    StageSettings,
    estimate_cost,
    resolve_sizing,
    stage_lithops_config,
    without_sizing_section,
)
from tests.conftest import DATA

LOCAL = {"lithops": {"backend": "localhost", "storage": "localhost"}, "localhost": {"worker_processes": 2}}


def test_defaults():
    sizing = resolve_sizing(LOCAL, default_workers=2)
    assert sizing.memory_mb == DEFAULT_MEMORY_MB
    assert sizing.workers == {"dataset": 1, "centroids": 2, "annotate": 2}
    assert sizing.backends == {}


def test_precedence_stage_argument_then_config_stage_then_overall():
    config = {
        **LOCAL,
        "ionscape": {"memory_mb": 3000, "workers": 7, "annotate": {"memory_mb": 5000, "workers": 9}},
    }
    assert resolve_sizing(config).memory_mb == {"dataset": 3000, "centroids": 3000, "annotate": 5000}
    assert resolve_sizing(config).workers == {"dataset": 1, "centroids": 7, "annotate": 9}
    # an all-stage argument beats the section's all-stage value, not its per-stage one
    sizing = resolve_sizing(config, memory_mb=1500, workers=3)
    assert sizing.memory_mb == {"dataset": 1500, "centroids": 1500, "annotate": 5000}
    assert sizing.workers == {"dataset": 1, "centroids": 3, "annotate": 9}
    # a per-stage argument beats everything
    sizing = resolve_sizing(
        config,
        memory_mb=1500,
        stages={"annotate": StageSettings(memory_mb=6000), "dataset": StageSettings(workers=4)},
    )
    assert sizing.memory_mb["annotate"] == 6000 and sizing.workers["dataset"] == 4


@pytest.mark.parametrize(
    ("config", "stages", "message"),
    [
        ({"ionscape": {"annotate": {"memroy_mb": 4}}}, None, "memroy_mb"),
        ({"ionscape": {"workers": 0}}, None, "positive"),
        ({"ionscape": {"memory_mb": "2GB"}}, None, "positive"),
        ({"ionscape": {"backend": "aws_ec2"}}, None, "dataset stage"),
        ({"ionscape": {"annotate": {"backend": "aws_ec2"}}}, None, "only the dataset stage"),
        ({}, {"sorting": StageSettings(memory_mb=1)}, "unknown stage"),
        ({}, {"dataset": StageSettings(memory_mb=256)}, "at least 384 MB"),
    ],
)
def test_bad_settings_are_config_errors(config, stages, message):
    with pytest.raises(ConfigError, match=message):
        resolve_sizing({**LOCAL, **config}, stages=stages)


def test_hybrid_config_keeps_the_storage_and_swaps_the_backend():
    config = {
        "lithops": {"backend": "aws_lambda", "storage": "aws_s3"},
        "aws": {"region": "eu-west-1"},
        "aws_lambda": {"execution_role": "arn:role"},
        "aws_ec2": {"instance_type": "r6i.4xlarge"},
        "aws_s3": {"storage_bucket": "data"},
        "ionscape": {"dataset": {"backend": "aws_ec2", "memory_mb": 65536}},
    }
    assert resolve_sizing(config).backends == {"dataset": "aws_ec2"}
    assert "ionscape" not in without_sizing_section(config)
    dataset = stage_lithops_config(config, "aws_ec2")
    assert (dataset["lithops"]["backend"], dataset["lithops"]["storage"]) == ("aws_ec2", "aws_s3")
    assert dataset["aws_s3"] == config["aws_s3"] and "ionscape" not in dataset
    assert config["lithops"]["backend"] == "aws_lambda"  # the job's own config is untouched
    with pytest.raises(ConfigError, match="no 'gcp_compute_engine' section"):
        stage_lithops_config(config, "gcp_compute_engine")


def test_sized_executor_asks_for_each_stage_memory():
    class Recorder:
        bucket = "b"

        def __init__(self):
            self.calls = []

        def map(self, stage, function, iterdata, *, memory_mb=1024):
            self.calls.append((stage, memory_mb))
            return []

    recorder = Recorder()
    sized = SizedExecutor(recorder, {"annotate": 3072})
    sized.map("annotate", print, [], memory_mb=2048)
    sized.map("other", print, [], memory_mb=512)
    assert recorder.calls == [("annotate", 3072), ("other", 512)]
    assert sized.bucket == "b"


def test_cost_worked_out_by_hand():
    stage = StagePlan("annotate", "aws_lambda", 10, (10,), 1024, 100.0, 0.0, 1.0)
    lambda_price, code_engine, cloud_run = PRICES
    # Lambda at 1024 MB has 1024/1769 of a vCPU: 100 CPU-s take 172.75 s, i.e. 172.75 GB-s
    cost = estimate_cost(lambda_price, [stage], {})
    busy = 100 / (1024 / 1769)
    assert cost.gb_seconds == pytest.approx(busy)
    assert cost.dollars == pytest.approx(busy * 0.0000166667 + 10 * 0.20 / 1e6)
    # Code Engine's default 0.125 vCPU: 800 s busy, 800 GB-s and 100 vCPU-s
    cost = estimate_cost(code_engine, [stage], {})
    assert (cost.gb_seconds, cost.vcpu_seconds) == pytest.approx((800.0, 100.0))
    assert cost.dollars == pytest.approx(800 * 0.00000356 + 100 * 0.00003431)
    # Cloud Run with 1 vCPU configured: 100 s busy
    cost = estimate_cost(cloud_run, [stage], {"gcp_cloudrun": {"runtime_cpu": 1}})
    assert cost.dollars == pytest.approx(100 * 0.0000025 + 100 * 0.000024 + 10 * 0.40 / 1e6)
    # a stage on a VM is not priced as functions
    vm_stage = StagePlan("dataset", "aws_ec2", 1, (1,), 65536, 500.0, 0.0, 1.0)
    assert estimate_cost(lambda_price, [vm_stage], {}).requests == 0


@pytest.fixture(scope="module")
def mol_db5():
    return load_moldb(DATA / "moldb" / "mol_db5.csv", targeted=False)


def test_plan_of_the_example(lithops_local, mol_db5):
    from ionscape.chem.ions import build_ion_table

    n_ions = len(build_ion_table([(mol_db5.name, mol_db5.formulas, False)], example_config()).ion_formulas)
    plan = annotate(
        example_dataset(),
        [mol_db5],
        example_config(),
        lithops_config=lithops_local,
        memory_mb=1536,
        stages={"annotate": {"memory_mb": 3072}},
        plan=True,
    )
    assert isinstance(plan, JobPlan)
    assert plan.ion_formulas == n_ions and 1000 < n_ions < 20_000
    stages = {s.name: s for s in plan.stages}
    assert (stages["dataset"].maps, stages["dataset"].memory_mb) == ((1,), 1536)
    assert (stages["centroids"].tasks, stages["centroids"].memory_mb) == (2, 1536)  # one per worker
    assert (stages["annotate"].tasks, stages["annotate"].memory_mb) == (1, 3072)  # < 20,000 ions
    assert plan.dataset["n_spectra"] == 8 and plan.dataset["declared_peaks"] > 0
    assert plan.concurrency == 2 and plan.seconds > 0
    assert [c.backend for c in plan.costs] == ["aws_lambda", "code_engine", "gcp_cloudrun"]
    text = plan.format()
    assert "annotate" in text and "3,072" in text and "aws.amazon.com/lambda/pricing" in text


def test_plan_for_spark_counts_its_start_up_and_slots(lithops_local, mol_db5):
    settings = {"lithops_config": lithops_local, "plan": True}
    lithops_plan = annotate(example_dataset(), [mol_db5], example_config(), workers=2, **settings)
    spark_plan = annotate(
        example_dataset(), [mol_db5], example_config(), executor="spark", spark_master="local[3]", **settings
    )
    assert spark_plan.backend == "spark" and spark_plan.concurrency == 3
    stages = {s.name: s for s in spark_plan.stages}
    assert stages["start-up"].seconds == SPARK_STARTUP_SECONDS
    assert stages["annotate"].where == "spark"
    assert spark_plan.seconds > lithops_plan.seconds  # same work, plus the JVM
    assert "instead" in spark_plan.format()


def test_plan_counts_the_chunk_tasks_the_stage_runs(lithops_local, tmp_path):
    from ionscape.pipeline.dataset import DatasetRef, build_dataset
    from ionscape.pipeline.executor import Executor
    from ionscape.pipeline.sort import SortBudget
    from ionscape.synthetic import SynthSpec, synthesize

    path = tmp_path / "plan.imzML"
    synthesize(
        path, SynthSpec(width=10, height=10, peaks_per_spectrum=100, n_planted=2, seed=2), truth_images=False
    )
    settings = {"dataset": {"workers": 3}}
    plan = annotate(path, ["core_metabolome"], lithops_config=lithops_local, stages=settings, plan=True)
    dataset = next(s for s in plan.stages if s.name == "dataset")
    executor = Executor(lithops_local)
    try:
        ran = build_dataset(
            executor,
            DatasetRef(str(path), str(path.with_suffix(".ibd"))),
            "test/plan",
            budget=SortBudget.for_task_memory(DEFAULT_MEMORY_MB["dataset"]),
            memory_mb=DEFAULT_MEMORY_MB["dataset"],
            min_tasks=3,
        )
    finally:
        executor.close()
    assert dataset.maps[:2] == (1, len(ran["sort"]["chunk_peaks"])) == (1, 3)


def test_dataset_stage_on_its_own_backend_gives_the_reference_table(lithops_local, mol_db5):
    config = {
        **lithops_local,
        "ionscape": {"dataset": {"backend": "localhost", "memory_mb": 1024}, "annotate": {"workers": 3}},
    }
    results = annotate(example_dataset(), [mol_db5], example_config(), lithops_config=config)
    assert len(results.annotations) == 38
    sizing = results.run["sizing"]
    assert sizing["backends"] == {"dataset": "localhost"}
    assert sizing["memory_mb"]["dataset"] == 1024 and sizing["workers"]["annotate"] == 3
    assert sizing["dataset_sort"] == {"one_task": True, "chunk_tasks": 0, "merge_tasks": 0}
    assert [s["name"] for s in results.run["stages"]][:2] == ["ions", "dataset"]


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    command = [sys.executable, "-m", "ionscape.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_cli_plan_prints_and_runs_nothing(tmp_path):
    db = str(DATA / "moldb" / "mol_db5.csv")
    args = [
        "annotate",
        "--example",
        "--db",
        db,
        "--plan",
        "--memory",
        "annotate=3072",
        "--stage-workers",
        "annotate=2",
    ]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Plan for" in proc.stdout and "3,072" in proc.stdout and "Estimated cost" in proc.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--memory", "annotate=lots", "positive whole number"), ("--stage-workers", "4", "annotate=100")],
)
def test_cli_rejects_bad_sizing(tmp_path, flag, value, message):
    proc = run_cli("annotate", "--example", "--plan", flag, value, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
