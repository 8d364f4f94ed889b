"""Resumable chunked uploads of a dataset's .imzML and .ibd files.

The service keeps what it received; after a dropped connection or a refused chunk the client
asks for the received byte count of each file (``GET /uploads/{id}``) and goes on from there. When
the retries run out, :class:`UploadInterrupted` carries the upload's id, so a later call (even from
a new process) resumes instead of starting again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ionscape.client._errors import (
    ConflictError,
    NetworkError,
    ServerError,
    UploadInterrupted,
    ValidationError,
)
from ionscape.client._http import Api

MIB = 2**20
HASH_READ_BYTES = 8 * MIB
RESUMABLE = (NetworkError, ServerError, ConflictError)


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: its path, size and SHA-256."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def read(cls, path: str | Path) -> LocalFile:
        """Size and checksum of ``path``, read in chunks."""
        path = Path(path)
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(HASH_READ_BYTES):
                digest.update(block)
        return cls(path, path.stat().st_size, digest.hexdigest())

    def spec(self) -> dict[str, Any]:
        """The file as the service declares it."""
        return {"name": self.path.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class UploadPolicy:
    """Chunk size and how often, and how patiently, a broken chunk is retried."""

    chunk_bytes: int = 8 * MIB
    retries: int = 5
    retry_seconds: float = 1.0


def upload_dataset_files(
    api: Api,
    paths: list[Path],
    policy: UploadPolicy,
    *,
    upload_id: str | None = None,
    progress: bool = True,
) -> str:
    """Upload and commit ``paths``; returns the upload id. ``upload_id`` resumes an earlier upload."""
    files = [LocalFile.read(path) for path in paths]
    if upload_id is None:
        upload = api.post("/uploads", json={"files": [f.spec() for f in files]})
    else:
        upload = api.get(f"/uploads/{upload_id}")
        _check_same_files(upload, files)
    upload_id = upload["id"]
    if not upload["committed"]:
        received = {f["name"]: f["received"] for f in upload["files"]}
        with _byte_progress(progress, sum(f.size for f in files), sum(received.values())) as advance:
            for file in files:
                _send_file(api, upload_id, file, received[file.path.name], policy, advance)
        api.post(f"/uploads/{upload_id}/commit")
    return upload_id


def _check_same_files(upload: dict[str, Any], files: list[LocalFile]) -> None:
    declared = sorted((f["name"], f["size"], f["sha256"]) for f in upload["files"])
    local = sorted((f.path.name, f.size, f.sha256) for f in files)
    if declared != local:
        raise ValidationError(
            422, f"upload {upload['id']} was declared for other files: {', '.join(d[0] for d in declared)}"
        )


def _send_file(
    api: Api, upload_id: str, file: LocalFile, offset: int, policy: UploadPolicy, advance: Any
) -> None:
    """PUT the rest of ``file`` from ``offset``, resuming from the service's count after a failure."""
    failures = 0
    with file.path.open("rb") as source:
        while offset < file.size:
            chunk = _read_at(source, offset, policy.chunk_bytes)
            try:
                answer = api.request(
                    "PUT",
                    f"/uploads/{upload_id}/files/{file.path.name}",
                    params={"offset": offset},
                    content=chunk,
                ).json()
            except RESUMABLE as exc:
                failures += 1
                if failures > policy.retries:
                    raise UploadInterrupted(upload_id, str(exc)) from exc
                time.sleep(policy.retry_seconds * 2 ** (failures - 1))
                answer = _file_status(api, upload_id, file.path.name, exc)
            else:
                failures = 0
            advance(answer["received"] - offset)
            offset = answer["received"]


def _file_status(api: Api, upload_id: str, name: str, cause: Exception) -> dict[str, Any]:
    """The service's view of one file, asked after a failed chunk."""
    try:
        upload = api.get(f"/uploads/{upload_id}")
    except RESUMABLE as exc:
        raise UploadInterrupted(upload_id, f"{cause}; then {exc}") from exc
    return next(f for f in upload["files"] if f["name"] == name)


def _read_at(source: BinaryIO, offset: int, size: int) -> bytes:
    source.seek(offset)
    return source.read(size)


@contextmanager
def _byte_progress(enabled: bool, total: int, done: int) -> Iterator[Any]:
    """A transfer progress bar on stderr; yields ``advance(n_bytes)``."""
    if not enabled:
        yield lambda n: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("uploading"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as bar:
        task = bar.add_task("upload", total=total, completed=done)
        yield lambda n: bar.advance(task, n)
