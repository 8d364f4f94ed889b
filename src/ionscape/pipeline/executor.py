"""Executors run the stage functions as tasks; this module holds what they share, and Lithops.

:class:`BaseExecutor` is executor-agnostic: the storage client (Lithops storage, whatever runs
the tasks), stage records, progress. :class:`Executor` runs the tasks on Lithops;
``ionscape.pipeline.spark.SparkExecutor`` runs them on Apache Spark. :func:`create_executor`
picks one by name.

The Lithops configuration (its storage section serves every executor) is resolved in this order:
a dict passed by the caller; the ``LITHOPS_CONFIG`` environment variable; a Lithops config file
(``LITHOPS_CONFIG_FILE``, ``./.lithops_config``, ``~/.lithops/config``, ``/etc/lithops/config``);
otherwise Lithops localhost compute and localhost storage. Localhost runs always use this
interpreter as the runtime.

Storage that cannot be reached, when the job starts or while it runs, ends the job with a
:class:`PipelineError` naming the storage backend and its address.
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ionscape.errors import ConfigError, IonscapeError, PipelineError, StageCancelled

if TYPE_CHECKING:
    from ionscape.pipeline.job import JobOptions

logger = logging.getLogger("ionscape.pipeline")

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a stage runs."""

MAX_MEMORY_MB = 8192
_RETRYABLE = ("MemoryError", "TimeoutError", "OSError")
POLL_SECONDS = 0.1
"""Pause between two looks at a running map's futures."""
STORAGE_CHECK_SECONDS = 5.0
"""While no task of a map finishes for this long, check that the storage still answers."""
REMOTE_MONITORING_INTERVAL = 0.5
"""How often localhost workers' status objects are polled when storage is remote (Lithops: 2 s)."""
_UNREACHABLE = frozenset(
    {
        "ConnectionError",  # builtin, redis-py, requests, botocore
        "EndpointConnectionError",  # botocore
        "ConnectTimeoutError",  # botocore, urllib3
        "NewConnectionError",  # urllib3
        "ServiceRequestError",  # azure-core
        "TransportError",  # google-auth
    }
)


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
        if section["storage"] != "localhost" and section.get("monitoring", "storage") == "storage":
            section.setdefault("monitoring_interval", REMOTE_MONITORING_INTERVAL)
    return config


def storage_unreachable(error: BaseException) -> bool:
    """True when ``error`` says a storage server could not be reached (connection refused, timed out...).

    Recognised by class name, so that no storage SDK has to be imported to tell.
    """
    return any(cls.__name__ in _UNREACHABLE for cls in type(error).__mro__)


def describe_storage(config: dict[str, Any]) -> str:
    """``Lithops storage 'minio' at http://host:9000``: the backend and, when configured, where it is."""
    backend = config.get("lithops", {}).get("storage", "localhost")
    section = config.get(backend) or {}
    where = section.get("endpoint") or section.get("host")
    if where and "port" in section:
        where = f"{where}:{section['port']}"
    return f"Lithops storage {backend!r}" + (f" at {where}" if where else "")


class GuardedStorage:
    """A Lithops ``Storage`` whose connection failures raise :class:`PipelineError`.

    Attributes and methods are those of the wrapped storage. Once the storage has been found
    unreachable, every later call fails at once instead of waiting through the SDK's retries again.
    """

    def __init__(self, storage: Any, description: str) -> None:
        self._storage = storage
        self.description = description
        self.outage: str | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._storage, name)
        if not callable(attribute):
            return attribute

        def guarded(*args: Any, **kwargs: Any) -> Any:
            with self.translate_errors():
                return attribute(*args, **kwargs)

        return guarded

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Turn a connection failure raised inside the block into :class:`PipelineError`."""
        if self.outage is not None:
            raise PipelineError(self.outage)
        try:
            yield
        except Exception as exc:
            if not storage_unreachable(exc):
                raise
            self.outage = f"{self.description} is unreachable: {exc}"
            raise PipelineError(self.outage) from exc

    def check(self) -> None:
        """Raise :class:`PipelineError` if the storage does not answer."""
        try:
            self.head_bucket(self._storage.bucket)
        except PipelineError:
            raise
        except Exception as exc:  # it answered, e.g. "no such bucket" or "forbidden": reachable
            logger.debug("storage check: %s", exc)


@dataclass
class StageRecord:
    """What one stage cost: wall time and number of tasks; ``resumed`` when a checkpoint of an
    earlier run of the same job answered it."""

    name: str
    seconds: float = 0.0
    tasks: int = 0
    resumed: bool = False


@contextmanager
def _unreachable_as_error(description: str) -> Iterator[None]:
    """Turn a connection failure raised inside the block into :class:`PipelineError`."""
    try:
        yield
    except PipelineError:
        raise
    except Exception as exc:
        if not storage_unreachable(exc):
            raise
        raise PipelineError(f"{description} is unreachable: {exc}") from exc


def open_storage(lithops_config: dict[str, Any]) -> GuardedStorage:
    """The Lithops storage client of ``lithops_config``, checked to answer."""
    import lithops

    description = describe_storage(lithops_config)
    with _unreachable_as_error(description):
        storage = GuardedStorage(lithops.Storage(config=lithops_config), description)
        storage.check()
    return storage


@dataclass
class BaseExecutor:
    """What every executor shares: the storage client, stage records and progress reports.

    A subclass runs the tasks of a map (:meth:`_run_tasks`): each task calls a stage function
    with its keyword arguments and a Lithops ``storage`` client, and returns its small result.
    """

    lithops_config: dict[str, Any]
    progress: ProgressCallback | None = None
    stages: list[StageRecord] = field(default_factory=list)

    name: ClassVar[str] = ""
    """How users select this executor (``--executor NAME``)."""

    def __post_init__(self) -> None:
        self.storage = open_storage(self.lithops_config)
        self.bucket: str = self.storage.bucket
        self._current: StageRecord | None = None
        self._cancelled = threading.Event()

    def sibling(self) -> BaseExecutor:
        """An executor of the same kind and settings whose maps can run while this one's do (from
        another thread), sharing its storage and stage records."""
        twin = copy.copy(self)
        twin._current, twin._cancelled = None, threading.Event()
        return twin

    def cancel(self) -> None:
        """Stop the running map, and refuse new ones, with :class:`StageCancelled` (thread-safe)."""
        self._cancelled.set()

    def _check_cancelled(self, stage: str) -> None:
        if self._cancelled.is_set():
            raise StageCancelled(f"stage {stage!r} was stopped: a stage running beside it failed")

    @property
    def backend(self) -> str:
        """Where the tasks run, e.g. ``localhost``, ``aws_lambda`` or ``spark``."""
        raise NotImplementedError

    @property
    def parallelism(self) -> int | None:
        """How many tasks run at once, when known."""
        return None

    def describe(self) -> dict[str, Any]:
        """The executor's settings, for the run record."""
        return {"name": self.name, "backend": self.backend}

    def task_peak_rss_mb(self) -> float:
        """Peak resident memory of the largest process that ran tasks on this machine (MB)."""
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    def map(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        *,
        memory_mb: int = 1024,
    ) -> list[Any]:
        """Run ``function`` once per item of ``iterdata`` (dicts of keyword arguments), in parallel.

        Returns the results in the order of ``iterdata``. An :class:`IonscapeError` raised by a
        task reaches the caller unchanged; other failures raise :class:`PipelineError` naming the
        stage. ``memory_mb`` is what a task needs, for executors that size tasks one by one.
        """
        record = self._current if self._current and self._current.name == stage else None
        if record is None:
            record = StageRecord(stage)
            self.stages.append(record)
        start = time.perf_counter()
        self._check_cancelled(stage)
        self._report(stage, 0, len(iterdata))
        results = self._run_tasks(stage, function, iterdata, memory_mb, record) if iterdata else []
        if record is not self._current:
            record.seconds = time.perf_counter() - start
        return results

    def _run_tasks(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        memory_mb: int,
        record: StageRecord,
    ) -> list[Any]:
        """Run the tasks of one map; add every task run (retries too) to ``record.tasks``."""
        raise NotImplementedError

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _task_unreachable(self, stage: str, error: BaseException | str) -> PipelineError:
        """The error for a task that could not reach the storage."""
        return PipelineError(f"stage {stage!r}: a task could not reach {self.storage.description}: {error}")

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

    @classmethod
    def for_job(cls, lithops_config: dict[str, Any], options: JobOptions) -> BaseExecutor:
        """The executor for a job's ``JobOptions`` (its own settings among them)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor holds for the job."""


@dataclass
class Executor(BaseExecutor):
    """Runs the tasks on Lithops (a FunctionExecutor), with retries on more memory."""

    name: ClassVar[str] = "lithops"

    def __post_init__(self) -> None:
        import lithops

        super().__post_init__()
        _leave_inherited_lithops_session()
        with _unreachable_as_error(self.storage.description):
            self._fexec = lithops.FunctionExecutor(config=self.lithops_config)

    def sibling(self) -> Executor:
        """Another Lithops executor (a FunctionExecutor of its own) with the same settings."""
        return Executor(self.lithops_config, progress=self.progress, stages=self.stages)

    @classmethod
    def for_job(cls, lithops_config: dict[str, Any], options: JobOptions) -> Executor:
        """The executor for a job's ``JobOptions``: ``workers`` sets Lithops localhost's worker processes."""
        if options.workers and lithops_config["lithops"].get("backend") == "localhost":
            lithops_config.setdefault("localhost", {})["worker_processes"] = options.workers
        return cls(lithops_config, progress=options.progress)

    @property
    def backend(self) -> str:
        """Name of the compute backend, e.g. ``localhost`` or ``aws_lambda``."""
        return self._fexec.backend

    @property
    def parallelism(self) -> int | None:
        """Worker processes of Lithops localhost, when configured."""
        return self.lithops_config.get("localhost", {}).get("worker_processes")

    def _run_tasks(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        memory_mb: int,
        record: StageRecord,
    ) -> list[Any]:
        """One Lithops map; tasks that ran out of memory or time run again with twice the memory.

        Memory doubles up to ``MAX_MEMORY_MB``; any other failure raises :class:`PipelineError`.
        """
        results: list[Any] = [None] * len(iterdata)
        todo = list(range(len(iterdata)))
        while todo:
            with self.storage.translate_errors():
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
        return results

    def _collect(
        self, stage: str, futures: Any, todo: list[int], results: list[Any], total: int
    ) -> list[tuple[int, str]]:
        """Wait for ``futures``; returns the failed ones. A storage outage ends the wait with an error."""
        from lithops.wait import ALWAYS

        position = {id(f): i for f, i in zip(futures, todo, strict=True)}
        pending = list(futures)
        failed: list[tuple[int, str]] = []
        last_change = time.monotonic()
        while pending:
            self._check_cancelled(stage)
            done, pending = self._fexec.wait(
                pending,
                return_when=ALWAYS,
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
                    if storage_unreachable(exc):
                        raise self._task_unreachable(stage, exc) from exc
                    failed.append((index, f"{type(exc).__name__}: {exc}"))
            if done:
                self._report(stage, sum(r is not None for r in results), total)
                last_change = time.monotonic()
            elif pending:
                if time.monotonic() - last_change > STORAGE_CHECK_SECONDS:
                    self.storage.check()  # a task cannot report back while storage is down
                    last_change = time.monotonic()
                time.sleep(POLL_SECONDS)
        return failed

    def close(self) -> None:
        """Stop this executor's tasks that still run, and remove Lithops' temporary job data.

        When the storage is down there is nothing to remove, and Lithops' own cleanup at interpreter
        exit would wait for a status monitor stuck on the dead storage: it is called off.
        """
        self._fexec.job_monitor.stop()
        self._fexec.compute_handler.clear()
        if self.storage.outage is not None:
            atexit.unregister(self._fexec._clean_at_exit)
            return
        try:
            self._fexec.clean(clean_cloudobjects=False)
        except Exception as exc:  # cleanup failure must not hide the job's result
            logger.debug("Lithops cleanup failed: %s", exc)


EXECUTORS = {
    "lithops": "ionscape.pipeline.executor:Executor",
    "spark": "ionscape.pipeline.spark:SparkExecutor",
}
"""Executor names and the classes that implement them (imported when chosen)."""


def create_executor(lithops_config: dict[str, Any], options: JobOptions) -> BaseExecutor:
    """The executor ``options.executor`` names, set up from a job's ``JobOptions``.

    Its worker processes run without numpy's huge-page hint where the kernel stalls on it
    (:mod:`ionscape.pipeline.hugepages`)."""
    import importlib

    from ionscape.pipeline.hugepages import avoid_hugepage_stalls

    if avoid_hugepage_stalls():
        logger.debug("worker processes run with NUMPY_MADVISE_HUGEPAGE=0 (kernel THP defrag mode)")
    if options.executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {options.executor!r}: choose one of {', '.join(EXECUTORS)}")
    module, _, name = EXECUTORS[options.executor].partition(":")
    executor_class: type[BaseExecutor] = getattr(importlib.import_module(module), name)
    return executor_class.for_job(lithops_config, options)


def _leave_inherited_lithops_session() -> None:
    """Give this process a Lithops session of its own before its first executor.

    Lithops exports its session id and executor count to child processes, whose executors then
    continue the parent's count; the parent's next executors take the same ids, and with them the
    same job keys in a shared storage, so one job reads another's task results. A process that has
    not created an executor yet drops the inherited session (Lithops 3.8 keeps its own in
    ``lithops.utils._SESSION_ID``).
    """
    import lithops.constants
    import lithops.utils

    if lithops.utils._SESSION_ID is None:
        os.environ.pop(lithops.constants.SESSION_ID_ENV, None)
        os.environ.pop(lithops.constants.TOTAL_EXECUTORS_ENV, None)


def _retryable(error: str) -> bool:
    return error.split(":", 1)[0] in _RETRYABLE
