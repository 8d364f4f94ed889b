"""LocalStorage: appending chunks at offsets, limits, interrupted streams, safe keys."""

from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from ionscape.service.storage import LocalStorage, OffsetMismatch, StorageError, TooLarge


async def _chunks(*parts: bytes, fail_after: int | None = None):
    for i, part in enumerate(parts):
        if fail_after is not None and i == fail_after:
            raise ConnectionResetError("client went away")
        yield part


def append(storage, key, offset, *parts, limit=100, fail_after=None):
    """Run the coroutine on a thread of its own, whatever event loop this thread may be running."""
    coroutine = storage.append(key, offset, _chunks(*parts, fail_after=fail_after), limit)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_append_at_offsets_and_resume_after_a_dropped_stream(tmp_path):
    storage = LocalStorage(tmp_path)
    assert storage.size("a/file") == 0
    assert append(storage, "a/file", 0, b"abc", b"def") == 6
    with pytest.raises(ConnectionResetError):
        append(storage, "a/file", 6, b"gh", b"ij", fail_after=1)
    assert storage.size("a/file") == 8  # what arrived before the drop is kept
    with pytest.raises(OffsetMismatch) as mismatch:
        append(storage, "a/file", 6, b"gh")
    assert mismatch.value.expected == 8
    assert append(storage, "a/file", 8, b"ij") == 10
    assert storage.sha256("a/file") == hashlib.sha256(b"abcdefghij").hexdigest()


def test_append_refuses_to_grow_past_the_limit(tmp_path):
    storage = LocalStorage(tmp_path)
    with pytest.raises(TooLarge):
        append(storage, "f", 0, b"1234", b"5678", limit=6)
    assert storage.size("f") == 4


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/etc/passwd", "a//b", "", "a/./b"])
def test_keys_cannot_leave_the_root(tmp_path, key):
    with pytest.raises(StorageError):
        LocalStorage(tmp_path / "root").local_path(key)


def test_move_write_delete(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_bytes("x/one", b"1")
    storage.move("x/one", "y/z/two")
    with storage.open("y/z/two") as f:
        assert f.read() == b"1"
    storage.delete("y")
    assert storage.size("y/z/two") == 0
    storage.delete("never/there")
