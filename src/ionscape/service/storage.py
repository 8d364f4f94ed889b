"""Where uploads, molecular databases and results live.

Keys are ``/``-separated relative names (``uploads/<id>/file-0``, ``datasets/<id>/results/...``).
:class:`LocalStorage` keeps them in a folder; another backend (Lithops storage) can implement the
same :class:`Storage` protocol.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

READ_BYTES = 8 * 2**20


class StorageError(Exception):
    """A storage operation was refused (bad key, offset mismatch, size limit)."""


class OffsetMismatch(StorageError):
    """A chunk was sent for an offset other than the number of bytes already received."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"chunk sent at offset {got}, but {expected} bytes have been received")
        self.expected = expected


class TooLarge(StorageError):
    """Appending would grow an object past its limit."""


class Storage(Protocol):
    """What the service needs from a storage backend."""

    def local_path(self, key: str) -> Path:
        """A filesystem path for ``key`` (for the annotation engine and result export)."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes of an object; 0 when it does not exist."""
        ...

    async def append(self, key: str, offset: int, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Write ``chunks`` at ``offset`` (= current size); returns the new size."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open an object for reading."""
        ...

    def sha256(self, key: str) -> str:
        """Hex SHA-256 of an object, read in chunks."""
        ...

    def write_bytes(self, key: str, data: bytes) -> None:
        """Create or replace a small object."""
        ...

    def move(self, source: str, target: str) -> None:
        """Rename an object or a folder of objects."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object or a folder of objects (no error when absent)."""
        ...


class LocalStorage:
    """Objects as files under ``root``."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def local_path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise StorageError(f"invalid storage key {key!r}")
        return self.root.joinpath(*parts)

    def size(self, key: str) -> int:
        path = self.local_path(key)
        return path.stat().st_size if path.is_file() else 0

    async def append(self, key: str, offset: int, chunks: AsyncIterator[bytes], limit: int) -> int:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            size = f.tell()
            if offset != size:
                raise OffsetMismatch(size, offset)
            async for chunk in chunks:
                if size + len(chunk) > limit:
                    raise TooLarge(f"more than the declared {limit} bytes")
                f.write(chunk)
                size += len(chunk)
        return size

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open(key) as f:
            while chunk := f.read(READ_BYTES):
                digest.update(chunk)
        return digest.hexdigest()

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self.local_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.partial")
        staging.write_bytes(data)
        os.replace(staging, path)

    def move(self, source: str, target: str) -> None:
        destination = self.local_path(target)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.local_path(source), destination)

    def delete(self, key: str) -> None:
        path = self.local_path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
