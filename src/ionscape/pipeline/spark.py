"""The one place that knows Apache Spark: the stage functions' tasks run as Spark tasks.

Data between stages still goes through Lithops storage: each Spark task opens a Lithops storage
client from the job's (picklable) Lithops config and calls the same stage function as the
Lithops executor, which is why both give the same results.

The SparkContext belongs to the process: the running one is used (under ``spark-submit``, in a
notebook), otherwise one is started on first use and kept for later jobs. Its master is the one
asked for, else the one ``spark-submit`` settings give (``PYSPARK_SUBMIT_ARGS``,
``spark-defaults.conf``), else ``local[N,4]``: N worker threads, each task tried up to 4 times
as on a cluster. Spark's own log is discarded unless this module's logger is at DEBUG
(``ionscape -v``); py4j's (Python to JVM calls) stays at WARNING unless its level is set.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from ionscape.errors import ConfigError, IonscapeError, PipelineError
from ionscape.pipeline import executor as base
from ionscape.pipeline.executor import BaseExecutor, StageRecord, storage_unreachable

if TYPE_CHECKING:
    from pyspark import RDD, SparkContext

    from ionscape.pipeline.job import JobOptions

logger = logging.getLogger("ionscape.pipeline.spark")

LOCAL_TASK_ATTEMPTS = 4
"""Attempts per task on a ``local`` master (Spark's own default there is 1: no retry)."""
INSTALL_HINT = "pip install 'ionscape[spark]'"
JAVA_HINT = "Spark needs a Java 17 or 21 runtime (Debian/Ubuntu: apt-get install default-jre-headless)"
_SUBMIT_DEFAULT_MASTER = "local[*]"
"""What ``spark-submit`` sets when nobody chose a master."""
_context_lock = threading.Lock()


def import_pyspark() -> Any:
    """The pyspark module; :class:`ConfigError` saying how to install it when it is missing."""
    try:
        import pyspark
    except ImportError:
        raise ConfigError(f"the Spark executor needs pyspark: {INSTALL_HINT}") from None
    return pyspark


def find_java() -> str:
    """The ``java`` Spark will start (``$JAVA_HOME/bin/java``, else on ``PATH``), or :class:`ConfigError`."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        where = f"JAVA_HOME={home}" if home else "no java on PATH"
        raise ConfigError(f"{JAVA_HINT}; none found ({where})")
    return java


def spark_context(master: str | None = None, workers: int | None = None) -> SparkContext:
    """The process's SparkContext: the running one, or a new one kept for later jobs.

    ``master`` is a Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``, ``k8s://...``);
    ``workers`` sets N of the default ``local[N,4]`` master.
    """
    import_pyspark()
    from pyspark import SparkConf, SparkContext

    with _context_lock:
        running = SparkContext._active_spark_context  # pyspark has no public "is one running?"
        if running is not None:
            if master and master != running.master:
                raise ConfigError(
                    f"Spark master {master!r} asked for, but this process already runs a "
                    f"SparkContext on {running.master!r}"
                )
            return running
        py4j_log = logging.getLogger("py4j")
        if py4j_log.level == logging.NOTSET:  # its DEBUG logs every call between Python and the JVM
            py4j_log.setLevel(logging.WARNING)
        gateway = SparkContext._gateway or _launch_gateway()
        submitted = gateway.jvm.org.apache.spark.SparkConf(True)
        chosen = master or submitted.get("spark.master", _SUBMIT_DEFAULT_MASTER)
        if chosen == _SUBMIT_DEFAULT_MASTER and not master:
            chosen = f"local[{workers or os.cpu_count() or 1},{LOCAL_TASK_ATTEMPTS}]"
        conf = SparkConf(loadDefaults=False).setMaster(chosen).set("spark.ui.showConsoleProgress", "false")
        if submitted.get("spark.app.name", "pyspark-shell") == "pyspark-shell":
            conf.setAppName("ionscape")
        if chosen.startswith("local"):  # local tasks run this interpreter, whatever PATH says
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            if not submitted.contains("spark.ui.enabled"):
                conf.set("spark.ui.enabled", "false")
        try:
            return SparkContext(conf=conf, gateway=gateway)
        except Exception as exc:
            raise ConfigError(f"Spark could not start on master {chosen!r}: {_first_line(exc)}") from exc


def _launch_gateway() -> Any:
    """Start Spark's JVM; its output goes to stderr at DEBUG, to a temporary file otherwise."""
    from pyspark.java_gateway import launch_gateway

    if "PYSPARK_GATEWAY_PORT" in os.environ:  # under spark-submit: the JVM is already there
        return launch_gateway()
    find_java()
    with tempfile.TemporaryFile() as jvm_log:
        quiet = not logger.isEnabledFor(logging.DEBUG)
        output = {"stdout": jvm_log, "stderr": subprocess.STDOUT} if quiet else {}
        try:
            return launch_gateway(popen_kwargs=output)
        except Exception as exc:
            jvm_log.seek(0)
            said = jvm_log.read().decode(errors="replace").strip()[-2000:]
            raise PipelineError(
                f"Spark's JVM did not start ({_first_line(exc)}){': ' + said if said else ''}. {JAVA_HINT}"
            ) from exc


class TaskOutcome(NamedTuple):
    """What a Spark task sends back: its index, how it ended, the value, its attempt, the worker's RSS."""

    index: int
    kind: str
    """``ok``; ``input_error`` (an IonscapeError, not retried); ``unreachable`` (storage down)."""
    value: Any
    attempt: int
    """0 for the first attempt; Spark counts them per task."""
    peak_rss_mb: float


_task_storages: dict[str, Any] = {}
"""Lithops storage clients of a Spark Python worker, by config (workers are reused across tasks)."""


def task_storage(lithops_config: dict[str, Any]) -> Any:
    """A Lithops storage client for ``lithops_config``, made once per worker process."""
    key = json.dumps(lithops_config, sort_keys=True, default=str)
    if key not in _task_storages:
        import lithops

        _task_storages[key] = lithops.Storage(config=lithops_config)
    return _task_storages[key]


@dataclass(frozen=True)
class SparkTask:
    """A stage function as a Spark task: ``(index, kwargs)`` → :class:`TaskOutcome`.

    Errors the user must fix and storage outages come back as outcomes, so Spark does not retry
    them; any other exception fails the attempt, and Spark runs the task again.
    """

    function: Callable[..., Any]
    lithops_config: dict[str, Any]

    def __call__(self, item: tuple[int, dict[str, Any]]) -> TaskOutcome:
        from pyspark import TaskContext

        index, kwargs = item
        try:
            kind, value = "ok", self.function(**kwargs, storage=task_storage(self.lithops_config))
        except IonscapeError as exc:
            kind, value = "input_error", exc
        except Exception as exc:
            if not storage_unreachable(exc):
                raise
            kind, value = "unreachable", f"{type(exc).__name__}: {exc}"
        attempt = TaskContext.get().attemptNumber()
        return TaskOutcome(
            index, kind, value, attempt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )


class SparkJob:
    """One Spark job collecting an RDD in a thread of its own, so the caller can watch it."""

    def __init__(self, context: SparkContext, rdd: RDD, description: str) -> None:
        from pyspark import InheritableThread

        self.context = context
        self.group = f"ionscape-{uuid.uuid4().hex}"
        self.outcomes: list[TaskOutcome] = []
        self.error: BaseException | None = None
        self._thread = InheritableThread(target=self._collect, args=(rdd, description), daemon=True)
        self._thread.start()

    def _collect(self, rdd: RDD, description: str) -> None:
        self.context.setJobGroup(self.group, description, interruptOnCancel=True)
        try:
            self.outcomes = rdd.collect()
        except BaseException as exc:
            self.error = exc

    @property
    def running(self) -> bool:
        """True until the job has succeeded or failed."""
        return self._thread.is_alive()

    def wait(self, seconds: float | None = None) -> None:
        """Wait for the job to end (at most ``seconds``)."""
        self._thread.join(seconds)

    def cancel(self) -> None:
        """Cancel the job and wait until it has stopped."""
        self.context.cancelJobGroup(self.group)
        self.wait()

    def attempts(self) -> int:
        """Task attempts the job made: exact once it has succeeded, as far as Spark has told otherwise."""
        if self.outcomes:
            return sum(outcome.attempt + 1 for outcome in self.outcomes)
        return sum(self.task_counts())

    def task_counts(self) -> tuple[int, int]:
        """Tasks of the job that succeeded, and attempts that failed, so far."""
        tracker = self.context.statusTracker()
        completed = failed = 0
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job else []:
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    completed += stage.numCompletedTasks
                    failed += stage.numFailedTasks
        return completed, failed


@dataclass
class SparkExecutor(BaseExecutor):
    """Runs the tasks on Apache Spark; storage is Lithops storage, as for the Lithops executor.

    Spark retries a failed task itself (``spark.task.maxFailures`` on a cluster, 4 attempts on the
    default local master); ``memory_mb`` is not used: executors' memory is the cluster's setting.
    """

    master: str | None = None
    workers: int | None = None

    name: ClassVar[str] = "spark"

    def __post_init__(self) -> None:
        import_pyspark()
        super().__post_init__()
        self._context = spark_context(self.master, self.workers)
        self._task_peak_rss_mb = 0.0
        if (
            not self._context.master.startswith("local")
            and self.lithops_config["lithops"].get("storage", "localhost") == "localhost"
        ):
            logger.warning(
                "Spark master %s with Lithops localhost storage: every Spark worker must see the same "
                "folder; configure shared storage (S3, Redis...) otherwise",
                self._context.master,
            )

    @classmethod
    def for_job(cls, lithops_config: dict[str, Any], options: JobOptions) -> SparkExecutor:
        """The executor for a job's ``JobOptions``: ``spark_master`` and ``workers`` choose the master."""
        return cls(
            lithops_config, progress=options.progress, master=options.spark_master, workers=options.workers
        )

    @property
    def backend(self) -> str:
        """Always ``spark``; :meth:`describe` tells the master."""
        return "spark"

    @property
    def parallelism(self) -> int:
        """Spark's default parallelism: worker threads on a local master, executor cores on a cluster."""
        return int(self._context.defaultParallelism)

    def describe(self) -> dict[str, Any]:
        """Name, master URL and Spark version."""
        return super().describe() | {"master": self._context.master, "spark_version": self._context.version}

    def task_peak_rss_mb(self) -> float:
        """The largest peak RSS a Spark Python worker reported after a task."""
        return self._task_peak_rss_mb

    def _run_tasks(
        self,
        stage: str,
        function: Callable[..., Any],
        iterdata: Sequence[dict[str, Any]],
        memory_mb: int,
        record: StageRecord,
    ) -> list[Any]:
        """One Spark job with a partition per task; progress from Spark's status tracker."""
        task = SparkTask(function, self.lithops_config)
        rdd = self._context.parallelize(list(enumerate(iterdata)), len(iterdata)).map(task)
        job = SparkJob(self._context, rdd, f"ionscape {stage}")
        try:
            self._watch(stage, job, len(iterdata))
        except BaseException:
            job.cancel()
            raise
        finally:
            record.tasks += job.attempts()
        if job.error is not None:
            raise PipelineError(f"stage {stage!r}: a task failed: {_python_error(job.error)}") from job.error
        return self._results(stage, job.outcomes)

    def _watch(self, stage: str, job: SparkJob, total: int) -> None:
        """Report progress until the job ends; check the storage while no task finishes."""
        reported = 0
        last_change = time.monotonic()
        while job.running:
            self._check_cancelled(stage)
            job.wait(base.POLL_SECONDS)
            done = min(job.task_counts()[0], total)
            if done != reported:
                self._report(stage, done, total)
                reported, last_change = done, time.monotonic()
            elif job.running and time.monotonic() - last_change > base.STORAGE_CHECK_SECONDS:
                self.storage.check()  # a task cannot finish while storage is down
                last_change = time.monotonic()
        if job.error is None and reported != total:
            self._report(stage, total, total)

    def _results(self, stage: str, outcomes: list[TaskOutcome]) -> list[Any]:
        results: list[Any] = [None] * len(outcomes)
        for outcome in outcomes:
            self._task_peak_rss_mb = max(self._task_peak_rss_mb, outcome.peak_rss_mb)
            if outcome.kind == "input_error":
                raise outcome.value
            if outcome.kind == "unreachable":
                raise self._task_unreachable(stage, outcome.value)
            results[outcome.index] = outcome.value
        return results


def _python_error(error: BaseException) -> str:
    """The last line of the Python traceback in a Spark job failure, else the error's first line."""
    text = str(error)
    if "Traceback (most recent call last)" not in text:
        return f"{type(error).__name__}: {_first_line(error)}"
    traceback = text.split("Traceback (most recent call last)", 1)[1].split("\n\tat ", 1)[0]
    lines = [line for line in traceback.splitlines() if line.strip() and not line[0].isspace()]
    return lines[-1] if lines else _first_line(error)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
