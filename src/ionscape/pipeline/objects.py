"""Arrays in Lithops storage: every object that crosses a task boundary goes through here.

Objects are uncompressed ``.npz`` archives of plain numpy arrays (no pickle), so they can be
read by any numpy version and on any backend.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import numpy as np


def dumps_arrays(**arrays: np.ndarray) -> bytes:
    """Serialise named arrays to bytes (an uncompressed npz archive); object arrays of str become unicode."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: a.astype(str) if a.dtype == object else a for name, a in arrays.items()})
    return buffer.getvalue()


def loads_arrays(data: bytes) -> dict[str, np.ndarray]:
    """Inverse of :func:`dumps_arrays`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def put_arrays(storage: Any, bucket: str, key: str, **arrays: np.ndarray) -> str:
    """Write named arrays to ``bucket/key``; returns the key."""
    storage.put_object(bucket, key, dumps_arrays(**arrays))
    return key


def get_arrays(storage: Any, bucket: str, key: str) -> dict[str, np.ndarray]:
    """Read named arrays written by :func:`put_arrays`."""
    return loads_arrays(storage.get_object(bucket, key))


def new_key(prefix: str, name: str) -> str:
    """A fresh key under ``prefix`` (objects are written once, never modified)."""
    return f"{prefix}/{name}-{uuid.uuid4().hex[:12]}"


def delete_prefix(storage: Any, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many were deleted."""
    keys = storage.list_keys(bucket, prefix=prefix.rstrip("/") + "/")
    if keys:
        storage.delete_objects(bucket, keys)
    return len(keys)
