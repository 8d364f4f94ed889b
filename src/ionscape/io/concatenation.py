"""A read-only file object over byte buffers laid end to end, without copying them."""

from __future__ import annotations

import io
from typing import Any


class Concatenation(io.RawIOBase):
    """Reads the bytes of ``parts`` (anything exposing the buffer protocol) one after another."""

    def __init__(self, *parts: Any) -> None:
        super().__init__()
        self._parts = [view for part in parts if len(view := memoryview(part).cast("B"))]
        self._part = 0
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the current part (fewer bytes at a part's end; 0 at the end)."""
        if self._part == len(self._parts):
            return 0
        part = self._parts[self._part]
        n = min(len(buffer), len(part) - self._offset)
        memoryview(buffer).cast("B")[:n] = part[self._offset : self._offset + n]
        self._offset += n
        if self._offset == len(part):
            self._part, self._offset = self._part + 1, 0
        return n
