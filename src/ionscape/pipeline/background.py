"""Run one stage in a thread while the driver runs others, stopping both sides on a failure.

The dataset stage needs nothing from the ion formulas or their isotope patterns, and those
stages need nothing from the dataset, so a job runs them side by side: the dataset stage's maps
on an executor of their own (:meth:`BaseExecutor.sibling`) in a background thread, the others
in the driver's thread. When either side fails, the other side's executor is cancelled (its
running map stops at its next look at the tasks) and the error that caused it is the one raised.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Generic, TypeVar

from ionscape.errors import StageCancelled
from ionscape.pipeline.executor import BaseExecutor

T = TypeVar("T")


class BackgroundStage(Generic[T]):
    """``with BackgroundStage(run, own, others) as stage: ...; value = stage.result()``.

    ``run`` (which runs its maps on the ``own`` executor) starts when the block is entered; if it
    fails, ``others`` (the executor of the block's stages) is cancelled. Leaving the block waits
    for ``run`` to end, after cancelling ``own`` when the block failed; when the block's error
    is the cancellation that ``run``'s failure caused, ``run``'s error is raised instead, and
    when the block succeeded, a failure of ``run`` is raised.
    """

    def __init__(self, run: Callable[[], T], own: BaseExecutor, others: BaseExecutor) -> None:
        self._run, self._own, self._others = run, own, others
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="ionscape-stage")
        self._future: Future[T] | None = None

    def __enter__(self) -> BackgroundStage[T]:
        self._future = self._pool.submit(self._guarded)
        return self

    def _guarded(self) -> T:
        try:
            return self._run()
        except StageCancelled:
            raise
        except BaseException:
            self._others.cancel()
            raise

    def result(self) -> T:
        """Wait for the stage; returns its value or raises its error."""
        assert self._future is not None, "result() is called inside the with block"
        return self._future.result()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is not None:
            self._own.cancel()
        self._pool.shutdown(wait=True)
        if self._future is None:
            return
        if error is None:
            self._future.result()  # a failure nobody asked for is raised all the same
        elif isinstance(error, StageCancelled):
            own_error = self._future.exception()
            if own_error is not None and not isinstance(own_error, StageCancelled):
                raise own_error from None
