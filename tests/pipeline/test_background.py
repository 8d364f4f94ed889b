"""A stage in a background thread beside the driver's stages: results, and failures on either side."""

from __future__ import annotations

import threading

import pytest

from ionscape.errors import DatasetError, FormulaError, StageCancelled
from ionscape.pipeline.background import BackgroundStage


class FakeExecutor:
    """What BackgroundStage needs of an executor: cancel(), and a map that runs until cancelled."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    def map_until_cancelled(self, stage: str) -> None:
        if not self.cancelled.wait(timeout=10):
            raise AssertionError(f"{stage} was never cancelled")
        raise StageCancelled(f"stage {stage!r} was stopped")


def test_both_sides_run_at_the_same_time():
    own, others = FakeExecutor(), FakeExecutor()
    driver_started = threading.Event()

    def run() -> str:
        assert driver_started.wait(timeout=10), "the driver's stages did not run meanwhile"
        return "segments"

    with BackgroundStage(run, own, others) as stage:
        driver_started.set()
        assert stage.result() == "segments"
    assert not own.cancelled.is_set() and not others.cancelled.is_set()


def test_a_background_failure_stops_the_driver_and_is_the_error_raised():
    own, others = FakeExecutor(), FakeExecutor()

    def run() -> None:
        raise DatasetError("data.ibd is truncated")

    with pytest.raises(DatasetError, match="truncated"), BackgroundStage(run, own, others):
        others.map_until_cancelled("centroids")
    assert others.cancelled.is_set()


def test_a_driver_failure_stops_the_background_stage():
    own, others = FakeExecutor(), FakeExecutor()
    ended = threading.Event()

    def run() -> None:
        try:
            own.map_until_cancelled("dataset")
        finally:
            ended.set()

    with pytest.raises(FormulaError, match="C6H12O"), BackgroundStage(run, own, others):
        raise FormulaError("bad formula C6H12O(")
    assert own.cancelled.is_set() and ended.is_set()
    assert not others.cancelled.is_set()


def test_a_failure_nobody_waited_for_is_raised_on_leaving():
    own, others = FakeExecutor(), FakeExecutor()

    def run() -> None:
        raise DatasetError("no spectra")

    with pytest.raises(DatasetError, match="no spectra"), BackgroundStage(run, own, others):
        pass
