"""Annotation workers: claim a job, run ``ionscape.annotate`` with heartbeats, publish the results.

Results are exported to a folder of their own (one per job attempt); the annotation rows, the
dataset's pointer to that folder and the job's ``done`` state are written in one transaction that
only commits while the worker still owns the job. A worker that dies leaves at most an unreferenced
folder behind, never half results.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ionscape.errors import DatabaseError, IonscapeError
from ionscape.service import queue
from ionscape.service.config import Settings
from ionscape.service.models import Dataset
from ionscape.service.results import results_key, store_annotations
from ionscape.service.storage import Storage

logger = logging.getLogger("ionscape.service.worker")


def new_worker_id() -> str:
    """``host:pid:random``, unique per worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    """Renews a job's lease and stores its progress every ``settings.heartbeat_seconds`` in a thread."""

    def __init__(self, sessions: sessionmaker[Session], claim: queue.Claim, settings: Settings) -> None:
        self._sessions, self._claim, self._settings = sessions, claim, settings
        self._progress: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{claim.job_id}", daemon=True)
        self.lost = False

    def report(self, stage: str, done: int, total: int) -> None:
        """The engine's progress callback."""
        with self._lock:
            self._progress[stage] = {"done": done, "total": total}

    def beat(self) -> None:
        """Renew the lease now; remember when the job was lost to another worker."""
        with self._lock:
            progress = {stage: dict(value) for stage, value in self._progress.items()}
        with self._sessions() as session:
            if not queue.heartbeat(session, self._claim, self._settings.lease_seconds, progress):
                self.lost = True

    def _run(self) -> None:
        while not self._stop.wait(self._settings.heartbeat_seconds):
            try:
                self.beat()
            except Exception:
                logger.exception("heartbeat of job %s failed", self._claim.job_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    """Runs queued annotation jobs, one at a time."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        worker_id: str | None = None,
    ) -> None:
        self.settings, self.sessions, self.storage = settings, sessions, storage
        self.worker_id = worker_id or new_worker_id()

    def run_forever(self, stop: threading.Event) -> None:
        """Run jobs until ``stop`` is set, polling the queue every ``settings.poll_seconds`` when idle."""
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                logger.exception("worker %s: unexpected error", self.worker_id)
                ran = False
            if not ran:
                stop.wait(self.settings.poll_seconds)

    def run_once(self) -> bool:
        """Claim and run one job; False when the queue was empty."""
        with self.sessions() as session:
            claim = queue.claim(
                session, self.worker_id, self.settings.lease_seconds, self.settings.max_attempts
            )
        if claim is None:
            return False
        logger.info("worker %s: job %s (dataset %s)", self.worker_id, claim.job_id, claim.dataset_id)
        try:
            self._run(claim)
        except BaseException:
            with self.sessions() as session:
                queue.release(session, claim)
            raise
        return True

    def _run(self, claim: queue.Claim) -> None:
        with self.sessions() as session:
            dataset = session.get(Dataset, claim.dataset_id)
            if dataset is None:
                return
            spec = (dataset.input_files, dataset.config, dataset.databases)
        key = results_key(claim.dataset_id, claim.job_id, claim.attempt)
        try:
            with Heartbeat(self.sessions, claim, self.settings) as heartbeat:
                results = self._annotate(
                    *spec, job_key=f"service-job-{claim.job_id}", progress=heartbeat.report
                )
                results.export(self.storage.local_path(key), png=False)
                heartbeat.beat()
        except IonscapeError as exc:
            self._fail(claim, str(exc))
            return
        except Exception as exc:
            logger.exception("job %s failed", claim.job_id)
            self._fail(claim, f"internal error: {type(exc).__name__}: {exc}")
            return
        self._publish(claim, results, key)

    def _annotate(
        self,
        input_files: list[dict[str, Any]],
        config: dict[str, Any],
        databases: list[dict[str, Any]],
        progress: Any,
        job_key: str | None = None,
    ) -> Any:
        import ionscape
        from ionscape.chem.moldb import load_moldb

        moldbs = []
        for db in databases:
            if db["source"] == "bundled":
                moldbs.append(load_moldb(db["ref"], targeted=bool(db["targeted"])))
                continue
            path = self.storage.local_path(db["ref"])
            if not path.is_file():
                raise DatabaseError(f"the custom molecular database {db['name']!r} has been deleted")
            moldbs.append(load_moldb(path, name=db["name"], targeted=bool(db["targeted"])))
        imzml, ibd = (self.storage.local_path(f["key"]) for f in input_files)
        return ionscape.annotate(
            imzml,
            moldbs,
            ionscape.AnnotationConfig.from_ds_config(config),
            ibd_path=ibd,
            lithops_config=self.settings.lithops_config,
            workers=self.settings.annotation_workers,
            executor=self.settings.annotation_executor,
            spark_master=self.settings.spark_master,
            job_key=job_key,
            progress=progress,
        )

    def _publish(self, claim: queue.Claim, results: Any, key: str) -> None:
        with self.sessions() as session:
            if not queue.finish(session, claim):
                session.rollback()
                self.storage.delete(key)
                logger.warning("job %s: lost before its results were published", claim.job_id)
                return
            previous_key = session.get_one(Dataset, claim.dataset_id).results_key
            store_annotations(session, claim.dataset_id, results, key)
            session.commit()
        if previous_key and previous_key != key:
            self.storage.delete(previous_key)

    def _fail(self, claim: queue.Claim, error: str) -> None:
        with self.sessions() as session:
            queue.fail(session, claim, error)


def start_worker_threads(
    settings: Settings, sessions: sessionmaker[Session], storage: Storage, count: int, stop: threading.Event
) -> list[threading.Thread]:
    """Start ``count`` worker threads (for ``ionscape serve``); they end when ``stop`` is set."""
    threads = []
    for i in range(count):
        worker = Worker(settings, sessions, storage)
        thread = threading.Thread(
            target=worker.run_forever, args=(stop,), name=f"ionscape-worker-{i}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads
