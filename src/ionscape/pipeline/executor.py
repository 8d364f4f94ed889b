"""The one place that owns Lithops: configuration, the executor, storage, stage maps.

Configuration is resolved in this order: a dict passed by the caller; the ``LITHOPS_CONFIG``
environment variable; a Lithops config file (``LITHOPS_CONFIG_FILE``, ``./.lithops_config``,
``~/.lithops/config``, ``/etc/lithops/config``); otherwise Lithops localhost compute and
localhost storage. Localhost runs always use this interpreter as the runtime.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ionscape.errors import IonscapeError, PipelineError

logger = logging.getLogger("ionscape.pipeline")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a stage runs."""

MAX_MEMORY_MB = 8192
_RETRYABLE = ("MemoryError", "TimeoutError", "OSError")


def default_lithops_config(worker_processes: int | None = None) -> dict[str, Any]:
    """Lithops localhost compute + localhost storage, tuned for many short tasks."""
    return {
        "lithops": {
            "backend": "localhost",
            "storage": "localhost",
            "log_level": "WARNING",
            "data_limit": False,
        },
        "localhost": {
            "runtime": sys.executable,
            "worker_processes": worker_processes or os.cpu_count() or 1,
            "version": 1,
        },
    }


def resolve_lithops_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Lithops config to run with: the caller's, the user's (env or file), else localhost."""
    import lithops.config

    if config is None:
        if "LITHOPS_CONFIG" in os.environ or lithops.config.get_default_config_filename():
            config = lithops.config.load_config(log=False)
        else:
            config = default_lithops_config()
    config = copy.deepcopy(config)
    section = config.setdefault("lithops", {})
    section.setdefault("log_level", "WARNING")
    section.setdefault("data_limit", False)
    if section.get("backend", "localhost") == "localhost" and "mode" not in section:
        section.setdefault("backend", "localhost")
        section.setdefault("storage", "localhost")
        local = config.setdefault("localhost", {})
        local.setdefault("runtime", sys.executable)
        local.setdefault("version", 1)
    return config


@dataclass
class StageRecord:
    """What one stage cost: wall time and number of tasks."""

    name: str
    seconds: float = 0.0
    tasks: int = 0


@dataclass
class Executor:
    """A Lithops FunctionExecutor plus the storage client, with progress and retries."""

    lithops_config: dict[str, Any]
    progress: ProgressCallback | None = None
    stages: list[StageRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        import lithops

        self._fexec = lithops.FunctionExecutor(config=self.lithops_config)
        self.storage = lithops.Storage(config=self.lithops_config)
        self.bucket: str = self.storage.bucket
        self._current: StageRecord | None = None

    @property
    def backend(self) -> str:
        """Name of the compute backend, e.g. ``localhost`` or ``aws_lambda``."""
        return self._fexec.backend

    def map(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        *,
        memory_mb: int = 1024,
    ) -> list[Any]:
        """Run ``function`` once per item of ``iterdata`` (dicts of keyword arguments).

        Failed tasks that ran out of memory or time are run again with twice the memory, up to
        ``MAX_MEMORY_MB``; any other failure raises :class:`PipelineError` naming the stage.
        """
        record = self._current if self._current and self._current.name == stage else None
        if record is None:
            record = StageRecord(stage)
            self.stages.append(record)
        start = time.perf_counter()
        results: list[Any] = [None] * len(iterdata)
        todo = list(range(len(iterdata)))
        self._report(stage, 0, len(iterdata))
        while todo:
            futures = self._fexec.map(function, [iterdata[i] for i in todo], runtime_memory=memory_mb)
            record.tasks += len(futures)
            failed = self._collect(stage, futures, todo, results, len(iterdata))
            if failed and memory_mb * 2 <= MAX_MEMORY_MB and all(_retryable(err) for _, err in failed):
                memory_mb *= 2
                logger.warning(
                    "%s: %d task(s) failed (%s); retrying with %d MB",
                    stage,
                    len(failed),
                    failed[0][1],
                    memory_mb,
                )
                todo = [i for i, _ in failed]
                continue
            if failed:
                index, error = failed[0]
                raise PipelineError(f"stage {stage!r}: task {index} of {len(iterdata)} failed: {error}")
            todo = []
        if record is not self._current:
            record.seconds = time.perf_counter() - start
        return results

    def _collect(
        self, stage: str, futures: Any, todo: list[int], results: list[Any], total: int
    ) -> list[tuple[int, str]]:
        from lithops.wait import ANY_COMPLETED

        position = {id(f): i for f, i in zip(futures, todo, strict=True)}
        pending = list(futures)
        failed: list[tuple[int, str]] = []
        while pending:
            done, pending = self._fexec.wait(
                pending,
                return_when=ANY_COMPLETED,
                download_results=False,
                throw_except=False,
                show_progressbar=False,
            )
            for future in done:
                index = position[id(future)]
                try:
                    results[index] = future.result(throw_except=True)
                except IonscapeError:  # bad input found inside a task: the user's to fix, not retried
                    raise
                except Exception as exc:  # a task's own exception, re-raised by Lithops
                    failed.append((index, f"{type(exc).__name__}: {exc}"))
            self._report(stage, sum(r is not None for r in results), total)
        return failed

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageRecord]:
        """Time a stage; maps of the same name inside it add their tasks to it."""
        record = StageRecord(name)
        self.stages.append(record)
        self._current = record
        start = time.perf_counter()
        self._report(name, 0, 1)
        try:
            yield record
        finally:
            self._current = None
            record.seconds = time.perf_counter() - start
        if not record.tasks:
            self._report(name, 1, 1)

    def close(self) -> None:
        """Remove Lithops' temporary job data."""
        try:
            self._fexec.clean(clean_cloudobjects=False)
        except Exception as exc:  # cleanup failure must not hide the job's result
            logger.debug("Lithops cleanup failed: %s", exc)


def _retryable(error: str) -> bool:
    return error.split(":", 1)[0] in _RETRYABLE
