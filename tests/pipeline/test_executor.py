"""Lithops configuration: the user's config wins; localhost otherwise; failures are reported."""

from __future__ import annotations

import json
import sys

import pytest

from ionscape.errors import PipelineError
from ionscape.pipeline.executor import Executor, default_lithops_config, resolve_lithops_config


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path):
    """Hide any Lithops config of the machine's user."""
    import lithops.constants

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lithops.constants, "CONFIG_FILE", str(tmp_path / "no-user-config"))
    monkeypatch.setattr(lithops.constants, "CONFIG_FILE_GLOBAL", str(tmp_path / "no-global-config"))


def test_no_config_means_localhost():
    config = resolve_lithops_config()
    assert config["lithops"]["backend"] == "localhost"
    assert config["lithops"]["storage"] == "localhost"
    assert config["localhost"]["runtime"] == sys.executable


def test_env_config_is_honoured(monkeypatch):
    user = {"lithops": {"backend": "localhost", "storage": "redis"}, "redis": {"host": "127.0.0.1"}}
    monkeypatch.setenv("LITHOPS_CONFIG", json.dumps(user))
    config = resolve_lithops_config()
    assert config["lithops"]["storage"] == "redis"
    assert config["redis"] == {"host": "127.0.0.1"}


def test_config_file_is_honoured(tmp_path):
    (tmp_path / ".lithops_config").write_text(
        "lithops:\n  backend: localhost\n  storage: localhost\nlocalhost:\n  worker_processes: 3\n"
    )
    assert resolve_lithops_config()["localhost"]["worker_processes"] == 3


def test_dict_wins_and_keeps_serverless_settings_untouched():
    user = {"lithops": {"backend": "aws_lambda", "storage": "aws_s3"}, "aws_lambda": {"runtime_memory": 2048}}
    config = resolve_lithops_config(user)
    assert config["lithops"]["backend"] == "aws_lambda"
    assert "localhost" not in config
    assert user == {
        "lithops": {"backend": "aws_lambda", "storage": "aws_s3"},
        "aws_lambda": {"runtime_memory": 2048},
    }


def _square(x: int) -> dict:
    return {"value": x * x}


def _fail(x: int) -> dict:
    raise ValueError(f"bad value {x}")


def test_map_reports_progress_and_results():
    seen = []
    executor = Executor(
        default_lithops_config(2), progress=lambda stage, done, total: seen.append((stage, done, total))
    )
    try:
        results = executor.map("square", _square, [{"x": i} for i in range(5)])
    finally:
        executor.close()
    assert [r["value"] for r in results] == [0, 1, 4, 9, 16]
    assert seen[0] == ("square", 0, 5) and seen[-1] == ("square", 5, 5)
    assert executor.stages[0].tasks == 5


def test_task_failure_names_the_stage():
    executor = Executor(default_lithops_config(2))
    try:
        with pytest.raises(PipelineError, match=r"stage 'boom'.*ValueError: bad value"):
            executor.map("boom", _fail, [{"x": 1}])
    finally:
        executor.close()


_CHILD = """
import json, sys
from ionscape.pipeline.executor import Executor

def tag(x):
    return f"child {x}"

config = json.loads(sys.argv[1])
config["lithops"]["data_cleaner"] = False  # its task results stay in the storage we share
for _ in range(2):
    Executor(config).map("child", tag, [{"x": 1}, {"x": 2}])
"""


def test_a_child_process_does_not_take_the_parents_next_job_keys():
    """A child inherits Lithops' session; its executors must not share ids (and job keys) with ours."""
    import subprocess

    config = default_lithops_config(2)
    first = Executor(config)
    first.map("parent", _square, [{"x": 1}])
    first.close()
    child = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(config)], capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    second = Executor(config)
    try:
        assert second.map("parent", _square, [{"x": 3}, {"x": 4}]) == [{"value": 9}, {"value": 16}]
    finally:
        second.close()


def _sleep(seconds: float) -> dict:
    import time

    time.sleep(seconds)
    return {"slept": seconds}


def test_cancel_stops_a_running_map_and_refuses_new_ones():
    import threading
    import time

    from ionscape.errors import StageCancelled

    executor = Executor(default_lithops_config(2))
    sibling = executor.sibling()
    try:
        threading.Timer(1.0, executor.cancel).start()
        started = time.monotonic()
        with pytest.raises(StageCancelled, match="stage 'slow' was stopped"):
            executor.map("slow", _sleep, [{"seconds": 60}])
        assert time.monotonic() - started < 30
        with pytest.raises(StageCancelled):
            executor.map("next", _square, [{"x": 1}])
        # a sibling shares storage and stage records, not the cancellation
        assert sibling.map("square", _square, [{"x": 3}]) == [{"value": 9}]
        assert sibling.bucket == executor.bucket
        assert [s.name for s in executor.stages] == ["slow", "next", "square"]
    finally:
        sibling.close()
        executor.close()
