"""Resuming a job: where its intermediate data lives, and the record of each finished stage.

A job's objects live under ``ionscape/jobs/<job key>/``. The key is derived from what the job
computes (the dataset's identity, the databases, the annotation settings), so running the same
job again after a crash — the driver killed, the machine rebooted, Ctrl-C — finds the objects of
the stages that finished and goes on from there. A stage's checkpoint records its answer and a
digest of its inputs; it is used only when the digest still matches, so a changed setting (more
workers, another segment size) reruns the stages it affects.

Objects are deleted when a job succeeds or fails on bad input (rerunning cannot help); after an
infrastructure failure or an interruption they are kept for a rerun, and removed by the first job
that starts after ``STALE_AFTER_S`` has passed without a rerun.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ionscape.pipeline.objects import delete_prefix

JOB_ROOT = "ionscape/jobs"
REGISTRY = "ionscape/job-registry"
STALE_AFTER_S = 7 * 24 * 3600


def digest(*parts: Any) -> str:
    """A short hex digest of JSON-able values and numpy arrays, in order."""
    h = hashlib.blake2b(digest_size=12)
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype.str, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def file_identity(path: str) -> dict[str, Any]:
    """What identifies a local file's content cheaply: its path, size and modification time."""
    stat = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def object_identity(storage: Any, uri: str, missing: type[Exception]) -> dict[str, Any]:
    """What identifies an object in Lithops storage: its URI, size and, when the backend gives
    them, ETag and modification time. Raises ``missing`` when there is no such object."""
    from lithops.storage.utils import StorageNoSuchKeyError

    from ionscape.pipeline.dataset import split_storage_uri

    try:
        head = storage.head_object(*split_storage_uri(uri))
    except StorageNoSuchKeyError as exc:
        raise missing(f"{uri} is missing") from exc
    wanted = ("content-length", "etag", "last-modified")
    return {"uri": uri} | {k.lower(): v for k, v in head.items() if k.lower() in wanted}


@dataclass
class JobCheckpoints:
    """The checkpoints of one job, in Lithops storage under ``prefix``."""

    storage: Any
    bucket: str
    key: str

    @property
    def prefix(self) -> str:
        """Where the job's objects live."""
        return f"{JOB_ROOT}/{self.key}"

    def load(self, stage: str, inputs: str) -> Any | None:
        """The answer recorded when ``stage`` finished with the same ``inputs`` digest, else None."""
        from lithops.storage.utils import StorageNoSuchKeyError

        try:
            record = json.loads(self.storage.get_object(self.bucket, self._record_key(stage)))
        except StorageNoSuchKeyError:
            return None
        return record["answer"] if record.get("inputs") == inputs else None

    def save(self, stage: str, inputs: str, answer: Any) -> None:
        """Record that ``stage`` finished with ``answer`` (JSON-able) on ``inputs``."""
        record = json.dumps({"inputs": inputs, "answer": answer, "finished": time.time()})
        self.storage.put_object(self.bucket, self._record_key(stage), record.encode())

    def resume_or_run(self, record: Any, inputs: str, run: Callable[[], Any]) -> Any:
        """The answer of stage ``record.name``: from its checkpoint when one matches ``inputs``
        (``record.resumed`` is then set), else from ``run()``, whose answer is then recorded."""
        answer = self.load(record.name, inputs)
        record.resumed = answer is not None
        if answer is None:
            answer = run()
            self.save(record.name, inputs, answer)
        return answer

    def claim(self) -> JobCheckpoints:
        """Register this run as the job's owner; returns the checkpoints to use.

        When another live process on this machine owns the same job key (the same job started
        twice), this run works under a fresh key instead, so neither deletes the other's objects.
        """
        from lithops.storage.utils import StorageNoSuchKeyError

        try:
            owner = json.loads(self.storage.get_object(self.bucket, self._registry_key()))
        except StorageNoSuchKeyError:
            owner = None
        if owner and owner["pid"] != os.getpid() and _alive_here(owner):
            return JobCheckpoints(self.storage, self.bucket, f"{self.key}-{uuid.uuid4().hex[:8]}").claim()
        me = {"host": socket.gethostname(), "pid": os.getpid(), "claimed": time.time()}
        self.storage.put_object(self.bucket, self._registry_key(), json.dumps(me).encode())
        return self

    def delete(self) -> None:
        """Delete the job's objects and its registration."""
        delete_prefix(self.storage, self.bucket, self.prefix)
        self.storage.delete_object(self.bucket, self._registry_key())

    def _record_key(self, stage: str) -> str:
        return f"{self.prefix}/checkpoints/{stage}.json"

    def _registry_key(self) -> str:
        return f"{REGISTRY}/{self.key}.json"


def remove_stale_jobs(storage: Any, bucket: str, now: float | None = None) -> list[str]:
    """Delete the objects of jobs left behind more than ``STALE_AFTER_S`` ago; returns their keys."""
    now = time.time() if now is None else now
    removed = []
    for registry_key in storage.list_keys(bucket, prefix=f"{REGISTRY}/"):
        owner = json.loads(storage.get_object(bucket, registry_key))
        if now - owner["claimed"] > STALE_AFTER_S and not _alive_here(owner):
            key = registry_key.removeprefix(f"{REGISTRY}/").removesuffix(".json")
            JobCheckpoints(storage, bucket, key).delete()
            removed.append(key)
    return removed


def _alive_here(owner: dict[str, Any]) -> bool:
    """Whether ``owner`` is a running process of this machine (a process elsewhere counts as gone)."""
    if owner["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
